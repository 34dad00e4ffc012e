//! The tests of `sections.rs`, in a file of their own to keep that one short.

#![allow(clippy::unwrap_used)]

use super::*;

#[derive(Debug, Deserialize)]
struct Probe {
    limit: Option<Limit>,
    seconds: Option<Seconds>,
}

fn probe(text: &str) -> Result<Probe, toml::de::Error> {
    toml::from_str(text)
}

#[test]
fn limits_are_numbers_or_false() {
    assert_eq!(probe("limit = 12").unwrap().limit, Some(Limit(Some(12))));
    assert_eq!(probe("limit = false").unwrap().limit, Some(Limit(None)));
    let error = probe("limit = true").unwrap_err().to_string();
    assert!(error.contains("false for no limit"), "{error}");
    assert!(probe("limit = -1").is_err());
    assert!(probe("limit = \"12\"").is_err());
}

#[test]
fn durations_are_seconds_or_false() {
    assert_eq!(
        probe("seconds = 1.5").unwrap().seconds,
        Some(Seconds(Some(Duration::from_millis(1500))))
    );
    assert_eq!(
        probe("seconds = 2").unwrap().seconds,
        Some(Seconds(Some(Duration::from_secs(2))))
    );
    assert_eq!(
        probe("seconds = false").unwrap().seconds,
        Some(Seconds(None))
    );
    assert!(probe("seconds = -1").is_err());
    assert!(probe("seconds = nan").is_err());
}

#[test]
fn sections_set_what_they_name_and_keep_the_rest() {
    let limits: LimitsSection =
        toml::from_str("max_depth = 7\nmax_aliases = false\nmax_body_bytes = 1024").unwrap();
    let mut server = quilt_server::Limits::default();
    limits.apply(&mut server);
    assert_eq!(server.max_depth, Some(7));
    assert_eq!(server.max_aliases, None);
    assert_eq!(server.max_body_bytes, 1024);
    assert_eq!(
        server.max_tokens,
        quilt_server::Limits::default().max_tokens
    );

    let timeouts: TimeoutsSection =
        toml::from_str("request = 5\nidle = false\ndrain = 2.5").unwrap();
    let mut streaming = quilt_server::Streaming::default();
    timeouts.apply(&mut server, &mut streaming).unwrap();
    assert_eq!(server.request_timeout, Some(Duration::from_secs(5)));
    assert_eq!(streaming.ws_idle_timeout, None);
    assert_eq!(streaming.shutdown_timeout, Duration::from_millis(2500));

    let timeouts: TimeoutsSection = toml::from_str("drain = false").unwrap();
    let error = timeouts
        .apply(&mut server, &mut streaming)
        .unwrap_err()
        .to_string();
    assert!(error.contains("timeouts.drain"), "{error}");

    let subscriptions: SubscriptionsSection =
        toml::from_str("dedup = false\nqueue_capacity = 8\nresubscribe_window = 0").unwrap();
    let mut options = quilt_stitch::SubscriptionOptions::default();
    subscriptions.apply(&mut options, &mut streaming).unwrap();
    assert!(!options.deduplicate);
    assert_eq!(options.queue_capacity, 8);
    assert_eq!(options.resubscribe_window, Duration::ZERO);
}
