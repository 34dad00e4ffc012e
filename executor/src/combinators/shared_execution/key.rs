//! What makes two requests the same execution: the operation (document and operation name,
//! or only the text after the name for printed one-operation documents, see
//! [`Request::same_operation`]), the variables, the extensions, the WebSocket connection params, the values
//! of the headers that reach upstream services or decide authorization, and the form in which
//! the caller wants the data (so that each caller gets the form it asked for without a
//! conversion).
//!
//! Anything left out of the key is assumed not to change the result; so the header list must
//! name every header a subschema forwards or an authorizer reads (see
//! [`DedupOptions`](super::DedupOptions)).

use std::hash::{Hash, Hasher};

use http::{HeaderName, HeaderValue};

use crate::document::Document;
use crate::request::{RawVariables, Request, hash_map, same_raw};
use crate::result::{DataForm, JsonMap};

/// The identity of a request for in-flight deduplication.
#[derive(Debug)]
pub(crate) struct RequestKey {
    /// Every part below, hashed once.
    hash: u64,
    document: Document,
    operation_name: Option<String>,
    variables: JsonMap,
    /// The variables given as JSON text, compared as text (the same value written two ways
    /// is two keys: fewer shared executions, never a wrong one).
    raw_variables: RawVariables,
    extensions: JsonMap,
    connection_params: Option<JsonMap>,
    /// `(index in the configured list, value)`, every value of every listed header present.
    headers: Vec<(usize, HeaderValue)>,
    data_form: DataForm,
}

impl RequestKey {
    /// The key of `request`, reading the headers named in `headers`.
    pub(crate) fn new(request: &Request, headers: &[HeaderName]) -> Self {
        let incoming = request.context.headers();
        let mut values = Vec::new();
        if !incoming.is_empty() {
            for (index, name) in headers.iter().enumerate() {
                for value in incoming.get_all(name) {
                    values.push((index, value.clone()));
                }
            }
        }
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        request.hash_operation(&mut hasher);
        request.hash_variables(&mut hasher);
        hash_map(&request.extensions, &mut hasher);
        let connection_params = request.context.connection_params().cloned();
        if let Some(params) = &connection_params {
            hash_map(params, &mut hasher);
        }
        values.hash(&mut hasher);
        request.data_form.hash(&mut hasher);
        Self {
            hash: hasher.finish(),
            document: request.document.clone(),
            operation_name: request.operation_name.clone(),
            variables: request.variables.clone(),
            raw_variables: request.raw_variables.clone(),
            extensions: request.extensions.clone(),
            connection_params,
            headers: values,
            data_form: request.data_form,
        }
    }
}

impl Hash for RequestKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl PartialEq for RequestKey {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash
            && self.headers == other.headers
            && self.document.same_operation(
                self.operation_name.as_deref(),
                &other.document,
                other.operation_name.as_deref(),
            )
            && self.variables == other.variables
            && same_raw(&self.raw_variables, &other.raw_variables)
            && self.extensions == other.extensions
            && self.connection_params == other.connection_params
            && self.data_form == other.data_form
    }
}

impl Eq for RequestKey {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::Context;
    use http::HeaderMap;
    use http::header::{AUTHORIZATION, COOKIE};
    use serde_json::json;

    fn names() -> Vec<HeaderName> {
        vec![AUTHORIZATION, COOKIE]
    }

    fn with_headers(pairs: &[(HeaderName, &'static str)]) -> Request {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(name.clone(), HeaderValue::from_static(value));
        }
        Request::new("query Q($id: ID) { user(id: $id) { name } }")
            .unwrap()
            .context(Context::from_headers(headers))
    }

    fn key(request: &Request) -> RequestKey {
        RequestKey::new(request, &names())
    }

    #[test]
    #[allow(clippy::mutable_key_type)]
    fn printed_documents_differing_only_in_their_names_are_one_key() {
        use crate::document::{Document, OperationType};
        let printed = |name: &str, body: &str| {
            Request::from_document(Document::from_printed(
                format!("query {name} {body}"),
                OperationType::Query,
                Some(name),
            ))
            .operation_name(name)
        };
        let a = printed("ClientA", "{ user { name } }");
        let b = printed("ClientB", "{ user { name } }");
        assert_eq!(key(&a), key(&b));
        let mut set = std::collections::HashSet::new();
        set.insert(key(&a));
        assert!(set.contains(&key(&b)));
        // Another body, or a name that selects no operation of the document, is another key.
        assert_ne!(key(&a), key(&printed("ClientA", "{ user { id } }")));
        assert_ne!(
            key(&a),
            key(&printed("ClientA", "{ user { name } }").operation_name("X"))
        );
        // Parsed documents (what clients send) keep their names apart.
        let parsed = |name: &str| {
            Request::new(format!("query {name} {{ user {{ name }} }}"))
                .unwrap()
                .operation_name(name)
        };
        assert_ne!(key(&parsed("ClientA")), key(&parsed("ClientB")));
        assert_ne!(key(&a), key(&parsed("ClientA")));
    }

    #[test]
    // The document's lazily printed text is the interior mutability; the key's hash is computed
    // once, before it goes into a set.
    #[allow(clippy::mutable_key_type)]
    fn the_same_request_parsed_twice_is_the_same_key() {
        let a = with_headers(&[(AUTHORIZATION, "Bearer a")])
            .variable("id", json!({"x": 1, "y": [1, "2"]}));
        let b = with_headers(&[(AUTHORIZATION, "Bearer a")])
            .variable("id", json!({"y": [1, "2"], "x": 1}));
        assert_eq!(key(&a), key(&b));
        let mut set = std::collections::HashSet::new();
        set.insert(key(&a));
        assert!(
            set.contains(&key(&b)),
            "hash agrees with equality whatever the key order"
        );
    }

    #[test]
    fn every_part_of_the_identity_tells_requests_apart() {
        let base = with_headers(&[(AUTHORIZATION, "Bearer a")]);
        let differing = [
            with_headers(&[(AUTHORIZATION, "Bearer b")]),
            with_headers(&[(AUTHORIZATION, "Bearer a"), (COOKIE, "s=1")]),
            with_headers(&[]),
            base.clone().variable("id", json!("1")),
            base.clone().operation_name("Q"),
            base.clone()
                .extension("persistedQuery", json!({"version": 1})),
            base.clone().context(
                base.context
                    .clone()
                    .with_connection_params(JsonMap::from_iter([("token".to_owned(), json!("t"))])),
            ),
            Request::new("query Q($id: ID) { user(id: $id) { id } }")
                .unwrap()
                .context(base.context.clone()),
            base.clone().raw_variable("id", raw(r#""1""#)),
            base.clone()
                .raw_variable("id", raw(r#""1""#))
                .raw_variable("x", raw("2")),
            base.clone().data_form(crate::DataForm::Tree),
            base.clone().data_form(crate::DataForm::Json),
        ];
        for other in &differing {
            assert_ne!(key(&base), key(other), "{other:?}");
        }
    }

    fn raw(json: &str) -> Box<serde_json::value::RawValue> {
        serde_json::value::RawValue::from_string(json.to_owned()).unwrap()
    }

    #[test]
    fn variables_given_as_json_text_are_the_same_key_when_their_text_is() {
        let base = with_headers(&[(AUTHORIZATION, "Bearer a")]);
        let a = base.clone().raw_variable("id", raw(r#"["1",2]"#));
        assert_eq!(key(&a), key(&a.clone()));
        for other in [
            base.clone().raw_variable("id", raw(r#"["1",3]"#)),
            base.clone().raw_variable("ids", raw(r#"["1",2]"#)),
        ] {
            assert_ne!(key(&a), key(&other), "{other:?}");
        }
    }

    #[test]
    fn headers_outside_the_list_do_not_matter() {
        let a = with_headers(&[
            (AUTHORIZATION, "x"),
            (HeaderName::from_static("user-agent"), "a"),
        ]);
        let b = with_headers(&[
            (AUTHORIZATION, "x"),
            (HeaderName::from_static("user-agent"), "b"),
        ]);
        assert_eq!(key(&a), key(&b));
    }
}
