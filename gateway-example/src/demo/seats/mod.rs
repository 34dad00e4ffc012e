//! The Seat-Saver venue service, with the API of the article it comes from ("GraphQL
//! subscriptions at web scale"): venues of seats that can be reserved, bought and released,
//! and a subscription per kind of change.
//!
//! ```graphql
//! type Query {
//!   venues: [Venue!]!
//!   venue(id: ID!): Venue
//!   soldSeats(venueId: ID!): [Seat!]!
//!   reservedSeats(venueId: ID!): [Seat!]!
//!   openSeats(venueId: ID!): [Seat!]!
//! }
//! type Mutation {
//!   reserveSeat(venueId: ID!, number: String!, holder: String!): Seat!
//!   releaseSeat(venueId: ID!, number: String!): Seat!
//!   buySeat(venueId: ID!, number: String!, holder: String!): Seat!
//! }
//! type Subscription {
//!   onSeatReserved(venueId: ID): SeatEvent!
//!   onSeatSold(venueId: ID): SeatEvent!
//!   onSeatReleased(venueId: ID): SeatEvent!
//! }
//! ```
//!
//! A seat moves OPEN → RESERVED (by a holder) → SOLD, or back to OPEN when released; a sold
//! seat stays sold. Each mutation publishes twice, as the article's resolvers do: before it
//! acts ("Reserving Seat", status `RESERVING`), so every client sees the seat being taken
//! before the reservation completes, and after ("Reserved Seat", or "Seat Not Reserved: …"
//! with the seat's actual status when it failed, e.g. because another client came first).
//!
//! The venue lives in memory ([`Venue::in_memory`]) or is shared by every instance started with
//! the same broker and prefix ([`Venue::shared`]): the events go through the PubSub engine of
//! the URL's scheme (Redis, MQTT, AMQP, PostgreSQL, NATS), the seats through a store with
//! compare-and-set (a Redis hash, or a PostgreSQL table); with a broker that stores nothing
//! (MQTT, AMQP, NATS) and no Redis for the seats, each instance keeps its own seats.

mod event;
mod store;

use std::sync::Arc;

use async_graphql::{ComplexObject, Context, Enum, ID, Object, Schema, SimpleObject, Subscription};
use futures::{Stream, StreamExt};
use quilt_pubsub::{InMemoryPubSub, PubSub, with_filter};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::directives::{Sdl, with_sdl};
pub use event::{SeatEvent, connect_pubsub};
use store::{PostgresSeats, RedisSeats, Store};

/// The Seat-Saver schema.
pub type SeatsSchema = Schema<Query, Mutation, Subscription>;

const RESERVED: &str = "SEAT_RESERVED";
const SOLD: &str = "SEAT_SOLD";
const RELEASED: &str = "SEAT_RELEASED";

/// Where a seat stands. The transitional statuses appear in events only, while a mutation is
/// under way.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SeatStatus {
    /// Free to reserve or buy.
    Open,
    /// A reservation is under way.
    Reserving,
    /// Held by someone, who may buy it or release it.
    Reserved,
    /// A release is under way.
    Releasing,
    /// A purchase is under way.
    Selling,
    /// Bought; final.
    Sold,
}

/// A seat of a venue.
#[derive(SimpleObject, Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Seat {
    /// `{venueId}:{number}`.
    pub id: ID,
    /// The venue.
    pub venue_id: ID,
    /// The number in the venue, e.g. `A1`.
    pub number: String,
    /// The section, e.g. `Orchestra`.
    pub section: String,
    /// Where it stands: `OPEN`, `RESERVED` or `SOLD`.
    pub status: SeatStatus,
    /// Who reserved or bought it.
    pub holder: Option<String>,
}

impl Seat {
    /// Sorting key: venue, row, number.
    fn order(&self) -> (String, String, u32) {
        let row: String = self
            .number
            .chars()
            .take_while(char::is_ascii_alphabetic)
            .collect();
        let number = self.number[row.len()..].parse().unwrap_or(0);
        (self.venue_id.to_string(), row, number)
    }
}

/// A venue (the GraphQL type `Venue`).
#[derive(SimpleObject, Clone, Debug)]
#[graphql(name = "Venue", complex)]
pub struct VenueInfo {
    /// The venue's id.
    pub id: ID,
    /// Its name.
    pub name: String,
    /// Its city.
    pub city: String,
}

#[ComplexObject]
impl VenueInfo {
    /// Every seat of the venue.
    async fn seats(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Seat>> {
        ctx.data::<Venue>()?.seats_of(&self.id, |_| true).await
    }
}

/// The venues of the demo: `(id, name, city)`.
const VENUES: [(&str, &str, &str); 2] = [
    ("hall-1", "Quilt Hall", "Lisbon"),
    ("hall-2", "Patchwork Theater", "Porto"),
];

/// The seats of a venue: rows A and B in the Orchestra, row C in the Balcony, 4 seats each.
fn fresh_seats() -> Vec<Seat> {
    VENUES
        .iter()
        .flat_map(|(venue, _, _)| {
            [("A", "Orchestra"), ("B", "Orchestra"), ("C", "Balcony")]
                .into_iter()
                .flat_map(move |(row, section)| {
                    (1..=4).map(move |n| Seat {
                        id: ID(format!("{venue}:{row}{n}")),
                        venue_id: ID((*venue).to_owned()),
                        number: format!("{row}{n}"),
                        section: section.to_owned(),
                        status: SeatStatus::Open,
                        holder: None,
                    })
                })
        })
        .collect()
}

/// The venues' state: the seats, the event bus, and how many subscriptions are open here (so a
/// caller can wait until a subscriber is listening before it changes a seat).
#[derive(Clone)]
pub struct Venue {
    seats: Store,
    pubsub: Arc<dyn PubSub>,
    subscribers: Arc<watch::Sender<usize>>,
}

impl Default for Venue {
    fn default() -> Self {
        Self::in_memory()
    }
}

impl Venue {
    /// Venues of one process: seats in memory, events through [`InMemoryPubSub`].
    pub fn in_memory() -> Self {
        Self {
            seats: Store::memory(fresh_seats()),
            pubsub: Arc::new(InMemoryPubSub::new()),
            subscribers: Arc::new(watch::channel(0).0),
        }
    }

    /// Venues shared through the Redis at `url`: the seats in the hash `{prefix}seats`, the
    /// events on the channels `{prefix}SEAT_RESERVED`, `{prefix}SEAT_SOLD` and
    /// `{prefix}SEAT_RELEASED`. Fails when Redis cannot be reached.
    pub async fn redis(url: &str, prefix: &str) -> anyhow::Result<Self> {
        Self::shared(Some(url), None, prefix).await
    }

    /// Venues shared by every instance started with the same URLs and prefix: the events
    /// through the engine of `pubsub`'s scheme (Redis when only `redis` is given), the seats in
    /// the Redis at `redis` if given, else in the broker when it can keep them (Redis: the
    /// hash `{prefix}seats`; PostgreSQL: the table `quilt_demo_seats`), else in memory. With
    /// neither URL, [`Venue::in_memory`].
    pub async fn shared(
        pubsub: Option<&str>,
        redis: Option<&str>,
        prefix: &str,
    ) -> anyhow::Result<Self> {
        let Some(events_url) = pubsub.or(redis) else {
            return Ok(Self::in_memory());
        };
        let pubsub = connect_pubsub(events_url, prefix).await?;
        let scheme = |url: &str| url.split_once("://").map_or("", |(s, _)| s).to_owned();
        let seats = match redis {
            Some(url) => Store::Redis(RedisSeats::connect(url, prefix, fresh_seats()).await?),
            None => match scheme(events_url).as_str() {
                "redis" | "rediss" => {
                    Store::Redis(RedisSeats::connect(events_url, prefix, fresh_seats()).await?)
                }
                "postgres" | "postgresql" => Store::Postgres(
                    PostgresSeats::connect(events_url, prefix, fresh_seats()).await?,
                ),
                _ => {
                    tracing::warn!(
                        url = events_url,
                        "the demo venue's events are shared, its seats are not (give a Redis \
                         for them with --redis-url)"
                    );
                    Store::memory(fresh_seats())
                }
            },
        };
        Ok(Self {
            seats,
            pubsub,
            subscribers: Arc::new(watch::channel(0).0),
        })
    }

    /// Whether the seats are shared with other instances.
    pub fn is_shared(&self) -> bool {
        !matches!(self.seats, Store::Memory(_))
    }

    /// The number of subscriptions open on this instance, as a watch a caller can wait on.
    pub fn subscribers(&self) -> watch::Receiver<usize> {
        self.subscribers.subscribe()
    }

    async fn seats_of(
        &self,
        venue: &ID,
        keep: impl Fn(&Seat) -> bool,
    ) -> async_graphql::Result<Vec<Seat>> {
        Ok(self
            .seats
            .all()
            .await?
            .into_iter()
            .filter(|seat| seat.venue_id == *venue && keep(seat))
            .collect())
    }

    /// The article's resolver: publishes `before` (the seat in its transitional status),
    /// applies `change`, then publishes the outcome: `after` with the seat as changed, or the
    /// error with the seat as it is.
    #[allow(clippy::too_many_arguments)]
    async fn change(
        &self,
        venue: &ID,
        number: &str,
        requester: Option<&str>,
        topic: &str,
        (before, transitional): (&str, SeatStatus),
        (after, failed): (&str, &str),
        change: impl Fn(&mut Seat) -> Result<(), String>,
    ) -> async_graphql::Result<Seat> {
        let id = format!("{}:{number}", venue.as_str());
        let current = self
            .seats
            .all()
            .await?
            .into_iter()
            .find(|seat| seat.id.as_str() == id)
            .ok_or_else(|| format!("there is no seat {number} in venue {}", venue.as_str()))?;
        let who = requester
            .map(str::to_owned)
            .or_else(|| current.holder.clone());
        self.publish(topic, &SeatEvent::new(&current, before, transitional, who))
            .await?;
        match self.seats.change(&id, &change).await {
            Ok(seat) => {
                let event = SeatEvent::new(&seat, after, seat.status, seat.holder.clone());
                self.publish(topic, &event).await?;
                Ok(seat)
            }
            Err(error) => {
                let now = self
                    .seats
                    .all()
                    .await?
                    .into_iter()
                    .find(|s| s.id.as_str() == id);
                let seat = now.unwrap_or(current);
                let message = format!("{failed}: {error}");
                let event = SeatEvent::new(&seat, message, seat.status, seat.holder.clone());
                self.publish(topic, &event).await?;
                Err(error.into())
            }
        }
    }

    async fn publish(&self, topic: &str, event: &SeatEvent) -> async_graphql::Result<()> {
        self.pubsub
            .publish(topic, serde_json::to_value(event)?)
            .await?;
        Ok(())
    }

    async fn events(
        &self,
        topic: &str,
        venue: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<SeatEvent>> + use<>> {
        let events = self.pubsub.subscribe(&[topic]).await?;
        let events = with_filter(events, move |event| {
            venue
                .as_ref()
                .is_none_or(|venue| event.payload["venueId"].as_str() == Some(venue.as_str()))
        });
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
    /// Every venue.
    async fn venues(&self) -> Vec<VenueInfo> {
        VENUES.iter().map(venue_info).collect()
    }

    /// One venue.
    async fn venue(&self, id: ID) -> Option<VenueInfo> {
        VENUES
            .iter()
            .find(|(venue, _, _)| *venue == id.as_str())
            .map(venue_info)
    }

    /// The sold seats of a venue.
    async fn sold_seats(
        &self,
        ctx: &Context<'_>,
        venue_id: ID,
    ) -> async_graphql::Result<Vec<Seat>> {
        ctx.data::<Venue>()?
            .seats_of(&venue_id, |seat| seat.status == SeatStatus::Sold)
            .await
    }

    /// The reserved seats of a venue.
    async fn reserved_seats(
        &self,
        ctx: &Context<'_>,
        venue_id: ID,
    ) -> async_graphql::Result<Vec<Seat>> {
        ctx.data::<Venue>()?
            .seats_of(&venue_id, |seat| seat.status == SeatStatus::Reserved)
            .await
    }

    /// The open seats of a venue.
    async fn open_seats(
        &self,
        ctx: &Context<'_>,
        venue_id: ID,
    ) -> async_graphql::Result<Vec<Seat>> {
        ctx.data::<Venue>()?
            .seats_of(&venue_id, |seat| seat.status == SeatStatus::Open)
            .await
    }

    /// The SDL.
    #[graphql(name = "_sdl")]
    async fn sdl(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        Sdl::of(ctx)
    }
}

fn venue_info((id, name, city): &(&str, &str, &str)) -> VenueInfo {
    VenueInfo {
        id: ID((*id).to_owned()),
        name: (*name).to_owned(),
        city: (*city).to_owned(),
    }
}

/// Mutation root of Seat-Saver.
pub struct Mutation;

#[Object]
impl Mutation {
    /// Reserves an open seat for `holder`.
    async fn reserve_seat(
        &self,
        ctx: &Context<'_>,
        venue_id: ID,
        number: String,
        holder: String,
    ) -> async_graphql::Result<Seat> {
        ctx.data::<Venue>()?
            .change(
                &venue_id,
                &number,
                Some(&holder),
                RESERVED,
                ("Reserving Seat", SeatStatus::Reserving),
                ("Reserved Seat", "Seat Not Reserved"),
                |seat| match seat.status {
                    SeatStatus::Open => {
                        seat.status = SeatStatus::Reserved;
                        seat.holder = Some(holder.clone());
                        Ok(())
                    }
                    _ => Err(format!(
                        "seat {} of {} is not open",
                        seat.number,
                        seat.venue_id.as_str()
                    )),
                },
            )
            .await
    }

    /// Buys a seat that is open or reserved by `holder`.
    async fn buy_seat(
        &self,
        ctx: &Context<'_>,
        venue_id: ID,
        number: String,
        holder: String,
    ) -> async_graphql::Result<Seat> {
        ctx.data::<Venue>()?
            .change(
                &venue_id,
                &number,
                Some(&holder),
                SOLD,
                ("Buying Seat", SeatStatus::Selling),
                ("Bought Seat", "Seat Not Bought"),
                |seat| {
                    let open = seat.status == SeatStatus::Open;
                    let held = seat.status == SeatStatus::Reserved
                        && seat.holder.as_deref() == Some(&holder);
                    if open || held {
                        seat.status = SeatStatus::Sold;
                        seat.holder = Some(holder.clone());
                        Ok(())
                    } else {
                        Err(format!(
                            "seat {} of {} cannot be bought by {holder}",
                            seat.number,
                            seat.venue_id.as_str()
                        ))
                    }
                },
            )
            .await
    }

    /// Releases a reserved seat.
    async fn release_seat(
        &self,
        ctx: &Context<'_>,
        venue_id: ID,
        number: String,
    ) -> async_graphql::Result<Seat> {
        ctx.data::<Venue>()?
            .change(
                &venue_id,
                &number,
                None,
                RELEASED,
                ("Releasing Seat", SeatStatus::Releasing),
                ("Released Seat", "Seat Not Released"),
                |seat| match seat.status {
                    SeatStatus::Reserved => {
                        seat.status = SeatStatus::Open;
                        seat.holder = None;
                        Ok(())
                    }
                    _ => Err(format!(
                        "seat {} of {} is not reserved",
                        seat.number,
                        seat.venue_id.as_str()
                    )),
                },
            )
            .await
    }
}

/// Subscription root of Seat-Saver.
pub struct Subscription;

#[Subscription]
impl Subscription {
    /// Seat reservations from now on (of one venue, or of all): "Reserving Seat" before each,
    /// then its outcome.
    async fn on_seat_reserved(
        &self,
        ctx: &Context<'_>,
        venue_id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<SeatEvent>> + use<>> {
        ctx.data::<Venue>()?.events(RESERVED, venue_id).await
    }

    /// Seat purchases from now on: "Buying Seat" before each, then its outcome.
    async fn on_seat_sold(
        &self,
        ctx: &Context<'_>,
        venue_id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<SeatEvent>> + use<>> {
        ctx.data::<Venue>()?.events(SOLD, venue_id).await
    }

    /// Seat releases from now on: "Releasing Seat" before each, then its outcome.
    async fn on_seat_released(
        &self,
        ctx: &Context<'_>,
        venue_id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<SeatEvent>> + use<>> {
        ctx.data::<Venue>()?.events(RELEASED, venue_id).await
    }
}

/// Builds the Seat-Saver schema over `venue`.
pub fn schema(venue: Venue) -> SeatsSchema {
    with_sdl(|| Schema::build(Query, Mutation, Subscription).data(venue.clone()))
}
