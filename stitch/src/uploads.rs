//! A client's file uploads (the GraphQL multipart request spec) through the stitched schema:
//! each file is checked against the operation (a declared variable, a position of type
//! `Upload`), its variable coerced with the others, and the file forwarded with every root
//! step whose document uses its variable, so the owning subschema receives a multipart request
//! with the same bytes.
//!
//! Files go to root steps only. A merged field (an entity step) or a subscription whose
//! variables hold a file is refused before anything is sent.

use std::sync::Arc;

use apollo_compiler::Schema;
use apollo_compiler::ast::Type;
use apollo_compiler::schema::ExtendedType;
use apollo_compiler::validation::Valid;
use quilt_executor::{Context, FileUpload, GraphQLError, JsonMap, Request, UploadMarks};

use crate::plan::Prepared;
use crate::request::coerce_variables;

/// The name of the scalar files are given as.
const UPLOAD: &str = "Upload";

/// The client's files at their coerced positions, kept in the client request's context for
/// the root steps (see [`for_step`]).
#[derive(Clone)]
struct ClientUploads(Arc<[FileUpload]>);

/// The coerced variables of `request` (as [`coerce_variables`]). With files: each one checked
/// (a declared variable, a position of type `Upload`, no merged field or subscription taking
/// it), its position marked so that coercion keeps it (`null` would not pass for an
/// `Upload!`) and follows it (a single value coerced to a list), then set back to `null`, and
/// the files at their coerced positions kept in `request.context` for the root steps.
pub(crate) fn coerce(
    public: &Valid<Schema>,
    prepared: &Prepared,
    request: &mut Request,
) -> Result<(JsonMap, Valid<apollo_compiler::response::JsonMap>), Vec<GraphQLError>> {
    if request.uploads.is_empty() {
        return coerce_variables(public, prepared, &request.variables);
    }
    check(public, prepared, &request.uploads)?;
    let marks = UploadMarks::new();
    let mut marked = request.variables.clone();
    marks.mark(&mut marked, &request.uploads);
    let (mut variables, coerced) = coerce_variables(public, prepared, &marked)?;
    let uploads = marks
        .unmark(&mut variables, &request.uploads)
        .map_err(|lost| vec![bad_upload(&lost.path, "coercion left no place for it")])?;
    request.context = std::mem::take(&mut request.context).insert(ClientUploads(uploads.into()));
    Ok((variables, coerced))
}

/// The client's files a root step sends: those whose variable its document uses.
pub(crate) fn for_step(
    step_variables: &[apollo_compiler::Name],
    context: &Context,
) -> Vec<FileUpload> {
    let Some(ClientUploads(uploads)) = context.get::<ClientUploads>() else {
        return Vec::new();
    };
    uploads
        .iter()
        .filter(|upload| {
            let variable = upload.path.split('.').next().unwrap_or_default();
            step_variables.iter().any(|name| name.as_str() == variable)
        })
        .cloned()
        .collect()
}

/// Refuses a file at a position not of type `Upload`, or whose variable a merged field or a
/// subscription reads.
fn check(
    public: &Schema,
    prepared: &Prepared,
    uploads: &[FileUpload],
) -> Result<(), Vec<GraphQLError>> {
    let Ok(operation) = prepared
        .document
        .operations
        .get(prepared.operation_name.as_deref())
    else {
        return Err(vec![GraphQLError::new("the prepared operation is missing")]);
    };
    let plan = &prepared.plan;
    let mut errors = Vec::new();
    for upload in uploads {
        let mut segments = upload.path.split('.');
        let variable = segments.next().unwrap_or_default();
        let Some(definition) = operation
            .variables
            .iter()
            .find(|v| v.name.as_str() == variable)
        else {
            errors.push(bad_upload(
                &upload.path,
                "the operation has no such variable",
            ));
            continue;
        };
        if !is_upload_at(public, &definition.ty, segments) {
            errors.push(bad_upload(
                &upload.path,
                "the variable's type there is not `Upload`",
            ));
            continue;
        }
        if plan.operation_type == apollo_compiler::ast::OperationType::Subscription {
            errors.push(not_forwarded(
                &upload.path,
                "files are not sent with subscriptions",
            ));
            continue;
        }
        let merged = plan.entity_steps.iter().flatten().any(|step| {
            step.client_variables.iter().any(|(n, _)| n == variable)
                || step
                    .field_args
                    .iter()
                    .any(|(_, value)| reads_variable(value, variable))
        });
        if merged {
            errors.push(not_forwarded(
                &upload.path,
                "a merged or gateway-defined field (resolved by an entity fetch) uses \
                 its variable; files are sent with root fields only",
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Whether an argument's value (a gateway-defined field's) reads the variable `name`.
fn reads_variable(value: &apollo_compiler::ast::Value, name: &str) -> bool {
    use apollo_compiler::ast::Value;
    match value {
        Value::Variable(variable) => variable.as_str() == name,
        Value::List(items) => items.iter().any(|item| reads_variable(item, name)),
        Value::Object(fields) => fields.iter().any(|(_, value)| reads_variable(value, name)),
        _ => false,
    }
}

/// Whether the position reached from `ty` by `segments` (list indexes, input fields) is of
/// type `Upload`, before coercion: a list where a single value comes (coerced to a list of
/// one) reads that value.
fn is_upload_at<'a>(schema: &Schema, ty: &Type, segments: impl Iterator<Item = &'a str>) -> bool {
    let mut ty = ty.clone();
    for segment in segments {
        while ty.is_list() && segment.parse::<usize>().is_err() {
            ty = ty.item_type().clone();
        }
        ty = if ty.is_list() {
            ty.item_type().clone()
        } else {
            let Some(ExtendedType::InputObject(input)) = schema.types.get(ty.inner_named_type())
            else {
                return false;
            };
            let Some(field) = input.fields.get(segment) else {
                return false;
            };
            (*field.ty).clone()
        };
    }
    ty.inner_named_type().as_str() == UPLOAD
}

/// A file the client put where the operation takes none.
fn bad_upload(path: &str, why: &str) -> GraphQLError {
    GraphQLError::new(format!("a file is mapped to `variables.{path}`: {why}"))
        .with_code("BAD_USER_INPUT")
}

/// A file in a place the stitched schema does not send files to.
fn not_forwarded(path: &str, why: &str) -> GraphQLError {
    GraphQLError::new(format!(
        "the file at `variables.{path}` cannot be sent upstream: {why}"
    ))
    .with_code("UPLOAD_NOT_SUPPORTED")
}
