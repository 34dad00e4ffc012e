//! The Seat-Saver venue service: seats that can be reserved, bought and released, and a
//! subscription per kind of change, published through `quilt-pubsub`.
//!
//! A seat moves AVAILABLE → RESERVED (by a holder) → SOLD, or back to AVAILABLE when released;
//! a sold seat stays sold. Each successful mutation publishes the seat to its topic, and the
//! subscriptions `onSeatReserved`, `onSeatSold` and `onSeatReleased` stream those events.

use std::sync::{Arc, Mutex};

use async_graphql::{Context, Enum, ID, Object, Schema, SimpleObject, Subscription};
use futures::{Stream, StreamExt};
use quilt_pubsub::{InMemoryPubSub, PubSub};
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

/// The venue's state: the seats, the event bus, and how many subscriptions are open (so a
/// caller can wait until a subscriber is listening before it changes a seat).
#[derive(Clone)]
pub struct Venue {
    seats: Arc<Mutex<Vec<Seat>>>,
    pubsub: InMemoryPubSub,
    subscribers: Arc<watch::Sender<usize>>,
}

impl Default for Venue {
    fn default() -> Self {
        let seats = ["A", "B", "C"]
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
            .collect();
        Self {
            seats: Arc::new(Mutex::new(seats)),
            pubsub: InMemoryPubSub::new(),
            subscribers: Arc::new(watch::channel(0).0),
        }
    }
}

impl Venue {
    /// The number of open subscriptions, as a watch a caller can wait on.
    pub fn subscribers(&self) -> watch::Receiver<usize> {
        self.subscribers.subscribe()
    }

    fn seats(&self) -> Vec<Seat> {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Seat>> {
        self.seats
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Applies `change` to seat `id` and publishes the new seat to `topic`.
    async fn change(
        &self,
        id: &str,
        topic: &str,
        change: impl FnOnce(&mut Seat) -> Result<(), String>,
    ) -> async_graphql::Result<Seat> {
        let seat = {
            let mut seats = self.lock();
            let seat = seats
                .iter_mut()
                .find(|seat| seat.id.as_str() == id)
                .ok_or_else(|| format!("there is no seat {id}"))?;
            change(seat)?;
            seat.clone()
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
                Err(missed) => Err(format!("events were missed: {missed:?}").into()),
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
    /// Every seat, or those with this status.
    async fn seats(
        &self,
        ctx: &Context<'_>,
        status: Option<SeatStatus>,
    ) -> async_graphql::Result<Vec<Seat>> {
        let venue = ctx.data::<Venue>()?;
        Ok(venue
            .seats()
            .into_iter()
            .filter(|seat| status.is_none_or(|status| seat.status == status))
            .collect())
    }

    /// One seat.
    async fn seat(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Seat>> {
        Ok(ctx
            .data::<Venue>()?
            .seats()
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
                    seat.holder = Some(holder);
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
                    seat.holder = Some(holder);
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
