//! IPv4 header view (RFC 791).

use super::{be16, internet_checksum, Addr};

mod field {
    pub const VER_IHL: usize = 0;
    pub const TOS: usize = 1;
    pub const LENGTH: usize = 2;
    pub const IDENT: usize = 4;
    pub const FLG_OFF: usize = 6;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: usize = 10;
    pub const SRC: usize = 12;
    pub const DST: usize = 16;
}

pub const HEADER_LEN: usize = 20;
pub const FLAG_RESERVED: u16 = 0x8000;
pub const FLAG_DF: u16 = 0x4000;
pub const FLAG_MF: u16 = 0x2000;
pub const OFFSET_MASK: u16 = 0x1fff;

/// A view of an IPv4 header whose fixed 20 bytes are known to be captured.
#[derive(Clone, Copy)]
pub struct Ipv4<'a> {
    data: &'a [u8],
}

impl<'a> Ipv4<'a> {
    /// `None` unless at least the fixed header was captured.
    pub fn new_checked(data: &'a [u8]) -> Option<Ipv4<'a>> {
        (data.len() >= HEADER_LEN).then_some(Ipv4 { data })
    }

    pub fn bytes(&self) -> &'a [u8] {
        self.data
    }
    pub fn version(&self) -> u8 {
        self.data[field::VER_IHL] >> 4
    }
    /// Header length in bytes (IHL × 4), as the header claims it.
    pub fn header_len(&self) -> usize {
        (self.data[field::VER_IHL] & 0x0f) as usize * 4
    }
    pub fn tos(&self) -> u8 {
        self.data[field::TOS]
    }
    pub fn ecn(&self) -> u8 {
        self.tos() & 0x03
    }
    pub fn total_len(&self) -> u16 {
        be16(self.data, field::LENGTH)
    }
    pub fn ident(&self) -> u16 {
        be16(self.data, field::IDENT)
    }
    pub fn flags_offset(&self) -> u16 {
        be16(self.data, field::FLG_OFF)
    }
    pub fn dont_fragment(&self) -> bool {
        self.flags_offset() & FLAG_DF != 0
    }
    pub fn more_fragments(&self) -> bool {
        self.flags_offset() & FLAG_MF != 0
    }
    /// Fragment offset in 8-byte units.
    pub fn frag_offset(&self) -> u16 {
        self.flags_offset() & OFFSET_MASK
    }
    pub fn ttl(&self) -> u8 {
        self.data[field::TTL]
    }
    pub fn protocol(&self) -> u8 {
        self.data[field::PROTOCOL]
    }
    pub fn checksum(&self) -> u16 {
        be16(self.data, field::CHECKSUM)
    }
    pub fn src_bytes(&self) -> &'a [u8; 4] {
        self.data[field::SRC..field::SRC + 4].try_into().unwrap()
    }
    pub fn dst_bytes(&self) -> &'a [u8; 4] {
        self.data[field::DST..field::DST + 4].try_into().unwrap()
    }
    pub fn src(&self) -> Addr {
        Addr::V4(*self.src_bytes())
    }
    pub fn dst(&self) -> Addr {
        Addr::V4(*self.dst_bytes())
    }
    /// The options bytes that were captured (may be fewer than the header claims).
    pub fn options(&self) -> &'a [u8] {
        let end = self.header_len().min(self.data.len());
        if end <= HEADER_LEN {
            &[]
        } else {
            &self.data[HEADER_LEN..end]
        }
    }
    /// Header checksum verification; `None` when the header was not all captured.
    pub fn header_checksum(&self) -> Option<u16> {
        let hl = self.header_len();
        (hl >= HEADER_LEN && hl <= self.data.len()).then(|| internet_checksum(&[&self.data[..hl]]))
    }

    /// The destination for the TCP/UDP pseudo-header: the final hop of a strict
    /// or loose source route when one is present and valid (tcpdump's `ip_finddst`).
    pub fn final_destination(&self) -> [u8; 4] {
        let opts = self.options();
        let claimed = self.header_len().saturating_sub(HEADER_LEN);
        let mut i = 0usize;
        let mut left = claimed;
        while left > 0 {
            let Some(&kind) = opts.get(i) else { break };
            let len = match kind {
                0 => break,
                1 => 1usize,
                _ => {
                    let Some(&l) = opts.get(i + 1) else { break };
                    if l < 2 {
                        break;
                    }
                    l as usize
                }
            };
            if left < len || i + len > opts.len() {
                break;
            }
            if (kind == 0x83 || kind == 0x89) && len >= 7 {
                let a = &opts[i + len - 4..i + len];
                return [a[0], a[1], a[2], a[3]];
            }
            i += len;
            left -= len;
        }
        *self.dst_bytes()
    }
}
