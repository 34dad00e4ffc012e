//! The Seat-Saver venue service: seats that can be reserved, bought and released, and a
//! subscription per kind of change, published through `quilt-pubsub`.
//!
//! A seat moves AVAILABLE → RESERVED (by a holder) → SOLD, or back to AVAILABLE when released;
//! a sold seat stays sold. Each successful mutation publishes the seat to its topic, and the
//! subscriptions `onSeatReserved`, `onSeatSold` and `onSeatReleased` stream those events.
//!
//! The venue lives in memory ([`Venue::in_memory`]) or in Redis ([`Venue::redis`]): then the
//! seats are a Redis hash changed by compare-and-set and the events go through Redis pub/sub,
//! so every instance started with the same Redis and prefix serves the same venue and every
//! subscriber of every instance gets every event.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_graphql::{Context, Enum, ID, Object, Schema, SimpleObject, Subscription};
use futures::{Stream, StreamExt};
use quilt_pubsub::{InMemoryPubSub, PubSub, RedisPubSub, RedisPubSubOptions};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::directives::{Sdl, with_sdl};

/// The Seat-Saver schema.
pub type SeatsSchema = Schema<Query, Mutation, Subscription>;

const RESERVED: &str = "SEAT_RESERVED";
const SOLD: &str = "SEAT_SOLD";
const RELEASED: &str = "SEAT_RELEASED";

/// Where a seat stands.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SeatStatus {
    /// Free to reserve or buy.
    Available,
    /// Held by someone, who may buy it or release it.
    Reserved,
    /// Bought; final.
    Sold,
}

/// A seat of the venue.
#[derive(SimpleObject, Clone, Debug, Serialize, Deserialize)]
pub struct Seat {
    /// `A1` ... `C4`.
    pub id: ID,
    /// The row letter.
    pub row: String,
    /// The number within the row.
    pub number: i32,
    /// Where it stands.
    pub status: SeatStatus,
    /// Who reserved or bought it.
    pub holder: Option<String>,
}

/// The venue's state: the seats, the event bus, and how many subscriptions are open here (so a
/// caller can wait until a subscriber is listening before it changes a seat).
///
/// In memory by default; with [`Venue::redis`] the seats live in a Redis hash and the events go
/// through Redis pub/sub, so several instances of the service (or of the demo gateway) share one
/// venue: a seat reserved on one is reserved on all, and its event reaches the subscribers of
/// every instance.
#[derive(Clone)]
pub struct Venue {
    seats: Seats,
    pubsub: Arc<dyn PubSub>,
    subscribers: Arc<watch::Sender<usize>>,
}

/// Where the seats are kept.
#[derive(Clone)]
enum Seats {
    Memory(Arc<Mutex<Vec<Seat>>>),
    Redis(RedisSeats),
}

impl Default for Venue {
    fn default() -> Self {
        Self::in_memory()
    }
}

/// The twelve seats of a fresh venue, `A1` to `C4`.
fn fresh_seats() -> Vec<Seat> {
    ["A", "B", "C"]
        .iter()
        .flat_map(|row| {
            (1..=4).map(move |number| Seat {
                id: ID(format!("{row}{number}")),
                row: (*row).to_owned(),
                number,
                status: SeatStatus::Available,
                holder: None,
            })
        })
        .collect()
}

impl Venue {
    /// A venue of one process: seats in memory, events through [`InMemoryPubSub`].
    pub fn in_memory() -> Self {
        Self {
            seats: Seats::Memory(Arc::new(Mutex::new(fresh_seats()))),
            pubsub: Arc::new(InMemoryPubSub::new()),
            subscribers: Arc::new(watch::channel(0).0),
        }
    }

    /// A venue shared through the Redis at `url`: the seats in the hash `{prefix}seats` (created
    /// with every seat available unless it exists: a second instance joins the first one's
    /// venue), the events on the channels `{prefix}SEAT_RESERVED`, `{prefix}SEAT_SOLD` and
    /// `{prefix}SEAT_RELEASED`. Fails when Redis cannot be reached.
    pub async fn redis(url: &str, prefix: &str) -> anyhow::Result<Self> {
        let options = RedisPubSubOptions::new(url).channel_prefix(prefix);
        let pubsub = RedisPubSub::connect_with(options).await?;
        let seats = RedisSeats::connect(url, prefix).await?;
        Ok(Self {
            seats: Seats::Redis(seats),
            pubsub: Arc::new(pubsub),
            subscribers: Arc::new(watch::channel(0).0),
        })
    }

    /// Whether the venue is shared through Redis.
    pub fn is_shared(&self) -> bool {
        matches!(self.seats, Seats::Redis(_))
    }

    /// The number of subscriptions open on this instance, as a watch a caller can wait on.
    pub fn subscribers(&self) -> watch::Receiver<usize> {
        self.subscribers.subscribe()
    }

    async fn seats(&self) -> async_graphql::Result<Vec<Seat>> {
        match &self.seats {
            Seats::Memory(seats) => Ok(lock(seats).clone()),
            Seats::Redis(redis) => Ok(redis.all().await?),
        }
    }

    /// Applies `change` to seat `id` and publishes the new seat to `topic`. With Redis the
    /// change is a compare-and-set, tried again when another instance changed the seat
    /// meanwhile, so `change` sees the seat as it is.
    async fn change(
        &self,
        id: &str,
        topic: &str,
        change: impl Fn(&mut Seat) -> Result<(), String>,
    ) -> async_graphql::Result<Seat> {
        let seat = match &self.seats {
            Seats::Memory(seats) => {
                let mut seats = lock(seats);
                let seat = seats
                    .iter_mut()
                    .find(|seat| seat.id.as_str() == id)
                    .ok_or_else(|| format!("there is no seat {id}"))?;
                change(seat)?;
                seat.clone()
            }
            Seats::Redis(redis) => redis.change(id, &change).await?,
        };
        self.pubsub
            .publish(topic, serde_json::to_value(&seat)?)
            .await?;
        Ok(seat)
    }

    async fn events(
        &self,
        topic: &str,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<Seat>> + use<>> {
        let events = self.pubsub.subscribe(&[topic]).await?;
        let guard = SubscriberGuard::new(self.subscribers.clone());
        Ok(events.map(move |event| {
            let _open = &guard;
            match event {
                Ok(event) => Ok(serde_json::from_value(event.payload.as_ref().clone())?),
                Err(missed) => Err(format!("events were missed: {missed}").into()),
            }
        }))
    }
}

fn lock(seats: &Mutex<Vec<Seat>>) -> std::sync::MutexGuard<'_, Vec<Seat>> {
    seats
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Sets a hash field to a new value only if it still holds the old one: 1 when set, 0 when
/// another writer came first.
const COMPARE_AND_SET: &str = "if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then \
    redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]) return 1 end return 0";

/// The most times a change is tried again when other instances keep changing the same seat.
const MAX_ATTEMPTS: usize = 16;

/// The time allowed for one Redis command.
const REDIS_TIMEOUT: Duration = Duration::from_secs(2);

/// The seats in a Redis hash: seat id → the seat as JSON.
#[derive(Clone)]
struct RedisSeats {
    connection: ConnectionManager,
    key: String,
}

impl RedisSeats {
    async fn connect(url: &str, prefix: &str) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(REDIS_TIMEOUT))
            .set_response_timeout(Some(REDIS_TIMEOUT))
            .set_number_of_retries(1);
        let connection = tokio::time::timeout(
            REDIS_TIMEOUT,
            ConnectionManager::new_with_config(client, config),
        )
        .await
        .map_err(|_| anyhow::anyhow!("connecting to {url} timed out"))??;
        let seats = Self {
            connection,
            key: format!("{prefix}seats"),
        };
        let mut create = redis::pipe();
        for seat in fresh_seats() {
            create
                .cmd("HSETNX")
                .arg(&seats.key)
                .arg(seat.id.as_str())
                .arg(serde_json::to_string(&seat)?)
                .ignore();
        }
        let mut connection = seats.connection.clone();
        within(create.query_async::<()>(&mut connection))
            .await
            .map_err(anyhow::Error::msg)?;
        Ok(seats)
    }

    /// Every seat, in row and number order.
    async fn all(&self) -> Result<Vec<Seat>, String> {
        let mut connection = self.connection.clone();
        let mut command = redis::cmd("HVALS");
        command.arg(&self.key);
        let values: Vec<String> = within(command.query_async(&mut connection)).await?;
        let mut seats = values
            .iter()
            .map(|json| serde_json::from_str::<Seat>(json).map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        seats.sort_by(|a, b| (&a.row, a.number).cmp(&(&b.row, b.number)));
        Ok(seats)
    }

    /// Reads seat `id`, applies `change`, and writes it back if no one changed it meanwhile;
    /// else starts again from the seat as it is now.
    async fn change(
        &self,
        id: &str,
        change: &impl Fn(&mut Seat) -> Result<(), String>,
    ) -> Result<Seat, String> {
        let mut connection = self.connection.clone();
        for _ in 0..MAX_ATTEMPTS {
            let mut read = redis::cmd("HGET");
            read.arg(&self.key).arg(id);
            let Some(before) = within(read.query_async::<Option<String>>(&mut connection)).await?
            else {
                return Err(format!("there is no seat {id}"));
            };
            let mut seat: Seat = serde_json::from_str(&before).map_err(|e| e.to_string())?;
            change(&mut seat)?;
            let after = serde_json::to_string(&seat).map_err(|e| e.to_string())?;
            let mut write = redis::cmd("EVAL");
            write
                .arg(COMPARE_AND_SET)
                .arg(1)
                .arg(&self.key)
                .arg(id)
                .arg(&before)
                .arg(&after);
            if within(write.query_async::<i64>(&mut connection)).await? == 1 {
                return Ok(seat);
            }
        }
        Err(format!(
            "seat {id} kept changing; gave up after {MAX_ATTEMPTS} attempts"
        ))
    }
}

/// Awaits a Redis command for at most [`REDIS_TIMEOUT`]; its error as text.
async fn within<T>(
    command: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> Result<T, String> {
    match tokio::time::timeout(REDIS_TIMEOUT, command).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(format!("redis: {error}")),
        Err(_) => Err(format!("redis did not answer within {REDIS_TIMEOUT:?}")),
    }
}

/// Counts one open subscription while it lives.
struct SubscriberGuard(Arc<watch::Sender<usize>>);

impl SubscriberGuard {
    fn new(counter: Arc<watch::Sender<usize>>) -> Self {
        counter.send_modify(|n| *n += 1);
        Self(counter)
    }
}

impl Drop for SubscriberGuard {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// Query root of Seat-Saver.
pub struct Query;

#[Object]
impl Query {
    /// Every seat, or those with this status.
    async fn seats(
        &self,
        ctx: &Context<'_>,
        status: Option<SeatStatus>,
    ) -> async_graphql::Result<Vec<Seat>> {
        let venue = ctx.data::<Venue>()?;
        Ok(venue
            .seats()
            .await?
            .into_iter()
            .filter(|seat| status.is_none_or(|status| seat.status == status))
            .collect())
    }

    /// One seat.
    async fn seat(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Seat>> {
        Ok(ctx
            .data::<Venue>()?
            .seats()
            .await?
            .into_iter()
            .find(|seat| seat.id == id))
    }

    /// The SDL.
    #[graphql(name = "_sdl")]
    async fn sdl(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        Sdl::of(ctx)
    }
}

/// Mutation root of Seat-Saver.
pub struct Mutation;

#[Object]
impl Mutation {
    /// Reserves an available seat for `holder`.
    async fn reserve_seat(
        &self,
        ctx: &Context<'_>,
        id: ID,
        holder: String,
    ) -> async_graphql::Result<Seat> {
        ctx.data::<Venue>()?
            .change(&id, RESERVED, |seat| match seat.status {
                SeatStatus::Available => {
                    seat.status = SeatStatus::Reserved;
                    seat.holder = Some(holder.clone());
                    Ok(())
                }
                _ => Err(format!("seat {} is not available", seat.id.as_str())),
            })
            .await
    }

    /// Buys a seat that is available or reserved by `holder`.
    async fn buy_seat(
        &self,
        ctx: &Context<'_>,
        id: ID,
        holder: String,
    ) -> async_graphql::Result<Seat> {
        ctx.data::<Venue>()?
            .change(&id, SOLD, |seat| {
                let free = seat.status == SeatStatus::Available;
                let held =
                    seat.status == SeatStatus::Reserved && seat.holder.as_deref() == Some(&holder);
                if free || held {
                    seat.status = SeatStatus::Sold;
                    seat.holder = Some(holder.clone());
                    Ok(())
                } else {
                    Err(format!(
                        "seat {} cannot be bought by {holder}",
                        seat.id.as_str()
                    ))
                }
            })
            .await
    }

    /// Releases a reserved seat.
    async fn release_seat(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Seat> {
        ctx.data::<Venue>()?
            .change(&id, RELEASED, |seat| match seat.status {
                SeatStatus::Reserved => {
                    seat.status = SeatStatus::Available;
                    seat.holder = None;
                    Ok(())
                }
                _ => Err(format!("seat {} is not reserved", seat.id.as_str())),
            })
            .await
    }
}

/// Subscription root of Seat-Saver.
pub struct Subscription;

#[Subscription]
impl Subscription {
    /// Every seat reserved from now on.
    async fn on_seat_reserved(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<Seat>> + use<>> {
        ctx.data::<Venue>()?.events(RESERVED).await
    }

    /// Every seat sold from now on.
    async fn on_seat_sold(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<Seat>> + use<>> {
        ctx.data::<Venue>()?.events(SOLD).await
    }

    /// Every seat released from now on.
    async fn on_seat_released(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<Seat>> + use<>> {
        ctx.data::<Venue>()?.events(RELEASED).await
    }
}

/// Builds the Seat-Saver schema over `venue`.
pub fn schema(venue: Venue) -> SeatsSchema {
    with_sdl(|| Schema::build(Query, Mutation, Subscription).data(venue.clone()))
}
