#![allow(clippy::unwrap_used)]
//! File uploads (the GraphQL multipart request spec) through the stitched schema, on the wire:
//! a client sends multipart requests to Quilt's server over a `StitchedSchema`; the gateway
//! sends each file to the subschema whose root field takes it, as a multipart request, and the
//! subschema (async-graphql) answers each file's name, size and bytes (hex), compared with what
//! the client sent. The server's upload limits are provoked through the gateway, and the other
//! subschemas are shown to receive no file.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_graphql::{
    Context, EmptySubscription, ID, InputObject, Object, Schema, SimpleObject, Upload,
};
use quilt_batch::BatchOptions;
use quilt_server::{GraphQLServer, Limits};
use quilt_stitch::{EntryPoint, Stitcher, SubschemaConfig};
use quilt_test_support::{Stats, TestServer, graphql_router};
use quilt_wrap::transforms::{RenameInputObjectFields, RenameRootFields, RenameTypes};
use quilt_wrap::{WrapSchemaConfig, wrap_schema};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio_util::task::AbortOnDropHandle;

// ------------------------------------------------------------------ the files service

/// A file as the files service read it.
#[derive(SimpleObject)]
struct FileInfo {
    filename: String,
    mime_type: Option<String>,
    size: usize,
    /// Every byte, in hex.
    hex: String,
    owner: Option<UserStub>,
}

/// The files service's view of a user: its key.
#[derive(SimpleObject)]
#[graphql(name = "User")]
struct UserStub {
    id: ID,
}

#[derive(InputObject)]
struct AttachInput {
    title: String,
    file: Upload,
    more: Option<Vec<Upload>>,
}

#[derive(SimpleObject)]
struct Attachment {
    title: String,
    file: FileInfo,
    more: Vec<FileInfo>,
}

fn read(ctx: &Context<'_>, file: &Upload) -> async_graphql::Result<FileInfo> {
    use std::io::Read;
    let value = file.value(ctx)?;
    let filename = value.filename.clone();
    let mime_type = value.content_type.clone();
    let mut bytes = Vec::new();
    value.into_read().read_to_end(&mut bytes)?;
    Ok(FileInfo {
        filename,
        mime_type,
        size: bytes.len(),
        hex: hex(&bytes),
        owner: None,
    })
}

struct FilesQuery;

#[Object]
impl FilesQuery {
    async fn file_service(&self) -> &str {
        "files"
    }
}

struct FilesMutation;

#[Object]
impl FilesMutation {
    async fn upload(&self, ctx: &Context<'_>, file: Upload) -> async_graphql::Result<FileInfo> {
        read(ctx, &file)
    }
    async fn upload_many(
        &self,
        ctx: &Context<'_>,
        files: Vec<Upload>,
    ) -> async_graphql::Result<Vec<FileInfo>> {
        files.iter().map(|f| read(ctx, f)).collect()
    }
    async fn attach(
        &self,
        ctx: &Context<'_>,
        input: AttachInput,
    ) -> async_graphql::Result<Attachment> {
        Ok(Attachment {
            title: input.title,
            file: read(ctx, &input.file)?,
            more: input
                .more
                .unwrap_or_default()
                .iter()
                .map(|f| read(ctx, f))
                .collect::<Result<_, _>>()?,
        })
    }
    /// A file with an owner, whose other fields the users service resolves.
    async fn upload_for(
        &self,
        ctx: &Context<'_>,
        owner_id: ID,
        file: Upload,
    ) -> async_graphql::Result<FileInfo> {
        let mut info = read(ctx, &file)?;
        info.owner = Some(UserStub { id: owner_id });
        Ok(info)
    }
}

// ------------------------------------------------------------------ the users service

struct User {
    id: ID,
}

#[Object]
impl User {
    async fn id(&self) -> &ID {
        &self.id
    }
    async fn name(&self) -> String {
        format!("user {}", self.id.as_str())
    }
    /// A merged field that takes a file (the gateway refuses to send it one; async-graphql
    /// would refuse it too, in the query an entity fetch is).
    async fn check(&self, ctx: &Context<'_>, file: Option<Upload>) -> async_graphql::Result<i32> {
        Ok(match file {
            Some(file) => read(ctx, &file)?.size as i32,
            None => -1,
        })
    }
}

struct UsersQuery;

#[Object]
impl UsersQuery {
    async fn user(&self, id: ID) -> User {
        User { id }
    }
    async fn users(&self) -> Vec<User> {
        vec![User { id: ID("1".into()) }, User { id: ID("2".into()) }]
    }
}

struct UsersMutation;

#[Object]
impl UsersMutation {
    async fn touch(&self, id: ID) -> User {
        User { id }
    }
}

// ------------------------------------------------------------------ the set-up

/// The content type of every request a service received, in order.
#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<String>>>);

impl Received {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// Serves `router` on 127.0.0.1:0, recording each request's content type.
async fn serve_recording(router: axum::Router) -> (TestServer, Received) {
    let received = Received::default();
    let log = received.clone();
    let router = router.layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| {
            let log = log.clone();
            async move {
                let content_type = request
                    .headers()
                    .get(http::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .to_owned();
                log.0.lock().unwrap().push(content_type);
                next.run(request).await
            }
        },
    ));
    let stats = Stats::default();
    let server = TestServer::serve("127.0.0.1:0".parse().unwrap(), router, stats)
        .await
        .unwrap();
    (server, received)
}

fn http_executor(url: String) -> quilt_executor::HttpExecutor {
    quilt_executor::HttpExecutor::builder(url)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

const MAX_UPLOAD_BYTES: usize = 256 * 1024;
const MAX_UPLOAD_FILES: usize = 4;

struct Gateway {
    url: String,
    files: Received,
    users: Received,
    _servers: (TestServer, TestServer),
    _task: AbortOnDropHandle<()>,
}

/// The files service (batched), the same service wrapped with transforms as `archive`, and
/// the users service (its `User` merged with the files service's), stitched and served by
/// Quilt's server with small upload limits.
async fn gateway() -> Gateway {
    let files_schema = Schema::new(FilesQuery, FilesMutation, EmptySubscription);
    let users_schema = Schema::new(UsersQuery, UsersMutation, EmptySubscription);
    let (files_sdl, users_sdl) = (files_schema.sdl(), users_schema.sdl());
    let (files, files_received) =
        serve_recording(graphql_router(files_schema, Stats::default())).await;
    let (users, users_received) =
        serve_recording(graphql_router(users_schema, Stats::default())).await;

    let archive_schema = apollo_compiler::Schema::parse_and_validate(&files_sdl, "files.graphql")
        .unwrap()
        .into_inner();
    let archive = wrap_schema(
        WrapSchemaConfig::new(archive_schema, http_executor(files.http_url()))
            .transform(RenameTypes::new(|name| {
                matches!(name, "FileInfo" | "AttachInput" | "Attachment" | "User")
                    .then(|| format!("Archive{name}"))
            }))
            .transform(RenameRootFields::new(|_, name, _| {
                Some(format!("archive{}{}", name[..1].to_uppercase(), &name[1..]))
            }))
            .transform(RenameInputObjectFields::new(|_, field, _| {
                (field == "file").then(|| "document".to_owned())
            })),
    )
    .unwrap();

    let stitched = Stitcher::new()
        .subschema(
            SubschemaConfig::from_sdl("files", &files_sdl, http_executor(files.http_url()))
                .unwrap()
                .batch(BatchOptions::default()),
        )
        .subschema(SubschemaConfig::wrapped("archive", archive))
        .subschema(
            SubschemaConfig::from_sdl("users", &users_sdl, http_executor(users.http_url()))
                .unwrap()
                .merge("User", EntryPoint::key_field("user", "id")),
        )
        .build()
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/graphql", listener.local_addr().unwrap());
    let server = GraphQLServer::builder(stitched)
        .limits(Limits {
            max_upload_bytes: MAX_UPLOAD_BYTES,
            max_upload_files: MAX_UPLOAD_FILES,
            ..Limits::default()
        })
        .build();
    let task = tokio::spawn(async move {
        let _ = server.serve(listener).await;
    });
    Gateway {
        url,
        files: files_received,
        users: users_received,
        _servers: (files, users),
        _task: AbortOnDropHandle::new(task),
    }
}

// ------------------------------------------------------------------ the client

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `len` bytes from a fixed seed (xorshift), with every byte value and the sequences a
/// multipart parser looks for (CRLF, `--`, boundary-like lines) spread through them.
fn binary(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut bytes: Vec<u8> = (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    let tricky: &[&[u8]] = &[
        b"\r\n",
        b"\r\n--",
        b"\r\n--\r\n",
        b"--boundary\r\n",
        b"\r\n------WebKitFormBoundary7MA4YWxkTrZu0gW--\r\n",
        b"\r\n--graphql\r\nContent-Disposition: form-data; name=\"0\"\r\n\r\n",
        b"\0\0\xff\xfe",
    ];
    let mut at = 0;
    for (i, sequence) in tricky.iter().cycle().take(len / 64).enumerate() {
        at = (at + 61 + i) % len.saturating_sub(sequence.len()).max(1);
        if at + sequence.len() <= len {
            bytes[at..at + sequence.len()].copy_from_slice(sequence);
        }
    }
    if len >= 256 {
        for (i, byte) in bytes[len - 256..].iter_mut().enumerate() {
            *byte = i as u8;
        }
    }
    bytes
}

/// One file of a request: the variable path it is mapped to, its name and its bytes.
struct File<'a> {
    path: &'a str,
    name: &'a str,
    bytes: Vec<u8>,
}

/// Sends a multipart request (`operations`, `map`, then the files in order) and answers the
/// status and the JSON body.
async fn send(url: &str, query: &str, variables: Value, files: &[File<'_>]) -> (u16, Value) {
    let map: serde_json::Map<String, Value> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (i.to_string(), json!([format!("variables.{}", f.path)])))
        .collect();
    let mut form = reqwest::multipart::Form::new()
        .text(
            "operations",
            json!({"query": query, "variables": variables}).to_string(),
        )
        .text("map", Value::Object(map).to_string());
    for (i, file) in files.iter().enumerate() {
        let part = reqwest::multipart::Part::bytes(file.bytes.clone())
            .file_name(file.name.to_owned())
            .mime_str("application/octet-stream")
            .unwrap();
        form = form.part(i.to_string(), part);
    }
    let response = reqwest::Client::new()
        .post(url)
        .header("apollo-require-preflight", "true")
        .header("accept", "application/graphql-response+json")
        .multipart(form)
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// A plain JSON query through the gateway: it still answers.
async fn still_answers(url: &str) {
    let response = reqwest::Client::new()
        .post(url)
        .header("accept", "application/graphql-response+json")
        .json(&json!({"query": "{ fileService users { id name } }"}))
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"data": {"fileService": "files", "users": [
            {"id": "1", "name": "user 1"}, {"id": "2", "name": "user 2"}
        ]}})
    );
}

fn info(name: &str, bytes: &[u8]) -> Value {
    json!({"filename": name, "size": bytes.len(), "hex": hex(bytes)})
}

// ------------------------------------------------------------------ the tests

#[tokio::test]
async fn files_reach_the_owning_subschema_byte_for_byte() {
    let gateway = gateway().await;
    let url = gateway.url.as_str();

    // One file of random bytes with CRLFs and boundary-like lines.
    let one = binary(100_000, 7);
    let (status, body) = send(
        url,
        "mutation($f: Upload!) { upload(file: $f) { filename mimeType size hex } }",
        json!({"f": null}),
        &[File {
            path: "f",
            name: "one.bin",
            bytes: one.clone(),
        }],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let mut expected = info("one.bin", &one);
    expected["mimeType"] = json!("application/octet-stream");
    assert_eq!(body, json!({"data": {"upload": expected}}));
    assert_eq!(gateway.files.take(), ["multipart/form-data"]);

    // Several files in a list variable, in order, one of them empty.
    let many = [binary(3000, 1), Vec::new(), binary(70_000, 3)];
    let (status, body) = send(
        url,
        "mutation($fs: [Upload!]!) { uploadMany(files: $fs) { filename size hex } }",
        json!({"fs": [null, null, null]}),
        &[
            File {
                path: "fs.0",
                name: "a.bin",
                bytes: many[0].clone(),
            },
            File {
                path: "fs.1",
                name: "empty.bin",
                bytes: many[1].clone(),
            },
            File {
                path: "fs.2",
                name: "c.bin",
                bytes: many[2].clone(),
            },
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"data": {"uploadMany": [
            info("a.bin", &many[0]), info("empty.bin", &many[1]), info("c.bin", &many[2])
        ]}})
    );

    // A single file for a list variable: coerced to a list of one, as a server would.
    let (status, body) = send(
        url,
        "mutation($fs: [Upload!]!) { uploadMany(files: $fs) { filename hex } }",
        json!({"fs": null}),
        &[File {
            path: "fs",
            name: "alone.bin",
            bytes: b"alone\r\n".to_vec(),
        }],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"data": {"uploadMany": [{"filename": "alone.bin", "hex": hex(b"alone\r\n")}]}})
    );

    // Files inside an input object (one of them inside a list in it).
    let (a, b) = (binary(5000, 11), binary(1, 12));
    let (status, body) = send(
        url,
        "mutation($in: AttachInput!) { attach(input: $in) { title file { filename hex } more { filename hex } } }",
        json!({"in": {"title": "report", "file": null, "more": [null]}}),
        &[
            File {
                path: "in.file",
                name: "report.pdf",
                bytes: a.clone(),
            },
            File {
                path: "in.more.0",
                name: "b.bin",
                bytes: b.clone(),
            },
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"data": {"attach": {
            "title": "report",
            "file": {"filename": "report.pdf", "hex": hex(&a)},
            "more": [{"filename": "b.bin", "hex": hex(&b)}]
        }}})
    );

    // Through a wrapped subschema whose transform renames the input field holding the file
    // (`document` here, `file` at the service): the file's path follows the rename.
    let (status, body) = send(
        url,
        "mutation($in: ArchiveAttachInput!) { archiveAttach(input: $in) { title file { filename hex } } }",
        json!({"in": {"title": "archived", "document": null}}),
        &[File {
            path: "in.document",
            name: "old.bin",
            bytes: a.clone(),
        }],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"data": {"archiveAttach": {
            "title": "archived", "file": {"filename": "old.bin", "hex": hex(&a)}
        }}})
    );
    assert!(
        gateway
            .files
            .take()
            .iter()
            .all(|t| t == "multipart/form-data"),
        "every upload reached the files service as a multipart request"
    );
    assert!(gateway.users.take().is_empty());
}

#[tokio::test]
async fn other_subschemas_in_the_operation_get_no_files() {
    let gateway = gateway().await;
    let url = gateway.url.as_str();
    let bytes = binary(20_000, 21);

    // A mutation with a file, its merged field resolved by the users service, and a root
    // mutation of the users service after it.
    let (status, body) = send(
        url,
        "mutation($f: Upload!) {
            uploadFor(ownerId: \"7\", file: $f) { filename hex owner { id name } }
            touch(id: \"8\") { name }
        }",
        json!({"f": null}),
        &[File {
            path: "f",
            name: "owned.bin",
            bytes: bytes.clone(),
        }],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"data": {
            "uploadFor": {"filename": "owned.bin", "hex": hex(&bytes), "owner": {"id": "7", "name": "user 7"}},
            "touch": {"name": "user 8"}
        }})
    );
    assert_eq!(gateway.files.take(), ["multipart/form-data"]);
    assert_eq!(
        gateway.users.take(),
        ["application/json", "application/json"],
        "the entity fetch and the users mutation went as JSON, without the file"
    );

    // Two root fields of different subschemas in one mutation, each with its own file: each
    // subschema gets only the file of the variable its field uses.
    let (x, y) = (binary(999, 31), binary(1234, 32));
    let (status, body) = send(
        url,
        "mutation($x: Upload!, $y: Upload!) {
            upload(file: $x) { filename hex }
            archiveUpload(file: $y) { filename hex }
        }",
        json!({"x": null, "y": null}),
        &[
            File {
                path: "x",
                name: "x.bin",
                bytes: x.clone(),
            },
            File {
                path: "y",
                name: "y.bin",
                bytes: y.clone(),
            },
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"data": {
            "upload": {"filename": "x.bin", "hex": hex(&x)},
            "archiveUpload": {"filename": "y.bin", "hex": hex(&y)}
        }})
    );
    assert_eq!(
        gateway.files.take(),
        ["multipart/form-data", "multipart/form-data"],
        "one request of one file each (`files` and `archive` are the same service)"
    );
    assert!(gateway.users.take().is_empty());

    // A merged field that takes a file: refused before anything is sent.
    let (status, body) = send(
        url,
        "mutation($f: Upload!, $g: Upload) {
            uploadFor(ownerId: \"7\", file: $f) { owner { check(file: $g) } }
        }",
        json!({"f": null, "g": null}),
        &[
            File {
                path: "f",
                name: "f.bin",
                bytes: b"f".to_vec(),
            },
            File {
                path: "g",
                name: "g.bin",
                bytes: b"g".to_vec(),
            },
        ],
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "UPLOAD_NOT_SUPPORTED"
    );
    assert!(body.get("data").is_none(), "{body}");
    assert!(gateway.files.take().is_empty(), "nothing was sent");
    assert!(gateway.users.take().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn upload_limits_and_misplaced_files_are_refused_and_the_gateway_goes_on() {
    let gateway = gateway().await;
    let url = gateway.url.as_str();
    let upload = "mutation($f: Upload!) { upload(file: $f) { size } }";
    still_answers(url).await;
    gateway.files.take();

    // A file over the upload limit.
    let (status, _) = send(
        url,
        upload,
        json!({"f": null}),
        &[File {
            path: "f",
            name: "big.bin",
            bytes: binary(MAX_UPLOAD_BYTES + 1, 41),
        }],
    )
    .await;
    assert_eq!(status, 413);
    still_answers(url).await;

    // More files than allowed.
    let files: Vec<File<'_>> = ["fs.0", "fs.1", "fs.2", "fs.3", "fs.4"]
        .iter()
        .map(|path| File {
            path,
            name: "n.bin",
            bytes: b"n".to_vec(),
        })
        .collect();
    let (status, body) = send(
        url,
        "mutation($fs: [Upload!]!) { uploadMany(files: $fs) { size } }",
        json!({"fs": [null, null, null, null, null]}),
        &files,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("more than 4 files"), "{body}");
    still_answers(url).await;

    // A file for an operation that declares no Upload variable: refused by the server.
    let (status, body) = send(
        url,
        "mutation($id: ID!) { touch(id: $id) { name } }",
        json!({"id": null}),
        &[File {
            path: "id",
            name: "x.bin",
            bytes: b"x".to_vec(),
        }],
    )
    .await;
    assert_eq!(status, 400, "{body}");
    still_answers(url).await;

    // A file for a variable that is not an Upload, in an operation that has one.
    let (status, body) = send(
        url,
        "mutation($f: Upload!, $id: ID!) { upload(file: $f) { size } touch(id: $id) { name } }",
        json!({"f": null, "id": null}),
        &[
            File {
                path: "f",
                name: "f.bin",
                bytes: b"f".to_vec(),
            },
            File {
                path: "id",
                name: "id.bin",
                bytes: b"i".to_vec(),
            },
        ],
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("variables.id"),
        "{body}"
    );
    still_answers(url).await;

    // A file for a variable the operation does not declare.
    let (status, body) = send(
        url,
        upload,
        json!({"f": null}),
        &[
            File {
                path: "f",
                name: "f.bin",
                bytes: b"f".to_vec(),
            },
            File {
                path: "nope",
                name: "nope.bin",
                bytes: b"n".to_vec(),
            },
        ],
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    still_answers(url).await;

    // A file inside an input object at a field of another type.
    let (status, body) = send(
        url,
        "mutation($in: AttachInput!) { attach(input: $in) { title } }",
        json!({"in": {"title": null, "file": null}}),
        &[
            File {
                path: "in.file",
                name: "f.bin",
                bytes: b"f".to_vec(),
            },
            File {
                path: "in.title",
                name: "t.bin",
                bytes: b"t".to_vec(),
            },
        ],
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    still_answers(url).await;

    assert!(
        !gateway
            .files
            .take()
            .iter()
            .any(|t| t == "multipart/form-data"),
        "no refused upload reached the files service"
    );
    // And an upload within the limits still goes through.
    let (status, body) = send(
        url,
        upload,
        json!({"f": null}),
        &[File {
            path: "f",
            name: "ok.bin",
            bytes: binary(MAX_UPLOAD_BYTES / 2, 42),
        }],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"data": {"upload": {"size": MAX_UPLOAD_BYTES / 2}}})
    );
}

#[tokio::test]
async fn a_subscription_with_a_file_is_refused_before_anything_is_sent() {
    use quilt_executor::{ExecutionResult, Executor, Request, Response, from_fn};
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = calls.clone();
    let events = from_fn(move |_request: Request| {
        counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        async {
            Ok(Response::Single(ExecutionResult::from_data(
                json!({"s": 1}),
            )))
        }
    });
    let gateway = Stitcher::new()
        .subschema(
            SubschemaConfig::from_sdl(
                "events",
                "scalar Upload type Query { a: Int } type Subscription { s(f: Upload): Int }",
                events,
            )
            .unwrap(),
        )
        .build()
        .unwrap();
    let request = Request::new("subscription($f: Upload) { s(f: $f) }")
        .unwrap()
        .upload("f", quilt_executor::Upload::new("a.txt", "A"));
    let result = gateway
        .execute(request)
        .await
        .unwrap()
        .into_single()
        .await
        .unwrap();
    assert!(result.data.is_none());
    assert_eq!(
        result.errors[0].extensions.as_ref().unwrap()["code"],
        "UPLOAD_NOT_SUPPORTED",
        "{:?}",
        result.errors
    );
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 0);
}
