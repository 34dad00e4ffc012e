//! The embedded demo: a small shop of three services whose types are merged by the gateway
//! (accounts, products, reviews), and the Seat-Saver venue with its subscriptions. Each
//! service runs in this process but on its own loopback port, so the gateway reaches it over
//! HTTP and WebSocket exactly as it would reach a remote one.

pub mod accounts;
pub mod directives;
pub mod products;
pub mod reviews;
pub mod seats;
pub mod serve;

use std::net::{Ipv4Addr, SocketAddr};

use crate::spec::SubschemaSpec;
pub use serve::ServiceHandle;

/// The running demo services; dropping it stops them.
pub struct Demo {
    services: Vec<ServiceHandle>,
    venue: seats::Venue,
}

impl Demo {
    /// Starts the four services on `127.0.0.1:0`, the venue in memory.
    pub async fn start() -> std::io::Result<Self> {
        Self::start_with(seats::Venue::in_memory()).await
    }

    /// Starts the four services on `127.0.0.1:0` with `venue` (in memory, or shared through
    /// Redis with other instances: [`seats::Venue::redis`]).
    pub async fn start_with(venue: seats::Venue) -> std::io::Result<Self> {
        let any_port = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        let services = vec![
            serve::serve("accounts", accounts::schema(), any_port).await?,
            serve::serve("products", products::schema(), any_port).await?,
            serve::serve("reviews", reviews::schema(), any_port).await?,
            serve::serve("seats", seats::schema(venue.clone()), any_port).await?,
        ];
        Ok(Self { services, venue })
    }

    /// The services.
    pub fn services(&self) -> &[ServiceHandle] {
        &self.services
    }

    /// The Seat-Saver venue (its state and subscriber count).
    pub fn venue(&self) -> &seats::Venue {
        &self.venue
    }

    /// The subschemas to stitch: each service by its URLs, with the defaults.
    pub fn specs(&self) -> Vec<SubschemaSpec> {
        self.services
            .iter()
            .map(|service| {
                let mut spec = SubschemaSpec::new(service.name(), service.http_url());
                spec.ws_url = Some(service.ws_url());
                spec
            })
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Each service publishes at `_sdl` an SDL that quilt-wrap reads with its stitching
    /// directives applied.
    #[tokio::test]
    async fn every_demo_sdl_carries_its_stitching_directives() {
        let query = || async_graphql::Request::new("{ _sdl }");
        let sdls = [
            accounts::schema().execute(query()).await,
            products::schema().execute(query()).await,
            reviews::schema().execute(query()).await,
            seats::schema(seats::Venue::default())
                .execute(query())
                .await,
        ]
        .map(|response| {
            let data = response.data.into_json().unwrap();
            data["_sdl"].as_str().unwrap().to_owned()
        });
        let keyed = |sdl: &str, ty: &str, key: &str| {
            let schema = quilt_wrap::schema_from_sdl(sdl).unwrap();
            let object = schema.get_object(ty).unwrap();
            let directive = object.directives.get("key").unwrap();
            let selection = directive
                .specified_argument_by_name("selectionSet")
                .unwrap();
            assert_eq!(selection.as_str(), Some(key), "{ty}");
        };
        keyed(&sdls[0], "User", "{ id }");
        keyed(&sdls[1], "Product", "{ upc }");
        keyed(&sdls[2], "User", "{ id }");
        keyed(&sdls[2], "Product", "{ upc }");
        for (sdl, merged) in [
            (
                &sdls[0],
                "users(ids: [ID!]!): [User]! @merge(keyField: \"id\")",
            ),
            (
                &sdls[1],
                "products(upcs: [ID!]!): [Product]! @merge(keyField: \"upc\")",
            ),
            (
                &sdls[2],
                "_users(ids: [ID!]!): [User]! @merge(keyField: \"id\")",
            ),
            (
                &sdls[2],
                "_products(upcs: [ID!]!): [Product]! @merge(keyField: \"upc\")",
            ),
        ] {
            assert!(sdl.contains(merged), "{merged} in\n{sdl}");
        }
        assert!(sdls[3].contains("onSeatReserved(venueId: ID): SeatEvent!"));
    }
}
