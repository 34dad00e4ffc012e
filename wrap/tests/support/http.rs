//! The HTTP executor these tests use: Quilt's own.

use std::time::Duration;

use quilt_executor::Executor;

/// An executor POSTing to `url`.
pub fn http_executor(url: &str) -> impl Executor {
    http_executor_with_headers(url, &[])
}

/// An executor POSTing to `url` with extra headers.
pub fn http_executor_with_headers(url: &str, headers: &[(&str, &str)]) -> impl Executor {
    let mut builder = quilt_executor::HttpExecutor::builder(url).timeout(Duration::from_secs(10));
    for (name, value) in headers {
        builder = builder.header(name, value);
    }
    builder.build().unwrap()
}
