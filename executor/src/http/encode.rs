//! Turning a [`Request`] into what goes on the wire: a JSON POST body, a GET URL, a multipart
//! upload form (GraphQL multipart request spec), with or without an APQ hash.

use bytes::Bytes;
use serde::Serialize;
use serde::ser::SerializeMap;
use sha2::{Digest, Sha256};
use url::Url;

use crate::error::ExecutorError;
use crate::request::{FileUpload, Request, VariablesJson};
use crate::result::JsonMap;

/// What one HTTP request carries besides its headers.
#[derive(Debug, Clone)]
pub(super) enum Payload {
    /// A GET: everything is in the URL.
    None,
    /// A JSON POST body.
    Json(Bytes),
    /// A multipart upload: the `operations` JSON, the `map` JSON, and the files.
    Multipart {
        operations: Bytes,
        map: Bytes,
        files: Vec<FileUpload>,
    },
}

/// One way of sending the operation: the URL and the payload.
#[derive(Debug, Clone)]
pub(super) struct Target {
    pub url: Url,
    pub payload: Payload,
}

/// The `persistedQuery` extension of automatic persisted queries.
#[derive(Debug, Clone)]
pub(crate) struct PersistedQuery {
    pub sha256: String,
}

/// The GraphQL-over-HTTP parameters, borrowed from the request.
struct Params<'a> {
    query: Option<&'a str>,
    /// `query` as a JSON string, escaped once per document.
    query_json: Option<&'a serde_json::value::RawValue>,
    operation_name: Option<&'a str>,
    variables: VariablesJson<'a>,
    extensions: &'a JsonMap,
    persisted: Option<&'a PersistedQuery>,
}

/// The `extensions` object: the request's own plus `persistedQuery` when hashing.
struct Extensions<'a> {
    extensions: &'a JsonMap,
    persisted: Option<&'a PersistedQuery>,
}

impl Extensions<'_> {
    fn is_empty(&self) -> bool {
        self.extensions.is_empty() && self.persisted.is_none()
    }
}

impl Serialize for Extensions<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for (key, value) in self.extensions {
            if self.persisted.is_some() && key == "persistedQuery" {
                continue;
            }
            map.serialize_entry(key, value)?;
        }
        if let Some(persisted) = self.persisted {
            map.serialize_entry(
                "persistedQuery",
                &serde_json::json!({ "version": 1, "sha256Hash": persisted.sha256 }),
            )?;
        }
        map.end()
    }
}

impl Params<'_> {
    /// Writes the JSON object `{"query", "operationName", "variables", "extensions"}` (empty
    /// members left out), as `serde_json` writes a map but by hand: the variables given as
    /// JSON text are copied as they are (see [`crate::RawJson`]).
    fn write_json(&self, body: &mut Vec<u8>) -> serde_json::Result<()> {
        let mut first = true;
        let mut key = |body: &mut Vec<u8>, key: &[u8]| {
            body.push(if std::mem::take(&mut first) {
                b'{'
            } else {
                b','
            });
            body.extend_from_slice(key);
        };
        if let Some(query) = self.query_json {
            key(body, b"\"query\":");
            body.extend_from_slice(query.get().as_bytes());
        }
        if let Some(name) = self.operation_name {
            key(body, b"\"operationName\":");
            serde_json::to_writer(&mut *body, name)?;
        }
        if !self.variables.is_empty() {
            key(body, b"\"variables\":");
            self.variables.write_json(body)?;
        }
        let extensions = Extensions {
            extensions: self.extensions,
            persisted: self.persisted,
        };
        if !extensions.is_empty() {
            key(body, b"\"extensions\":");
            serde_json::to_writer(&mut *body, &extensions)?;
        }
        if first {
            body.push(b'{');
        }
        body.push(b'}');
        Ok(())
    }
}

/// The SHA-256 hash (lowercase hex) of a query, as automatic persisted queries name it.
pub(super) fn persisted_query(query: &str) -> PersistedQuery {
    PersistedQuery {
        sha256: hex::encode(Sha256::digest(query.as_bytes())),
    }
}

fn params<'a>(
    request: &'a Request,
    extensions: &'a JsonMap,
    persisted: Option<&'a PersistedQuery>,
    with_query: bool,
) -> Params<'a> {
    Params {
        query: with_query.then(|| request.query()),
        query_json: with_query.then(|| request.document.as_json()),
        operation_name: request.operation_name.as_deref(),
        variables: request.variables_json(),
        extensions,
        persisted,
    }
}

fn encode_error(endpoint: &str, error: serde_json::Error) -> ExecutorError {
    ExecutorError::InvalidRequest {
        endpoint: endpoint.to_owned(),
        message: format!("could not encode the request as JSON: {error}"),
    }
}

/// The JSON body `{"query", "operationName", "variables", "extensions"}` (empty members left
/// out). With `persisted`, the hash goes into `extensions.persistedQuery`, and the query only
/// when `with_query`.
pub(super) fn json_body(
    endpoint: &str,
    request: &Request,
    extensions: &JsonMap,
    persisted: Option<&PersistedQuery>,
    with_query: bool,
) -> Result<Bytes, ExecutorError> {
    request_json(request, extensions, persisted, with_query)
        .map(Bytes::from)
        .map_err(|e| encode_error(endpoint, e))
}

/// The request as that JSON object, for the HTTP body and for transports that carry the same
/// object in another envelope (the WebSocket executor's `subscribe` payload).
pub(crate) fn request_json(
    request: &Request,
    extensions: &JsonMap,
    persisted: Option<&PersistedQuery>,
    with_query: bool,
) -> serde_json::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(request.encoded_size_hint());
    params(request, extensions, persisted, with_query).write_json(&mut out)?;
    Ok(out)
}

/// The GET URL: `query`, `operationName`, and `variables` and `extensions` as JSON, in the
/// query string (added to any query string the endpoint already has).
pub(super) fn get_url(
    endpoint: &Url,
    request: &Request,
    extensions: &JsonMap,
    persisted: Option<&PersistedQuery>,
    with_query: bool,
) -> Result<Url, ExecutorError> {
    let p = params(request, extensions, persisted, with_query);
    let mut url = endpoint.clone();
    {
        let mut pairs = url.query_pairs_mut();
        if let Some(query) = p.query {
            pairs.append_pair("query", query);
        }
        if let Some(name) = p.operation_name {
            pairs.append_pair("operationName", name);
        }
        if !p.variables.is_empty() {
            let json = serde_json::to_string(&p.variables)
                .map_err(|e| encode_error(endpoint.as_str(), e))?;
            pairs.append_pair("variables", &json);
        }
        let extensions = Extensions {
            extensions: p.extensions,
            persisted: p.persisted,
        };
        if !extensions.is_empty() {
            let json = serde_json::to_string(&extensions)
                .map_err(|e| encode_error(endpoint.as_str(), e))?;
            pairs.append_pair("extensions", &json);
        }
    }
    Ok(url)
}

/// The parts of a GraphQL multipart request: `operations` (the JSON body, with each file's
/// variable set to `null`) and `map` (`{"0": ["variables.file"], ...}`).
pub(super) fn multipart(
    endpoint: &str,
    request: &Request,
    extensions: &JsonMap,
) -> Result<Payload, ExecutorError> {
    let operations = json_body(endpoint, request, extensions, None, true)?;
    let mut map = JsonMap::new();
    for (index, upload) in request.uploads.iter().enumerate() {
        map.insert(
            index.to_string(),
            serde_json::json!([format!("variables.{}", upload.path)]),
        );
    }
    let map = serde_json::to_vec(&map).map_err(|e| encode_error(endpoint, e))?;
    Ok(Payload::Multipart {
        operations,
        map: Bytes::from(map),
        files: request.uploads.clone(),
    })
}

/// The reqwest form of a multipart payload (built for each attempt: a form is consumed when
/// sent).
pub(super) fn form(
    endpoint: &str,
    operations: &Bytes,
    map: &Bytes,
    files: &[FileUpload],
) -> Result<reqwest::multipart::Form, ExecutorError> {
    let json_part = |bytes: &Bytes| {
        reqwest::multipart::Part::bytes(bytes.to_vec())
            .mime_str("application/json")
            .map_err(|e| invalid_part(endpoint, "operations", e))
    };
    let mut form = reqwest::multipart::Form::new()
        .part("operations", json_part(operations)?)
        .part("map", json_part(map)?);
    for (index, upload) in files.iter().enumerate() {
        let content_type = upload
            .file
            .content_type
            .as_deref()
            .unwrap_or("application/octet-stream");
        let part = reqwest::multipart::Part::stream_with_length(
            reqwest::Body::from(upload.file.body.clone()),
            upload.file.body.len() as u64,
        )
        .file_name(upload.file.filename.clone())
        .mime_str(content_type)
        .map_err(|e| invalid_part(endpoint, &upload.path, e))?;
        form = form.part(index.to_string(), part);
    }
    Ok(form)
}

fn invalid_part(endpoint: &str, name: &str, error: reqwest::Error) -> ExecutorError {
    ExecutorError::InvalidRequest {
        endpoint: endpoint.to_owned(),
        message: format!("invalid multipart part `{name}`: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::Upload;
    use serde_json::{Value, json};

    #[test]
    fn body_and_url_carry_variables_given_as_json_text_after_the_others() {
        let raw = |json: &str| serde_json::value::RawValue::from_string(json.into()).unwrap();
        let r = Request::new("query($a: Int, $r: [R]) { a(a: $a, r: $r) }")
            .unwrap()
            .variable("a", json!(1))
            .raw_variable("r", raw(r#"[{"__typename":"R","id":"1"}]"#))
            // A name given both ways is sent by value.
            .raw_variable("a", raw("2"));
        let body = json_body("e", &r, &JsonMap::new(), None, false).unwrap();
        assert_eq!(
            std::str::from_utf8(&body).unwrap(),
            r#"{"variables":{"a":1,"r":[{"__typename":"R","id":"1"}]}}"#
        );
        let url = get_url(
            &Url::parse("http://h/graphql").unwrap(),
            &r,
            &JsonMap::new(),
            None,
            false,
        )
        .unwrap();
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert_eq!(
            pairs,
            vec![(
                "variables".into(),
                r#"{"a":1,"r":[{"__typename":"R","id":"1"}]}"#.into()
            )]
        );
        // Only raw variables: the object is written all the same.
        let only = Request::new("query($r: Int) { a(r: $r) }")
            .unwrap()
            .raw_variable("r", raw("3"));
        let body = json_body("e", &only, &JsonMap::new(), None, false).unwrap();
        assert_eq!(&body[..], br#"{"variables":{"r":3}}"#);
    }

    #[test]
    fn body_leaves_out_empty_members() {
        let r = Request::new("{ a }").unwrap();
        let body = json_body("e", &r, &JsonMap::new(), None, true).unwrap();
        assert_eq!(&body[..], br#"{"query":"{ a }"}"#);
    }

    #[test]
    fn body_with_all_members_keeps_query_text() {
        let r = Request::new("query Q($x: Int) { a(x: $x) }")
            .unwrap()
            .operation_name("Q")
            .variable("x", json!(1));
        let mut ext = JsonMap::new();
        ext.insert("trace".into(), json!(true));
        let body = json_body("e", &r, &ext, None, true).unwrap();
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            v,
            json!({"query":"query Q($x: Int) { a(x: $x) }","operationName":"Q","variables":{"x":1},"extensions":{"trace":true}})
        );
        // The bytes a serde map of the same members gives, escapes included.
        let r = Request::new("query Q($x: String = \"a\\\"b\\n\") { a(x: $x) }")
            .unwrap()
            .operation_name("Q\u{1}\"")
            .variable("x", json!("\n\u{7f}é"));
        let body = json_body("e", &r, &ext, None, true).unwrap();
        let expected = serde_json::to_vec(&json!({
            "query": r.query(), "operationName": "Q\u{1}\"", "variables": {"x": "\n\u{7f}é"},
            "extensions": {"trace": true}
        }))
        .unwrap();
        assert_eq!(body, expected);
    }

    #[test]
    fn written_json_text_goes_into_the_body_as_it_is_and_is_checked_where_serde_writes_it() {
        let written = r#"[{"__typename":"R","id":"1"}]"#;
        let r = Request::new("query($r: [R]) { a(r: $r) }")
            .unwrap()
            .raw_variable("r", crate::RawJson::from_written(written.into()));
        let body = json_body("e", &r, &JsonMap::new(), None, false).unwrap();
        assert_eq!(
            &body[..],
            format!(r#"{{"variables":{{"r":{written}}}}}"#).as_bytes()
        );
        let url = Url::parse("http://h/graphql").unwrap();
        let url = get_url(&url, &r, &JsonMap::new(), None, false).unwrap();
        assert!(url.as_str().contains("variables="), "{url}");
        // Serializing (a GET request) checks the text it did not write.
        let broken = Request::new("query($r: [R]) { a(r: $r) }")
            .unwrap()
            .raw_variable("r", crate::RawJson::from_written("[{".into()));
        let url = Url::parse("http://h/graphql").unwrap();
        let error = get_url(&url, &broken, &JsonMap::new(), None, false).unwrap_err();
        assert!(
            matches!(error, ExecutorError::InvalidRequest { .. }),
            "{error:?}"
        );
    }

    #[test]
    fn apq_hash_is_sha256_hex_and_query_is_optional() {
        let r = Request::new("{ hello }").unwrap();
        let pq = persisted_query(r.query());
        assert_eq!(pq.sha256.len(), 64);
        let body = json_body("e", &r, &JsonMap::new(), Some(&pq), false).unwrap();
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v.get("query"), None);
        assert_eq!(
            v["extensions"]["persistedQuery"],
            json!({"version": 1, "sha256Hash": pq.sha256})
        );
    }

    #[test]
    fn get_url_encodes_json_params() {
        let r = Request::new("query Q($x: Int) { a(x: $x) }")
            .unwrap()
            .variable("x", json!(1));
        let url = get_url(
            &Url::parse("http://h/graphql?k=v").unwrap(),
            &r,
            &JsonMap::new(),
            None,
            true,
        )
        .unwrap();
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert_eq!(pairs[0], ("k".into(), "v".into()));
        assert_eq!(pairs[1].0, "query");
        assert_eq!(pairs[2], ("variables".into(), r#"{"x":1}"#.into()));
    }

    #[test]
    fn multipart_map_points_at_variables() {
        let r = Request::new("mutation($f: Upload!) { upload(file: $f) { size } }")
            .unwrap()
            .upload("f", Upload::new("a.txt", "A"));
        let Payload::Multipart {
            operations,
            map,
            files,
        } = multipart("e", &r, &JsonMap::new()).unwrap()
        else {
            panic!("not multipart")
        };
        let ops: Value = serde_json::from_slice(&operations).unwrap();
        assert_eq!(ops["variables"], json!({"f": null}));
        let map: Value = serde_json::from_slice(&map).unwrap();
        assert_eq!(map, json!({"0": ["variables.f"]}));
        assert_eq!(files.len(), 1);
    }
}
