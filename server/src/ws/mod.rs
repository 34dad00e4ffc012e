//! GraphQL over WebSocket on the GraphQL path: `graphql-transport-ws` and the legacy
//! `graphql-ws`, chosen by subprotocol.

pub mod connection;
pub mod hooks;
pub mod protocol;

use axum::extract::WebSocketUpgrade;
use axum::response::Response;
use http::{HeaderMap, HeaderValue};

use crate::state::SharedState;
use connection::close;
use protocol::Protocol;

/// Upgrades the connection. The subprotocol is the first one the client offers that the server
/// speaks; when none is, the server echoes the client's first offer (so that the client's
/// handshake succeeds and it learns why) and closes with 4406. Above the connection limit the
/// socket is closed with 1013 (try again later).
/// The initial read and write buffer of a WebSocket connection.
const WS_BUFFER_BYTES: usize = 4 * 1024;

pub(crate) fn upgrade(
    state: SharedState,
    upgrade: WebSocketUpgrade,
    headers: HeaderMap,
    peer: Option<std::net::IpAddr>,
    slot: Option<crate::listen::ConnectionSlot>,
) -> Response {
    let mut upgrade = upgrade
        .protocols([Protocol::TransportWs.name(), Protocol::LegacyWs.name()])
        .max_message_size(state.limits.max_body_bytes)
        // A frame may not be larger than a message: unfinished frames are buffered whole.
        .max_frame_size(state.limits.max_body_bytes)
        // Small initial buffers (they grow for large messages): with tungstenite's 128 KiB
        // defaults an idle subscription cost about 155 KB of gateway memory, with these about
        // 28 KB (`cargo bench -p quilt-stitch --bench subscriptions`, 10,000 clients).
        .read_buffer_size(WS_BUFFER_BYTES)
        .write_buffer_size(WS_BUFFER_BYTES);
    let protocol = upgrade
        .selected_protocol()
        .and_then(|p| p.to_str().ok())
        .and_then(Protocol::from_name);
    if protocol.is_none() {
        let first_offer = upgrade
            .requested_protocols()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .find(|p| !p.is_empty())
            .and_then(|p| HeaderValue::from_str(p).ok());
        if let Some(offer) = first_offer {
            upgrade.set_selected_protocol(offer);
        }
    }
    // The client's share first, then the server's pool.
    let share = state.peer_ws_connections.take(peer);
    let over_share = share.is_err();
    let permit = match share {
        Ok(share) => state
            .ws_connections
            .clone()
            .try_acquire_owned()
            .ok()
            .map(|permit| (permit, share)),
        Err(()) => None,
    };
    let tasks = state.tasks.clone();
    let span = tracing::info_span!(
        "graphql.websocket",
        protocol = protocol.map_or("none", Protocol::name)
    );
    quilt_executor::trace::adopt_parent(&headers, &span);
    upgrade.on_upgrade(move |socket| {
        tasks.track_future(tracing::Instrument::instrument(
            async move {
                // The socket holds its connection slot until it closes.
                let _slot = slot;
                match (protocol, permit) {
                    (None, _) => {
                        connection::close_now(
                            socket,
                            close::SUBPROTOCOL_NOT_ACCEPTABLE,
                            "Subprotocol not acceptable",
                        )
                        .await
                    }
                    (Some(_), None) => {
                        let reason = if over_share {
                            format!(
                                "too many WebSocket connections from this client (limit {})",
                                state.peer_ws_connections.max()
                            )
                        } else {
                            format!(
                                "too many WebSocket connections (limit {})",
                                state.limits.max_ws_connections
                            )
                        };
                        connection::close_now(socket, close::TRY_AGAIN_LATER, &reason).await
                    }
                    (Some(protocol), Some(permit)) => {
                        let _open = crate::metrics::GaugeGuard::new(metrics::gauge!(
                            crate::metrics::WEBSOCKET_CONNECTIONS
                        ));
                        connection::run(state, socket, protocol, headers, peer, permit).await
                    }
                }
            },
            span,
        ))
    })
}
