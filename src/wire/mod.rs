//! Zero-copy views of the headers synack reads: link layers, IPv4, IPv6, TCP and
//! its options.
//!
//! Each view wraps the captured bytes; `new_checked` validates once that the fixed
//! header is present, after which the accessors cannot fail. [`decode`] walks a
//! frame down to its TCP segment for the tracker; the tcpdump printers walk the
//! same views themselves because they must also print what is *not* there.

pub mod addr;
pub mod ipv4;
pub mod ipv6;
pub mod link;
pub mod segment;
pub mod tcp;

pub use addr::Addr;
pub use segment::{decode, Segment};

pub const IPPROTO_TCP: u8 = 6;

#[inline]
pub(crate) fn be16(d: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([d[at], d[at + 1]])
}

#[inline]
pub(crate) fn be32(d: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([d[at], d[at + 1], d[at + 2], d[at + 3]])
}

/// The Internet checksum (RFC 1071) of several byte runs, folded to 16 bits and
/// complemented. Zero means "the checksum over data that includes its own
/// checksum field verifies".
pub fn internet_checksum(parts: &[&[u8]]) -> u16 {
    let mut sum: u64 = 0;
    let mut odd: Option<u8> = None;
    for part in parts {
        let mut p: &[u8] = part;
        if let Some(hi) = odd.take() {
            if let Some((&lo, rest)) = p.split_first() {
                sum += u16::from_be_bytes([hi, lo]) as u64;
                p = rest;
            } else {
                odd = Some(hi);
                continue;
            }
        }
        let mut chunks = p.chunks_exact(8);
        for c in &mut chunks {
            sum += u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as u64;
            sum += u32::from_be_bytes([c[4], c[5], c[6], c[7]]) as u64;
        }
        let mut rest = chunks.remainder();
        while rest.len() >= 2 {
            sum += u16::from_be_bytes([rest[0], rest[1]]) as u64;
            rest = &rest[2..];
        }
        if let Some(&b) = rest.first() {
            odd = Some(b);
        }
    }
    if let Some(hi) = odd {
        sum += u16::from_be_bytes([hi, 0]) as u64;
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The TCP checksum over an IPv4 pseudo-header and the segment (RFC 9293
/// §3.1); zero when the segment's checksum field is right.
pub fn tcp_checksum_v4(src: &[u8; 4], dst: &[u8; 4], segment: &[u8]) -> u16 {
    let len = (segment.len() as u32).to_be_bytes();
    let pseudo = [0, IPPROTO_TCP, len[2], len[3]];
    internet_checksum(&[src, dst, &pseudo, segment])
}

/// The TCP checksum over an IPv6 pseudo-header and the segment (RFC 8200 §8.1).
pub fn tcp_checksum_v6(src: &[u8; 16], dst: &[u8; 16], segment: &[u8]) -> u16 {
    let mut tail = [0u8; 8];
    tail[..4].copy_from_slice(&(segment.len() as u32).to_be_bytes());
    tail[7] = IPPROTO_TCP;
    internet_checksum(&[src, dst, &tail, segment])
}

/// The value a checksum field should have held, from the field and the sum over
/// the data including it (tcpdump's `in_cksum_shouldbe`, RFC 1624 arithmetic).
pub fn checksum_should_be(field: u16, sum: u16) -> u16 {
    let mut s = field as u32 + sum as u32;
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    s as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_of_rfc1071_example_verifies() {
        // RFC 1071 §3: the sum of these words is ddf2, so the checksum is 220d.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(internet_checksum(&[&data]), !0xddf2);
        let split = internet_checksum(&[&data[..3], &data[3..5], &data[5..]]);
        assert_eq!(split, !0xddf2);
    }

    #[test]
    fn should_be_recovers_the_right_field() {
        // A header whose checksum field is wrong by some amount: the corrected
        // field makes the whole sum verify.
        let mut hdr = [
            0x45u8, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        let good = internet_checksum(&[&hdr]);
        hdr[10..12].copy_from_slice(&0x1234u16.to_be_bytes());
        let sum = internet_checksum(&[&hdr]);
        assert_eq!(checksum_should_be(0x1234, sum), good);
    }
}
