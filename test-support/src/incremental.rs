//! Reading incremental delivery (@defer/@stream) off the wire and putting it back together:
//! [`read_multipart`] (a `multipart/mixed` body into its JSON parts), [`read_sse`] (an SSE body
//! into its `next` payloads), [`read_parts`] (either, or a plain JSON answer, by content type)
//! and [`apply`] (the initial result with every incremental payload applied: the final result
//! a client sees).
//!
//! The format is graphql-js 17 alpha's and graphql-yoga's (`deferSpec=20220824`): a first part
//! `{"data", "errors"?, "hasNext": true}`, then parts `{"incremental": [..], "hasNext"}` whose
//! entries are `{"data", "path", "label"?, "errors"?}` (a deferred fragment's fields, merged
//! into the object at `path`) or `{"items", "path", "label"?, "errors"?}` (streamed list items,
//! placed in the list at `path` minus its last segment, from the index the last segment gives);
//! possibly a last `{"hasNext": false}`.

use anyhow::{Context as _, anyhow, bail};
use serde_json::{Map, Value};

/// A response's payloads by its content type: the parts of a `multipart/mixed` body, the `next`
/// payloads of a `text/event-stream`, or the one JSON answer of any other (JSON) type.
pub async fn read_parts(response: reqwest::Response) -> anyhow::Result<Vec<Value>> {
    let content_type = content_type(&response);
    let media = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match media.as_str() {
        "multipart/mixed" => read_multipart(response).await,
        "text/event-stream" => read_sse(response).await,
        _ => {
            let status = response.status();
            let body = response.bytes().await.context("reading the body")?;
            let value = serde_json::from_slice(&body).with_context(|| {
                format!(
                    "a {status} `{content_type}` answer that is not JSON: {}",
                    String::from_utf8_lossy(&body)
                )
            })?;
            Ok(vec![value])
        }
    }
}

/// The JSON parts of a `multipart/mixed` response, in order, without `{}` heartbeats. The
/// boundary is the content type's; the body must end with the closing delimiter.
pub async fn read_multipart(response: reqwest::Response) -> anyhow::Result<Vec<Value>> {
    let content_type = content_type(&response);
    let boundary = boundary(&content_type)
        .with_context(|| format!("no boundary in content type `{content_type}`"))?;
    let body = response.bytes().await.context("reading the body")?;
    let body = std::str::from_utf8(&body).context("a multipart body that is not UTF-8")?;
    parse_multipart(body, &boundary)
}

/// The `boundary` parameter of a `multipart/*` content type, unquoted.
pub fn boundary(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (key, value) = param.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| value.trim().trim_matches('"').to_owned())
            .filter(|b| !b.is_empty())
    })
}

/// The JSON parts of a `multipart/mixed` body delimited by `boundary`, without `{}`
/// heartbeats. A delimiter is CRLF, `--` and the boundary (RFC 2046; the first may open the
/// body without the CRLF), the closing one is followed by `--`; each part is headers, an empty
/// line and a JSON body (no headers is accepted).
pub fn parse_multipart(body: &str, boundary: &str) -> anyhow::Result<Vec<Value>> {
    let text = format!("\r\n{body}");
    let delimiter = format!("\r\n--{boundary}");
    let mut segments = text.split(delimiter.as_str());
    // The preamble, before the first delimiter.
    segments.next();
    let mut parts = Vec::new();
    for segment in segments {
        if segment.starts_with("--") {
            return Ok(parts);
        }
        // The rest of the delimiter's line (transport padding), then the part.
        let part = match segment.find("\r\n") {
            Some(end) if segment[..end].trim().is_empty() => &segment[end + 2..],
            _ => bail!("a multipart delimiter followed by `{segment}`"),
        };
        let json = if let Some(rest) = part.strip_prefix("\r\n") {
            rest
        } else {
            match part.find("\r\n\r\n") {
                Some(end) => &part[end + 4..],
                None => bail!("a multipart part without a body: `{part}`"),
            }
        };
        let json = json.trim();
        if json.is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(json)
            .with_context(|| format!("a multipart part that is not JSON: `{json}`"))?;
        if value.as_object().is_some_and(Map::is_empty) {
            continue; // a heartbeat
        }
        parts.push(value);
    }
    bail!(
        "the multipart body ended without its closing delimiter after {} parts",
        parts.len()
    )
}

/// The payloads of the `next` events of a `text/event-stream` response, in order, up to its
/// `complete` event (or its end). Comments (keep-alives) are skipped; an event without a name
/// is a `message` and counts as `next`.
pub async fn read_sse(response: reqwest::Response) -> anyhow::Result<Vec<Value>> {
    let body = response.bytes().await.context("reading the body")?;
    let body = std::str::from_utf8(&body).context("an SSE body that is not UTF-8")?;
    parse_sse(body)
}

/// The `next` payloads of an SSE body (see [`read_sse`]).
pub fn parse_sse(body: &str) -> anyhow::Result<Vec<Value>> {
    let body = body.replace("\r\n", "\n");
    let mut payloads = Vec::new();
    for event in body.split("\n\n") {
        let mut name = "message";
        let mut data: Vec<&str> = Vec::new();
        for line in event.lines() {
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "event" => name = value,
                "data" => data.push(value),
                _ => {}
            }
        }
        match name {
            "complete" => break,
            "next" | "message" if !data.is_empty() => {
                let data = data.join("\n");
                let value = serde_json::from_str(&data)
                    .with_context(|| format!("an SSE `{name}` event that is not JSON: `{data}`"))?;
                payloads.push(value);
            }
            _ => {}
        }
    }
    Ok(payloads)
}

/// The final result of an incremental response: the first part's data with every later
/// part's entries applied (a deferred fragment's `data` deep-merged into the object at its
/// `path`; streamed `items` placed in the list at `path` minus its last segment, from the index
/// the last segment gives), every error in order (the first part's, then each part's own and
/// each entry's). Answers `{"data": .., "errors": [..]}` (`data` absent when the first part has
/// none; `errors` always present). An entry whose `data` is null (its fragment was nulled by an
/// error) adds only its errors. Fails on what a conforming server never sends: no parts, a
/// first part that is not an object, an entry whose path does not lead to an object (for data)
/// or a list (for items) in the result so far.
pub fn apply(parts: &[Value]) -> anyhow::Result<Value> {
    let (first, rest) = parts.split_first().context("no parts")?;
    let first = first
        .as_object()
        .with_context(|| format!("a first part that is not an object: {first}"))?;
    let mut data = first.get("data").cloned();
    let mut errors = Vec::new();
    take_errors(first.get("errors"), &mut errors);
    for (index, part) in rest.iter().enumerate() {
        let part_number = index + 2;
        let part = part
            .as_object()
            .with_context(|| format!("part {part_number} is not an object: {part}"))?;
        take_errors(part.get("errors"), &mut errors);
        if let Some(completed) = part.get("completed").and_then(Value::as_array) {
            for entry in completed {
                take_errors(entry.get("errors"), &mut errors);
            }
        }
        let Some(entries) = part.get("incremental") else {
            continue;
        };
        let entries = entries
            .as_array()
            .with_context(|| format!("part {part_number}'s `incremental` is not a list"))?;
        for entry in entries {
            apply_entry(&mut data, entry)
                .with_context(|| format!("part {part_number}, entry {entry}"))?;
            take_errors(entry.get("errors"), &mut errors);
        }
    }
    let mut out = Map::new();
    if let Some(data) = data {
        out.insert("data".into(), data);
    }
    out.insert("errors".into(), Value::Array(errors));
    Ok(Value::Object(out))
}

fn take_errors(errors: Option<&Value>, into: &mut Vec<Value>) {
    if let Some(errors) = errors.and_then(Value::as_array) {
        into.extend(errors.iter().cloned());
    }
}

fn apply_entry(data: &mut Option<Value>, entry: &Value) -> anyhow::Result<()> {
    let path = entry
        .get("path")
        .and_then(Value::as_array)
        .context("an entry without a `path` list")?;
    let root = data
        .as_mut()
        .context("an entry for a result without data")?;
    if let Some(items) = entry.get("items") {
        let items = items.as_array().context("`items` that is not a list")?;
        let (last, list_path) = path.split_last().context("`items` with an empty path")?;
        let start = last
            .as_u64()
            .and_then(|i| usize::try_from(i).ok())
            .context("`items` whose path does not end in an index")?;
        let list = locate(root, list_path)?
            .as_array_mut()
            .context("`items` whose path does not lead to a list")?;
        for (offset, item) in items.iter().enumerate() {
            let at = start + offset;
            if at < list.len() {
                list[at] = item.clone();
            } else {
                list.resize(at, Value::Null);
                list.push(item.clone());
            }
        }
        return Ok(());
    }
    match entry.get("data") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Object(fields)) => {
            let target = locate(root, path)?;
            if !target.is_object() {
                bail!("a `data` entry whose path leads to {target}, not an object");
            }
            for (key, value) in fields {
                merge_field(target, key, value);
            }
            Ok(())
        }
        Some(other) => Err(anyhow!(
            "`data` that is neither an object nor null: {other}"
        )),
    }
}

/// The value at `path` under `root`.
fn locate<'a>(root: &'a mut Value, path: &[Value]) -> anyhow::Result<&'a mut Value> {
    let mut at = root;
    for (depth, segment) in path.iter().enumerate() {
        let next = match (segment, at) {
            (Value::String(key), Value::Object(object)) => object.get_mut(key),
            (Value::Number(index), Value::Array(list)) => index
                .as_u64()
                .and_then(|i| usize::try_from(i).ok())
                .and_then(|i| list.get_mut(i)),
            _ => None,
        };
        at = next.with_context(|| {
            format!(
                "the path {} leads nowhere after {} segments",
                Value::Array(path.to_vec()),
                depth
            )
        })?;
    }
    Ok(at)
}

fn merge_field(target: &mut Value, key: &str, value: &Value) {
    let Some(object) = target.as_object_mut() else {
        return;
    };
    match object.get_mut(key) {
        Some(existing) => merge(existing, value),
        None => {
            object.insert(key.to_owned(), value.clone());
        }
    }
}

/// Deep merge: objects field by field, lists of the same length item by item, anything else
/// replaced.
fn merge(target: &mut Value, source: &Value) {
    match (target, source) {
        (Value::Object(target), Value::Object(source)) => {
            for (key, value) in source {
                match target.get_mut(key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        target.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (Value::Array(target), Value::Array(source)) if target.len() == source.len() => {
            for (t, s) in target.iter_mut().zip(source) {
                merge(t, s);
            }
        }
        (target, source) => *target = source.clone(),
    }
}

fn content_type(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_deferred_fragment_merges_at_its_path() {
        let parts = [
            json!({"data": {"product": {"id": "p1"}}, "hasNext": true}),
            json!({"incremental": [{"data": {"name": "Table"}, "path": ["product"], "label": "a"}],
                   "hasNext": false}),
        ];
        assert_eq!(
            apply(&parts).unwrap(),
            json!({"data": {"product": {"id": "p1", "name": "Table"}}, "errors": []})
        );
    }

    #[test]
    fn nested_data_merges_deeply_and_into_list_items() {
        let parts = [
            json!({"data": {"products": [{"id": "p1", "reviews": [{"id": "r1"}]}, {"id": "p2"}]},
                   "hasNext": true}),
            json!({"incremental": [
                {"data": {"reviews": [{"body": "b1"}], "name": "Table"}, "path": ["products", 0]},
                {"data": {"name": "Couch"}, "path": ["products", 1]}
            ], "hasNext": true}),
            json!({"incremental": [
                {"data": {"author": {"name": "Ada"}}, "path": ["products", 0, "reviews", 0]}
            ], "hasNext": false}),
        ];
        assert_eq!(
            apply(&parts).unwrap(),
            json!({"data": {"products": [
                {"id": "p1", "reviews": [{"id": "r1", "body": "b1", "author": {"name": "Ada"}}],
                 "name": "Table"},
                {"id": "p2", "name": "Couch"}
            ]}, "errors": []})
        );
    }

    #[test]
    fn a_fragment_on_the_root_merges_into_data() {
        let parts = [
            json!({"data": {"a": 1}, "hasNext": true}),
            json!({"incremental": [{"data": {"b": {"c": 2}}, "path": []}], "hasNext": false}),
        ];
        assert_eq!(
            apply(&parts).unwrap(),
            json!({"data": {"a": 1, "b": {"c": 2}}, "errors": []})
        );
    }

    #[test]
    fn streamed_items_are_placed_at_their_index() {
        let parts = [
            json!({"data": {"product": {"reviews": []}}, "hasNext": true}),
            json!({"incremental": [{"items": [{"id": "r1"}], "path": ["product", "reviews", 0]}],
                   "hasNext": true}),
            json!({"incremental": [{"items": [{"id": "r2"}, {"id": "r3"}],
                                    "path": ["product", "reviews", 1]}], "hasNext": true}),
            json!({"hasNext": false}),
        ];
        assert_eq!(
            apply(&parts).unwrap(),
            json!({"data": {"product": {"reviews": [{"id": "r1"}, {"id": "r2"}, {"id": "r3"}]}},
                   "errors": []})
        );
    }

    #[test]
    fn errors_are_collected_in_order_and_a_null_entry_adds_only_its_errors() {
        let parts = [
            json!({"data": {"product": {"id": "p4"}, "x": null},
                   "errors": [{"message": "x", "path": ["x"]}], "hasNext": true}),
            json!({"incremental": [{"data": null, "path": ["product"],
                   "errors": [{"message": "strict", "path": ["product", "reviews", 0, "strict"]}]}],
                   "hasNext": true}),
            json!({"incremental": [{"items": [null], "path": ["list", 0],
                   "errors": [{"message": "item"}]}], "hasNext": false,
                   "errors": [{"message": "part"}]}),
        ];
        // The items entry's path leads nowhere: a server that sends it is wrong.
        let err = apply(&parts).unwrap_err();
        assert!(format!("{err:#}").contains("leads nowhere"), "{err:#}");
        assert_eq!(
            apply(&parts[..2]).unwrap(),
            json!({"data": {"product": {"id": "p4"}, "x": null}, "errors": [
                {"message": "x", "path": ["x"]},
                {"message": "strict", "path": ["product", "reviews", 0, "strict"]}
            ]})
        );
    }

    #[test]
    fn part_and_entry_errors_both_count() {
        let parts = [
            json!({"data": {"list": [1]}, "hasNext": true}),
            json!({"incremental": [{"items": [null], "path": ["list", 1],
                   "errors": [{"message": "item"}]}], "hasNext": false,
                   "errors": [{"message": "part"}]}),
        ];
        assert_eq!(
            apply(&parts).unwrap(),
            json!({"data": {"list": [1, null]},
                   "errors": [{"message": "part"}, {"message": "item"}]})
        );
    }

    #[test]
    fn a_single_result_is_itself_and_no_parts_is_an_error() {
        let single = [json!({"data": null, "errors": [{"message": "no"}]})];
        assert_eq!(apply(&single).unwrap(), single[0]);
        assert!(apply(&[]).is_err());
        let nowhere = [
            json!({"data": {"a": null}, "hasNext": true}),
            json!({"incremental": [{"data": {"b": 1}, "path": ["a"]}], "hasNext": false}),
        ];
        assert!(apply(&nowhere).is_err());
    }

    #[test]
    fn multipart_bodies_of_yoga_and_quilt_parse_alike() {
        // graphql-yoga: boundary `-`, a CRLF before the first delimiter, Content-Length.
        let yoga = "\r\n---\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: 27\r\n\r\n{\"data\":{},\"hasNext\":true}\r\n---\r\nContent-Type: application/json; charset=utf-8\r\n\r\n{\"hasNext\":false,\"s\":\"a---b\"}\r\n-----\r\n";
        assert_eq!(
            parse_multipart(yoga, "-").unwrap(),
            vec![
                json!({"data": {}, "hasNext": true}),
                json!({"hasNext": false, "s": "a---b"})
            ]
        );
        // Quilt: boundary `graphql`, heartbeats `{}`.
        let quilt = "--graphql\r\nContent-Type: application/json; charset=utf-8\r\n\r\n{\"data\":{\"a\":1},\"hasNext\":true}\r\n--graphql\r\nContent-Type: application/json; charset=utf-8\r\n\r\n{}\r\n--graphql\r\nContent-Type: application/json; charset=utf-8\r\n\r\n{\"hasNext\":false}\r\n--graphql--\r\n";
        assert_eq!(
            parse_multipart(quilt, "graphql").unwrap(),
            vec![
                json!({"data": {"a": 1}, "hasNext": true}),
                json!({"hasNext": false})
            ]
        );
        let unclosed = "--graphql\r\nContent-Type: application/json\r\n\r\n{\"data\":{}}\r\n";
        assert!(parse_multipart(unclosed, "graphql").is_err());
        assert_eq!(
            boundary("multipart/mixed; boundary=\"graphql\"; deferSpec=20220824").as_deref(),
            Some("graphql")
        );
        assert_eq!(boundary("multipart/mixed;boundary=-").as_deref(), Some("-"));
        assert_eq!(boundary("multipart/mixed"), None);
    }

    #[test]
    fn sse_bodies_give_their_next_payloads() {
        let body = ":\n\nevent: next\ndata: {\"data\":{\"a\":1},\"hasNext\":true}\n\n:\n\nevent: next\r\ndata: {\"hasNext\":\r\ndata: false}\r\n\r\nevent: complete\ndata:\n\nevent: next\ndata: {\"late\":1}\n\n";
        assert_eq!(
            parse_sse(body).unwrap(),
            vec![
                json!({"data": {"a": 1}, "hasNext": true}),
                json!({"hasNext": false})
            ]
        );
        assert!(parse_sse("event: next\ndata: {nope\n\n").is_err());
    }
}
