//! Stage 2b: a `multipart/form-data` upload request (the GraphQL multipart request spec): the
//! `operations` field, the `map` field, then the files, all within the upload size limit.

use std::collections::HashMap;

use axum::body::Body;
use quilt_executor::Upload;
use serde_json::Value;

use crate::error::RequestError;
use crate::pipeline::params::GraphQLParams;

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
    max_bytes: usize,
    max_files: usize,
) -> Result<UploadRequest, RequestError> {
    let constraints = multer::Constraints::new()
        .size_limit(multer::SizeLimit::new().whole_stream(max_bytes as u64));
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
