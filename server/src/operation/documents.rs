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

/// How many bytes of memory the cache's documents may take by default (estimated).
pub const DEFAULT_BYTES: usize = 16 * 1024 * 1024;

/// An estimate of the memory a document parsed from `text_len` bytes of text takes:
/// apollo-compiler's syntax tree, every name, field and argument a node of its own, about
/// 1.5 KiB and 18 bytes per byte of text (measured on the gateway benchmark's operations and
/// checked against the allocator by `stitch/tests/plan_cache_memory.rs`).
///
/// ```
/// assert_eq!(quilt_server::parsed_document_weight(1000), 1536 + 18_000);
/// ```
pub fn parsed_document_weight(text_len: usize) -> usize {
    text_len.saturating_mul(18).saturating_add(1536)
}

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
    /// A cache of at most `capacity` documents (0: no caching) taking at most `max_bytes` of
    /// memory (estimated); a document weighing more than a sixteenth of `max_bytes` is never
    /// kept, so that a few large ones cannot keep evicting the many small ones.
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
        let size = parsed_document_weight(text.len());
        if self.capacity == 0 || size > self.max_bytes / 16 {
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

    /// How many documents the cache holds now, and their estimated memory.
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
        // 64 KiB of memory in all: documents weighing at most 4 KiB (160 bytes of text).
        let cache = DocumentCache::new(1024, 64 * 1024);
        let large = format!("{{ a }} # {}", "x".repeat(160));
        cache.insert(&parse(&large));
        assert!(cache.get(&large).is_none(), "too large to keep");
        let kept = format!("{{ a }} # {}", "x".repeat(140));
        cache.insert(&parse(&kept));
        assert!(cache.get(&kept).is_some(), "small enough to keep");
        for i in 0..500 {
            cache.insert(&parse(&format!("{{ a{i} }} # {}", "x".repeat(100))));
            let (count, bytes) = cache.size();
            assert!(bytes <= 64 * 1024);
            assert!(count <= 64 * 1024 / parsed_document_weight(108));
        }
    }
}
