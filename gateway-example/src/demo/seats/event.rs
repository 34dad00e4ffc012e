//! The venue's events: the `SeatEvent` the article's subscriptions return, and the PubSub
//! engine chosen by the URL's scheme.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use async_graphql::{ID, SimpleObject};
use quilt_pubsub::{
    AmqpPubSub, AmqpPubSubOptions, MqttPubSub, MqttPubSubOptions, NatsPubSub, NatsPubSubOptions,
    PostgresPubSub, PostgresPubSubOptions, PubSub, RedisPubSub, RedisPubSubOptions,
};
use serde::{Deserialize, Serialize};

use super::{Seat, SeatStatus};

/// What happened to a seat, as the Seat-Saver article's subscriptions publish it: before a
/// mutation acts ("Reserving Seat", status `RESERVING`) and after ("Reserved Seat").
#[derive(SimpleObject, Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SeatEvent {
    /// What is happening: "Reserving Seat", "Reserved Seat", "Seat Not Reserved: …", ...
    pub message: String,
    /// The venue.
    pub venue_id: ID,
    /// The seat (`{venueId}:{number}`).
    pub seat_id: ID,
    /// The seat's number in the venue, e.g. `A1`.
    pub number: String,
    /// The section the seat is in.
    pub section: String,
    /// The seat's status: a transitional one (`RESERVING`, `RELEASING`, `SELLING`) before the
    /// change, the resulting one after.
    pub status: SeatStatus,
    /// Who is reserving, buying or releasing it (before), or holds it (after); not in the
    /// article's type, added so a client can tell whose reservation won.
    pub holder: Option<String>,
    /// When it changed: RFC 3339, UTC, milliseconds.
    pub change_date: String,
}

impl SeatEvent {
    /// An event about `seat`, now.
    pub fn new(
        seat: &Seat,
        message: impl Into<String>,
        status: SeatStatus,
        holder: Option<String>,
    ) -> Self {
        Self {
            message: message.into(),
            venue_id: seat.venue_id.clone(),
            seat_id: seat.id.clone(),
            number: seat.number.clone(),
            section: seat.section.clone(),
            status,
            holder,
            change_date: rfc3339(SystemTime::now()),
        }
    }
}

/// `time` as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
fn rfc3339(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (hour, minute, second) = (rest / 3600, rest % 3600 / 60, rest % 60);
    // Howard Hinnant's civil_from_days.
    let z = i64::try_from(days).unwrap_or(0) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{:03}Z",
        since.subsec_millis()
    )
}

/// The engine for `url` by its scheme (`redis://`, `rediss://`, `mqtt://`, `amqp://`,
/// `postgres://`, `postgresql://`, `nats://`), its topics under `prefix`.
pub async fn connect_pubsub(url: &str, prefix: &str) -> anyhow::Result<Arc<dyn PubSub>> {
    let scheme = url
        .split_once("://")
        .map(|(scheme, _)| scheme)
        .unwrap_or("");
    Ok(match scheme {
        "redis" | "rediss" => Arc::new(
            RedisPubSub::connect_with(RedisPubSubOptions::new(url).channel_prefix(prefix)).await?,
        ),
        "mqtt" => Arc::new(
            MqttPubSub::connect_with(MqttPubSubOptions::new(url).topic_prefix(prefix)).await?,
        ),
        "amqp" | "amqps" => Arc::new(
            AmqpPubSub::connect_with(AmqpPubSubOptions::new(url).routing_key_prefix(prefix))
                .await?,
        ),
        "postgres" | "postgresql" => Arc::new(
            PostgresPubSub::connect_with(PostgresPubSubOptions::new(url).channel_prefix(prefix))
                .await?,
        ),
        "nats" => Arc::new(
            NatsPubSub::connect_with(NatsPubSubOptions::new(url).subject_prefix(prefix)).await?,
        ),
        _ => anyhow::bail!(
            "{url:?}: the PubSub URL's scheme must be redis, mqtt, amqp, postgres or nats"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn change_dates_are_rfc3339_in_utc() {
        let at = |secs: u64, millis: u64| {
            rfc3339(UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(millis))
        };
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(at(951_782_400, 5), "2000-02-29T00:00:00.005Z");
        assert_eq!(at(1_796_558_523, 999), "2026-12-06T12:02:03.999Z");
    }
}
