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
///
/// Kept as machine words: it is built, hashed and compared for every
/// segment, and the address enum's comparisons each go through a match on
/// both versions. Each endpoint is its address as a number (an IPv4
/// address zero-extended) and a word of its port and IP version.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct FlowKey {
    /// The lower endpoint's address, then the higher's, each in two halves
    /// (high half first).
    addrs: [u64; 4],
    /// The lower endpoint's port and version, then the higher's.
    rest: u64,
}

impl FlowKey {
    #[inline]
    pub fn new(a: Endpoint, b: Endpoint) -> FlowKey {
        let (a, b) = (words(a), words(b));
        let (low, high) = if a <= b { (a, b) } else { (b, a) };
        FlowKey {
            addrs: [
                (low.0 >> 64) as u64,
                low.0 as u64,
                (high.0 >> 64) as u64,
                high.0 as u64,
            ],
            rest: (u64::from(low.1) << 32) | u64::from(high.1),
        }
    }
}

/// An endpoint as (address as a number, port and version).
#[inline]
fn words(e: Endpoint) -> (u128, u32) {
    let (number, version) = match e.addr {
        Addr::V4(a) => (u128::from(u32::from_be_bytes(a)), 4),
        Addr::V6(a) => (u128::from_be_bytes(a), 6),
    };
    (number, (u32::from(e.port) << 8) | version)
}

/// Hashed once per packet, in as few rounds of the hasher as the words
/// allow: two IPv4 addresses are one word.
impl Hash for FlowKey {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        let [lh, ll, hh, hl] = self.addrs;
        if lh | hh == 0 && (ll | hl) >> 32 == 0 {
            state.write_u64((ll << 32) | hl);
        } else {
            state.write_u128((u128::from(lh) << 64) | u128::from(ll));
            state.write_u128((u128::from(hh) << 64) | u128::from(hl));
        }
        state.write_u64(self.rest);
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

    /// Keys are equal exactly when the endpoint pairs are, whatever the
    /// order: checked on random pairs from a few addresses and ports, with
    /// IPv4 addresses that are also IPv6 addresses' low words.
    #[test]
    fn keys_equal_exactly_when_the_pairs_are() {
        use std::hash::BuildHasher;
        let mut x: u64 = 3;
        let mut next = move || crate::report::summary::xorshift64(&mut x);
        let mut endpoint = || {
            let n = (next() % 4) as u8;
            let addr = match next() % 3 {
                0 => Addr::V4([10, 0, 0, n]),
                1 => Addr::V6([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, n]),
                _ => Addr::V6([0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, n]),
            };
            Endpoint::new(addr, [80, 443, 40000][(next() % 3) as usize])
        };
        let pairs: Vec<(Endpoint, Endpoint)> = (0..300).map(|_| (endpoint(), endpoint())).collect();
        let hasher = foldhash::fast::RandomState::default();
        for &(a, b) in &pairs {
            let key = FlowKey::new(a, b);
            assert_eq!(key, FlowKey::new(b, a));
            assert_eq!(hasher.hash_one(key), hasher.hash_one(FlowKey::new(b, a)));
            for &(c, d) in &pairs {
                let same = (a == c && b == d) || (a == d && b == c);
                assert_eq!(key == FlowKey::new(c, d), same, "{a} {b} / {c} {d}");
            }
        }
    }
}
