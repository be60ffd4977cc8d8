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
///
/// The sum is taken over native-endian 32-bit words into a 64-bit
/// accumulator, a loop the compiler turns into vector adds: a ones'
/// complement sum does not depend on byte order (RFC 1071 §2(B)), so it is
/// folded and swapped to network order once at the end.
pub fn internet_checksum(parts: &[&[u8]]) -> u16 {
    let mut sum: u64 = 0;
    // A byte left over from a run of odd length: the first half of a word.
    let mut odd: Option<u8> = None;
    for part in parts {
        let mut p: &[u8] = part;
        if let Some(first) = odd.take() {
            if let Some((&second, rest)) = p.split_first() {
                sum += u64::from(u16::from_ne_bytes([first, second]));
                p = rest;
            } else {
                odd = Some(first);
                continue;
            }
        }
        sum += sum_words(p);
        if p.len() % 2 == 1 {
            odd = Some(p[p.len() - 1]);
        }
    }
    if let Some(first) = odd {
        sum += u64::from(u16::from_ne_bytes([first, 0]));
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !u16::from_be(sum as u16)
}

/// The sum of the native-endian 16-bit words of `p` (an odd last byte left
/// out), not yet folded. Whole 32-bit words are summed as such: 2^16 is 1
/// modulo 0xffff, so a 32-bit word counts as its two halves.
#[inline]
fn sum_words(p: &[u8]) -> u64 {
    let mut words = p.chunks_exact(4);
    let mut sum: u64 = words
        .by_ref()
        .map(|w| u64::from(u32::from_ne_bytes([w[0], w[1], w[2], w[3]])))
        .sum();
    let rest = words.remainder();
    if rest.len() >= 2 {
        sum += u64::from(u16::from_ne_bytes([rest[0], rest[1]]));
    }
    sum
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

    /// The RFC 1071 definition word by word, in network order.
    fn reference_sum(parts: &[&[u8]]) -> u16 {
        let bytes: Vec<u8> = parts.concat();
        let mut sum: u64 = 0;
        for w in bytes.chunks(2) {
            sum += u64::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)]));
        }
        while sum >> 16 != 0 {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        !(sum as u16)
    }

    #[test]
    fn wide_sum_equals_the_definition_for_any_lengths_and_splits() {
        let mut x: u32 = 0x1234_5678;
        let data: Vec<u8> = (0..301)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        for len in 0..data.len() {
            let d = &data[..len];
            assert_eq!(internet_checksum(&[d]), reference_sum(&[d]), "len {len}");
            for cut in [1, 3, 4, 7] {
                if cut < len {
                    let parts = [
                        &d[..cut],
                        &d[cut..cut + (len - cut) / 2],
                        &d[cut + (len - cut) / 2..],
                    ];
                    assert_eq!(
                        internet_checksum(&parts),
                        reference_sum(&parts),
                        "len {len} cut {cut}"
                    );
                }
            }
        }
        assert_eq!(
            internet_checksum(&[&[0xff; 64]]),
            reference_sum(&[&[0xff; 64]])
        );
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
