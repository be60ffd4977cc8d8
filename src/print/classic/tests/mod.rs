//! Unit tests of the classic format, one or more per rule of
//! `../shared/docs/classic-format.md`, on packets built here.
//!
//! The expected lines come from the rules and from tcpdump 3.7.2's source
//! (`print-tcp.c`, `print-ip.c`, `print-ip6.c`, `util.c`); where the two
//! differ, the source wins and the test says so. They were also checked
//! against tcpdump 3.7.2 built from that source: run the tests with
//! `SYNACK_CLASSIC_CASES=DIR` to write every case as `DIR/NAME.N.pcap`, then
//! compare `tcpdump -n -S -t -r DIR/NAME.pcap` (and the case's other flags).

mod fuzz;
mod ip;
mod tcp;

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::print::{PrintOptions, Printer, TimeFormat};
use crate::source::{Frame, Linktype, Timestamp};
use crate::wire::{internet_checksum, tcp_checksum_v4, tcp_checksum_v6, IPPROTO_TCP};

pub(super) const SYN: u8 = 0x02;
pub(super) const FIN: u8 = 0x01;
pub(super) const RST: u8 = 0x04;
pub(super) const PSH: u8 = 0x08;
pub(super) const ACK: u8 = 0x10;
pub(super) const URG: u8 = 0x20;
pub(super) const ECE: u8 = 0x40;
pub(super) const CWR: u8 = 0x80;

/// A TCP header and payload to build.
#[derive(Clone)]
pub(super) struct Tcp {
    pub sport: u16,
    pub dport: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub win: u16,
    pub urp: u16,
    /// Option bytes, padded with zeros to a multiple of four.
    pub opts: Vec<u8>,
    pub data: Vec<u8>,
    /// Data offset in 32-bit words, when not the true one.
    pub off: Option<u8>,
    /// Checksum field, when not the correct one.
    pub csum: Option<u16>,
}

impl Default for Tcp {
    /// The textbook telnet SYN.
    fn default() -> Tcp {
        Tcp {
            sport: 1051,
            dport: 23,
            seq: 4255483971,
            ack: 0,
            flags: SYN,
            win: 65535,
            urp: 0,
            opts: vec![],
            data: vec![],
            off: None,
            csum: None,
        }
    }
}

/// The IP header fields the classic line shows.
#[derive(Clone)]
pub(super) struct Ip {
    pub src: Vec<u8>,
    pub dst: Vec<u8>,
    pub tos: u8,
    pub id: u16,
    /// Flags and fragment offset (IPv4).
    pub frag: u16,
    pub ttl: u8,
    /// IPv6 flow label word (version bits are set by the builder).
    pub flow: u32,
    /// IPv4 header checksum, when not the correct one.
    pub sum: Option<u16>,
    /// IPv4 option bytes (a multiple of four).
    pub opts: Vec<u8>,
}

impl Ip {
    pub fn v4() -> Ip {
        Ip {
            src: vec![192, 168, 1, 12],
            dst: vec![192, 168, 1, 11],
            tos: 0,
            id: 14849,
            frag: 0x4000,
            ttl: 128,
            flow: 0,
            sum: None,
            opts: vec![],
        }
    }

    pub fn v6() -> Ip {
        let mut src = vec![0x20, 0x01, 0x0d, 0xb8];
        src.extend([0; 11]);
        src.push(1);
        let mut dst = src.clone();
        dst[15] = 2;
        Ip {
            src,
            dst,
            ttl: 64,
            ..Ip::v4()
        }
    }
}

fn tcp_bytes(ip: &Ip, t: &Tcp) -> Vec<u8> {
    let mut opts = t.opts.clone();
    while opts.len() % 4 != 0 {
        opts.push(0);
    }
    let off = t.off.unwrap_or(5 + (opts.len() / 4) as u8);
    let mut b = Vec::new();
    b.extend(t.sport.to_be_bytes());
    b.extend(t.dport.to_be_bytes());
    b.extend(t.seq.to_be_bytes());
    b.extend(t.ack.to_be_bytes());
    b.push(off << 4);
    b.push(t.flags);
    b.extend(t.win.to_be_bytes());
    b.extend([0, 0]);
    b.extend(t.urp.to_be_bytes());
    b.extend(&opts);
    b.extend(&t.data);
    let sum = t.csum.unwrap_or_else(|| {
        match (ip.src.as_slice().try_into(), ip.dst.as_slice().try_into()) {
            (Ok(s), Ok(d)) => tcp_checksum_v4(&s, &d, &b),
            _ => tcp_checksum_v6(
                &ip.src.as_slice().try_into().expect("4 or 16 bytes"),
                &ip.dst.as_slice().try_into().expect("4 or 16 bytes"),
                &b,
            ),
        }
    });
    b[16..18].copy_from_slice(&sum.to_be_bytes());
    b
}

/// An IPv4 datagram carrying `t`.
pub(super) fn ipv4(ip: &Ip, t: &Tcp) -> Vec<u8> {
    let seg = tcp_bytes(ip, t);
    let hlen = 20 + ip.opts.len();
    let mut h = vec![0x40 | (hlen / 4) as u8, ip.tos];
    h.extend(((hlen + seg.len()) as u16).to_be_bytes());
    h.extend(ip.id.to_be_bytes());
    h.extend(ip.frag.to_be_bytes());
    h.extend([ip.ttl, IPPROTO_TCP, 0, 0]);
    h.extend(&ip.src);
    h.extend(&ip.dst);
    h.extend(&ip.opts);
    let sum = ip.sum.unwrap_or_else(|| internet_checksum(&[&h]));
    h[10..12].copy_from_slice(&sum.to_be_bytes());
    h.extend(seg);
    h
}

/// An IPv6 packet carrying `t`.
pub(super) fn ipv6(ip: &Ip, t: &Tcp) -> Vec<u8> {
    let seg = tcp_bytes(ip, t);
    let mut h = Vec::new();
    h.extend((0x6000_0000 | ip.flow).to_be_bytes());
    h.extend((seg.len() as u16).to_be_bytes());
    h.extend([IPPROTO_TCP, ip.ttl]);
    h.extend(&ip.src);
    h.extend(&ip.dst);
    h.extend(seg);
    h
}

/// An Ethernet frame around a network-layer packet, after optional 802.1Q
/// tags (their TCI values).
pub(super) fn ether(tags: &[u16], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![
        0, 0x0c, 0x29, 0x11, 0x22, 0x33, 0, 0x50, 0x56, 0x44, 0x55, 0x66,
    ];
    for tci in tags {
        f.extend(0x8100u16.to_be_bytes());
        f.extend(tci.to_be_bytes());
    }
    f.extend(ethertype.to_be_bytes());
    f.extend(payload);
    f
}

pub(super) fn eth4(ip: &Ip, t: &Tcp) -> Vec<u8> {
    ether(&[], 0x0800, &ipv4(ip, t))
}

pub(super) fn eth6(ip: &Ip, t: &Tcp) -> Vec<u8> {
    ether(&[], 0x86dd, &ipv6(ip, t))
}

/// One captured frame: its bytes (`keep` of them captured) and time.
#[derive(Clone)]
pub(super) struct Case {
    pub bytes: Vec<u8>,
    pub keep: usize,
    pub ts: (i64, i64),
}

impl From<Vec<u8>> for Case {
    fn from(bytes: Vec<u8>) -> Case {
        Case {
            keep: bytes.len(),
            bytes,
            ts: (1_000_000_000, 1_000),
        }
    }
}

/// `-n -S -t` and `--classic`, plus what the test changes.
pub(super) fn opts() -> PrintOptions {
    PrintOptions {
        numeric: true,
        absolute: true,
        time: TimeFormat::None,
        classic: true,
        ..PrintOptions::default()
    }
}

/// Print frames with the classic printer; one string per frame, newline
/// removed. With `SYNACK_CLASSIC_CASES` set, also write them as a pcap file
/// named after the test (see the module comment).
pub(super) fn print_named(name: &str, opts: PrintOptions, cases: &[Case]) -> Vec<String> {
    if let Some(dir) = std::env::var_os("SYNACK_CLASSIC_CASES") {
        static CALLS: AtomicUsize = AtomicUsize::new(0);
        let n = CALLS.fetch_add(1, Ordering::Relaxed);
        let path = std::path::Path::new(&dir).join(format!("{name}.{n}.pcap"));
        write_pcap(&path, cases);
    }
    let mut printer = Printer::new(opts);
    cases
        .iter()
        .map(|c| {
            let frame = Frame {
                number: 1,
                ts: Timestamp::new(c.ts.0, c.ts.1 * 1000),
                len: c.bytes.len() as u32,
                linktype: Linktype::ETHERNET,
                data: &c.bytes[..c.keep],
                offset: 0,
            };
            let mut out = Vec::new();
            printer.print(&frame, &mut out);
            let s = String::from_utf8(out).expect("classic lines are ASCII");
            s.strip_suffix('\n')
                .expect("one line per frame")
                .to_string()
        })
        .collect()
}

/// One frame, `-n -S -t`.
pub(super) fn line(name: &str, frame: impl Into<Case>) -> String {
    print_named(name, opts(), &[frame.into()]).remove(0)
}

fn write_pcap(path: &std::path::Path, cases: &[Case]) {
    let mut f = Vec::new();
    f.extend(0xa1b2c3d4u32.to_le_bytes());
    f.extend(2u16.to_le_bytes());
    f.extend(4u16.to_le_bytes());
    f.extend([0; 8]);
    f.extend(65535u32.to_le_bytes());
    f.extend(1u32.to_le_bytes());
    for c in cases {
        f.extend((c.ts.0 as u32).to_le_bytes());
        f.extend((c.ts.1 as u32).to_le_bytes());
        f.extend((c.keep as u32).to_le_bytes());
        f.extend((c.bytes.len() as u32).to_le_bytes());
        f.extend(&c.bytes[..c.keep]);
    }
    std::fs::write(path, f).expect("write case pcap");
}
