//! A GraphQL request as executors receive it.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use bytes::Bytes;
use http::HeaderMap;
use serde::Serialize;
use serde::ser::SerializeMap;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::document::{Document, OperationType, ParseError};
use crate::result::{DataForm, JsonMap};

/// A GraphQL request: a shared parsed document, the operation to run, its variables and
/// extensions, and the [`Context`] the gateway passes down.
///
/// Cloning is cheap for the document (an [`Arc`]); variables and extensions are owned maps.
///
/// ```
/// use quilt_executor::{OperationType, Request};
/// use serde_json::json;
///
/// let request = Request::new("query User($id: ID!) { user(id: $id) { name } }")?
///     .variable("id", json!("1"))
///     .operation_name("User");
/// assert_eq!(request.operation_type(), OperationType::Query);
/// assert_eq!(request.query(), "query User($id: ID!) { user(id: $id) { name } }");
/// # Ok::<(), quilt_executor::ParseError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Request {
    /// The operation document.
    pub document: Document,
    /// The variables' values (JSON).
    pub variables: JsonMap,
    /// Variables whose values are JSON text already, sent as they are after
    /// [`variables`](Self::variables) (a name in both is sent from `variables` only).
    ///
    /// The stitched schema writes its entity representations this way, straight from the
    /// response data, instead of building a `serde_json::Value` for each one.
    ///
    /// Every executor takes them: they are part of the request's variables, not a capability
    /// an executor announces. A wrapper that passes the request on passes them on untouched,
    /// so no wrapper can forget to say that what it wraps takes them (as a capability method
    /// each wrapper had to forward, a forgotten forward silently cost the caller its fast
    /// path). The work lies where the variables are read by value, once: an executor that
    /// reads or changes variables calls
    /// [`materialize_raw_variables`](Self::materialize_raw_variables) first. Quilt's own do
    /// ([`from_fn`](crate::from_fn) and [`map_request`](crate::ExecutorExt::map_request) before
    /// handing the request to your function, the wrapped and stitched schemas before reading
    /// it); the HTTP, WebSocket and callback executors send them as they are, and the
    /// batching executor merges them as they are.
    pub raw_variables: RawVariables,
    /// Which operation of the document to run; required when it holds several.
    pub operation_name: Option<String>,
    /// Request extensions. Executors read some keys as per-request overrides, as graphql-tools
    /// does: `headers` and `endpoint` (HTTP), `connectionParams` (WebSocket); they are not
    /// forwarded upstream.
    pub extensions: JsonMap,
    /// What the gateway passes down: incoming headers, connection params, typed values.
    pub context: Context,
    /// Files to upload with the GraphQL multipart request spec; each one's `variables` entry is
    /// `null` and its position is given by [`FileUpload::path`].
    pub uploads: Vec<FileUpload>,
    /// The form in which the caller wants the result's data (a value by default). A wrapper
    /// passes it on with the request; see [`DataForm`].
    pub data_form: DataForm,
}

impl Request {
    /// Parses `query` into a request with no variables.
    pub fn new(query: impl Into<Arc<str>>) -> Result<Self, ParseError> {
        Ok(Self::from_document(Document::parse(query)?))
    }

    /// A request for an already parsed document.
    pub fn from_document(document: Document) -> Self {
        Self {
            document,
            variables: JsonMap::new(),
            raw_variables: Vec::new(),
            operation_name: None,
            extensions: JsonMap::new(),
            context: Context::default(),
            uploads: Vec::new(),
            data_form: DataForm::Value,
        }
    }

    /// The operation type of the selected operation (`Query` when the document does not
    /// identify one, so that the service reports the error).
    pub fn operation_type(&self) -> OperationType {
        self.document.operation_type(self.operation_name.as_deref())
    }

    /// The document as text, printed at most once.
    pub fn query(&self) -> &str {
        self.document.as_str()
    }

    /// Sets one variable.
    pub fn variable(mut self, name: impl Into<String>, value: Value) -> Self {
        self.variables.insert(name.into(), value);
        self
    }

    /// Replaces the variables.
    pub fn variables(mut self, variables: JsonMap) -> Self {
        self.variables = variables;
        self
    }

    /// Sets one variable to JSON text (see [`raw_variables`](Self::raw_variables)).
    ///
    /// ```
    /// use quilt_executor::Request;
    /// use serde_json::{json, value::RawValue};
    ///
    /// let mut request = Request::new("query($ids: [ID!]!) { users(ids: $ids) { name } }")?
    ///     .raw_variable("ids", RawValue::from_string(r#"["1","2"]"#.into())?);
    /// assert_eq!(serde_json::to_string(&request.variables_json())?, r#"{"ids":["1","2"]}"#);
    /// request.materialize_raw_variables()?;
    /// assert_eq!(request.variables["ids"], json!(["1", "2"]));
    /// assert!(request.raw_variables.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn raw_variable(mut self, name: impl Into<String>, value: impl Into<RawJson>) -> Self {
        self.raw_variables.push((name.into(), value.into()));
        self
    }

    /// Moves the [`raw_variables`](Self::raw_variables) into
    /// [`variables`](Self::variables) as values (a name already in `variables` keeps its
    /// value there), for an executor that reads or changes variables by value.
    pub fn materialize_raw_variables(&mut self) -> Result<(), serde_json::Error> {
        for (name, raw) in std::mem::take(&mut self.raw_variables) {
            if !self.variables.contains_key(&name) {
                let value = serde_json::from_str(raw.get())?;
                self.variables.insert(name, value);
            }
        }
        Ok(())
    }

    /// Whether the request has no variables, by value or as JSON text.
    pub fn has_no_variables(&self) -> bool {
        self.variables.is_empty() && self.raw_variables.is_empty()
    }

    /// Whether `other` sends the same variables: equal values (objects in any key order) and
    /// the same variables given as JSON text, compared as text (the same value written two
    /// ways counts as different: fewer requests shared, never a wrong one).
    ///
    /// ```
    /// use quilt_executor::Request;
    /// use serde_json::json;
    /// let a = Request::new("query Q($v: In) { f(v: $v) }")?.variable("v", json!({"x": 1, "y": 2}));
    /// let b = Request::new("query Q($v: In) { f(v: $v) }")?.variable("v", json!({"y": 2, "x": 1}));
    /// assert!(a.same_variables(&b));
    /// assert!(!a.same_variables(&b.clone().variable("v", json!(3))));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn same_variables(&self, other: &Request) -> bool {
        self.variables == other.variables && same_raw(&self.raw_variables, &other.raw_variables)
    }

    /// Whether the two requests run the same operation
    /// ([`Document::same_operation`]: the same document and operation name, or printed
    /// one-operation documents that differ only in their names, as a stitched gateway's
    /// subgraph requests for client operations named differently do).
    pub fn same_operation(&self, other: &Request) -> bool {
        self.document.same_operation(
            self.operation_name.as_deref(),
            &other.document,
            other.operation_name.as_deref(),
        )
    }

    /// Feeds the operation's identity into `state`, agreeing with
    /// [`same_operation`](Self::same_operation) ([`Document::hash_operation`]).
    pub fn hash_operation<H: Hasher>(&self, state: &mut H) {
        self.document
            .hash_operation(self.operation_name.as_deref(), state);
    }

    /// Feeds the variables into `state`, agreeing with
    /// [`same_variables`](Self::same_variables): values without regard to key order, JSON text
    /// variables by name and text (streamed into the hasher, never copied).
    pub fn hash_variables<H: Hasher>(&self, state: &mut H) {
        hash_map(&self.variables, state);
        for (name, raw) in &self.raw_variables {
            name.hash(state);
            raw.get().hash(state);
        }
    }

    /// Room for the request written as JSON (`{"query", ..., "variables"}`): the document and
    /// the variables given as JSON text (an entity step's representations: megabytes for a
    /// large answer, which a buffer growing by doubling copied and faulted in twice) and a
    /// little for the other members, which are small.
    pub(crate) fn encoded_size_hint(&self) -> usize {
        let raw: usize = self
            .raw_variables
            .iter()
            .map(|(name, value)| name.len() + value.get().len() + 4)
            .sum();
        self.query().len() + raw + 64
    }

    /// The variables as one JSON object when serialized: [`variables`](Self::variables), then
    /// the [`raw_variables`](Self::raw_variables) not among them, copied as they are.
    pub fn variables_json(&self) -> VariablesJson<'_> {
        VariablesJson {
            variables: &self.variables,
            raw: &self.raw_variables,
        }
    }

    /// Selects the operation by name.
    pub fn operation_name(mut self, name: impl Into<String>) -> Self {
        self.operation_name = Some(name.into());
        self
    }

    /// Sets one extension.
    pub fn extension(mut self, key: impl Into<String>, value: Value) -> Self {
        self.extensions.insert(key.into(), value);
        self
    }

    /// Asks for the result's data in `form` (see [`DataForm`]).
    pub fn data_form(mut self, form: DataForm) -> Self {
        self.data_form = form;
        self
    }

    /// Replaces the context.
    pub fn context(mut self, context: Context) -> Self {
        self.context = context;
        self
    }

    /// Attaches a file at `path` within the variables (`"file"`, `"files.1"`,
    /// `"input.attachment"`) and sets that variable position to `null`, as the GraphQL
    /// multipart request spec requires.
    pub fn upload(mut self, path: impl Into<String>, file: Upload) -> Self {
        let path = path.into();
        set_null_at(&mut self.variables, &path);
        self.uploads.push(FileUpload { path, file });
        self
    }

    /// Whether this is a subscription.
    pub fn is_subscription(&self) -> bool {
        self.operation_type() == OperationType::Subscription
    }

    /// Whether this is a mutation.
    pub fn is_mutation(&self) -> bool {
        self.operation_type() == OperationType::Mutation
    }
}

/// Variables given as JSON text: names and values (see [`Request::raw_variables`]).
pub type RawVariables = Vec<(String, RawJson)>;

/// One variable's value as JSON text, sent as it is (see [`Request::raw_variables`]).
///
/// Either text `serde_json` checked ([`RawValue`], converted with `into()`), or text the
/// caller wrote itself ([`from_written`](Self::from_written)): the stitched schema writes an
/// entity step's representations (megabytes for a large answer) straight from the response
/// data, and checking that text again cost more than writing it. Cloning shares the text.
///
/// ```
/// use quilt_executor::{RawJson, Request};
/// use serde_json::value::RawValue;
///
/// let checked: RawJson = RawValue::from_string(r#"["1","2"]"#.into())?.into();
/// let written = RawJson::from_written(r#"["1","2"]"#.to_owned());
/// assert_eq!(checked.get(), written.get());
/// let request = Request::new("query($ids: [ID!]!) { users(ids: $ids) { name } }")?
///     .raw_variable("ids", written);
/// assert_eq!(serde_json::to_string(&request.variables_json())?, r#"{"ids":["1","2"]}"#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct RawJson(RawText);

#[derive(Clone)]
enum RawText {
    /// Checked by `serde_json`.
    Checked(Arc<Box<RawValue>>),
    /// Written by the caller, not checked. (An `Arc<String>`: `Arc<str>` would copy the
    /// text, megabytes for a large answer's representations.)
    Written(Arc<String>),
}

impl RawJson {
    /// Text the caller wrote as one JSON value, taken without checking it: the HTTP executor's
    /// POST body and the WebSocket executor's `subscribe` payload carry it as it is, so text
    /// that is not JSON reaches the upstream service as it is (serializing it with `serde`, as
    /// a GET request's URL does, checks it then and fails on it).
    pub fn from_written(text: String) -> Self {
        RawJson(RawText::Written(Arc::new(text)))
    }

    /// The JSON text.
    pub fn get(&self) -> &str {
        match &self.0 {
            RawText::Checked(raw) => raw.get(),
            RawText::Written(text) => text.as_str(),
        }
    }
}

impl From<Box<RawValue>> for RawJson {
    fn from(raw: Box<RawValue>) -> Self {
        RawJson(RawText::Checked(Arc::new(raw)))
    }
}

impl std::fmt::Debug for RawJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("RawJson").field(&self.get()).finish()
    }
}

impl Serialize for RawJson {
    /// The text as it is (text written by the caller is checked here first).
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            RawText::Checked(raw) => raw.serialize(serializer),
            RawText::Written(text) => RawValue::from_string(text.as_str().to_owned())
                .map_err(serde::ser::Error::custom)?
                .serialize(serializer),
        }
    }
}

/// Whether two lists of JSON text variables hold the same names and texts, in order.
pub(crate) fn same_raw(a: &[(String, RawJson)], b: &[(String, RawJson)]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|((n, x), (m, y))| n == m && x.get() == y.get())
}

/// Hashes a JSON object without regard to key order, as its equality does.
pub(crate) fn hash_map<H: Hasher>(map: &JsonMap, state: &mut H) {
    state.write_usize(map.len());
    let mut sum = 0u64;
    for (key, value) in map {
        let mut entry = std::collections::hash_map::DefaultHasher::new();
        key.hash(&mut entry);
        hash_value(value, &mut entry);
        sum = sum.wrapping_add(entry.finish());
    }
    state.write_u64(sum);
}

fn hash_value<H: Hasher>(value: &Value, state: &mut H) {
    match value {
        Value::Null => state.write_u8(0),
        Value::Bool(b) => {
            state.write_u8(1);
            b.hash(state);
        }
        Value::Number(n) => {
            state.write_u8(2);
            n.hash(state);
        }
        Value::String(s) => {
            state.write_u8(3);
            s.hash(state);
        }
        Value::Array(items) => {
            state.write_u8(4);
            state.write_usize(items.len());
            for item in items {
                hash_value(item, state);
            }
        }
        Value::Object(map) => {
            state.write_u8(5);
            hash_map(map, state);
        }
    }
}

/// A request's variables, serialized as one JSON object (see [`Request::variables_json`]).
#[derive(Debug, Clone, Copy)]
pub struct VariablesJson<'a> {
    variables: &'a JsonMap,
    raw: &'a [(String, RawJson)],
}

impl VariablesJson<'_> {
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.variables.is_empty() && self.raw.is_empty()
    }

    /// Writes the object `serde_json::to_writer` writes for it, the JSON text variables copied
    /// as they are (text the caller wrote included: serializing checks that, this does not).
    pub(crate) fn write_json(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        out.push(b'{');
        let mut first = true;
        let mut member = |out: &mut Vec<u8>, name: &str| -> serde_json::Result<()> {
            if !std::mem::take(&mut first) {
                out.push(b',');
            }
            serde_json::to_writer(&mut *out, name)?;
            out.push(b':');
            Ok(())
        };
        for (name, value) in self.variables {
            member(out, name)?;
            serde_json::to_writer(&mut *out, value)?;
        }
        for (name, raw) in self.raw {
            if !self.variables.contains_key(name) {
                member(out, name)?;
                out.extend_from_slice(raw.get().as_bytes());
            }
        }
        out.push(b'}');
        Ok(())
    }
}

impl Serialize for VariablesJson<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.raw.is_empty() {
            return self.variables.serialize(serializer);
        }
        let mut map = serializer.serialize_map(None)?;
        for (name, value) in self.variables {
            map.serialize_entry(name, value)?;
        }
        for (name, raw) in self.raw {
            if !self.variables.contains_key(name) {
                map.serialize_entry(name, raw)?;
            }
        }
        map.end()
    }
}

/// Sets the value at a dotted path (`a.b.0`) in `variables` to `null`, creating objects and
/// extending lists as needed.
fn set_null_at(variables: &mut JsonMap, path: &str) {
    set_at(variables, path, Value::Null);
}

/// Sets the value at a dotted path (`a.b.0`) in `variables`, creating objects and extending
/// lists as needed.
fn set_at(variables: &mut JsonMap, path: &str, value: Value) {
    let mut segments = path.split('.');
    let Some(first) = segments.next() else {
        return;
    };
    let mut current = variables.entry(first.to_owned()).or_insert(Value::Null);
    for segment in segments {
        current = match segment.parse::<usize>() {
            Ok(index) => {
                if !current.is_array() {
                    *current = Value::Array(Vec::new());
                }
                let Value::Array(items) = current else {
                    return;
                };
                if items.len() <= index {
                    items.resize(index + 1, Value::Null);
                }
                &mut items[index]
            }
            Err(_) => {
                if !current.is_object() {
                    *current = Value::Object(JsonMap::new());
                }
                let Value::Object(map) = current else {
                    return;
                };
                map.entry(segment.to_owned()).or_insert(Value::Null)
            }
        };
    }
    *current = value;
}

/// Follows a request's files through code that rewrites its variables by value (coercion,
/// a transform renaming input fields or wrapping a value in a list): [`mark`](Self::mark)
/// puts a placeholder string at each file's position, and [`unmark`](Self::unmark) finds the
/// placeholders where they ended up, puts `null` back there and gives each file its new path.
///
/// Placeholders carry a random number drawn for each `UploadMarks`, so a client's own strings
/// are never taken for one.
///
/// ```
/// use quilt_executor::{Request, Upload, UploadMarks};
/// use serde_json::json;
///
/// let mut request = Request::new("mutation($fs: [Upload!]!) { a }")?
///     .upload("fs", Upload::new("a.txt", "A"));
/// let marks = UploadMarks::new();
/// marks.mark(&mut request.variables, &request.uploads);
/// // What a list input coercion does to a single value:
/// let single = request.variables.remove("fs").unwrap();
/// request.variables.insert("fs".into(), json!([single]));
/// let uploads = marks.unmark(&mut request.variables, &request.uploads).unwrap();
/// assert_eq!(uploads[0].path, "fs.0");
/// assert_eq!(request.variables["fs"], json!([null]));
/// # Ok::<(), quilt_executor::ParseError>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct UploadMarks {
    nonce: u64,
}

/// A file whose placeholder [`UploadMarks::unmark`] did not find: what rewrote the variables
/// dropped its position (a variable the operation does not declare, a field its input type
/// does not have, a value a transform replaced).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the file for `variables.{path}` has no place in the operation's variables")]
pub struct LostUpload {
    /// The file's path before the variables were rewritten.
    pub path: String,
}

const UPLOAD_MARK_PREFIX: &str = "\u{0}quilt-upload:";

impl UploadMarks {
    /// Marks with a fresh random number.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Self {
            nonce: fastrand::u64(..),
        }
    }

    /// Puts this file's placeholder (`index` in `uploads`) at each file's path in `variables`.
    pub fn mark(&self, variables: &mut JsonMap, uploads: &[FileUpload]) {
        for (index, upload) in uploads.iter().enumerate() {
            let mark = format!("{UPLOAD_MARK_PREFIX}{:016x}:{index}", self.nonce);
            set_at(variables, &upload.path, Value::String(mark));
        }
    }

    /// Finds the placeholders [`mark`](Self::mark) put in `variables`, sets each to `null`,
    /// and answers the files of `uploads` at the paths where their placeholders were (a
    /// placeholder found twice gives its file twice), in the order of `uploads`; or the first
    /// file whose placeholder is gone.
    pub fn unmark(
        &self,
        variables: &mut JsonMap,
        uploads: &[FileUpload],
    ) -> Result<Vec<FileUpload>, LostUpload> {
        let prefix = format!("{UPLOAD_MARK_PREFIX}{:016x}:", self.nonce);
        let mut found: Vec<(usize, String)> = Vec::with_capacity(uploads.len());
        let mut path = String::new();
        for (name, value) in variables.iter_mut() {
            path.clear();
            path.push_str(name);
            find_marks(value, &prefix, &mut path, &mut found);
        }
        found.retain(|(index, _)| *index < uploads.len());
        found.sort_by_key(|(index, _)| *index);
        if let Some(lost) =
            (0..uploads.len()).find(|index| found.binary_search_by_key(index, |(i, _)| *i).is_err())
        {
            return Err(LostUpload {
                path: uploads[lost].path.clone(),
            });
        }
        Ok(found
            .into_iter()
            .map(|(index, path)| FileUpload {
                path,
                file: uploads[index].file.clone(),
            })
            .collect())
    }
}

/// Replaces each placeholder under `value` (at `path`) by `null`, recording its index and path.
fn find_marks(
    value: &mut Value,
    prefix: &str,
    path: &mut String,
    found: &mut Vec<(usize, String)>,
) {
    match value {
        Value::String(text) => {
            if let Some(index) = text
                .strip_prefix(prefix)
                .and_then(|index| index.parse::<usize>().ok())
            {
                found.push((index, path.clone()));
                *value = Value::Null;
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                let len = path.len();
                path.push('.');
                path.push_str(itoa::Buffer::new().format(i));
                find_marks(item, prefix, path, found);
                path.truncate(len);
            }
        }
        Value::Object(members) => {
            for (key, member) in members.iter_mut() {
                let len = path.len();
                path.push('.');
                path.push_str(key);
                find_marks(member, prefix, path, found);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// A file attached to a request (see [`Request::upload`]).
#[derive(Debug, Clone)]
pub struct FileUpload {
    /// Where the file goes in the variables, dotted (`"files.0"`), without the `variables.`
    /// prefix of the multipart spec's map.
    pub path: String,
    /// The file.
    pub file: Upload,
}

/// The content of an uploaded file.
#[derive(Debug, Clone)]
pub struct Upload {
    /// The file name sent in the multipart part.
    pub filename: String,
    /// The part's content type.
    pub content_type: Option<String>,
    /// The bytes.
    pub body: Bytes,
}

impl Upload {
    /// A file with a name and content.
    pub fn new(filename: impl Into<String>, body: impl Into<Bytes>) -> Self {
        Self {
            filename: filename.into(),
            content_type: None,
            body: body.into(),
        }
    }

    /// Sets the content type.
    pub fn content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }
}

/// Put in a request's [`Context`] by a server whose client takes one response only (over HTTP,
/// a client that accepts `application/json` but neither `multipart/mixed` nor
/// `text/event-stream`): an executor that delivers `@defer` and `@stream` incrementally
/// answers such a request with the whole result at once instead.
///
/// ```
/// use quilt_executor::{Context, SingleResponse};
/// let context = Context::default().insert(SingleResponse);
/// assert!(context.get::<SingleResponse>().is_some());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SingleResponse;

/// The instant by which the client must have its answer. A server with a request timeout puts
/// it in each request's [`Context`]; a stitched schema stops waiting for its upstream fetches
/// then and answers with the data that arrived, the missing fields as `TIMEOUT` errors at their
/// paths, instead of losing everything to the server's timeout.
///
/// ```
/// use quilt_executor::{Context, Deadline};
/// use std::time::Duration;
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let context = Context::default().insert(Deadline::after(Duration::from_secs(30)));
/// assert!(context.get::<Deadline>().is_some());
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    /// When the answer is due.
    pub at: tokio::time::Instant,
    /// The whole time the request was given (for error messages).
    pub budget: std::time::Duration,
}

impl Deadline {
    /// The deadline `budget` from now.
    pub fn after(budget: std::time::Duration) -> Self {
        Self {
            at: tokio::time::Instant::now() + budget,
            budget,
        }
    }
}

/// The id of one client request, for the logs: a server puts it in each request's [`Context`]
/// (and answers it in the `x-request-id` header over HTTP), masked errors carry it in
/// `extensions.requestId`, and the log line with the error's full detail names it, so an
/// operator finds what a client saw.
///
/// An id the client (or a proxy in front) sent in `x-request-id` is kept when it is 1 to 64
/// characters of `A-Z a-z 0-9 - _ .`; otherwise the server makes one (32 hex digits).
///
/// ```
/// use quilt_executor::RequestId;
/// assert_eq!(RequestId::parse("abc-123").map(|id| id.to_string()), Some("abc-123".into()));
/// assert!(RequestId::parse("has space").is_none());
/// assert_eq!(RequestId::random().as_str().len(), 32);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RequestId(Arc<str>);

impl RequestId {
    /// The HTTP header that carries it.
    pub const HEADER: &'static str = "x-request-id";

    /// A new random id: 128 bits as 32 lowercase hex digits.
    pub fn random() -> Self {
        // Written digit by digit: `format!("{:032x}")` went through the formatting machinery
        // for every request (about 770 instructions).
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut bits = fastrand::u128(..);
        let mut text = [0u8; 32];
        for digit in text.iter_mut().rev() {
            *digit = DIGITS[(bits & 0xf) as usize];
            bits >>= 4;
        }
        // ASCII digits: always UTF-8.
        Self(Arc::from(std::str::from_utf8(&text).unwrap_or_default()))
    }

    /// `text` as an id if it is 1 to 64 characters of `A-Z a-z 0-9 - _ .` (safe in a log line
    /// and a header), else `None`.
    pub fn parse(text: &str) -> Option<Self> {
        let fits = (1..=64).contains(&text.len())
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        fits.then(|| Self(text.into()))
    }

    /// The id in `headers`' `x-request-id` when it is acceptable, else a new random one.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        headers
            .get(Self::HEADER)
            .and_then(|value| value.to_str().ok())
            .and_then(Self::parse)
            .unwrap_or_else(Self::random)
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a gateway passes down with a request: the client's HTTP headers, WebSocket connection
/// params, and typed values of the application's own (like [`http::Extensions`]).
///
/// Cloning is an [`Arc`] clone; setters copy on write.
///
/// ```
/// use quilt_executor::Context;
/// #[derive(Clone)]
/// struct UserId(u64);
/// let context = Context::default().insert(UserId(7));
/// assert_eq!(context.get::<UserId>().map(|u| u.0), Some(7));
/// ```
#[derive(Debug, Clone, Default)]
pub struct Context(Arc<ContextInner>);

#[derive(Debug, Clone, Default)]
struct ContextInner {
    headers: HeaderMap,
    connection_params: Option<JsonMap>,
    values: http::Extensions,
}

impl Context {
    /// A context carrying the client's headers.
    pub fn from_headers(headers: HeaderMap) -> Self {
        Self(Arc::new(ContextInner {
            headers,
            ..ContextInner::default()
        }))
    }

    /// The client's HTTP headers (empty when there were none).
    pub fn headers(&self) -> &HeaderMap {
        &self.0.headers
    }

    /// Replaces the headers.
    pub fn with_headers(mut self, headers: HeaderMap) -> Self {
        Arc::make_mut(&mut self.0).headers = headers;
        self
    }

    /// The client's WebSocket `connection_init` payload, when it came over a WebSocket.
    pub fn connection_params(&self) -> Option<&JsonMap> {
        self.0.connection_params.as_ref()
    }

    /// Sets the connection params.
    pub fn with_connection_params(mut self, params: JsonMap) -> Self {
        Arc::make_mut(&mut self.0).connection_params = Some(params);
        self
    }

    /// Adds a typed value, replacing one of the same type.
    pub fn insert<T: Clone + Send + Sync + 'static>(mut self, value: T) -> Self {
        Arc::make_mut(&mut self.0).values.insert(value);
        self
    }

    /// A typed value, if one was added.
    pub fn get<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.0.values.get::<T>()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn random_request_ids_are_32_lowercase_hex_digits_and_differ() {
        let ids: Vec<RequestId> = (0..200).map(|_| RequestId::random()).collect();
        for id in &ids {
            let text = id.as_str();
            assert_eq!(text.len(), 32, "{text}");
            assert!(
                text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
                "{text}"
            );
            assert_eq!(RequestId::parse(text).as_ref(), Some(id));
        }
        let distinct: std::collections::HashSet<&str> = ids.iter().map(RequestId::as_str).collect();
        assert_eq!(distinct.len(), ids.len());
        // Every digit position takes more than one value (the bits are spread over all 32).
        for position in 0..32 {
            let values: std::collections::HashSet<u8> = ids
                .iter()
                .map(|id| id.as_str().as_bytes()[position])
                .collect();
            assert!(values.len() > 4, "position {position}: {values:?}");
        }
    }

    #[test]
    fn upload_sets_variable_positions_to_null() {
        let r = Request::new("mutation($f: Upload, $fs: [Upload], $i: In) { a }")
            .unwrap()
            .upload("f", Upload::new("a.txt", "A"))
            .upload("fs.1", Upload::new("b.txt", "B"))
            .upload("i.doc", Upload::new("c.txt", "C"));
        assert_eq!(
            Value::Object(r.variables.clone()),
            json!({"f": null, "fs": [null, null], "i": {"doc": null}})
        );
        assert_eq!(r.uploads.len(), 3);
        assert!(r.is_mutation());
    }

    #[test]
    fn upload_marks_follow_rewritten_variables() {
        let r = Request::new("mutation($f: Upload, $i: In, $s: String) { a }")
            .unwrap()
            .variable("s", json!("\u{0}quilt-upload:0000000000000000:0"))
            .upload("f", Upload::new("a.txt", "A"))
            .upload("i.doc", Upload::new("c.txt", "C"));
        let marks = UploadMarks::new();
        let mut variables = r.variables.clone();
        marks.mark(&mut variables, &r.uploads);
        assert_ne!(variables["f"], Value::Null);
        // A transform renaming the input field `doc` to `document`.
        let Some(Value::Object(input)) = variables.get_mut("i") else {
            panic!("no input object")
        };
        let doc = input.remove("doc").unwrap();
        input.insert("document".into(), doc);
        let uploads = marks.unmark(&mut variables, &r.uploads).unwrap();
        let paths: Vec<&str> = uploads.iter().map(|u| u.path.as_str()).collect();
        assert_eq!(paths, ["f", "i.document"]);
        assert_eq!(uploads[1].file.body, "C");
        assert_eq!(
            Value::Object(variables.clone()),
            json!({"s": "\u{0}quilt-upload:0000000000000000:0", "f": null, "i": {"document": null}}),
            "a client's look-alike string is not a placeholder"
        );
        // A placeholder dropped: the file is reported lost.
        marks.mark(&mut variables, &r.uploads[..1]);
        variables.remove("f");
        assert_eq!(
            marks
                .unmark(&mut variables, &r.uploads[..1])
                .unwrap_err()
                .path,
            "f"
        );
    }

    #[test]
    fn context_copies_on_write() {
        let a = Context::default().insert(5u32);
        let b = a.clone().insert(6u32);
        assert_eq!(a.get::<u32>(), Some(&5));
        assert_eq!(b.get::<u32>(), Some(&6));
    }
}
