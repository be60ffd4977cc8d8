//! Bounded memory (handshakes.md §8): one million SYNs from distinct ports,
//! never answered, must run in bounded memory and still report every attempt.
//!
//! It measures the peak RSS of synack with `/usr/bin/time -v` and takes about
//! ten seconds in a release build; to see the numbers:
//!
//! ```sh
//! cargo test --release --test handshakes_memory -- --nocapture
//! ```

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

const SYNS: u32 = 1_000_000;

fn checksum(parts: &[&[u8]]) -> u16 {
    let mut sum: u32 = 0;
    for p in parts {
        for c in p.chunks(2) {
            let w = if c.len() == 2 {
                u16::from_be_bytes([c[0], c[1]])
            } else {
                u16::from_be_bytes([c[0], 0])
            };
            sum += u32::from(w);
        }
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// A pcap of `n` SYNs from distinct (address, port) pairs to 10.255.0.1:80,
/// one microsecond apart.
fn write_syn_flood(path: &std::path::Path, n: u32) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    // pcap header: magic, v2.4, zone, sigfigs, snaplen, Ethernet.
    let mut h = Vec::new();
    h.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    h.extend_from_slice(&2u16.to_le_bytes());
    h.extend_from_slice(&4u16.to_le_bytes());
    h.extend_from_slice(&0i32.to_le_bytes());
    h.extend_from_slice(&0u32.to_le_bytes());
    h.extend_from_slice(&65535u32.to_le_bytes());
    h.extend_from_slice(&1u32.to_le_bytes());
    f.write_all(&h).unwrap();
    let dst = [10u8, 255, 0, 1];
    for i in 0..n {
        let src = [10u8, 1, (i / 60_000 / 256) as u8, (i / 60_000 % 256) as u8];
        let sport = 1024 + (i % 60_000) as u16;
        let mut ip = [0u8; 20];
        ip[0] = 0x45;
        ip[2..4].copy_from_slice(&40u16.to_be_bytes());
        ip[8] = 64;
        ip[9] = 6;
        ip[12..16].copy_from_slice(&src);
        ip[16..20].copy_from_slice(&dst);
        let c = checksum(&[&ip]);
        ip[10..12].copy_from_slice(&c.to_be_bytes());
        let mut tcp = [0u8; 20];
        tcp[0..2].copy_from_slice(&sport.to_be_bytes());
        tcp[2..4].copy_from_slice(&80u16.to_be_bytes());
        tcp[4..8].copy_from_slice(&(0x1000_0000u32 + i * 7919).to_be_bytes());
        tcp[12] = 0x50;
        tcp[13] = 0x02;
        tcp[14..16].copy_from_slice(&64240u16.to_be_bytes());
        let mut pseudo = [0u8; 12];
        pseudo[0..4].copy_from_slice(&src);
        pseudo[4..8].copy_from_slice(&dst);
        pseudo[9] = 6;
        pseudo[10..12].copy_from_slice(&20u16.to_be_bytes());
        let c = checksum(&[&pseudo, &tcp]);
        tcp[16..18].copy_from_slice(&c.to_be_bytes());
        let mut eth = [0u8; 14];
        eth[0..6].copy_from_slice(&[2, 0, 0, 0, 0, 2]);
        eth[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 1]);
        eth[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
        let usec = 1_000_000u64 + u64::from(i);
        let mut rec = Vec::with_capacity(16);
        rec.extend_from_slice(&(1_700_000_000u32 + (usec / 1_000_000) as u32).to_le_bytes());
        rec.extend_from_slice(&((usec % 1_000_000) as u32).to_le_bytes());
        rec.extend_from_slice(&54u32.to_le_bytes());
        rec.extend_from_slice(&54u32.to_le_bytes());
        f.write_all(&rec).unwrap();
        f.write_all(&eth).unwrap();
        f.write_all(&ip).unwrap();
        f.write_all(&tcp).unwrap();
    }
    f.flush().unwrap();
}

#[test]
fn a_million_unanswered_syns_run_in_bounded_memory_and_are_all_reported() {
    let dir = std::env::temp_dir().join(format!("synack-memory-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pcap = dir.join("million-syns.pcap");
    write_syn_flood(&pcap, SYNS);
    let stats = dir.join("time.txt");

    let mut child = Command::new("/usr/bin/time")
        .arg("-v")
        .arg("-o")
        .arg(&stats)
        .arg(env!("CARGO_BIN_EXE_synack"))
        .args(["handshakes", "--format", "csv", "-r"])
        .arg(&pcap)
        .stdout(Stdio::piped())
        .spawn()
        .expect("/usr/bin/time");
    let mut rows = 0u64;
    let mut unanswered = 0u64;
    let mut seen_ports = std::collections::HashSet::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if rows == 0 && line.starts_with("id,") {
            rows = 1;
            continue;
        }
        rows += 1;
        let f: Vec<&str> = line.split(',').collect();
        if f[7] == "unanswered" {
            unanswered += 1;
        }
        seen_ports.insert((f[3].to_string(), f[4].parse::<u16>().unwrap()));
    }
    assert!(child.wait().unwrap().success());
    let report = std::fs::read_to_string(&stats).unwrap();
    let rss_kb: u64 = report
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .expect("peak RSS")
        .parse()
        .unwrap();
    let wall = report
        .lines()
        .find(|l| l.contains("Elapsed (wall clock)"))
        .unwrap_or("")
        .trim()
        .to_string();
    println!("{SYNS} SYNs: peak RSS {} MB, {wall}", rss_kb / 1024);
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(rows - 1, u64::from(SYNS), "one row per attempt");
    assert_eq!(unanswered, u64::from(SYNS), "every attempt unanswered");
    assert_eq!(seen_ports.len(), SYNS as usize, "each attempt once");
    assert!(rss_kb < 256 * 1024, "peak RSS {rss_kb} kB");
}
