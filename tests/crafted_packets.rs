//! Packets the corpus does not hold, built by the test and printed by both
//! tcpdump and synack: every link type synack reads, IPv4 options and
//! fragments, IPv6 extension headers, odd TCP options, and cuts at every
//! length. tcpdump's output on the same file is the oracle.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{compare, synack, tcp_lines};

fn csum(parts: &[&[u8]]) -> u16 {
    let mut all = Vec::new();
    for p in parts {
        all.extend_from_slice(p);
    }
    if all.len() % 2 == 1 {
        all.push(0);
    }
    let mut s: u32 = all
        .chunks(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]) as u32)
        .sum();
    while s >> 16 != 0 {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

/// A TCP header with options and payload; checksum filled for the given
/// pseudo-header addresses.
fn tcp(
    flags: u8,
    seq: u32,
    ack: u32,
    opts: &[u8],
    payload: &[u8],
    src: &[u8],
    dst: &[u8],
) -> Vec<u8> {
    let mut o = opts.to_vec();
    while o.len() % 4 != 0 {
        o.push(0);
    }
    let mut t = Vec::new();
    t.extend_from_slice(&40123u16.to_be_bytes());
    t.extend_from_slice(&80u16.to_be_bytes());
    t.extend_from_slice(&seq.to_be_bytes());
    t.extend_from_slice(&ack.to_be_bytes());
    t.push((((20 + o.len()) / 4) as u8) << 4);
    t.push(flags);
    t.extend_from_slice(&[0x72, 0x10, 0, 0, 0, 0]);
    t.extend_from_slice(&o);
    t.extend_from_slice(payload);
    let len = (t.len() as u16).to_be_bytes();
    let sum = if src.len() == 4 {
        csum(&[src, dst, &[0, 6], &len, &t])
    } else {
        csum(&[src, dst, &[0, 0], &len, &[0, 0, 0, 6], &t])
    };
    t[16..18].copy_from_slice(&sum.to_be_bytes());
    t
}

const SRC4: [u8; 4] = [192, 0, 2, 1];
const DST4: [u8; 4] = [198, 51, 100, 7];

fn ipv4(opts: &[u8], frag: u16, id: u16, tos: u8, ttl: u8, body: &[u8]) -> Vec<u8> {
    let hl = 20 + opts.len();
    let mut h = vec![0x40 | (hl / 4) as u8, tos];
    h.extend_from_slice(&((hl + body.len()) as u16).to_be_bytes());
    h.extend_from_slice(&id.to_be_bytes());
    h.extend_from_slice(&frag.to_be_bytes());
    h.extend_from_slice(&[ttl, 6, 0, 0]);
    h.extend_from_slice(&SRC4);
    h.extend_from_slice(&DST4);
    h.extend_from_slice(opts);
    let s = csum(&[&h]);
    h[10..12].copy_from_slice(&s.to_be_bytes());
    h.extend_from_slice(body);
    h
}

fn src6() -> [u8; 16] {
    let mut a = [0u8; 16];
    a[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
    a[15] = 1;
    a
}

fn dst6() -> [u8; 16] {
    let mut a = src6();
    a[15] = 2;
    a
}

/// IPv6 with extension headers given as (type, bytes after next-header byte).
fn ipv6(exts: &[(u8, Vec<u8>)], body: &[u8], flow: u32) -> Vec<u8> {
    let mut chain = Vec::new();
    let first = exts.first().map_or(6, |e| e.0);
    for (i, (_, b)) in exts.iter().enumerate() {
        let next = exts.get(i + 1).map_or(6, |e| e.0);
        chain.push(next);
        chain.extend_from_slice(b);
    }
    chain.extend_from_slice(body);
    let mut h = (0x6000_0000u32 | flow).to_be_bytes().to_vec();
    h.extend_from_slice(&(chain.len() as u16).to_be_bytes());
    h.extend_from_slice(&[first, 64]);
    h.extend_from_slice(&src6());
    h.extend_from_slice(&dst6());
    h.extend_from_slice(&chain);
    h
}

fn ether(t: u16, body: &[u8]) -> Vec<u8> {
    let mut f = vec![
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb,
    ];
    f.extend_from_slice(&t.to_be_bytes());
    f.extend_from_slice(body);
    f
}

fn write_pcap(path: &Path, linktype: u32, frames: &[Vec<u8>], wire_extra: u32) {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&[2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    out.extend_from_slice(&262_144u32.to_le_bytes());
    out.extend_from_slice(&linktype.to_le_bytes());
    for (i, f) in frames.iter().enumerate() {
        for v in [
            1_700_000_000 + i as u32,
            (i as u32 * 1111) % 1_000_000,
            f.len() as u32,
            f.len() as u32 + wire_extra,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(f);
    }
    std::fs::write(path, out).unwrap();
}

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("synack-crafted-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

const MODES: &[&[&str]] = &[
    &["-n", "-S", "-t"],
    &["-n"],
    &["-n", "-S", "-t", "-v"],
    &["-n", "-S", "-t", "-e"],
    &["-n", "-t", "-vv"],
    &["-t"],
];

/// tcpdump and synack print the same TCP lines for this file in every mode;
/// returns how many lines were compared.
fn same_as_tcpdump(path: &Path) -> usize {
    let mut n = 0;
    for mode in MODES {
        let mut args = mode.to_vec();
        args.extend(["-r", path.to_str().unwrap()]);
        let t = Command::new("tcpdump")
            .args(&args)
            .env("TZ", "UTC")
            .output()
            .expect("tcpdump must be installed");
        let s = synack().args(&args).output().unwrap();
        assert_eq!(s.status.code(), t.status.code(), "{path:?} {mode:?}");
        let (exp, act) = (
            String::from_utf8_lossy(&t.stdout),
            String::from_utf8_lossy(&s.stdout),
        );
        let (pass, fail, diffs) = compare(&tcp_lines(&exp), &tcp_lines(&act));
        assert_eq!(fail, 0, "{path:?} {mode:?}\n{}", diffs.join("\n"));
        n += pass;
    }
    n
}

fn handshake_v4() -> Vec<Vec<u8>> {
    let syn_opts = [
        2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7,
    ];
    vec![
        ipv4(
            &[],
            0x4000,
            1,
            0,
            64,
            &tcp(0x02, 1000, 0, &syn_opts, b"", &SRC4, &DST4),
        ),
        ipv4(
            &[],
            0x4000,
            0,
            0,
            64,
            &tcp(0x12, 5000, 1001, &syn_opts, b"", &DST4, &SRC4),
        ),
        ipv4(
            &[],
            0x4000,
            2,
            0,
            64,
            &tcp(0x10, 1001, 5001, &[], b"", &SRC4, &DST4),
        ),
        ipv4(
            &[],
            0x4000,
            3,
            2,
            64,
            &tcp(
                0x18,
                1001,
                5001,
                &[],
                b"GET / HTTP/1.0\r\n\r\n",
                &SRC4,
                &DST4,
            ),
        ),
    ]
}

#[test]
fn every_link_type_prints_as_tcpdump_prints_it() {
    let packets = handshake_v4();
    let cases: Vec<(&str, u32, Vec<Vec<u8>>)> = vec![
        (
            "ethernet",
            1,
            packets.iter().map(|p| ether(0x0800, p)).collect(),
        ),
        ("raw", 101, packets.clone()),
        ("ipv4", 228, packets.clone()),
        (
            "null",
            0,
            packets
                .iter()
                .map(|p| [&2u32.to_ne_bytes()[..], p].concat())
                .collect(),
        ),
        (
            "loop",
            108,
            packets
                .iter()
                .map(|p| [&2u32.to_be_bytes()[..], p].concat())
                .collect(),
        ),
        (
            "ppp",
            9,
            packets
                .iter()
                .map(|p| [&[0xff, 0x03, 0x00, 0x21][..], p].concat())
                .collect(),
        ),
        (
            "sll",
            113,
            packets
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let mut h = vec![0, if i % 2 == 0 { 4 } else { 0 }, 0, 1, 0, 6];
                    h.extend_from_slice(&[2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00]);
                    [&h[..], p].concat()
                })
                .collect(),
        ),
        (
            "llc-snap",
            1,
            packets
                .iter()
                .map(|p| {
                    let mut llc = vec![0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00];
                    llc.extend_from_slice(p);
                    ether(llc.len() as u16, &llc)
                })
                .collect(),
        ),
    ];
    for (name, lt, frames) in cases {
        let path = temp(&format!("link-{name}.pcap"));
        write_pcap(&path, lt, &frames, 0);
        let n = same_as_tcpdump(&path);
        assert!(n >= frames.len() * MODES.len(), "{name}: {n} lines");
    }
}

#[test]
fn ipv4_options_fragments_and_ecn_print_as_tcpdump_prints_them() {
    let seg = tcp(0x18, 1, 2, &[], &[b'x'; 64], &SRC4, &DST4);
    let rr = [7, 11, 4, 10, 0, 0, 1, 0, 0, 0, 0, 1];
    let ts = [68, 12, 5, 1, 10, 0, 0, 1, 0, 0, 0, 9];
    let lsrr = [0x83, 7, 4, 203, 0, 113, 5, 1];
    // A route pointer of 0: C's unsigned `ptr + 1` wraps to a bad pointer.
    let rr_pointer_0 = [7, 11, 0, 10, 0, 0, 1, 0, 0, 0, 0, 1];
    let frames = vec![
        ipv4(&rr, 0, 10, 0, 64, &seg),
        ipv4(&rr_pointer_0, 0, 10, 0, 64, &seg),
        ipv4(&ts, 0, 11, 0x03, 1, &seg),
        ipv4(&lsrr, 0, 12, 0xb9, 0, &seg),
        ipv4(&[148, 4, 0, 0], 0x8000, 13, 0x01, 255, &seg),
        // First fragment holding the TCP header, then a later fragment.
        ipv4(&[], 0x2000, 14, 0, 64, &seg[..40]),
        ipv4(&[], 5, 14, 0, 64, &seg[40..]),
        // Bad header checksum and a header length below 20.
        {
            let mut p = ipv4(&[], 0x4000, 15, 0, 64, &seg);
            p[10] ^= 0xff;
            p
        },
        {
            let mut p = ipv4(&[], 0x4000, 16, 0, 64, &seg);
            p[0] = 0x44;
            p
        },
    ];
    let path = temp("ipv4.pcap");
    write_pcap(&path, 101, &frames, 0);
    same_as_tcpdump(&path);
}

#[test]
fn ipv6_extension_headers_print_as_tcpdump_prints_them() {
    let (s, d) = (src6(), dst6());
    let seg = tcp(0x02, 7, 0, &[2, 4, 5, 0xa0], b"", &s, &d);
    let data = tcp(0x18, 8, 9, &[], b"hello", &s, &d);
    let pad = vec![0, 1, 4, 0, 0, 0, 0];
    let rt0 = {
        let mut r = vec![2, 0, 1, 0, 0, 0, 0];
        r.extend_from_slice(&d);
        r
    };
    let frames = vec![
        ipv6(&[], &seg, 0x12345),
        ipv6(&[(0, pad.clone())], &seg, 0),
        ipv6(&[(60, pad.clone())], &data, 0),
        ipv6(&[(0, pad.clone()), (60, pad.clone())], &data, 0),
        ipv6(&[(43, rt0)], &data, 0),
        ipv6(&[(44, vec![0, 0, 1, 0, 0, 0, 42])], &data, 0),
        ipv6(&[(44, vec![0, 0, 0x11, 0, 0, 0, 42])], &data[..8], 0),
        {
            // A traffic class with ECN CE, and a hop limit of 1.
            let mut p = ipv6(&[], &data, 0);
            p[0] = 0x60 | 0x0b;
            p[1] = 0x80;
            p[7] = 1;
            p
        },
    ];
    let path = temp("ipv6.pcap");
    write_pcap(&path, 229, &frames, 0);
    same_as_tcpdump(&path);
    let path = temp("ipv6-eth.pcap");
    let eth: Vec<_> = frames.iter().map(|f| ether(0x86dd, f)).collect();
    write_pcap(&path, 1, &eth, 0);
    same_as_tcpdump(&path);
}

#[test]
fn unusual_tcp_options_print_as_tcpdump_prints_them() {
    let opt_sets: Vec<Vec<u8>> = vec![
        vec![34, 2],                                      // tfo cookie request
        vec![34, 10, 1, 2, 3, 4, 5, 6, 7, 8],             // tfo cookie
        vec![254, 4, 0xf9, 0x89],                         // experimental tfo request
        vec![254, 8, 0xf9, 0x89, 9, 9, 9, 9],             // experimental tfo cookie
        vec![254, 6, 0x12, 0x34, 0, 0],                   // other experiment
        vec![30, 12, 0x00, 0x81, 1, 2, 3, 4, 5, 6, 7, 8], // mptcp capable v0 csum
        vec![30, 4, 0x01, 0x01],                          // mptcp capable v1
        vec![29, 4, 1, 2],                                // tcp-ao without mac
        vec![29, 8, 1, 2, 3, 4, 5, 6],                    // tcp-ao with mac
        vec![
            19, 18, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
        ], // md5
        vec![28, 4, 0x80, 0x0b],                          // user timeout
        vec![20, 4, 0xaa, 7],                             // scps
        vec![5, 10, 0, 0, 0, 1, 0, 0, 0, 9],              // sack with a block
        vec![5, 7, 0, 0, 0, 1, 0],                        // invalid sack
        vec![6, 6, 0, 0, 0, 5, 7, 6, 0, 0, 0, 6],         // echo, echoreply
        vec![11, 6, 0, 0, 0, 1, 12, 6, 0, 0, 0, 2, 13, 6, 0, 0, 0, 3], // cc
        vec![2, 3, 5, 1],                                 // mss with a wrong length
        vec![4, 3, 0],                                    // sackOK with a wrong length
        vec![99, 5, 1, 2, 3],                             // unknown
        vec![1, 1, 0, 2, 4],                              // nop, nop, eol, junk
        vec![2, 0],                                       // zero length: bad opt
        vec![8, 40],                                      // beyond the header
    ];
    let frames: Vec<Vec<u8>> = opt_sets
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let flags = if i % 3 == 0 { 0x02 } else { 0x10 };
            ether(
                0x0800,
                &ipv4(
                    &[],
                    0x4000,
                    i as u16,
                    0,
                    64,
                    &tcp(flags, 100, 200, o, b"", &SRC4, &DST4),
                ),
            )
        })
        .collect();
    let path = temp("options.pcap");
    write_pcap(&path, 1, &frames, 0);
    same_as_tcpdump(&path);
}

#[test]
fn every_cut_of_a_segment_prints_as_tcpdump_prints_it() {
    // The same data segment with options, captured to every possible length,
    // and claimed longer on the wire.
    let opts = [
        1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 8, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2,
    ];
    let full = ether(
        0x0800,
        &ipv4(
            &[],
            0x4000,
            9,
            0,
            64,
            &tcp(0x18, 5, 6, &opts, b"payload!", &SRC4, &DST4),
        ),
    );
    let v6 = ether(
        0x86dd,
        &ipv6(
            &[(0, vec![0, 1, 4, 0, 0, 0, 0])],
            &tcp(0x11, 5, 6, &opts, b"x", &src6(), &dst6()),
            0,
        ),
    );
    for (name, f) in [("cut4", full), ("cut6", v6)] {
        let frames: Vec<Vec<u8>> = (1..=f.len()).map(|n| f[..n].to_vec()).collect();
        let path = temp(&format!("{name}.pcap"));
        write_pcap(&path, 1, &frames, 3);
        same_as_tcpdump(&path);
    }
}

/// A segment from `tcp` moved to other ports, its checksum made right again.
fn on_ports(mut t: Vec<u8>, sport: u16, dport: u16) -> Vec<u8> {
    t[0..2].copy_from_slice(&sport.to_be_bytes());
    t[2..4].copy_from_slice(&dport.to_be_bytes());
    t[16..18].fill(0);
    let len = (t.len() as u16).to_be_bytes();
    let sum = csum(&[&SRC4, &DST4, &[0, 6], &len, &t]);
    t[16..18].copy_from_slice(&sum.to_be_bytes());
    t
}

#[test]
fn packet_bytes_print_escaped_as_tcpdump_escapes_them() {
    // Every byte value in the places a line shows packet bytes: RST data
    // (printed with -v) and Redis text. The whole output, suffixes included,
    // must be tcpdump's, and nothing but printable ASCII may reach the
    // terminal.
    let every: Vec<u8> = (0..=255).collect();
    let mut resp = b"+".to_vec();
    resp.extend_from_slice(&every);
    resp.extend_from_slice(b"\r\n");
    let mut bulk = b"$256\r\n".to_vec();
    bulk.extend_from_slice(&every);
    bulk.extend_from_slice(b"\r\n");
    let frames: Vec<Vec<u8>> = [
        on_ports(tcp(0x04, 7, 0, &[], &every, &SRC4, &DST4), 40123, 5000),
        on_ports(
            tcp(0x14, 7, 9, &[], &every[128..], &SRC4, &DST4),
            40123,
            5000,
        ),
        on_ports(tcp(0x18, 7, 9, &[], &resp, &SRC4, &DST4), 40123, 6379),
        on_ports(tcp(0x18, 7, 9, &[], &bulk, &SRC4, &DST4), 40123, 6379),
    ]
    .iter()
    .map(|t| ether(0x0800, &ipv4(&[], 0x4000, 1, 0, 64, t)))
    .collect();
    let path = temp("every-byte.pcap");
    write_pcap(&path, 1, &frames, 0);
    for mode in [
        &["-n", "-S", "-t"][..],
        &["-n", "-t", "-v"],
        &["-n", "-t", "-vv", "-e"],
    ] {
        let mut args = mode.to_vec();
        args.extend(["-r", path.to_str().unwrap()]);
        let theirs = Command::new("tcpdump")
            .args(&args)
            .env("TZ", "UTC")
            .output()
            .expect("tcpdump must be installed");
        let ours = synack().args(&args).output().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&ours.stdout),
            String::from_utf8_lossy(&theirs.stdout),
            "{mode:?}"
        );
        assert!(
            ours.stdout
                .iter()
                .all(|&b| b == b'\n' || (b' '..=b'~').contains(&b)),
            "{mode:?}: a raw byte printed"
        );
        let text = String::from_utf8_lossy(&ours.stdout);
        assert!(
            text.contains("^@^A^B"),
            "{mode:?}: control bytes escaped\n{text}"
        );
        assert!(
            text.contains("~^?M-^@M-^A"),
            "{mode:?}: DEL and high bytes escaped\n{text}"
        );
    }
}
