//! What the load generator sends and what every answer must be: the benchmark's heavy query,
//! the simple pass-through query, the large response, many distinct operations (a cold plan
//! cache), or any query from a file.

use bytes::Bytes;
use quilt_test_support::federation::{self, expected};
use serde_json::{Value, json};

use crate::args::Args;

/// The expected body of a response: `prefix` then `rest` (split so that many distinct
/// operations can share one large expected tail).
#[derive(Debug, Clone)]
pub struct Expected {
    prefix: Bytes,
    rest: Bytes,
}

/// How a response body compared with the expected one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Byte for byte.
    Bytes,
    /// The same JSON, written differently (key order or spacing).
    Json,
    /// Different.
    Mismatch,
}

impl Expected {
    fn whole(body: Bytes) -> Self {
        Self {
            prefix: body,
            rest: Bytes::new(),
        }
    }

    /// Compares `body` with the expected body: bytes first (cheap), JSON values when the bytes
    /// differ.
    pub fn check(&self, body: &[u8]) -> Check {
        let (prefix, rest) = (&self.prefix[..], &self.rest[..]);
        if body.len() == prefix.len() + rest.len()
            && body.starts_with(prefix)
            && &body[prefix.len()..] == rest
        {
            return Check::Bytes;
        }
        let expected: Result<Value, _> = serde_json::from_slice(&[prefix, rest].concat());
        let actual: Result<Value, _> = serde_json::from_slice(body);
        match (expected, actual) {
            (Ok(expected), Ok(actual)) if expected == actual => Check::Json,
            _ => Check::Mismatch,
        }
    }

    /// The expected body, whole.
    pub fn body(&self) -> Vec<u8> {
        [&self.prefix[..], &self.rest[..]].concat()
    }
}

/// The requests of a run.
#[derive(Debug)]
pub enum Requests {
    /// These request bodies, taken in turn, each with its expected response (or none).
    Fixed(Vec<(Bytes, Option<Expected>)>),
    /// `plans` distinct operations: the heavy query with a distinct operation name and a
    /// distinct aliased `__typename` at its root, so that every request is a new document for
    /// the gateway's caches; `rest` is the expected body after the alias.
    ManyPlans {
        /// How many distinct operations before the first comes again.
        plans: usize,
        /// The heavy response after `{"data":{`.
        rest: Bytes,
    },
    /// The heavy query's subgraph requests, sent straight to the subgraphs (unchecked beyond
    /// "200 without errors").
    Direct(std::sync::Arc<crate::direct::DirectPlan>),
}

impl Requests {
    /// The `n`th request body and its expected response.
    pub fn get(&self, n: usize) -> (Bytes, Option<Expected>) {
        match self {
            Requests::Fixed(all) => all[n % all.len()].clone(),
            Requests::Direct(_) => (Bytes::new(), None),
            Requests::ManyPlans { plans, rest } => {
                let i = n % (*plans).max(1);
                let query = federation::HEAVY_QUERY.replacen(
                    "query TestQuery {",
                    &format!("query TestQuery{i} {{ v{i}: __typename"),
                    1,
                );
                let body = json!({ "query": query }).to_string();
                let prefix = format!("{{\"data\":{{\"v{i}\":\"Query\",");
                (
                    Bytes::from(body),
                    Some(Expected {
                        prefix: Bytes::from(prefix),
                        rest: rest.clone(),
                    }),
                )
            }
        }
    }
}

/// The scenario of `--scenario` (heavy, simple, large, many-plans) or `--query-file` (with an
/// optional `--expect-file`), and its name.
pub fn from_args(args: &Args) -> anyhow::Result<(String, Requests)> {
    if let Some(path) = args.get("query-file") {
        let query = std::fs::read_to_string(path)?;
        let body = Bytes::from(json!({ "query": query }).to_string());
        let expected = match args.get("expect-file") {
            Some(path) => Some(Expected::whole(Bytes::from(std::fs::read(path)?))),
            None => None,
        };
        return Ok((path.to_owned(), Requests::Fixed(vec![(body, expected)])));
    }
    let name = args.get("scenario").unwrap_or("heavy");
    Ok((name.to_owned(), named(name, args)?))
}

/// The requests of the scenario `name`; `--products` and `--plans` of `args` size it.
pub fn named(name: &str, args: &Args) -> anyhow::Result<Requests> {
    let (query, response) = match name {
        "heavy" => (
            federation::HEAVY_QUERY.to_owned(),
            expected::heavy_response(),
        ),
        "simple" => (
            federation::SIMPLE_QUERY.to_owned(),
            expected::simple_response(),
        ),
        "large" => {
            let products = args.number("products", federation::LARGE_PRODUCTS)?;
            (
                federation::large_query(products),
                expected::large_response(products),
            )
        }
        "heavy-direct" => {
            let url = |name: &str| -> anyhow::Result<hyper::Uri> {
                let url = args
                    .get(name)
                    .ok_or_else(|| anyhow::anyhow!("heavy-direct needs --{name} URL"))?;
                Ok(url.parse()?)
            };
            let urls = [
                url("accounts")?,
                url("inventory")?,
                url("products")?,
                url("reviews")?,
            ];
            return Ok(Requests::Direct(std::sync::Arc::new(crate::direct::heavy(
                urls,
            ))));
        }
        "many-plans" => {
            let plans = args.number("plans", 100_000usize)?;
            let heavy = expected::heavy_response().to_string();
            let rest = heavy
                .strip_prefix("{\"data\":{")
                .ok_or_else(|| anyhow::anyhow!("the heavy response does not start with data"))?;
            return Ok(Requests::ManyPlans {
                plans,
                rest: Bytes::from(rest.to_owned()),
            });
        }
        other => anyhow::bail!(
            "unknown scenario {other} (heavy, simple, large, many-plans, heavy-direct)"
        ),
    };
    let body = Bytes::from(json!({ "query": query }).to_string());
    let expected = Expected::whole(Bytes::from(response.to_string()));
    Ok(Requests::Fixed(vec![(body, Some(expected))]))
}

/// The expected response of a named scenario, as the body a gateway must send.
pub fn expected_body(name: &str, args: &Args) -> anyhow::Result<Vec<u8>> {
    let (_, expected) = named(name, args)?.get(0);
    expected
        .map(|e| e.body())
        .ok_or_else(|| anyhow::anyhow!("no expected response for {name}"))
}

/// The query of a named scenario.
pub fn query(name: &str, args: &Args) -> anyhow::Result<String> {
    let (body, _) = named(name, args)?.get(0);
    let body: Value = serde_json::from_slice(&body)?;
    Ok(body["query"].as_str().unwrap_or_default().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_plans_gives_distinct_operations_with_their_own_expected_body() {
        let args = Args::parse(
            ["--scenario", "many-plans", "--plans", "3"].map(String::from),
            &[],
        )
        .unwrap_or_default();
        let Ok((_, requests)) = from_args(&args) else {
            panic!("many-plans did not build")
        };
        let (first, expected) = requests.get(1);
        let (again, _) = requests.get(4);
        let (other, _) = requests.get(2);
        assert_eq!(first, again);
        assert_ne!(first, other);
        let expected = expected.map(|e| e.body()).unwrap_or_default();
        let value: Value = serde_json::from_slice(&expected).unwrap_or_default();
        assert_eq!(value["data"]["v1"], "Query");
        assert_eq!(value["data"]["users"][0]["id"], "1");
    }

    #[test]
    fn checks_bytes_then_json() {
        let expected = Expected::whole(Bytes::from_static(br#"{"data":{"a":1,"b":2}}"#));
        assert_eq!(expected.check(br#"{"data":{"a":1,"b":2}}"#), Check::Bytes);
        assert_eq!(expected.check(br#"{"data": {"b":2, "a":1}}"#), Check::Json);
        assert_eq!(expected.check(br#"{"data":{"a":1}}"#), Check::Mismatch);
    }
}
