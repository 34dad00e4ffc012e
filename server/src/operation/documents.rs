//! Stage 4a: parsed documents kept by their text, so that a client sending the same query again
//! and again (the common case: an application has a fixed set of operations) does not have it
//! parsed every time. Profiles of the gateway under a repeated 1 KB query showed parsing and
//! dropping the syntax tree as the largest cost left once answers were shared.
//!
//! A [`Document`] is immutable and shared by `Arc`, so handing the same one to concurrent
//! requests is safe. The cache is bounded in entries and in bytes of memory (each document
//! weighed by [`parsed_document_weight`]), and keeps only documents that passed the limits
//! (the caller inserts them after checking): a client sending ever-new large documents can
//! neither grow it past its budget nor make it keep what was refused; once full, it keeps
//! only documents sent before, so such a client does not evict the ones others repeat.

use std::sync::Arc;

use quilt_executor::Document;
use quilt_executor::cache::AdmittingCache;

/// How many distinct documents the cache keeps by default.
pub const DEFAULT_CAPACITY: usize = 1024;

/// How many bytes of memory the cache's documents may take by default (estimated).
pub const DEFAULT_BYTES: usize = 4 * 1024 * 1024;

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

/// Parsed documents by their exact text ([`AdmittingCache`]: once full, a document is kept
/// only when sent before, so ever-new documents neither evict the ones clients repeat nor
/// churn the memory).
#[derive(Debug)]
pub struct DocumentCache {
    cache: AdmittingCache<Arc<str>, Document>,
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
            cache: AdmittingCache::new(capacity, max_bytes),
        }
    }

    /// Whether documents are kept at all.
    pub fn is_enabled(&self) -> bool {
        self.cache.is_enabled()
    }

    /// The document for `query` if it was kept before.
    pub fn get(&self, query: &str) -> Option<Document> {
        self.cache.get(query)
    }

    /// Offers `document` (which passed the limits), weighed by [`parsed_document_weight`].
    pub fn insert(&self, document: &Document) {
        let text = document.printed_arc().clone();
        let weight = parsed_document_weight(text.len());
        self.cache.insert(text, document.clone(), weight);
    }

    /// How many documents the cache holds now, and their estimated memory.
    #[cfg(test)]
    fn size(&self) -> (usize, usize) {
        (self.cache.len(), self.cache.bytes())
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
        // 64 KiB of memory in all: documents weighing at most 4 KiB (142 bytes of text).
        let cache = DocumentCache::new(1024, 64 * 1024);
        let large = format!("{{ a }} # {}", "x".repeat(160));
        cache.insert(&parse(&large));
        assert!(cache.get(&large).is_none(), "too large to keep");
        let kept = format!("{{ a }} # {}", "x".repeat(120));
        cache.insert(&parse(&kept));
        assert!(cache.get(&kept).is_some(), "small enough to keep");
        for i in 0..500 {
            cache.insert(&parse(&format!("{{ a{i} }} # {}", "x".repeat(100))));
            let (count, bytes) = cache.size();
            assert!(bytes <= 64 * 1024);
            assert!(count <= 64 * 1024 / parsed_document_weight(108));
        }
    }

    #[test]
    fn ever_new_documents_do_not_evict_a_repeated_one() {
        let cache = DocumentCache::new(8, 1 << 20);
        let repeated = parse("{ repeated }");
        cache.insert(&repeated);
        assert!(cache.get("{ repeated }").is_some());
        for i in 0..1000 {
            let text = format!("{{ a{i} }}");
            cache.insert(&parse(&text));
            assert!(
                cache.get("{ repeated }").is_some(),
                "after {i} new documents"
            );
        }
        assert_eq!(cache.size().0, 8);
        // A document sent again is kept, in place of one not read since.
        cache.insert(&parse("{ again }"));
        cache.insert(&parse("{ again }"));
        assert!(cache.get("{ again }").is_some());
        assert!(cache.get("{ repeated }").is_some());
    }
}
