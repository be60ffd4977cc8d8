//! Ethernet frames carrying one TCP segment over IPv4 or IPv6, with correct
//! IP and TCP checksums and the option layouts Linux and common scanners send.

use synack::wire::tcp::{OPT_MSS, OPT_NOP, OPT_SACK_OK, OPT_TIMESTAMP, OPT_WSCALE};
use synack::wire::{internet_checksum, tcp_checksum_v4, tcp_checksum_v6};

/// A host address on the generated network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Host {
    V4([u8; 4]),
    V6([u8; 16]),
}

impl Host {
    /// A locally administered MAC address derived from the IP address, so
    /// each host keeps one MAC for the whole capture.
    fn mac(&self) -> [u8; 6] {
        let b = match self {
            Host::V4(a) => [a[0], a[1], a[2], a[3]],
            Host::V6(a) => [a[12], a[13], a[14], a[15]],
        };
        [0x02, 0x00, b[0] ^ b[1], b[1], b[2], b[3]]
    }
}

/// Which TCP options a segment carries, in the order the sender writes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Options {
    None,
    /// Linux SYN and SYN-ACK: mss, sackOK, TS, nop, wscale.
    Handshake {
        mss: u16,
        wscale: u8,
    },
    /// Linux after the handshake: nop, nop, TS.
    Timestamps,
    /// Scanners and SYN cookies without timestamps: mss only.
    MssOnly(u16),
}

/// One segment to put on the wire.
#[derive(Clone, Copy, Debug)]
pub struct Segment {
    pub src: Host,
    pub dst: Host,
    pub sport: u16,
    pub dport: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub window: u16,
    pub options: Options,
    pub ts_val: u32,
    pub ts_ecr: u32,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    pub ip_id: u16,
}

fn write_options(out: &mut Vec<u8>, seg: &Segment) {
    let ts = |out: &mut Vec<u8>| {
        out.extend_from_slice(&[OPT_TIMESTAMP, 10]);
        out.extend_from_slice(&seg.ts_val.to_be_bytes());
        out.extend_from_slice(&seg.ts_ecr.to_be_bytes());
    };
    match seg.options {
        Options::None => {}
        Options::Handshake { mss, wscale } => {
            out.extend_from_slice(&[OPT_MSS, 4]);
            out.extend_from_slice(&mss.to_be_bytes());
            out.extend_from_slice(&[OPT_SACK_OK, 2]);
            ts(out);
            out.extend_from_slice(&[OPT_NOP, OPT_WSCALE, 3, wscale]);
        }
        Options::Timestamps => {
            out.extend_from_slice(&[OPT_NOP, OPT_NOP]);
            ts(out);
        }
        Options::MssOnly(mss) => {
            out.extend_from_slice(&[OPT_MSS, 4]);
            out.extend_from_slice(&mss.to_be_bytes());
        }
    }
}

/// Write the whole frame for `seg` with `payload` into `out` (cleared first).
pub fn build(out: &mut Vec<u8>, seg: &Segment, payload: &[u8]) {
    out.clear();
    out.extend_from_slice(&seg.dst.mac());
    out.extend_from_slice(&seg.src.mac());
    let v6 = matches!(seg.src, Host::V6(_));
    out.extend_from_slice(if v6 { &[0x86, 0xdd] } else { &[0x08, 0x00] });
    let ip_at = out.len();
    let ip_len = if v6 { 40 } else { 20 };
    out.resize(ip_at + ip_len, 0);

    let tcp_at = out.len();
    out.extend_from_slice(&seg.sport.to_be_bytes());
    out.extend_from_slice(&seg.dport.to_be_bytes());
    out.extend_from_slice(&seg.seq.to_be_bytes());
    out.extend_from_slice(&seg.ack.to_be_bytes());
    out.extend_from_slice(&[0, seg.flags]);
    out.extend_from_slice(&seg.window.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent pointer
    write_options(out, seg);
    let tcp_header_len = out.len() - tcp_at;
    out[tcp_at + 12] = ((tcp_header_len / 4) as u8) << 4;
    out.extend_from_slice(payload);
    let tcp_len = out.len() - tcp_at;

    let (ip, tcp) = out[ip_at..].split_at_mut(ip_len);
    let tcp_len16 = (tcp_len as u16).to_be_bytes();
    let sum = match (seg.src, seg.dst) {
        (Host::V4(s), Host::V4(d)) => {
            let total = ((ip_len + tcp_len) as u16).to_be_bytes();
            let id = seg.ip_id.to_be_bytes();
            ip.copy_from_slice(&[
                0x45, 0, total[0], total[1], id[0], id[1], 0x40, 0, seg.ttl, 6, 0, 0, s[0], s[1],
                s[2], s[3], d[0], d[1], d[2], d[3],
            ]);
            let ip_sum = internet_checksum(&[ip]).to_be_bytes();
            ip[10..12].copy_from_slice(&ip_sum);
            tcp_checksum_v4(&s, &d, tcp)
        }
        (Host::V6(s), Host::V6(d)) => {
            ip[0] = 0x60;
            ip[4..6].copy_from_slice(&tcp_len16);
            ip[6] = 6;
            ip[7] = seg.ttl;
            ip[8..24].copy_from_slice(&s);
            ip[24..40].copy_from_slice(&d);
            tcp_checksum_v6(&s, &d, tcp)
        }
        _ => unreachable!("a segment's two hosts share an IP version"),
    };
    tcp[16..18].copy_from_slice(&sum.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use synack::wire::tcp::{ACK, SYN};

    fn seg(src: Host, dst: Host) -> Segment {
        Segment {
            src,
            dst,
            sport: 40000,
            dport: 443,
            seq: 1,
            ack: 2,
            flags: SYN | ACK,
            window: 65160,
            options: Options::Handshake {
                mss: 1460,
                wscale: 7,
            },
            ts_val: 3,
            ts_ecr: 4,
            ttl: 64,
            ip_id: 0,
        }
    }

    #[test]
    fn checksums_verify() {
        let mut f = Vec::new();
        build(
            &mut f,
            &seg(Host::V4([192, 0, 2, 1]), Host::V4([198, 51, 100, 2])),
            b"hello",
        );
        assert_eq!(f.len(), 14 + 20 + 40 + 5);
        assert_eq!(internet_checksum(&[&f[14..34]]), 0);
        let mut pseudo = f[26..34].to_vec();
        pseudo.extend_from_slice(&[0, 6, 0, 45]);
        assert_eq!(internet_checksum(&[&pseudo, &f[34..]]), 0);
    }

    #[test]
    fn ipv6_header_fields() {
        let mut f = Vec::new();
        let mut a = [0u8; 16];
        a[0] = 0x20;
        build(&mut f, &seg(Host::V6(a), Host::V6(a)), b"");
        assert_eq!(&f[12..14], &[0x86, 0xdd]);
        assert_eq!(f.len(), 14 + 40 + 40);
        assert_eq!(u16::from_be_bytes([f[18], f[19]]), 40);
    }
}
