//! The allow-list of operations: a manifest file as Apollo's and Relay's tools write it.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;

/// Operations by id, read from a manifest: Apollo's persisted query manifest
/// (`{"format": "apollo-persisted-query-manifest", "version": 1, "operations": [{"id",
/// "body", "name", "type"}]}`, as `generate-persisted-query-manifest` writes it) or a plain
/// map of id to body (`{"<id>": "<body>", …}`, as Relay's compiler writes it).
#[derive(Debug, Clone, Default)]
pub struct Manifest {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    by_id: HashMap<String, Arc<str>>,
    bodies: HashSet<Arc<str>>,
}

/// A manifest that could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// The file could not be read.
    #[error("cannot read the persisted query manifest {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The JSON is not a manifest in either format.
    #[error("invalid persisted query manifest: {0}")]
    Invalid(String),
}

#[derive(Deserialize)]
struct ApolloManifest {
    format: String,
    version: u32,
    operations: Vec<ApolloOperation>,
}

#[derive(Deserialize)]
struct ApolloOperation {
    id: String,
    body: String,
}

impl Manifest {
    /// Reads a manifest file (either format).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ManifestError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| ManifestError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_json(&bytes)
    }

    /// Reads a manifest from JSON text (either format).
    pub fn from_json(json: &[u8]) -> Result<Self, ManifestError> {
        let value: serde_json::Value =
            serde_json::from_slice(json).map_err(|e| ManifestError::Invalid(e.to_string()))?;
        let pairs: Vec<(String, String)> = if value.get("format").is_some() {
            let manifest: ApolloManifest =
                serde_json::from_value(value).map_err(|e| ManifestError::Invalid(e.to_string()))?;
            if manifest.format != "apollo-persisted-query-manifest" || manifest.version != 1 {
                return Err(ManifestError::Invalid(format!(
                    "unknown format {:?} version {}; expected apollo-persisted-query-manifest version 1",
                    manifest.format, manifest.version
                )));
            }
            manifest
                .operations
                .into_iter()
                .map(|op| (op.id, op.body))
                .collect()
        } else {
            let map: HashMap<String, String> = serde_json::from_value(value).map_err(|e| {
                ManifestError::Invalid(format!(
                    "expected an Apollo manifest or an object of id to body: {e}"
                ))
            })?;
            map.into_iter().collect()
        };
        Ok(Self::from_operations(pairs))
    }

    /// A manifest of these `(id, body)` pairs.
    pub fn from_operations<I, K, V>(operations: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let mut inner = Inner::default();
        for (id, body) in operations {
            let body: Arc<str> = Arc::from(body.into());
            inner.bodies.insert(body.clone());
            inner.by_id.insert(id.into(), body);
        }
        Self {
            inner: Arc::new(inner),
        }
    }

    /// The body of the operation `id` (a `sha256:` prefix is ignored when the id without it
    /// is listed).
    pub fn get(&self, id: &str) -> Option<Arc<str>> {
        self.inner
            .by_id
            .get(id)
            .or_else(|| {
                id.strip_prefix("sha256:")
                    .and_then(|bare| self.inner.by_id.get(bare))
            })
            .cloned()
    }

    /// Whether `body` is exactly the text of an operation in the manifest.
    pub fn contains_body(&self, body: &str) -> bool {
        self.inner.bodies.contains(body)
    }

    /// How many operations the manifest lists.
    pub fn len(&self) -> usize {
        self.inner.by_id.len()
    }

    /// Whether it lists none.
    pub fn is_empty(&self) -> bool {
        self.inner.by_id.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_formats() {
        let apollo = br#"{"format":"apollo-persisted-query-manifest","version":1,"operations":[
            {"id":"abc","body":"query A { a }","name":"A","type":"query"}]}"#;
        let manifest = Manifest::from_json(apollo).unwrap();
        assert_eq!(manifest.get("abc").as_deref(), Some("query A { a }"));
        assert_eq!(manifest.get("sha256:abc").as_deref(), Some("query A { a }"));
        assert!(manifest.contains_body("query A { a }"));
        assert!(!manifest.contains_body("query A {a}"));
        let relay = Manifest::from_json(br#"{"1": "{ b }", "2": "{ c }"}"#).unwrap();
        assert_eq!(relay.len(), 2);
        assert_eq!(relay.get("2").as_deref(), Some("{ c }"));
        for bad in [
            &br#"{"format":"other","version":1,"operations":[]}"#[..],
            br#"{"1": 2}"#,
            b"[]",
            b"not json",
        ] {
            assert!(Manifest::from_json(bad).is_err());
        }
    }
}
