//! The tests of `config.rs`, in a file of their own to keep that one short.

#![allow(clippy::unwrap_used)]

use super::*;
use crate::spec::WsProtocol;

#[test]
fn a_toml_file_holds_every_subschema_option() {
    let file = FileConfig::parse(
        r#"
            listen = "127.0.0.1:5000"
            poll_interval = 2.5
            [[subschemas]]
            name = "accounts"
            url = "http://a/graphql"
            ws_url = "ws://a/ws"
            ws_protocol = "graphql-ws"
            timeout = 3
            headers = { "x-api-key" = "k" }
            [subschemas.transforms]
            keep_root_fields = ["me"]
            type_prefix = "Acc_"
            root_field_prefix = "acc_"
            [[subschemas]]
            name = "products"
            url = "http://p/graphql"
            "#,
    )
    .unwrap();
    assert_eq!(file.listen, Some("127.0.0.1:5000".parse().unwrap()));
    let accounts = &file.subschemas[0];
    assert_eq!(accounts.ws_protocol, WsProtocol::GraphqlWs);
    assert_eq!(accounts.ws_url(), "ws://a/ws");
    assert_eq!(accounts.timeout, Some(3.0));
    assert_eq!(
        accounts.headers,
        crate::spec::HeadersSpec::Static([("x-api-key".into(), "k".into())].into())
    );
    assert_eq!(accounts.transforms.type_prefix.as_deref(), Some("Acc_"));
    assert!(accounts.forward_authorization);
    assert!(file.subschemas[1].transforms.is_empty());
    assert!(FileConfig::parse("[[subschemas]]\nname = \"a\"\nurl = \"u\"\nbogus = 1").is_err());
}

#[test]
fn the_readme_and_module_examples_parse() {
    let readme = include_str!("../../../README.md");
    let readme = &readme[readme.find("## gateway-example").unwrap()..];
    let start = readme.find("```toml\n").unwrap() + "```toml\n".len();
    let block = &readme[start..];
    let block = &block[..block.find("```").unwrap()];
    let file = FileConfig::parse(block).unwrap();
    assert_eq!(file.subschemas[0].ws_protocol, WsProtocol::GraphqlWs);
    assert_eq!(
        file.subschemas[0]
            .transforms
            .keep_root_fields
            .as_ref()
            .unwrap()
            .len(),
        2
    );

    let docs: String = include_str!("../config.rs")
        .lines()
        .take_while(|line| line.starts_with("//!"))
        .map(|line| line.trim_start_matches("//!").trim_start_matches(' '))
        .collect::<Vec<_>>()
        .join("\n");
    let start = docs.find("```toml\n").unwrap() + "```toml\n".len();
    let block = &docs[start..];
    let file = FileConfig::parse(&block[..block.find("```").unwrap()]).unwrap();
    assert_eq!(
        file.subschemas[0].transforms.root_field_prefix.as_deref(),
        Some("acc_")
    );
}

#[test]
fn dedup_is_on_by_default_and_switched_off_by_flag_or_file() {
    let on = Cli::parse_from(["g", "--subschema", "a=http://a"])
        .settings()
        .unwrap();
    assert!(on.dedup && on.subschemas[0].dedup);
    let off = Cli::parse_from([
        "g",
        "--subschema",
        "a=http://a",
        "--no-dedup",
        "--no-upstream-dedup",
    ])
    .settings()
    .unwrap();
    assert!(!off.dedup && !off.subschemas[0].dedup);
    let file = FileConfig::parse(
            "dedup = false\nupstream_dedup = false\n[[subschemas]]\nname = \"a\"\nurl = \"u\"\n[[subschemas]]\nname = \"b\"\nurl = \"v\"\ndedup = true",
        )
        .unwrap();
    assert_eq!(file.dedup, Some(false));
    let one =
        FileConfig::parse("[[subschemas]]\nname = \"a\"\nurl = \"u\"\ndedup = false").unwrap();
    assert!(!one.subschemas[0].dedup);
}

#[test]
fn the_demo_venue_uses_redis_from_the_flag_the_file_or_redis_url() {
    let no_env = |_: &str| None;
    let env = |name: &str| (name == "REDIS_URL").then(|| "redis://env:6379".to_owned());
    let none = Cli::parse_from(["g"]).settings_with_env(no_env).unwrap();
    assert_eq!(none.demo_redis, None);
    let from_env = Cli::parse_from(["g"]).settings_with_env(env).unwrap();
    assert_eq!(
        from_env.demo_redis,
        Some(DemoRedis {
            url: "redis://env:6379".into(),
            prefix: DEFAULT_REDIS_PREFIX.into()
        })
    );
    let flag = Cli::parse_from([
        "g",
        "--redis-url",
        "redis://flag:6379",
        "--redis-prefix",
        "run-7:",
    ])
    .settings_with_env(env)
    .unwrap();
    assert_eq!(
        flag.demo_redis,
        Some(DemoRedis {
            url: "redis://flag:6379".into(),
            prefix: "run-7:".into()
        })
    );
    let file =
        FileConfig::parse("redis_url = \"redis://file:6379\"\nredis_prefix = \"f:\"").unwrap();
    assert_eq!(file.redis_url.as_deref(), Some("redis://file:6379"));
    assert_eq!(file.redis_prefix.as_deref(), Some("f:"));
    let empty = |_: &str| Some(String::new());
    let unset = Cli::parse_from(["g"]).settings_with_env(empty).unwrap();
    assert_eq!(unset.demo_redis, None, "an empty REDIS_URL is unset");
}

#[test]
fn the_demo_venue_takes_its_pubsub_broker_from_the_flag_or_the_file() {
    let no_env = |_: &str| None;
    let none = Cli::parse_from(["g"]).settings_with_env(no_env).unwrap();
    assert_eq!(none.demo_pubsub, None);
    let flag = Cli::parse_from([
        "g",
        "--pubsub",
        "nats://127.0.0.1:4222",
        "--pubsub-prefix",
        "p:",
    ])
    .settings_with_env(no_env)
    .unwrap();
    assert_eq!(flag.demo_pubsub.as_deref(), Some("nats://127.0.0.1:4222"));
    assert_eq!(flag.demo_prefix, "p:");
    assert_eq!(flag.demo_redis, None);
    let dir = std::env::temp_dir().join(format!("quilt-pubsub-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("gateway.toml");
    std::fs::write(&path, "pubsub = \"mqtt://127.0.0.1:1883\"\n").unwrap();
    let file = Cli::parse_from(["g", "--config", path.to_str().unwrap()])
        .settings_with_env(no_env)
        .unwrap();
    assert_eq!(file.demo_pubsub.as_deref(), Some("mqtt://127.0.0.1:1883"));
    assert_eq!(file.demo_prefix, DEFAULT_REDIS_PREFIX);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_callback_url_is_configured_or_derived_from_the_listen_address() {
    let derived = Cli::parse_from([
        "g",
        "--subschema",
        "r=http://r/graphql,subscriptions=callback",
        "--listen",
        "0.0.0.0:4100",
    ])
    .settings()
    .unwrap();
    assert_eq!(
        derived.subschemas[0].subscriptions,
        crate::spec::SubscriptionTransport::Callback
    );
    assert_eq!(derived.callback_url(), "http://127.0.0.1:4100/callback");
    let given = Cli::parse_from(["g", "--callback-url", "https://gw.example/cb"])
        .settings()
        .unwrap();
    assert_eq!(given.callback_url(), "https://gw.example/cb");
    let file = FileConfig::parse(
            "callback_url = \"http://gw/cb\"\n[[subschemas]]\nname = \"r\"\nurl = \"u\"\nsubscriptions = \"callback\"",
        )
        .unwrap();
    assert_eq!(file.callback_url.as_deref(), Some("http://gw/cb"));
    assert_eq!(
        file.subschemas[0].subscriptions,
        crate::spec::SubscriptionTransport::Callback
    );
}

#[test]
fn flags_override_the_file_and_names_are_unique() {
    let cli = Cli::parse_from([
        "gateway-example",
        "--subschema",
        "a=http://a/graphql",
        "--subschema",
        "b=http://b/graphql,ws=ws://b/ws",
        "--listen",
        "127.0.0.1:0",
        "--poll-interval",
        "1",
    ]);
    let settings = cli.settings().unwrap();
    assert_eq!(settings.subschemas.len(), 2);
    assert_eq!(settings.listen.port(), 0);
    assert_eq!(settings.poll_interval, Some(Duration::from_secs(1)));
    let twice = Cli::parse_from([
        "g",
        "--subschema",
        "a=http://x",
        "--subschema",
        "a=http://y",
    ]);
    assert!(twice.settings().is_err());
    let zero = Cli::parse_from(["g", "--poll-interval", "0"]);
    assert!(zero.settings().is_err());
    let none = Cli::parse_from(["g"]).settings().unwrap();
    assert!(none.subschemas.is_empty());
    assert!(none.dedup, "inbound deduplication is on by default");
    assert_eq!(none.listen.to_string(), DEFAULT_LISTEN);
}

#[test]
fn serving_threads_default_to_one_per_core_and_are_at_least_one() {
    let cores = std::thread::available_parallelism().unwrap().get();
    assert_eq!(Cli::parse_from(["g"]).settings().unwrap().threads, cores);
    let flag = Cli::parse_from(["g", "--threads", "3"]).settings().unwrap();
    assert_eq!(flag.threads, 3);
    assert!(Cli::parse_from(["g", "--threads", "0"]).settings().is_err());
    let file = FileConfig::parse("threads = 5").unwrap();
    assert_eq!(file.threads, Some(5));
}

#[test]
fn each_serving_thread_gets_an_even_share_of_the_cache_bounds() {
    let mut settings = Cli::parse_from(["g", "--threads", "3"]).settings().unwrap();
    settings.limits.document_cache_bytes = 3 * 1024 * 1024;
    settings.stitch_limits.plan_cache_bytes = 9 * 1024 * 1024;
    settings.stitch_limits.plan_cache_capacity = 1024;
    let each = settings.per_thread();
    assert_eq!(each.limits.document_cache_bytes, 1024 * 1024);
    assert_eq!(each.stitch_limits.plan_cache_bytes, 3 * 1024 * 1024);
    assert_eq!(each.stitch_limits.plan_cache_capacity, 341);
    // Nothing else moves: the connection cap is counted for the process by shared pools.
    assert_eq!(each.limits.max_connections, settings.limits.max_connections);
    assert_eq!(each.threads, 3);
    // No cache stays no cache; a tiny bound still leaves each thread one entry.
    settings.limits.document_cache_bytes = 0;
    settings.stitch_limits.plan_cache_capacity = 2;
    let each = settings.per_thread();
    assert_eq!(each.limits.document_cache_bytes, 0);
    assert_eq!(each.stitch_limits.plan_cache_capacity, 1);
    // One thread keeps the bounds as they are.
    settings.threads = 1;
    assert_eq!(
        settings.per_thread().stitch_limits.plan_cache_bytes,
        9 * 1024 * 1024
    );
}
