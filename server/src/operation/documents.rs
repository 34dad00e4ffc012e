//! Stage 4a: parsed documents kept by their text, so that a client sending the same query again
//! and again (the common case: an application has a fixed set of operations) does not have it
//! parsed every time. Profiles of the gateway under a repeated 1 KB query showed parsing and
//! dropping the syntax tree as the largest cost left once answers were shared.
//!
//! A [`Document`] is immutable and shared by `Arc`, so handing the same one to concurrent
//! requests is safe. The cache is bounded in entries and in bytes of document text (a parsed
//! document takes a few times its text), and keeps only documents that passed the limits
//! (the caller inserts them after checking): a client sending ever-new large documents can
//! neither grow it past its budget nor make it keep what was refused. When full it starts over
//! (a workload of ever-new documents gains nothing from it, and loses only the lookups).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use quilt_executor::Document;

/// How many distinct documents the cache keeps by default.
pub const DEFAULT_CAPACITY: usize = 1024;

/// How many bytes of document text the cache keeps by default.
pub const DEFAULT_BYTES: usize = 16 * 1024 * 1024;

/// Parsed documents by their exact text.
#[derive(Debug)]
pub struct DocumentCache {
    entries: Mutex<Entries>,
    capacity: usize,
    max_bytes: usize,
}

#[derive(Debug, Default)]
struct Entries {
    documents: HashMap<Arc<str>, Document>,
    bytes: usize,
}

impl Default for DocumentCache {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY, DEFAULT_BYTES)
    }
}

impl DocumentCache {
    /// A cache of at most `capacity` documents (0: no caching) and `max_bytes` bytes of their
    /// text; a document larger than a sixty-fourth of `max_bytes` is never kept, so that a
    /// few large ones cannot keep evicting the many small ones.
    pub fn new(capacity: usize, max_bytes: usize) -> Self {
        Self {
            entries: Mutex::new(Entries::default()),
            capacity,
            max_bytes,
        }
    }

    /// Whether documents are kept at all (capacity above 0).
    pub fn is_enabled(&self) -> bool {
        self.capacity > 0
    }

    /// The document for `query` if it was kept before.
    pub fn get(&self, query: &str) -> Option<Document> {
        if self.capacity == 0 {
            return None;
        }
        self.lock().documents.get(query).cloned()
    }

    /// Keeps `document` (which passed the limits) by its text, unless it is too large.
    pub fn insert(&self, document: &Document) {
        let text = document.as_str();
        let size = text.len();
        if self.capacity == 0 || size > self.max_bytes / 64 {
            return;
        }
        let mut entries = self.lock();
        if entries.documents.contains_key(text) {
            return;
        }
        if entries.documents.len() >= self.capacity || entries.bytes + size > self.max_bytes {
            entries.documents.clear();
            entries.bytes = 0;
        }
        entries.bytes += size;
        entries.documents.insert(Arc::from(text), document.clone());
    }

    /// How many documents and bytes of text the cache holds now.
    #[cfg(test)]
    fn size(&self) -> (usize, usize) {
        let entries = self.lock();
        (entries.documents.len(), entries.bytes)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Document {
        Document::parse(text).unwrap()
    }

    #[test]
    fn the_same_text_gives_the_same_document_and_the_cache_stays_bounded() {
        let cache = DocumentCache::new(2, 1 << 20);
        let a = parse("{ a }");
        cache.insert(&a);
        assert!(a.ptr_eq(&cache.get("{ a }").unwrap()));
        cache.insert(&parse("{ b }"));
        cache.insert(&parse("{ c }"));
        assert!(cache.size().0 <= 2);
        let uncached = DocumentCache::new(0, 1 << 20);
        uncached.insert(&a);
        assert!(uncached.get("{ a }").is_none());
    }

    #[test]
    fn the_cache_is_bounded_in_bytes() {
        // 64 KiB in all: documents of at most 1 KiB are kept.
        let cache = DocumentCache::new(1024, 64 * 1024);
        let large = format!("{{ a }} # {}", "x".repeat(2000));
        cache.insert(&parse(&large));
        assert!(cache.get(&large).is_none(), "too large to keep");
        for i in 0..500 {
            cache.insert(&parse(&format!("{{ a{i} }} # {}", "x".repeat(900))));
            assert!(cache.size().1 <= 64 * 1024);
        }
    }
}
