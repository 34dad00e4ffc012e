//! Stage 4a: parsed documents kept by their text, so that a client sending the same query again
//! and again (the common case: an application has a fixed set of operations) does not have it
//! parsed every time. Profiles of the gateway under a repeated 1 KB query showed parsing and
//! dropping the syntax tree as the largest cost left once answers were shared.
//!
//! A [`Document`] is immutable and shared by `Arc`, so handing the same one to concurrent
//! requests is safe. The cache is bounded: when full it starts over (a workload of ever-new
//! documents gains nothing from it, and loses only the lookups).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use quilt_executor::{Document, ParseError};

/// How many distinct documents the cache keeps by default.
pub const DEFAULT_CAPACITY: usize = 1024;

/// Parsed documents by their exact text.
#[derive(Debug)]
pub struct DocumentCache {
    entries: Mutex<HashMap<Arc<str>, Document>>,
    capacity: usize,
}

impl Default for DocumentCache {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY)
    }
}

impl DocumentCache {
    /// A cache of at most `capacity` documents (0: no caching).
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    /// The document for `query` if it was parsed before.
    pub fn get(&self, query: &str) -> Option<Document> {
        if self.capacity == 0 {
            return None;
        }
        self.lock().get(query).cloned()
    }

    /// The document for `query`, parsed now or earlier. The lock is held for the lookup and
    /// the insertion only, never while parsing.
    pub fn get_or_parse(&self, query: String) -> Result<Document, ParseError> {
        if self.capacity == 0 {
            return Document::parse(query);
        }
        if let Some(document) = self.lock().get(query.as_str()) {
            return Ok(document.clone());
        }
        let text: Arc<str> = query.into();
        let document = Document::parse(Arc::clone(&text))?;
        let mut entries = self.lock();
        if entries.len() >= self.capacity {
            entries.clear();
        }
        entries.insert(text, document.clone());
        Ok(document)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Arc<str>, Document>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_text_gives_the_same_document_and_the_cache_stays_bounded() {
        let cache = DocumentCache::new(2);
        let a = cache.get_or_parse("{ a }".into()).unwrap();
        assert!(a.ptr_eq(&cache.get_or_parse("{ a }".into()).unwrap()));
        assert!(!a.ptr_eq(&cache.get_or_parse("{ b }".into()).unwrap()));
        cache.get_or_parse("{ c }".into()).unwrap();
        assert!(cache.lock().len() <= 2);
        assert!(
            cache.get_or_parse("{".into()).is_err(),
            "errors are reported, not cached"
        );
        let uncached = DocumentCache::new(0);
        let x = uncached.get_or_parse("{ a }".into()).unwrap();
        assert!(!x.ptr_eq(&uncached.get_or_parse("{ a }".into()).unwrap()));
    }
}
