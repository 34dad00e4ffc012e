//! Fair shares of the pools every client draws from: how many subscriptions, WebSocket
//! connections and SSE reservations one client (one peer address) may hold, so that one
//! client cannot take a pool that everyone shares.
//!
//! A client is its IP address; IPv6 addresses count by their /64 prefix (what one host or
//! subscriber is usually given), and IPv4-mapped IPv6 addresses as the IPv4 address. Clients
//! behind one proxy or NAT share one address: raise the limits there (or set them to the
//! pools' sizes).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex};

/// How many of one pool each client holds now.
#[derive(Debug)]
pub(crate) struct PeerCounter {
    counts: Mutex<HashMap<IpAddr, usize>>,
    max: usize,
}

/// One client's use of one pool, given back on drop.
#[derive(Debug)]
pub(crate) struct PeerSlot {
    counter: Arc<PeerCounter>,
    client: IpAddr,
}

impl PeerCounter {
    /// A counter allowing each client `max` at once.
    pub(crate) fn new(max: usize) -> Arc<Self> {
        Arc::new(Self {
            counts: Mutex::new(HashMap::new()),
            max,
        })
    }

    /// The limit per client.
    pub(crate) fn max(&self) -> usize {
        self.max
    }

    /// Takes one for the client at `peer`: `Ok(None)` when the peer is unknown (the router
    /// served some other way), `Err` when the client holds its share already.
    pub(crate) fn take(self: &Arc<Self>, peer: Option<IpAddr>) -> Result<Option<PeerSlot>, ()> {
        let Some(peer) = peer else {
            return Ok(None);
        };
        let client = client_of(peer);
        let mut counts = self.lock();
        let count = counts.entry(client).or_insert(0);
        if *count >= self.max {
            return Err(());
        }
        *count += 1;
        Ok(Some(PeerSlot {
            counter: Arc::clone(self),
            client,
        }))
    }

    /// How many clients hold at least one now.
    #[cfg(test)]
    fn clients(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, usize>> {
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for PeerSlot {
    fn drop(&mut self) {
        let mut counts = self.counter.lock();
        if let Some(count) = counts.get_mut(&self.client) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                counts.remove(&self.client);
            }
        }
    }
}

/// The client an address belongs to.
fn client_of(peer: IpAddr) -> IpAddr {
    match peer {
        IpAddr::V4(_) => peer,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_client_gets_its_share_and_gives_it_back() {
        let counter = PeerCounter::new(2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let first = counter.take(Some(a)).unwrap();
        let _second = counter.take(Some(a)).unwrap();
        assert!(counter.take(Some(a)).is_err());
        assert!(counter.take(Some(b)).unwrap().is_some());
        assert!(counter.take(None).unwrap().is_none());
        drop(first);
        let _third = counter.take(Some(a)).unwrap();
        drop(_third);
        drop(_second);
        assert_eq!(counter.clients(), 0, "entries are removed at zero");
    }

    #[test]
    fn ipv6_counts_by_its_64_prefix_and_mapped_ipv4_as_ipv4() {
        let counter = PeerCounter::new(1);
        let _one = counter.take(Some("2001:db8::1".parse().unwrap())).unwrap();
        assert!(counter.take(Some("2001:db8::2".parse().unwrap())).is_err());
        let _v4 = counter.take(Some("10.0.0.1".parse().unwrap())).unwrap();
        assert!(
            counter
                .take(Some("::ffff:10.0.0.1".parse().unwrap()))
                .is_err()
        );
    }
}
