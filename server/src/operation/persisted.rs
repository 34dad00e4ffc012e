//! Stage 3b: persisted operations (see [`crate::persisted`]). A request that names a persisted
//! operation gets its text from the manifest or the APQ store; a query sent with its APQ hash
//! is verified, and stored once it has passed every check ([`Registration`]); with an
//! allow-list, a free-text query not in it is refused.

use std::sync::Arc;

use serde_json::Value;

use crate::error::RequestError;
use crate::operation::params::GraphQLParams;
use crate::persisted::{PersistedQueries, sha256_hex};

/// The longest id accepted (a SHA-256 in hex is 64 characters).
const MAX_ID_LENGTH: usize = 256;

/// A query to store under its hash once it has passed the checks.
#[derive(Debug)]
pub(crate) struct Registration {
    hash: String,
    query: Arc<str>,
}

impl Registration {
    /// Stores the query; a store that fails is logged, the request goes on.
    pub(crate) async fn store(self, persisted: &PersistedQueries) {
        if let Err(error) = persisted.store.put(&self.hash, self.query).await {
            tracing::warn!(%error, "could not store a persisted query");
        }
    }
}

/// How a request names a persisted operation.
enum Reference {
    /// `extensions.persistedQuery.sha256Hash`.
    Apq(String),
    /// `documentId`.
    DocumentId(String),
}

impl Reference {
    fn id(&self) -> &str {
        match self {
            Reference::Apq(id) | Reference::DocumentId(id) => id,
        }
    }
}

/// Fills in `params.query` for a request that names a persisted operation, and checks a
/// free-text one against the allow-list. `None` settings: persisted operations are off, and a
/// request that needs one is refused.
pub(crate) async fn resolve(
    persisted: Option<&PersistedQueries>,
    params: &mut GraphQLParams,
) -> Result<Option<Registration>, RequestError> {
    let reference = reference(params)?;
    let has_query = !params.query.is_empty();
    let Some(persisted) = persisted else {
        return match (reference, has_query) {
            (Some(_), false) => Err(RequestError::PersistedQueryNotSupported),
            _ => Ok(None),
        };
    };
    let manifest = persisted.manifest.as_ref();
    let Some(reference) = reference else {
        if persisted.only_persisted && !manifest.is_some_and(|m| m.contains_body(&params.query)) {
            return Err(RequestError::PersistedQueryNotInList);
        }
        return Ok(None);
    };
    if !has_query {
        if let Some(body) = manifest.and_then(|m| m.get(reference.id())) {
            params.query = body.to_string();
            return Ok(None);
        }
        let apq_hash = match &reference {
            Reference::Apq(hash) => Some(hash.as_str()),
            Reference::DocumentId(id) => id.strip_prefix("sha256:"),
        };
        let (true, false, Some(hash)) = (persisted.apq, persisted.only_persisted, apq_hash) else {
            return if persisted.apq || manifest.is_some() {
                Err(RequestError::PersistedQueryNotFound)
            } else {
                Err(RequestError::PersistedQueryNotSupported)
            };
        };
        let hash = hash.to_ascii_lowercase();
        return match persisted.store.get(&hash).await {
            // What a store hands back is checked like what a client sends: a shared store
            // written by someone else cannot substitute an operation.
            Ok(Some(query)) if sha256_hex(&query) == hash => {
                params.query = query.to_string();
                Ok(None)
            }
            Ok(_) => Err(RequestError::PersistedQueryNotFound),
            Err(error) => {
                tracing::warn!(%error, "persisted query lookup failed; answered as not found");
                Err(RequestError::PersistedQueryNotFound)
            }
        };
    }
    // A query with its id.
    if persisted.only_persisted {
        let listed = manifest.is_some_and(|m| {
            m.get(reference.id()).as_deref() == Some(params.query.as_str())
                || m.contains_body(&params.query)
        });
        return if listed {
            Ok(None)
        } else {
            Err(RequestError::PersistedQueryNotInList)
        };
    }
    match reference {
        Reference::Apq(hash) => {
            let hash = hash.to_ascii_lowercase();
            if sha256_hex(&params.query) != hash {
                return Err(RequestError::PersistedQueryHashMismatch);
            }
            Ok(persisted.apq.then(|| Registration {
                hash,
                query: Arc::from(params.query.as_str()),
            }))
        }
        Reference::DocumentId(_) => Ok(None),
    }
}

/// The persisted operation a request names, its shape checked.
fn reference(params: &GraphQLParams) -> Result<Option<Reference>, RequestError> {
    if let Some(extension) = params.extensions.get("persistedQuery") {
        let Value::Object(extension) = extension else {
            return Err(RequestError::InvalidPersistedQuery(
                "extensions.persistedQuery must be an object",
            ));
        };
        if extension.get("version").and_then(Value::as_u64) != Some(1) {
            return Err(RequestError::PersistedQueryVersion);
        }
        let Some(Value::String(hash)) = extension.get("sha256Hash") else {
            return Err(RequestError::InvalidPersistedQuery(
                "extensions.persistedQuery.sha256Hash must be a string",
            ));
        };
        if hash.is_empty() || hash.len() > MAX_ID_LENGTH {
            return Err(RequestError::InvalidPersistedQuery(
                "extensions.persistedQuery.sha256Hash has an invalid length",
            ));
        }
        return Ok(Some(Reference::Apq(hash.clone())));
    }
    match &params.document_id {
        Some(id) if id.is_empty() || id.len() > MAX_ID_LENGTH => Err(
            RequestError::InvalidPersistedQuery("documentId has an invalid length"),
        ),
        Some(id) => Ok(Some(Reference::DocumentId(id.clone()))),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::persisted::Manifest;

    fn apq(hash: &str, query: &str) -> GraphQLParams {
        let mut params = GraphQLParams {
            query: query.into(),
            ..GraphQLParams::default()
        };
        params.extensions.insert(
            "persistedQuery".into(),
            serde_json::json!({"version": 1, "sha256Hash": hash}),
        );
        params
    }

    fn code(result: Result<Option<Registration>, RequestError>) -> &'static str {
        match result {
            Ok(_) => "OK",
            Err(error) => error.code(),
        }
    }

    #[tokio::test]
    async fn apq_round_trip_and_refusals() {
        let persisted = PersistedQueries::default();
        let query = "{ hello }";
        let hash = sha256_hex(query);
        assert_eq!(
            code(resolve(Some(&persisted), &mut apq(&hash, "")).await),
            "PERSISTED_QUERY_NOT_FOUND"
        );
        assert_eq!(
            code(resolve(Some(&persisted), &mut apq(&hash, "{ other }")).await),
            "PERSISTED_QUERY_HASH_MISMATCH"
        );
        let registration = resolve(Some(&persisted), &mut apq(&hash, query))
            .await
            .unwrap()
            .unwrap();
        registration.store(&persisted).await;
        let mut params = apq(&hash.to_uppercase(), "");
        resolve(Some(&persisted), &mut params).await.unwrap();
        assert_eq!(params.query, query);
        assert_eq!(
            code(resolve(None, &mut apq(&hash, "")).await),
            "PERSISTED_QUERY_NOT_SUPPORTED"
        );
        let mut version = apq(&hash, "");
        version.extensions["persistedQuery"]["version"] = 2.into();
        assert_eq!(
            code(resolve(Some(&persisted), &mut version).await),
            "PERSISTED_QUERY_NOT_SUPPORTED"
        );
    }

    #[tokio::test]
    async fn the_allow_list_serves_only_its_operations() {
        let persisted = PersistedQueries {
            apq: false,
            manifest: Some(Manifest::from_operations([("op1", "{ listed }")])),
            only_persisted: true,
            ..PersistedQueries::default()
        };
        let mut by_id = apq("op1", "");
        resolve(Some(&persisted), &mut by_id).await.unwrap();
        assert_eq!(by_id.query, "{ listed }");
        let mut document_id = GraphQLParams {
            document_id: Some("op1".into()),
            ..GraphQLParams::default()
        };
        resolve(Some(&persisted), &mut document_id).await.unwrap();
        assert_eq!(document_id.query, "{ listed }");
        let mut text = GraphQLParams {
            query: "{ listed }".into(),
            ..GraphQLParams::default()
        };
        assert_eq!(code(resolve(Some(&persisted), &mut text).await), "OK");
        let mut other = GraphQLParams {
            query: "{ other }".into(),
            ..GraphQLParams::default()
        };
        assert_eq!(
            code(resolve(Some(&persisted), &mut other).await),
            "PERSISTED_QUERY_NOT_IN_LIST"
        );
        assert_eq!(
            code(resolve(Some(&persisted), &mut apq("op2", "")).await),
            "PERSISTED_QUERY_NOT_FOUND"
        );
        // Registering through APQ is not a way in.
        let hash = sha256_hex("{ other }");
        assert_eq!(
            code(resolve(Some(&persisted), &mut apq(&hash, "{ other }")).await),
            "PERSISTED_QUERY_NOT_IN_LIST"
        );
    }
}
