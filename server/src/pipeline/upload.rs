//! Stage 2b: a `multipart/form-data` upload request (the GraphQL multipart request spec): the
//! `operations` field, the `map` field, then the files, all within the upload size limit.
//!
//! Files are read only for an operation that can take them: before the first file, the
//! operation must declare a variable of type `Upload` or of another type that is not a
//! built-in scalar (an input object may hold a file), and the file's field must be in the map;
//! otherwise the request is refused with the file unread. `operations` and `map` are held to
//! the JSON body limit, not the upload limit.

use std::collections::HashMap;

use axum::body::Body;
use quilt_executor::Upload;
use serde_json::Value;

use crate::config::Limits;
use crate::error::RequestError;
use crate::operation::params::GraphQLParams;
use crate::operation::tokens::count_tokens;

/// An upload request: its parameters and its files, each with its variable path.
#[derive(Debug)]
pub struct UploadRequest {
    /// The `operations` field, read as a single request.
    pub params: GraphQLParams,
    /// `(path without the "variables." prefix, file)` in the order of the map.
    pub files: Vec<(String, Upload)>,
}

/// Reads an upload request.
pub async fn read_upload(
    body: Body,
    boundary: String,
    limits: &Limits,
) -> Result<UploadRequest, RequestError> {
    let max_files = limits.max_upload_files;
    let fields_limit = limits.max_body_bytes.min(limits.max_upload_bytes) as u64;
    let constraints = multer::Constraints::new().size_limit(
        multer::SizeLimit::new()
            .whole_stream(limits.max_upload_bytes as u64)
            .for_field("operations", fields_limit)
            .for_field("map", fields_limit),
    );
    let mut checked = false;
    let mut multipart =
        multer::Multipart::with_constraints(body.into_data_stream(), boundary, constraints);
    let mut operations: Option<GraphQLParams> = None;
    let mut map: Option<Vec<(String, Vec<String>)>> = None;
    let mut files: HashMap<String, Upload> = HashMap::new();
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "operations" => {
                let bytes = field.bytes().await.map_err(multipart_error)?;
                operations = Some(GraphQLParams::from_json(&bytes)?);
            }
            "map" => {
                let bytes = field.bytes().await.map_err(multipart_error)?;
                map = Some(parse_map(&bytes)?);
            }
            _ => {
                let (Some(params), Some(map)) = (&operations, &map) else {
                    return Err(RequestError::InvalidUpload(
                        "the `operations` and `map` fields must come before the files".into(),
                    ));
                };
                if !map.iter().any(|(field, _)| *field == name) {
                    return Err(RequestError::InvalidUpload(format!(
                        "file field {name:?} is not in the map"
                    )));
                }
                if !checked {
                    takes_uploads(params, limits)?;
                    checked = true;
                }
                if files.len() >= max_files {
                    return Err(RequestError::InvalidUpload(format!(
                        "more than {max_files} files"
                    )));
                }
                let filename = field.file_name().unwrap_or(&name).to_owned();
                let content_type = field.content_type().map(|m| m.to_string());
                let bytes = field.bytes().await.map_err(multipart_error)?;
                let mut upload = Upload::new(filename, bytes);
                if let Some(content_type) = content_type {
                    upload = upload.content_type(content_type);
                }
                files.insert(name, upload);
            }
        }
    }
    let params =
        operations.ok_or_else(|| RequestError::InvalidUpload("no `operations` field".into()))?;
    let map = map.ok_or_else(|| RequestError::InvalidUpload("no `map` field".into()))?;
    let mut placed = Vec::new();
    for (field, paths) in map {
        let file = files.remove(&field).ok_or_else(|| {
            RequestError::InvalidUpload(format!(
                "the map names file field {field:?}, which was not sent"
            ))
        })?;
        for path in paths {
            let Some(path) = path.strip_prefix("variables.") else {
                return Err(RequestError::InvalidUpload(format!(
                    "map path {path:?} does not start with `variables.`"
                )));
            };
            placed.push((path.to_owned(), file.clone()));
        }
    }
    Ok(UploadRequest {
        params,
        files: placed,
    })
}

/// Reserves the upload's announced length (or the upload limit when it announces none) from
/// the server's upload budget; `413` over the upload limit, `503` when the budget is spent.
pub(crate) fn reserve(
    state: &crate::state::ServerState,
    headers: &http::HeaderMap,
) -> Result<tokio::sync::OwnedSemaphorePermit, RequestError> {
    let limit = state.limits.max_upload_bytes;
    let announced = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > limit as u64) {
        return Err(RequestError::BodyTooLarge { limit });
    }
    let bytes = announced.map_or(limit, |n| usize::try_from(n).unwrap_or(limit));
    let kib = u32::try_from(bytes.div_ceil(1024)).unwrap_or(u32::MAX);
    std::sync::Arc::clone(&state.upload_budget)
        .try_acquire_many_owned(kib)
        .map_err(|_| RequestError::Capacity("too many uploads in flight; try again later".into()))
}

/// Refuses an operation that declares no variable that can hold a file (only built-in scalars:
/// files for it would be read for nothing), or a document over the token limit or that does
/// not parse.
fn takes_uploads(params: &GraphQLParams, limits: &Limits) -> Result<(), RequestError> {
    if let Some(max) = limits.max_tokens
        && count_tokens(&params.query, max) > max
    {
        return Err(RequestError::InvalidUpload(format!(
            "the document has more than {max} tokens; the limit is {max}"
        )));
    }
    let document = apollo_compiler::ast::Document::parse(params.query.as_str(), "upload.graphql")
        .map_err(|_| {
        RequestError::InvalidUpload("the `operations` query does not parse".into())
    })?;
    let operation = document.definitions.iter().find_map(|d| match d {
        apollo_compiler::ast::Definition::OperationDefinition(op)
            if params.operation_name.is_none()
                || op.name.as_ref().map(|n| n.as_str()) == params.operation_name.as_deref() =>
        {
            Some(op)
        }
        _ => None,
    });
    // The server does not know the schema: a variable of a type that is not a built-in scalar
    // may be an input object holding a file (or an enum); which position takes a file is the
    // executor's to check (the stitched schema does, against its schema).
    let takes = operation.is_some_and(|op| {
        op.variables.iter().any(|v| {
            !matches!(
                v.ty.inner_named_type().as_str(),
                "Int" | "Float" | "String" | "Boolean" | "ID"
            )
        })
    });
    if takes {
        Ok(())
    } else {
        Err(RequestError::InvalidUpload(
            "the operation declares no variable of type Upload (nor of an input object type); \
             its files were not read"
                .into(),
        ))
    }
}

fn parse_map(bytes: &[u8]) -> Result<Vec<(String, Vec<String>)>, RequestError> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| RequestError::InvalidUpload(format!("the `map` field is not JSON: {e}")))?;
    let Value::Object(map) = value else {
        return Err(RequestError::InvalidUpload(
            "the `map` field must be an object".into(),
        ));
    };
    map.into_iter()
        .map(|(field, paths)| match paths {
            Value::Array(items) => items
                .into_iter()
                .map(|p| match p {
                    Value::String(s) => Ok(s),
                    _ => Err(RequestError::InvalidUpload(
                        "map paths must be strings".into(),
                    )),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(|paths| (field, paths)),
            _ => Err(RequestError::InvalidUpload(
                "each `map` entry must be an array of paths".into(),
            )),
        })
        .collect()
}

fn multipart_error(error: multer::Error) -> RequestError {
    match error {
        multer::Error::StreamSizeExceeded { limit } => RequestError::BodyTooLarge {
            limit: usize::try_from(limit).unwrap_or(usize::MAX),
        },
        other => RequestError::InvalidUpload(other.to_string()),
    }
}
