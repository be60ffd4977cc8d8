//! IP addresses as synack stores and prints them.
//!
//! The text form is tcpdump's (`addrtostr`/`addrtostr6`), written by hand because
//! it differs from the standard library's in one corner: tcpdump prints
//! IPv4-compatible IPv6 addresses (`::a.b.c.d`) in dotted form.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

use crate::print::out::ShortText;

/// An IPv4 or IPv6 address, compact and `Copy`, ordered by version then bytes.
#[derive(Clone, Copy, Eq)]
pub enum Addr {
    V4([u8; 4]),
    V6([u8; 16]),
}

impl Addr {
    pub fn version(&self) -> u8 {
        match self {
            Addr::V4(_) => 4,
            Addr::V6(_) => 6,
        }
    }

    pub fn octets(&self) -> &[u8] {
        match self {
            Addr::V4(a) => a,
            Addr::V6(a) => a,
        }
    }

    pub fn from_slice(bytes: &[u8]) -> Option<Addr> {
        match bytes.len() {
            4 => Some(Addr::V4(bytes.try_into().ok()?)),
            16 => Some(Addr::V6(bytes.try_into().ok()?)),
            _ => None,
        }
    }

    /// Append the tcpdump `-n` text of this address.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        match self {
            Addr::V4(a) => write_v4(out, a),
            Addr::V6(a) => write_v6(out, a),
        }
    }

    pub fn to_std(&self) -> std::net::IpAddr {
        match *self {
            Addr::V4(a) => std::net::IpAddr::from(a),
            Addr::V6(a) => std::net::IpAddr::from(a),
        }
    }
}

/// Compared as one word, where the derived comparison calls `memcmp`.
impl PartialEq for Addr {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Addr::V4(a), Addr::V4(b)) => u32::from_ne_bytes(*a) == u32::from_ne_bytes(*b),
            (Addr::V6(a), Addr::V6(b)) => u128::from_ne_bytes(*a) == u128::from_ne_bytes(*b),
            _ => false,
        }
    }
}

/// One word per address: hashed in one round, where the derived hash feeds
/// the variant, the length and each byte.
impl Hash for Addr {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self {
            Addr::V4(a) => state.write_u32(u32::from_ne_bytes(*a)),
            Addr::V6(a) => state.write_u128(u128::from_ne_bytes(*a)),
        }
    }
}

impl PartialOrd for Addr {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Version first, then the bytes in order: as big-endian numbers, compared
/// without a call to `memcmp` (one comparison per segment orders the key).
impl Ord for Addr {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Addr::V4(a), Addr::V4(b)) => u32::from_be_bytes(*a).cmp(&u32::from_be_bytes(*b)),
            (Addr::V6(a), Addr::V6(b)) => u128::from_be_bytes(*a).cmp(&u128::from_be_bytes(*b)),
            _ => self.version().cmp(&other.version()),
        }
    }
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut v = Vec::with_capacity(40);
        self.write_to(&mut v);
        f.write_str(std::str::from_utf8(&v).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Dotted quad, into text long enough for any (`255.255.255.255`).
fn push_v4<const N: usize>(text: &mut ShortText<N>, a: &[u8; 4]) {
    for (i, b) in a.iter().enumerate() {
        if i > 0 {
            text.push(b'.');
        }
        text.push_u8(*b);
    }
}

pub fn write_v4(out: &mut Vec<u8>, a: &[u8; 4]) {
    let mut text = ShortText::<16>::new();
    push_v4(&mut text, a);
    text.append_to(out);
}

fn push_hex16<const N: usize>(text: &mut ShortText<N>, w: u16) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut started = false;
    for shift in [12u32, 8, 4, 0] {
        let nib = ((w >> shift) & 0xf) as usize;
        if nib != 0 || started || shift == 0 {
            text.push(HEX[nib]);
            started = true;
        }
    }
}

pub fn write_v6(out: &mut Vec<u8>, a: &[u8; 16]) {
    // At most eight groups of four digits and seven colons.
    let mut text = ShortText::<40>::new();
    push_v6(&mut text, a);
    text.append_to(out);
}

fn push_v6<const N: usize>(out: &mut ShortText<N>, a: &[u8; 16]) {
    let mut words = [0u16; 8];
    for (i, w) in words.iter_mut().enumerate() {
        *w = u16::from_be_bytes([a[2 * i], a[2 * i + 1]]);
    }
    // The first longest run of zero words, if at least two long.
    let (mut best_base, mut best_len) = (usize::MAX, 0usize);
    let (mut cur_base, mut cur_len) = (usize::MAX, 0usize);
    for (i, &w) in words.iter().enumerate() {
        if w == 0 {
            if cur_base == usize::MAX {
                cur_base = i;
                cur_len = 1;
            } else {
                cur_len += 1;
            }
        } else if cur_base != usize::MAX {
            if best_base == usize::MAX || cur_len > best_len {
                best_base = cur_base;
                best_len = cur_len;
            }
            cur_base = usize::MAX;
        }
    }
    if cur_base != usize::MAX && (best_base == usize::MAX || cur_len > best_len) {
        best_base = cur_base;
        best_len = cur_len;
    }
    if best_base != usize::MAX && best_len < 2 {
        best_base = usize::MAX;
    }
    let in_best = |i: usize| best_base != usize::MAX && i >= best_base && i < best_base + best_len;
    for i in 0..8 {
        if in_best(i) {
            if i == best_base {
                out.push(b':');
            }
            continue;
        }
        if i != 0 {
            out.push(b':');
        }
        if i == 6 && best_base == 0 && (best_len == 6 || (best_len == 5 && words[5] == 0xffff)) {
            push_v4(out, &[a[12], a[13], a[14], a[15]]);
            return;
        }
        push_hex16(out, words[i]);
    }
    if best_base != usize::MAX && best_base + best_len == 8 {
        out.push(b':');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v6(s: &str) -> String {
        let a: std::net::Ipv6Addr = s.parse().unwrap();
        Addr::V6(a.octets()).to_string()
    }

    #[test]
    fn ipv6_text_follows_tcpdump() {
        assert_eq!(v6("2604:1380:4091:ce00::b"), "2604:1380:4091:ce00::b");
        assert_eq!(v6("::"), "::");
        assert_eq!(v6("::1"), "::1");
        assert_eq!(v6("fe80::1:0:0:1"), "fe80::1:0:0:1");
        assert_eq!(v6("1:0:0:2:0:0:0:3"), "1:0:0:2::3");
        assert_eq!(v6("1:0:2:3:4:5:6:7"), "1:0:2:3:4:5:6:7");
        assert_eq!(v6("::ffff:10.0.0.1"), "::ffff:10.0.0.1");
        // IPv4-compatible: dotted in tcpdump, hex in the standard library.
        assert_eq!(v6("::10.0.0.1"), "::10.0.0.1");
        assert_eq!(v6("1::"), "1::");
    }

    #[test]
    fn order_is_version_then_bytes() {
        let mut v = [
            Addr::V6([0xff; 16]),
            Addr::V4([10, 0, 0, 2]),
            Addr::V6([0; 16]),
            Addr::V4([9, 255, 255, 255]),
            Addr::V4([10, 0, 0, 1]),
        ];
        v.sort();
        let keys: Vec<(u8, Vec<u8>)> = v
            .iter()
            .map(|a| (a.version(), a.octets().to_vec()))
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
    }

    #[test]
    fn ipv4_text() {
        assert_eq!(Addr::V4([10, 99, 0, 1]).to_string(), "10.99.0.1");
    }
}
