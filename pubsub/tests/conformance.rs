//! The conformance suite, run against every engine with its broker real: the machine's brokers
//! (Redis 6379, Mosquitto 1883, RabbitMQ 5672, PostgreSQL 5432, NATS 4222) for order, fan-out,
//! unsubscription and lag, and private brokers on free ports for the restart tests.
//!
//! Run them all with `cargo test -p quilt-pubsub --all-features --test conformance`.
#![allow(clippy::unwrap_used, clippy::expect_used, async_fn_in_trait)]

// Parts of it serve only the engines behind features.
#[allow(dead_code)]
#[path = "conformance/daemons.rs"]
mod daemons;
#[path = "conformance/suite.rs"]
mod suite;

use std::time::{SystemTime, UNIX_EPOCH};

/// A suffix no other test run uses.
fn unique() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{}{}", std::process::id(), nanos % 1_000_000_000_000)
}

mod memory {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use quilt_pubsub::{InMemoryPubSub, PubSubError};

    use crate::daemons::Private;
    use crate::suite::{Broker, conformance};

    /// One process: the "instances" of a namespace are clones of one engine.
    #[derive(Default)]
    pub(crate) struct Memory {
        engines: Mutex<HashMap<String, InMemoryPubSub>>,
    }

    impl Broker for Memory {
        type Engine = InMemoryPubSub;

        fn url(&self) -> String {
            "memory".into()
        }

        fn namespace(&self, test: &str) -> String {
            format!("{test}-{}", crate::unique())
        }

        async fn engine(
            &self,
            _url: &str,
            namespace: &str,
            capacity: usize,
        ) -> Result<InMemoryPubSub, PubSubError> {
            let mut engines = self.engines.lock().unwrap();
            Ok(engines
                .entry(namespace.to_owned())
                .or_insert_with(|| InMemoryPubSub::with_capacity(capacity))
                .clone())
        }

        async fn routed(&self, _namespace: &str, _topic: &str) -> Option<bool> {
            None
        }

        async fn private(&self, _port: u16) -> Result<Private, String> {
            Err("the in-memory engine has no broker".into())
        }
    }

    conformance!(Memory::default());
}

mod redis {
    use quilt_pubsub::{PubSubError, RedisPubSub, RedisPubSubOptions};

    use crate::daemons::{Daemon, Private};
    use crate::suite::{Broker, conformance};

    pub(crate) struct Redis;

    impl Broker for Redis {
        type Engine = RedisPubSub;

        fn url(&self) -> String {
            "redis://127.0.0.1:6379".into()
        }

        fn namespace(&self, test: &str) -> String {
            format!("quilt-test:{test}:{}:", crate::unique())
        }

        async fn engine(
            &self,
            url: &str,
            namespace: &str,
            capacity: usize,
        ) -> Result<RedisPubSub, PubSubError> {
            RedisPubSub::connect_with(
                RedisPubSubOptions::new(url)
                    .channel_prefix(namespace)
                    .capacity(capacity),
            )
            .await
        }

        async fn routed(&self, namespace: &str, topic: &str) -> Option<bool> {
            let client = redis::Client::open(self.url()).unwrap();
            let mut conn = client.get_multiplexed_async_connection().await.unwrap();
            let (_, count): (String, i64) = redis::cmd("PUBSUB")
                .arg("NUMSUB")
                .arg(format!("{namespace}{topic}"))
                .query_async(&mut conn)
                .await
                .unwrap();
            Some(count > 0)
        }

        async fn private(&self, port: u16) -> Result<Private, String> {
            let args = ["--port", &port.to_string(), "--bind", "127.0.0.1"]
                .into_iter()
                .chain(["--save", "", "--appendonly", "no"])
                .map(str::to_owned)
                .collect();
            let daemon = Daemon {
                program: "redis-server".into(),
                args,
                user: None,
                stop_signal: None,
                env: Vec::new(),
                pid_file: None,
            };
            Private::daemon(port, format!("redis://127.0.0.1:{port}"), daemon, None).await
        }
    }

    conformance!(Redis, restart: |port| format!("redis://127.0.0.1:{port}"));
}

#[cfg(feature = "nats")]
mod nats {
    use std::time::Duration;

    use quilt_pubsub::{NatsPubSub, NatsPubSubOptions, PubSubError};

    use crate::daemons::{Daemon, Private};
    use crate::suite::{Broker, conformance};

    pub(crate) struct Nats;

    impl Broker for Nats {
        type Engine = NatsPubSub;

        fn url(&self) -> String {
            "nats://127.0.0.1:4222".into()
        }

        fn namespace(&self, test: &str) -> String {
            format!("quilt-test.{test}.{}.", crate::unique())
        }

        async fn engine(
            &self,
            url: &str,
            namespace: &str,
            capacity: usize,
        ) -> Result<NatsPubSub, PubSubError> {
            NatsPubSub::connect_with(
                NatsPubSubOptions::new(url)
                    .subject_prefix(namespace)
                    .capacity(capacity),
            )
            .await
        }

        /// A request to a subject no one subscribes to is answered "no responders" at once;
        /// one that reaches a subscriber (which does not reply) times out.
        async fn routed(&self, namespace: &str, topic: &str) -> Option<bool> {
            let client = async_nats::connect(self.url()).await.unwrap();
            let request = client.request(format!("{namespace}{topic}"), "".into());
            match tokio::time::timeout(Duration::from_millis(300), request).await {
                Err(_) => Some(true),
                Ok(Err(e)) if e.kind() == async_nats::RequestErrorKind::NoResponders => Some(false),
                Ok(Err(e)) if e.kind() == async_nats::RequestErrorKind::TimedOut => Some(true),
                Ok(other) => panic!("unexpected answer {other:?}"),
            }
        }

        async fn private(&self, port: u16) -> Result<Private, String> {
            let daemon = Daemon {
                program: "nats-server".into(),
                args: vec![
                    "-a".into(),
                    "127.0.0.1".into(),
                    "-p".into(),
                    port.to_string(),
                ],
                user: None,
                stop_signal: None,
                env: Vec::new(),
                pid_file: None,
            };
            Private::daemon(port, format!("nats://127.0.0.1:{port}"), daemon, None).await
        }
    }

    conformance!(Nats, restart: |port| format!("nats://127.0.0.1:{port}"));

    /// A private `nats-server` with JetStream, and a relay to it that cuts only the
    /// subscriber's connection while the publisher keeps publishing.
    async fn partitioned_subscriber(jetstream: bool) {
        use futures::StreamExt;
        use quilt_pubsub::{Missed, PubSub};
        use serde_json::json;

        use crate::daemons::free_port;
        use crate::suite::{next_event, skip};

        let port = free_port();
        let dir = std::env::temp_dir().join(format!("quilt-js-{}-{port}", crate::unique()));
        std::fs::create_dir_all(&dir).unwrap();
        let daemon = Daemon {
            program: "nats-server".into(),
            args: vec![
                "-a".into(),
                "127.0.0.1".into(),
                "-p".into(),
                port.to_string(),
                "-js".into(),
                "-sd".into(),
                dir.display().to_string(),
            ],
            user: None,
            stop_signal: None,
            env: Vec::new(),
            pid_file: None,
        };
        let server = match Private::daemon(
            port,
            format!("nats://127.0.0.1:{port}"),
            daemon,
            Some(dir),
        )
        .await
        {
            Ok(server) => server,
            Err(reason) => return skip(&reason),
        };
        let relay_port = free_port();
        let mut relay = Private::relay(
            relay_port,
            format!("nats://127.0.0.1:{relay_port}"),
            format!("127.0.0.1:{port}"),
        )
        .await;
        let options = |url: &str| {
            let options = NatsPubSubOptions::new(url).subject_prefix("seats.");
            if jetstream {
                options.jetstream("SEATS")
            } else {
                options
            }
        };
        let connect = async |url: &str| {
            let attempt = async {
                loop {
                    if let Ok(engine) = NatsPubSub::connect_with(options(url)).await {
                        return engine;
                    }
                    tokio::task::yield_now().await;
                }
            };
            tokio::time::timeout(crate::suite::WAIT, attempt)
                .await
                .unwrap()
        };
        let publisher = connect(server.url()).await;
        let subscriber = connect(relay.url()).await;
        let mut events = subscriber.subscribe(&["seat"]).await.unwrap();
        publisher.publish("seat", json!(1)).await.unwrap();
        assert_eq!(next_event(&mut events).await, Ok(json!(1)));

        relay.stop().await;
        publisher.publish("seat", json!(2)).await.unwrap();
        publisher.publish("seat", json!(3)).await.unwrap();
        relay.start().await;
        if jetstream {
            // Replayed: no notice, nothing lost.
            assert_eq!(next_event(&mut events).await, Ok(json!(2)));
            assert_eq!(next_event(&mut events).await, Ok(json!(3)));
        } else {
            assert_eq!(
                next_event(&mut events).await,
                Err(Missed::Interrupted {
                    topic: "seat".into()
                })
            );
        }
        // Events flow again (core NATS: once re-subscribed).
        let resumed = async {
            for probe in 4u64.. {
                publisher.publish("seat", json!(probe)).await.unwrap();
                if let Ok(Some(item)) =
                    tokio::time::timeout(std::time::Duration::from_millis(300), events.next()).await
                {
                    return (probe, item.map(|e| (*e.payload).clone()));
                }
            }
            unreachable!()
        };
        let (probe, item) = tokio::time::timeout(crate::suite::WAIT, resumed)
            .await
            .unwrap();
        if jetstream {
            assert_eq!((probe, item), (4, Ok(json!(4))), "nothing replayed twice");
        } else {
            assert!(item.is_ok_and(|value| value.as_u64() >= Some(4)));
        }
    }

    #[tokio::test]
    async fn with_jetstream_a_subscriber_cut_off_replays_the_events_it_missed() {
        partitioned_subscriber(true).await;
    }

    #[tokio::test]
    async fn without_jetstream_a_subscriber_cut_off_is_told_it_missed_events() {
        partitioned_subscriber(false).await;
    }
}

#[cfg(feature = "postgres")]
mod postgres {
    use quilt_pubsub::{PostgresPubSub, PostgresPubSubOptions, PubSub, PubSubError};
    use serde_json::json;

    use crate::daemons::{Daemon, Private, initdb};
    use crate::suite::{Broker, conformance};

    pub(crate) struct Postgres;

    impl Broker for Postgres {
        type Engine = PostgresPubSub;

        fn url(&self) -> String {
            "postgres://postgres@127.0.0.1:5432/test".into()
        }

        fn namespace(&self, test: &str) -> String {
            // Channel names are at most 63 bytes.
            format!("q{test}{}_", crate::unique())
        }

        async fn engine(
            &self,
            url: &str,
            namespace: &str,
            capacity: usize,
        ) -> Result<PostgresPubSub, PubSubError> {
            PostgresPubSub::connect_with(
                PostgresPubSubOptions::new(url)
                    .channel_prefix(namespace)
                    .capacity(capacity),
            )
            .await
        }

        /// PostgreSQL lists a session's own channels only.
        async fn routed(&self, _namespace: &str, _topic: &str) -> Option<bool> {
            None
        }

        async fn private(&self, port: u16) -> Result<Private, String> {
            let (dir, user) = initdb().await?;
            let daemon = Daemon {
                program: "postgres".into(),
                args: vec![
                    "-D".into(),
                    dir.display().to_string(),
                    "-p".into(),
                    port.to_string(),
                    "-k".into(),
                    dir.display().to_string(),
                    "-c".into(),
                    "listen_addresses=127.0.0.1".into(),
                    "-c".into(),
                    "fsync=off".into(),
                ],
                user,
                // SIGQUIT: PostgreSQL's immediate shutdown, like a crash, but it leaves no
                // shared memory behind for the restart to trip on.
                stop_signal: Some("QUIT"),
                env: Vec::new(),
                pid_file: None,
            };
            let url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
            Private::daemon(port, url, daemon, Some(dir)).await
        }
    }

    conformance!(Postgres, restart: |port| format!("postgres://postgres@127.0.0.1:{port}/test"));

    #[tokio::test]
    async fn a_payload_over_the_notify_limit_is_refused_with_a_clear_error() {
        let ns = Postgres.namespace("big");
        let engine = Postgres.engine(&Postgres.url(), &ns, 16).await.unwrap();
        let big = "x".repeat(quilt_pubsub::MAX_NOTIFY_PAYLOAD);
        let error = engine.publish("t", json!(big)).await.unwrap_err();
        assert!(
            matches!(&error, PubSubError::Payload { message, .. } if message.contains("NOTIFY")),
            "{error}"
        );
        let fits = "x".repeat(quilt_pubsub::MAX_NOTIFY_PAYLOAD - 2);
        engine.publish("t", json!(fits)).await.unwrap();
    }

    #[tokio::test]
    async fn a_channel_name_over_63_bytes_is_refused() {
        let engine = Postgres.engine(&Postgres.url(), "", 16).await.unwrap();
        let long = "t".repeat(64);
        let error = engine.subscribe(&[long.as_str()]).await.err().unwrap();
        assert!(matches!(error, PubSubError::InvalidTopic { .. }), "{error}");
    }
}

#[cfg(feature = "mqtt")]
mod mqtt {
    use std::time::Duration;

    use quilt_pubsub::{MqttPubSub, MqttPubSubOptions, PubSubError};
    use rumqttc::v5::mqttbytes::QoS;
    use rumqttc::v5::mqttbytes::v5::{Packet, PubAckReason};
    use rumqttc::v5::{AsyncClient, Event, MqttOptions};

    use crate::daemons::{Daemon, Private};
    use crate::suite::{Broker, conformance};

    pub(crate) struct Mqtt;

    impl Broker for Mqtt {
        type Engine = MqttPubSub;

        fn url(&self) -> String {
            "mqtt://127.0.0.1:1883".into()
        }

        fn namespace(&self, test: &str) -> String {
            format!("quilt-test/{test}/{}/", crate::unique())
        }

        async fn engine(
            &self,
            url: &str,
            namespace: &str,
            capacity: usize,
        ) -> Result<MqttPubSub, PubSubError> {
            MqttPubSub::connect_with(
                MqttPubSubOptions::new(url)
                    .topic_prefix(namespace)
                    .capacity(capacity),
            )
            .await
        }

        /// An MQTT v5 broker answers a QoS 1 publish to a topic no one subscribes to with the
        /// reason "no matching subscribers".
        async fn routed(&self, namespace: &str, topic: &str) -> Option<bool> {
            let id = format!("quilt-observer-{}", crate::unique());
            let (client, mut eventloop) =
                AsyncClient::new(MqttOptions::new(id, "127.0.0.1", 1883), 16);
            client
                .publish(format!("{namespace}{topic}"), QoS::AtLeastOnce, false, "")
                .await
                .unwrap();
            let reason = async {
                loop {
                    match eventloop.poll().await {
                        Ok(Event::Incoming(Packet::PubAck(ack))) => return ack.reason,
                        Ok(_) => {}
                        Err(e) => panic!("observer connection failed: {e}"),
                    }
                }
            };
            let reason = tokio::time::timeout(Duration::from_secs(5), reason)
                .await
                .expect("no PUBACK");
            let _ = client.try_disconnect();
            Some(reason != PubAckReason::NoMatchingSubscribers)
        }

        async fn private(&self, port: u16) -> Result<Private, String> {
            let daemon = Daemon {
                program: "mosquitto".into(),
                args: vec!["-p".into(), port.to_string()],
                user: None,
                stop_signal: None,
                env: Vec::new(),
                pid_file: None,
            };
            Private::daemon(port, format!("mqtt://127.0.0.1:{port}"), daemon, None).await
        }
    }

    conformance!(Mqtt, restart: |port| format!("mqtt://127.0.0.1:{port}"));
}

#[cfg(feature = "amqp")]
mod amqp {
    use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
    use lapin::{BasicProperties, Confirmation, Connection, ConnectionProperties};
    use quilt_pubsub::{AmqpPubSub, AmqpPubSubOptions, PubSubError};

    use crate::daemons::{Daemon, Private};
    use crate::suite::{Broker, conformance};

    pub(crate) struct Amqp;

    const URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

    impl Broker for Amqp {
        type Engine = AmqpPubSub;

        fn url(&self) -> String {
            URL.into()
        }

        fn namespace(&self, test: &str) -> String {
            format!("quilt-test.{test}.{}.", crate::unique())
        }

        async fn engine(
            &self,
            url: &str,
            namespace: &str,
            capacity: usize,
        ) -> Result<AmqpPubSub, PubSubError> {
            AmqpPubSub::connect_with(
                AmqpPubSubOptions::new(url)
                    .routing_key_prefix(namespace)
                    .capacity(capacity),
            )
            .await
        }

        /// A mandatory publish that no queue is bound for comes back to the publisher.
        async fn routed(&self, namespace: &str, topic: &str) -> Option<bool> {
            let connection = Connection::connect(URL, ConnectionProperties::default())
                .await
                .unwrap();
            let channel = connection.create_channel().await.unwrap();
            channel
                .confirm_select(ConfirmSelectOptions::default())
                .await
                .unwrap();
            let key = format!("{namespace}{topic}");
            let confirm = channel
                .basic_publish(
                    "quilt.pubsub".into(),
                    key.as_str().into(),
                    BasicPublishOptions {
                        mandatory: true,
                        ..BasicPublishOptions::default()
                    },
                    b"",
                    BasicProperties::default(),
                )
                .await
                .unwrap();
            match confirm.await.unwrap() {
                Confirmation::Ack(returned) => Some(returned.is_none()),
                other => panic!("unexpected confirmation {other:?}"),
            }
        }

        /// A RabbitMQ node of its own (node name, Erlang distribution port, data and log
        /// directory, `HOME` for its cookie), started by RabbitMQ's launcher script; it takes
        /// about 5 s to boot. Stopped with SIGKILL to its Erlang VM (the pid file's).
        async fn private(&self, port: u16) -> Result<Private, String> {
            let program = ["/usr/lib/rabbitmq/bin/rabbitmq-server", "/usr/lib/rabbitmq/sbin/rabbitmq-server"]
                .into_iter()
                .find(|path| std::path::Path::new(path).exists())
                .ok_or("RabbitMQ's launcher (/usr/lib/rabbitmq/bin/rabbitmq-server) is not installed, so RabbitMQ cannot be restarted by the test")?;
            let dir = std::env::temp_dir().join(format!("quilt-rabbit-{}", crate::unique()));
            std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
            let config = dir.join("rabbitmq.conf");
            std::fs::write(
                &config,
                format!("listeners.tcp.local = 127.0.0.1:{port}\nloopback_users = none\n"),
            )
            .map_err(|e| e.to_string())?;
            let path = |name: &str| dir.join(name).display().to_string();
            let env = [
                ("HOME", dir.display().to_string()),
                ("RABBITMQ_NODENAME", format!("quilt{port}@localhost")),
                (
                    "RABBITMQ_DIST_PORT",
                    crate::daemons::free_port().to_string(),
                ),
                ("RABBITMQ_CONFIG_FILE", config.display().to_string()),
                ("RABBITMQ_MNESIA_BASE", path("mnesia")),
                ("RABBITMQ_LOG_BASE", path("log")),
                ("RABBITMQ_ENABLED_PLUGINS_FILE", path("plugins")),
                ("RABBITMQ_PID_FILE", path("pid")),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
            let daemon = Daemon {
                program: program.into(),
                args: Vec::new(),
                user: None,
                stop_signal: None,
                env,
                pid_file: Some(dir.join("pid")),
            };
            let url = format!("amqp://guest:guest@127.0.0.1:{port}/%2f");
            Private::daemon(port, url, daemon, Some(dir)).await
        }
    }

    conformance!(Amqp, restart: |port| format!("amqp://guest:guest@127.0.0.1:{port}/%2f"));
}
