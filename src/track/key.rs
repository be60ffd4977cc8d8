//! Who is talking to whom: endpoints, the direction-free 4-tuple key of the
//! connection table, and the two sides of an attempt.

use std::fmt;
use std::hash::{Hash, Hasher};

use crate::wire::Addr;

/// An address and a port.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint {
    pub addr: Addr,
    pub port: u16,
}

impl Endpoint {
    pub fn new(addr: Addr, port: u16) -> Endpoint {
        Endpoint { addr, port }
    }
}

impl fmt::Display for Endpoint {
    /// tcpdump's `-n` form: `10.0.0.1.80`, `2001:db8::1.80`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.addr, self.port)
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The 4-tuple with the lower endpoint first, so that both directions of a
/// connection find the same table entry.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct FlowKey {
    low: Endpoint,
    high: Endpoint,
}

impl FlowKey {
    pub fn new(a: Endpoint, b: Endpoint) -> FlowKey {
        if a <= b {
            FlowKey { low: a, high: b }
        } else {
            FlowKey { low: b, high: a }
        }
    }
}

/// Hashed once per packet: the ports as one word and each address as one
/// word, fewer rounds of the hasher than field by field.
impl Hash for FlowKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.low.addr.hash(state);
        self.high.addr.hash(state);
        state.write_u32((u32::from(self.low.port) << 16) | u32::from(self.high.port));
    }
}

/// One of the two ends of an attempt.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum Side {
    Client,
    Server,
}

impl Side {
    pub fn other(self) -> Side {
        match self {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
        }
    }

    /// Index into the per-side arrays of a record (`[client, server]`).
    pub fn idx(self) -> usize {
        match self {
            Side::Client => 0,
            Side::Server => 1,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Side::Client => "client",
            Side::Server => "server",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_directions_share_a_key() {
        let a = Endpoint::new(Addr::V4([10, 0, 0, 1]), 40000);
        let b = Endpoint::new(Addr::V4([10, 0, 0, 2]), 80);
        assert_eq!(FlowKey::new(a, b), FlowKey::new(b, a));
        let c = Endpoint::new(Addr::V4([10, 0, 0, 2]), 81);
        assert_ne!(FlowKey::new(a, b), FlowKey::new(a, c));
    }
}
