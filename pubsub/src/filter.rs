//! Keeping the events a subscription wants (`withFilter`).

use std::future::Future;

use futures::StreamExt;

use crate::{Event, EventStream};

/// Keeps the events for which `predicate` returns `true`; [`Missed`](crate::Missed) notices
/// always pass. The predicate captures what it needs of the operation (its variables, the
/// client's context).
///
/// ```
/// use quilt_pubsub::{with_filter, InMemoryPubSub, PubSub};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let pubsub = InMemoryPubSub::new();
/// let venue = "hall-1".to_string(); // e.g. from the operation's variables
/// let events = with_filter(pubsub.subscribe(&["SEAT_SOLD"]).await.unwrap(), move |event| {
///     event.payload["venue"] == venue.as_str()
/// });
/// # drop(events);
/// # });
/// ```
pub fn with_filter<F>(stream: EventStream, predicate: F) -> EventStream
where
    F: Fn(&Event) -> bool + Send + 'static,
{
    stream
        .filter(move |item| {
            let keep = match item {
                Ok(event) => predicate(event),
                Err(_) => true,
            };
            std::future::ready(keep)
        })
        .boxed()
}

/// Like [`with_filter`] with an async predicate (one that looks something up). Events stay in
/// order: each waits for its predicate before the next is tested.
pub fn with_filter_async<F, Fut>(stream: EventStream, predicate: F) -> EventStream
where
    F: Fn(Event) -> Fut + Send + 'static,
    Fut: Future<Output = bool> + Send + 'static,
{
    stream
        .filter_map(move |item| {
            let decision = match &item {
                Ok(event) => Some(predicate(event.clone())),
                Err(_) => None,
            };
            async move {
                match decision {
                    Some(future) => future.await.then_some(item),
                    None => Some(item),
                }
            }
        })
        .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{InMemoryPubSub, PubSub};
    use serde_json::json;

    #[tokio::test]
    async fn sync_and_async_filters_keep_matching_events_in_order() {
        let pubsub = InMemoryPubSub::new();
        let even = with_filter(pubsub.subscribe(&["n"]).await.unwrap(), |e| {
            e.payload.as_i64().is_some_and(|n| n % 2 == 0)
        });
        let big = with_filter_async(pubsub.subscribe(&["n"]).await.unwrap(), |e| async move {
            tokio::task::yield_now().await;
            e.payload.as_i64().is_some_and(|n| n > 5)
        });
        for i in 0..10 {
            pubsub.publish("n", json!(i)).await.unwrap();
        }
        let even: Vec<_> = even
            .take(5)
            .map(|e| (*e.unwrap().payload).clone())
            .collect()
            .await;
        let big: Vec<_> = big
            .take(4)
            .map(|e| (*e.unwrap().payload).clone())
            .collect()
            .await;
        assert_eq!(even, vec![json!(0), json!(2), json!(4), json!(6), json!(8)]);
        assert_eq!(big, vec![json!(6), json!(7), json!(8), json!(9)]);
    }
}
