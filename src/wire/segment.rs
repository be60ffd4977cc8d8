//! A frame decoded down to its TCP segment, for the tracker.

use super::ipv4::{self, Ipv4};
use super::ipv6::{self, Ipv6};
use super::link::{self, Network};
use super::tcp::Tcp;
use super::{tcp_checksum_v4, tcp_checksum_v6, Addr, IPPROTO_TCP};
use crate::source::Frame;

/// Why a frame holds no trackable TCP segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skip {
    /// Not IP, or a link type synack does not know.
    NotIp,
    /// IP, but not TCP (or a later fragment of TCP).
    NotTcp,
    /// TCP, but the capture holds less than its fixed header.
    Truncated,
    /// TCP, but a header field makes it unreadable (IP header length below 20,
    /// TCP data offset below 5).
    Malformed,
}

/// The IP layer of a segment: what the tracker needs of it.
#[derive(Clone, Copy, Debug)]
pub struct IpInfo<'a> {
    pub src: Addr,
    pub dst: Addr,
    /// TTL or hop limit.
    pub ttl: u8,
    /// The two ECN bits of the TOS / traffic class.
    pub ecn: u8,
    pub dont_fragment: bool,
    /// First fragment of a fragmented datagram.
    pub fragmented: bool,
    /// The IP header bytes (for the pseudo-header of the checksum).
    header: &'a [u8],
}

/// A decoded TCP segment.
#[derive(Clone, Copy)]
pub struct Segment<'a> {
    pub ip: IpInfo<'a>,
    pub tcp: Tcp<'a>,
    /// TCP payload length from the IP length fields (what tcpdump calls `length`),
    /// whatever was captured of it.
    pub payload_len: u32,
    /// TCP header plus payload as claimed by IP (for the checksum).
    segment_len: u32,
    /// The datagram's length as IP claims it (headers included).
    ip_len: u32,
}

impl<'a> Segment<'a> {
    /// The IP datagram's length as its header claims it (Zeek's IP bytes).
    pub fn ip_len(&self) -> u32 {
        self.ip_len
    }

    /// Does the TCP checksum verify? `None` when the segment was not all captured
    /// or is a fragment.
    pub fn checksum_ok(&self) -> Option<bool> {
        if self.ip.fragmented {
            return None;
        }
        let seg = self.tcp.bytes();
        let len = self.segment_len as usize;
        if seg.len() < len {
            return None;
        }
        let sum = match (self.ip.src, self.ip.dst) {
            (Addr::V4(s), Addr::V4(d)) => {
                // Only options (a source route) can name another destination.
                let d = if self.ip.header.len() > ipv4::HEADER_LEN {
                    Ipv4::new_checked(self.ip.header)?.final_destination()
                } else {
                    d
                };
                tcp_checksum_v4(&s, &d, &seg[..len])
            }
            (Addr::V6(s), Addr::V6(d)) => tcp_checksum_v6(&s, &d, &seg[..len]),
            _ => return None,
        };
        Some(sum == 0)
    }
}

/// Walk a frame down to TCP.
#[inline]
pub fn decode<'a>(frame: &Frame<'a>) -> Result<Segment<'a>, Skip> {
    let (net, off) = link::locate(frame.linktype, frame.data).ok_or(Skip::NotIp)?;
    let data = &frame.data[off..];
    let net = match net {
        Network::AnyIp => match data.first().map(|b| b >> 4) {
            Some(4) => Network::Ipv4,
            Some(6) => Network::Ipv6,
            _ => return Err(Skip::NotIp),
        },
        n => n,
    };
    match net {
        Network::Ipv4 => decode_v4(data),
        _ => decode_v6(data),
    }
}

fn decode_v4(data: &[u8]) -> Result<Segment<'_>, Skip> {
    let ip = Ipv4::new_checked(data).ok_or(Skip::NotIp)?;
    if ip.version() != 4 {
        return Err(Skip::NotIp);
    }
    if ip.protocol() != IPPROTO_TCP {
        return Err(Skip::NotTcp);
    }
    if ip.frag_offset() != 0 {
        return Err(Skip::NotTcp);
    }
    let hl = ip.header_len();
    if hl < ipv4::HEADER_LEN {
        return Err(Skip::Malformed);
    }
    // A total length of 0 is what TCP segmentation offload leaves in captures
    // taken on the sender; the captured length stands in for it.
    let total = match ip.total_len() as usize {
        0 => data.len(),
        t if t < hl => return Err(Skip::Malformed),
        t => t,
    };
    let captured = &data[..total.min(data.len())];
    let seg = captured.get(hl..).ok_or(Skip::Truncated)?;
    let tcp = Tcp::new_checked(seg).ok_or(Skip::Truncated)?;
    let thl = tcp.header_len();
    if thl < 20 {
        return Err(Skip::Malformed);
    }
    let segment_len = (total - hl) as u32;
    Ok(Segment {
        ip: IpInfo {
            src: ip.src(),
            dst: ip.dst(),
            ttl: ip.ttl(),
            ecn: ip.ecn(),
            dont_fragment: ip.dont_fragment(),
            fragmented: ip.more_fragments(),
            header: &data[..hl.min(data.len())],
        },
        tcp,
        payload_len: segment_len.saturating_sub(thl as u32),
        segment_len,
        ip_len: total.min(u32::MAX as usize) as u32,
    })
}

fn decode_v6(data: &[u8]) -> Result<Segment<'_>, Skip> {
    let ip = Ipv6::new_checked(data).ok_or(Skip::NotIp)?;
    if ip.version() != 6 {
        return Err(Skip::NotIp);
    }
    let upper = ipv6::upper_layer(&ip).ok_or(Skip::Truncated)?;
    if upper.protocol != IPPROTO_TCP || upper.later_fragment {
        return Err(Skip::NotTcp);
    }
    // Payload length 0 is a jumbogram or a large-segment-offload capture.
    let total = match ip.payload_len() as usize {
        0 => data.len(),
        p => p + ipv6::HEADER_LEN,
    };
    if total < upper.offset {
        return Err(Skip::Malformed);
    }
    let captured = &data[..total.min(data.len())];
    let seg = captured.get(upper.offset..).ok_or(Skip::Truncated)?;
    let tcp = Tcp::new_checked(seg).ok_or(Skip::Truncated)?;
    let thl = tcp.header_len();
    if thl < 20 {
        return Err(Skip::Malformed);
    }
    let segment_len = (total - upper.offset) as u32;
    Ok(Segment {
        ip: IpInfo {
            src: ip.src(),
            dst: ip.dst(),
            ttl: ip.hop_limit(),
            ecn: ip.ecn(),
            dont_fragment: false,
            fragmented: upper.fragmented,
            header: &data[..ipv6::HEADER_LEN],
        },
        tcp,
        payload_len: segment_len.saturating_sub(thl as u32),
        segment_len,
        ip_len: total.min(u32::MAX as usize) as u32,
    })
}
