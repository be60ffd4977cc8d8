//! One TCP segment as the tracker reads it: the header fields an attempt
//! records, owned, so that a segment decoded in one thread can be tracked in
//! another. Every frame reaches the tracker through [`Packet::decode`], with
//! one thread or several.

use super::key::{Endpoint, FlowKey};
use crate::source::{Frame, Timestamp};
use crate::wire::segment::Skip;
use crate::wire::tcp::HEADER_LEN;
use crate::wire::{self, Segment};

/// The most option bytes a TCP header can carry (60 − 20).
const MAX_OPTIONS: usize = 40;

#[derive(Clone, Copy, Debug)]
pub struct Packet {
    pub frame: u64,
    pub time: Timestamp,
    pub src: Endpoint,
    pub dst: Endpoint,
    /// The eight classic flag bits.
    pub flags: u8,
    /// The AE bit, the first fragment and the don't-fragment bit, one bit
    /// each (see the accessors): three `bool`s would make a packet 136
    /// bytes, which `--threads`' batches copy with a call to `memcpy`
    /// where 128 bytes are eight vector moves.
    bits: u8,
    pub seq: u32,
    pub ack: u32,
    pub window: u16,
    /// Payload length as IP claims it, no more than was on the wire.
    pub payload_len: u32,
    pub ttl: u8,
    /// The two ECN bits of the IP header.
    pub ip_ecn: u8,
    /// Does the TCP checksum verify (`None`: not all captured, or a fragment)?
    pub checksum_ok: Option<bool>,
    /// The IP datagram's length as its header claims it (Zeek's IP bytes).
    pub ip_len: u32,
    options: [u8; MAX_OPTIONS],
    options_len: u8,
}

const AE: u8 = 1;
const FRAGMENTED: u8 = 2;
const DONT_FRAGMENT: u8 = 4;

/// The payload length to record: as IP claims it, but no more than was on
/// the wire (an IP length beyond the frame's length on the wire is a lie of
/// damage or fuzzing).
pub(super) fn payload_on_wire(frame: &Frame<'_>, seg: &Segment<'_>) -> u32 {
    let tcp_at = seg.tcp.bytes().as_ptr() as usize - frame.data.as_ptr() as usize;
    let on_wire = (frame.len as usize)
        .saturating_sub(tcp_at + seg.tcp.header_len())
        .min(u32::MAX as usize) as u32;
    seg.payload_len.min(on_wire)
}

impl Packet {
    /// Decode a frame down to its TCP segment.
    pub fn decode(frame: &Frame<'_>) -> Result<Packet, Skip> {
        Packet::decode_for(frame, true)
    }

    /// Decode a frame down to its TCP segment; the checksum is verified only
    /// if `verify` (otherwise `checksum_ok` is `None`, as for a segment not
    /// captured whole).
    pub fn decode_for(frame: &Frame<'_>, verify: bool) -> Result<Packet, Skip> {
        let seg = wire::decode(frame)?;
        let mut p = Packet::from_fields(frame.number, frame.ts, &seg, payload_on_wire(frame, &seg));
        if verify {
            p.checksum_ok = seg.checksum_ok();
        }
        Ok(p)
    }

    /// A decoded segment with the payload length to record.
    pub fn from_segment(frame: u64, time: Timestamp, s: &Segment<'_>, payload_len: u32) -> Packet {
        let mut p = Packet::from_fields(frame, time, s, payload_len);
        p.checksum_ok = s.checksum_ok();
        p
    }

    /// The header fields, the checksum not verified.
    fn from_fields(frame: u64, time: Timestamp, s: &Segment<'_>, payload_len: u32) -> Packet {
        let opts = s.tcp.options();
        let mut options = [0u8; MAX_OPTIONS];
        let n = opts.len().min(MAX_OPTIONS);
        // Most segments carry 40 captured bytes after the fixed header: a
        // copy of fixed length is a few vector moves where one of `n` bytes
        // is a call to memcpy. The bytes past `n` are never read.
        let after = &s.tcp.bytes()[HEADER_LEN.min(s.tcp.bytes().len())..];
        match after.get(..MAX_OPTIONS) {
            Some(whole) => options.copy_from_slice(whole),
            None => options[..n].copy_from_slice(&opts[..n]),
        }
        Packet {
            frame,
            time,
            src: Endpoint::new(s.ip.src, s.tcp.src_port()),
            dst: Endpoint::new(s.ip.dst, s.tcp.dst_port()),
            flags: s.tcp.flags(),
            bits: if s.tcp.ae() { AE } else { 0 }
                | if s.ip.fragmented { FRAGMENTED } else { 0 }
                | if s.ip.dont_fragment { DONT_FRAGMENT } else { 0 },
            seq: s.tcp.seq(),
            ack: s.tcp.ack(),
            window: s.tcp.window(),
            payload_len,
            ttl: s.ip.ttl,
            ip_ecn: s.ip.ecn,
            checksum_ok: None,
            ip_len: s.ip_len(),
            options,
            options_len: n as u8,
        }
    }

    /// The AE bit (AccECN; formerly NS).
    pub fn ae(&self) -> bool {
        self.bits & AE != 0
    }

    /// First fragment of a fragmented datagram.
    pub fn fragmented(&self) -> bool {
        self.bits & FRAGMENTED != 0
    }

    /// The IP header's don't-fragment bit.
    pub fn dont_fragment(&self) -> bool {
        self.bits & DONT_FRAGMENT != 0
    }

    /// The option bytes that were captured.
    pub fn options(&self) -> &[u8] {
        &self.options[..usize::from(self.options_len)]
    }

    /// The direction-free key of its connection.
    pub fn key(&self) -> FlowKey {
        FlowKey::new(self.src, self.dst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Linktype;

    #[test]
    fn keeps_every_option_byte_of_the_longest_header() {
        let mut ip = vec![
            0x45, 0, 0, 80, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        let mut tcp = vec![0u8; 60];
        tcp[12] = 0xf0;
        tcp[13] = 0x02;
        for (i, b) in tcp[20..].iter_mut().enumerate() {
            *b = if i < 39 { 1 } else { 0 };
        }
        ip.extend_from_slice(&tcp);
        let f = Frame {
            number: 1,
            ts: Timestamp::new(1, 0),
            len: ip.len() as u32,
            linktype: Linktype::RAW,
            data: &ip,
            offset: 0,
        };
        let p = Packet::decode(&f).unwrap();
        assert_eq!(p.options().len(), 40);
        assert_eq!(p.payload_len, 0);
    }

    #[test]
    fn a_packet_is_two_cache_lines() {
        // `--threads` copies each packet into a batch: up to 128 bytes the
        // copy is inline vector moves, beyond it a call to memcpy.
        assert_eq!(std::mem::size_of::<Packet>(), 128);
    }
}
