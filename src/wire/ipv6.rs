//! IPv6 header view (RFC 8200) and its extension-header chain.

use super::{be16, be32, Addr};

pub const HEADER_LEN: usize = 40;

pub const NH_HOPOPTS: u8 = 0;
pub const NH_ROUTING: u8 = 43;
pub const NH_FRAGMENT: u8 = 44;
pub const NH_DSTOPTS: u8 = 60;
pub const NH_MOBILITY_OLD: u8 = 62;
pub const NH_MOBILITY: u8 = 135;

/// A view of an IPv6 header whose fixed 40 bytes are known to be captured.
#[derive(Clone, Copy)]
pub struct Ipv6<'a> {
    data: &'a [u8],
}

impl<'a> Ipv6<'a> {
    pub fn new_checked(data: &'a [u8]) -> Option<Ipv6<'a>> {
        (data.len() >= HEADER_LEN).then_some(Ipv6 { data })
    }

    pub fn bytes(&self) -> &'a [u8] {
        self.data
    }
    pub fn version(&self) -> u8 {
        self.data[0] >> 4
    }
    /// Version, traffic class and flow label.
    pub fn flow_word(&self) -> u32 {
        be32(self.data, 0)
    }
    pub fn traffic_class(&self) -> u8 {
        ((self.flow_word() >> 20) & 0xff) as u8
    }
    pub fn ecn(&self) -> u8 {
        self.traffic_class() & 0x03
    }
    pub fn flow_label(&self) -> u32 {
        self.flow_word() & 0x000f_ffff
    }
    pub fn payload_len(&self) -> u16 {
        be16(self.data, 4)
    }
    pub fn next_header(&self) -> u8 {
        self.data[6]
    }
    pub fn hop_limit(&self) -> u8 {
        self.data[7]
    }
    pub fn src_bytes(&self) -> &'a [u8; 16] {
        self.data[8..24].try_into().unwrap()
    }
    pub fn dst_bytes(&self) -> &'a [u8; 16] {
        self.data[24..40].try_into().unwrap()
    }
    pub fn src(&self) -> Addr {
        Addr::V6(*self.src_bytes())
    }
    pub fn dst(&self) -> Addr {
        Addr::V6(*self.dst_bytes())
    }
}

/// Where the extension-header chain of an IPv6 packet leads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Upper {
    /// The upper-layer protocol number.
    pub protocol: u8,
    /// Offset of the upper-layer header from the start of the IPv6 header.
    pub offset: usize,
    /// A fragment header was crossed.
    pub fragmented: bool,
    /// The fragment offset was non-zero (no upper header in this packet).
    pub later_fragment: bool,
}

/// Follow the extension headers (hop-by-hop, destination options, routing,
/// fragment) to the upper layer. `None` when the chain runs past the captured
/// bytes. Every step advances by at least 8 bytes, so a crafted chain ends.
pub fn upper_layer(ip: &Ipv6<'_>) -> Option<Upper> {
    let d = ip.bytes();
    let mut nh = ip.next_header();
    let mut off = HEADER_LEN;
    let mut fragmented = false;
    loop {
        match nh {
            NH_HOPOPTS | NH_DSTOPTS | NH_ROUTING => {
                let len = (*d.get(off + 1)? as usize + 1) * 8;
                nh = *d.get(off)?;
                off += len;
            }
            NH_FRAGMENT => {
                let word = be16(d.get(off..off + 8)?, 2);
                nh = d[off];
                off += 8;
                fragmented = true;
                if word & 0xfff8 != 0 {
                    return Some(Upper {
                        protocol: nh,
                        offset: off,
                        fragmented,
                        later_fragment: true,
                    });
                }
            }
            _ => {
                return Some(Upper {
                    protocol: nh,
                    offset: off,
                    fragmented,
                    later_fragment: false,
                })
            }
        }
    }
}
