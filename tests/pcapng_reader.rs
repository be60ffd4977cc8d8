//! pcapng as it appears in the wild: several interfaces with their own link
//! types and clock resolutions, both byte orders, several sections, simple and
//! obsolete packet blocks, and blocks synack does not know. The oracle is
//! tcpdump reading the same packets from plain pcap files, one per link type.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::pcapng::Ng;
use common::{corpus, synack};

/// The three packets of the seed handshake (Ethernet frames) with their times.
fn seed_packets() -> Vec<(u32, u32, Vec<u8>)> {
    let d = std::fs::read(corpus().join("captures/seed-telnet-handshake.pcap")).unwrap();
    let mut v = Vec::new();
    let mut o = 24;
    while o + 16 <= d.len() {
        let rd = |i: usize| u32::from_le_bytes(d[o + i..o + i + 4].try_into().unwrap());
        let (sec, usec, caplen) = (rd(0), rd(4), rd(8) as usize);
        v.push((sec, usec, d[o + 16..o + 16 + caplen].to_vec()));
        o += 16 + caplen;
    }
    assert_eq!(v.len(), 3);
    v
}

/// A plain pcap with one link type: what tcpdump reads as the oracle.
fn pcap(path: &Path, linktype: u32, packets: &[(u32, u32, &[u8])]) {
    let mut out = Vec::new();
    for v in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 65535, linktype] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.truncate(24);
    out[4..8].copy_from_slice(&[2, 0, 4, 0]);
    out[16..20].copy_from_slice(&65535u32.to_le_bytes());
    out[20..24].copy_from_slice(&linktype.to_le_bytes());
    for (sec, usec, data) in packets {
        for v in [*sec, *usec, data.len() as u32, data.len() as u32] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(data);
    }
    std::fs::write(path, out).unwrap();
}

fn lines(cmd: &mut Command) -> Vec<String> {
    let out = cmd.env("TZ", "UTC").output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

fn tcpdump(path: &Path) -> Vec<String> {
    lines(Command::new("tcpdump").args(["-n", "-tt", "-r"]).arg(path))
}

fn ours(path: &Path) -> Vec<String> {
    lines(synack().args(["-n", "-tt", "-r"]).arg(path))
}

fn dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("synack-pcapng-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn interfaces_with_their_own_link_types_and_clocks_in_both_byte_orders() {
    let d = dir("multi");
    let p = seed_packets();
    // The second and third packets without their Ethernet header (raw IP).
    let raw1 = &p[1].2[14..];
    let raw2 = &p[2].2[14..];
    for big in [false, true] {
        let mut ng = Ng::new(big);
        ng.section();
        ng.interface(1, None); // Ethernet, microseconds
        ng.interface(101, Some(9)); // raw IP, nanoseconds
        ng.block(0x0000_0bad, b"a block synack does not know");
        ng.block(4, &[0, 0, 0, 0]); // an empty name resolution block
        ng.enhanced(0, p[0].0 as u64 * 1_000_000 + p[0].1 as u64, &p[0].2);
        ng.enhanced(
            1,
            p[1].0 as u64 * 1_000_000_000 + p[1].1 as u64 * 1000 + 789,
            raw1,
        );
        ng.obsolete(
            1,
            p[2].0 as u64 * 1_000_000_000 + p[2].1 as u64 * 1000,
            raw2,
        );
        ng.simple(&p[0].2);
        // A second section starts afresh: its interface 0 is raw IP.
        ng.section();
        ng.interface(101, None);
        ng.enhanced(0, p[2].0 as u64 * 1_000_000 + p[2].1 as u64, raw2);
        let file = d.join(format!("multi-{big}.pcapng"));
        std::fs::write(&file, &ng.out).unwrap();

        let eth = d.join("eth.pcap");
        pcap(&eth, 1, &[(p[0].0, p[0].1, &p[0].2), (0, 0, &p[0].2)]);
        let raw = d.join("raw.pcap");
        pcap(
            &raw,
            101,
            &[
                (p[1].0, p[1].1, raw1),
                (p[2].0, p[2].1, raw2),
                (p[2].0, p[2].1, raw2),
            ],
        );
        let (e, r) = (tcpdump(&eth), tcpdump(&raw));
        // File order: eth[0], raw[0], raw[1], eth[1] (the simple block), raw[2].
        let expected = vec![
            e[0].clone(),
            r[0].clone(),
            r[1].clone(),
            e[1].clone(),
            r[2].clone(),
        ];
        assert_eq!(ours(&file), expected, "big-endian sections: {big}");
    }
    std::fs::remove_dir_all(&d).unwrap();
}
