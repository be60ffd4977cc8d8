//! TCP header view (RFC 9293) and its options.

use super::{be16, be32};

pub const HEADER_LEN: usize = 20;

pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const RST: u8 = 0x04;
pub const PSH: u8 = 0x08;
pub const ACK: u8 = 0x10;
pub const URG: u8 = 0x20;
pub const ECE: u8 = 0x40;
pub const CWR: u8 = 0x80;

pub const OPT_EOL: u8 = 0;
pub const OPT_NOP: u8 = 1;
pub const OPT_MSS: u8 = 2;
pub const OPT_WSCALE: u8 = 3;
pub const OPT_SACK_OK: u8 = 4;
pub const OPT_SACK: u8 = 5;
pub const OPT_ECHO: u8 = 6;
pub const OPT_ECHOREPLY: u8 = 7;
pub const OPT_TIMESTAMP: u8 = 8;
pub const OPT_CC: u8 = 11;
pub const OPT_CCNEW: u8 = 12;
pub const OPT_CCECHO: u8 = 13;
pub const OPT_MD5: u8 = 19;
pub const OPT_SCPS: u8 = 20;
pub const OPT_UTO: u8 = 28;
pub const OPT_TCP_AO: u8 = 29;
pub const OPT_MPTCP: u8 = 30;
pub const OPT_FASTOPEN: u8 = 34;
pub const OPT_EXPERIMENT2: u8 = 254;
/// RFC 6994 experiment identifier of TCP Fast Open before it had kind 34.
pub const TFO_MAGIC: u16 = 0xf989;

/// A view of a TCP header whose fixed 20 bytes are known to be captured. The
/// slice runs from the header to the end of what was captured of the segment.
#[derive(Clone, Copy)]
pub struct Tcp<'a> {
    data: &'a [u8],
}

impl<'a> Tcp<'a> {
    pub fn new_checked(data: &'a [u8]) -> Option<Tcp<'a>> {
        (data.len() >= HEADER_LEN).then_some(Tcp { data })
    }

    pub fn bytes(&self) -> &'a [u8] {
        self.data
    }
    pub fn src_port(&self) -> u16 {
        be16(self.data, 0)
    }
    pub fn dst_port(&self) -> u16 {
        be16(self.data, 2)
    }
    pub fn seq(&self) -> u32 {
        be32(self.data, 4)
    }
    pub fn ack(&self) -> u32 {
        be32(self.data, 8)
    }
    /// Header length in bytes as the data-offset field claims it.
    pub fn header_len(&self) -> usize {
        (self.data[12] >> 4) as usize * 4
    }
    /// The eight classic flag bits (CWR ECE URG ACK PSH RST SYN FIN).
    pub fn flags(&self) -> u8 {
        self.data[13]
    }
    /// The AE bit (RFC 9768 AccECN; formerly NS), just below the data offset.
    pub fn ae(&self) -> bool {
        self.data[12] & 0x01 != 0
    }
    pub fn has(&self, flag: u8) -> bool {
        self.data[13] & flag != 0
    }
    pub fn window(&self) -> u16 {
        be16(self.data, 14)
    }
    pub fn checksum(&self) -> u16 {
        be16(self.data, 16)
    }
    pub fn urgent(&self) -> u16 {
        be16(self.data, 18)
    }
    /// The option bytes that were captured, limited to the header's claim.
    pub fn options(&self) -> &'a [u8] {
        let end = self.header_len().min(self.data.len());
        if end <= HEADER_LEN {
            &[]
        } else {
            &self.data[HEADER_LEN..end]
        }
    }
    /// Captured payload bytes (empty when the header itself is cut).
    pub fn payload(&self) -> &'a [u8] {
        let hl = self.header_len().max(HEADER_LEN);
        self.data.get(hl..).unwrap_or(&[])
    }
}

/// One TCP option, as read from the header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcpOption<'a> {
    Eol,
    Nop,
    Mss(u16),
    WindowScale(u8),
    SackPermitted,
    /// SACK blocks as raw bytes (8 per block).
    Sack(&'a [u8]),
    Timestamps {
        val: u32,
        ecr: u32,
    },
    Md5(&'a [u8]),
    TcpAo(&'a [u8]),
    /// The MPTCP option body after kind and length; the subtype is the high nibble
    /// of its first byte.
    Mptcp(&'a [u8]),
    /// TCP Fast Open (kind 34, or 254 with the 0xF989 magic): the cookie bytes,
    /// empty for a cookie request.
    FastOpen(&'a [u8]),
    Unknown {
        kind: u8,
        data: &'a [u8],
    },
    /// A length below 2 or beyond the header: the rest cannot be read.
    Malformed {
        kind: u8,
    },
}

/// Iterate over the options of a header's option bytes.
pub fn options(bytes: &[u8]) -> TcpOptions<'_> {
    TcpOptions { bytes, pos: 0 }
}

pub struct TcpOptions<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for TcpOptions<'a> {
    type Item = TcpOption<'a>;

    fn next(&mut self) -> Option<TcpOption<'a>> {
        let b = self.bytes;
        let kind = *b.get(self.pos)?;
        match kind {
            OPT_EOL => {
                self.pos = b.len();
                return Some(TcpOption::Eol);
            }
            OPT_NOP => {
                self.pos += 1;
                return Some(TcpOption::Nop);
            }
            _ => {}
        }
        let len = match b.get(self.pos + 1) {
            Some(&l) if l >= 2 && self.pos + l as usize <= b.len() => l as usize,
            _ => {
                self.pos = b.len();
                return Some(TcpOption::Malformed { kind });
            }
        };
        let data = &b[self.pos + 2..self.pos + len];
        self.pos += len;
        Some(match (kind, data.len()) {
            (OPT_MSS, 2) => TcpOption::Mss(be16(data, 0)),
            (OPT_WSCALE, 1) => TcpOption::WindowScale(data[0]),
            (OPT_SACK_OK, 0) => TcpOption::SackPermitted,
            (OPT_SACK, n) if n % 8 == 0 => TcpOption::Sack(data),
            (OPT_TIMESTAMP, 8) => TcpOption::Timestamps {
                val: be32(data, 0),
                ecr: be32(data, 4),
            },
            (OPT_MD5, _) => TcpOption::Md5(data),
            (OPT_TCP_AO, _) => TcpOption::TcpAo(data),
            (OPT_MPTCP, n) if n >= 1 => TcpOption::Mptcp(data),
            (OPT_FASTOPEN, _) => TcpOption::FastOpen(data),
            (OPT_EXPERIMENT2, n) if n >= 2 && be16(data, 0) == TFO_MAGIC => {
                TcpOption::FastOpen(&data[2..])
            }
            _ => TcpOption::Unknown { kind, data },
        })
    }
}

/// TCP Fast Open as seen in one segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct FastOpen<'a> {
    pub cookie: &'a [u8],
}

/// The handshake-relevant options of one segment, gathered in one pass.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OptionSummary<'a> {
    pub mss: Option<u16>,
    pub wscale: Option<u8>,
    pub sack_ok: bool,
    pub sack_blocks: u8,
    pub timestamps: Option<(u32, u32)>,
    pub fast_open: Option<FastOpen<'a>>,
    /// MPTCP subtype of the first MPTCP option (0 MP_CAPABLE, 1 MP_JOIN, ...).
    pub mptcp_subtype: Option<u8>,
    pub md5: bool,
    pub tcp_ao: bool,
    pub malformed: bool,
}

impl<'a> OptionSummary<'a> {
    /// Reads the options through [`options`], after a look for Linux's two
    /// layouts, which are recognized whole: this runs for every SYN, SYN-ACK
    /// and handshake ACK, and through the iterator each option costs a call
    /// and an enum built and matched again.
    pub fn parse(bytes: &'a [u8]) -> OptionSummary<'a> {
        if let Some(s) = OptionSummary::linux(bytes) {
            return s;
        }
        let mut s = OptionSummary::default();
        for opt in options(bytes) {
            match opt {
                TcpOption::Mss(v) => s.mss = s.mss.or(Some(v)),
                TcpOption::WindowScale(v) => s.wscale = s.wscale.or(Some(v)),
                TcpOption::SackPermitted => s.sack_ok = true,
                TcpOption::Sack(b) => s.sack_blocks = (b.len() / 8) as u8,
                TcpOption::Timestamps { val, ecr } => {
                    s.timestamps = s.timestamps.or(Some((val, ecr)))
                }
                TcpOption::FastOpen(cookie) => {
                    s.fast_open = s.fast_open.or(Some(FastOpen { cookie }))
                }
                TcpOption::Mptcp(d) => s.mptcp_subtype = s.mptcp_subtype.or(Some(d[0] >> 4)),
                TcpOption::Md5(_) => s.md5 = true,
                TcpOption::TcpAo(_) => s.tcp_ao = true,
                TcpOption::Malformed { .. } => s.malformed = true,
                TcpOption::Eol | TcpOption::Nop | TcpOption::Unknown { .. } => {}
            }
        }
        s
    }

    /// Linux's two layouts, recognized whole: a SYN's or SYN-ACK's (MSS, SACK
    /// permitted, timestamps, NOP, window scale) and a later segment's (NOP,
    /// NOP, timestamps). Most segments a handshake is judged by carry one.
    #[inline]
    fn linux(bytes: &[u8]) -> Option<OptionSummary<'a>> {
        let timestamps = |b: &[u8], at: usize| Some((be32(b, at), be32(b, at + 4)));
        match bytes.len() {
            20 if bytes[..2] == [OPT_MSS, 4]
                && bytes[4..8] == [OPT_SACK_OK, 2, OPT_TIMESTAMP, 10]
                && bytes[16..19] == [OPT_NOP, OPT_WSCALE, 3] =>
            {
                Some(OptionSummary {
                    mss: Some(be16(bytes, 2)),
                    wscale: Some(bytes[19]),
                    sack_ok: true,
                    timestamps: timestamps(bytes, 8),
                    ..OptionSummary::default()
                })
            }
            12 if bytes[..4] == [OPT_NOP, OPT_NOP, OPT_TIMESTAMP, 10] => Some(OptionSummary {
                timestamps: timestamps(bytes, 4),
                ..OptionSummary::default()
            }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linux_syn_options_parse() {
        // mss 1460, sackOK, TS val 1 ecr 0, nop, wscale 7
        let b = [
            2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7,
        ];
        let s = OptionSummary::parse(&b);
        assert_eq!(s.mss, Some(1460));
        assert_eq!(s.wscale, Some(7));
        assert!(s.sack_ok);
        assert_eq!(s.timestamps, Some((1, 0)));
        assert!(!s.malformed);
    }

    #[test]
    fn zero_length_option_is_malformed_and_stops() {
        let b = [2, 0, 1, 1];
        let v: Vec<_> = options(&b).collect();
        assert_eq!(v, vec![TcpOption::Malformed { kind: 2 }]);
    }

    #[test]
    fn fast_open_both_kinds() {
        let req = [34, 2];
        assert_eq!(options(&req).next(), Some(TcpOption::FastOpen(&[][..])));
        let exp = [254, 8, 0xf9, 0x89, 1, 2, 3, 4];
        assert_eq!(
            options(&exp).next(),
            Some(TcpOption::FastOpen(&[1, 2, 3, 4][..]))
        );
    }
}
