//! The tracker under attack (handshakes.md §8): a SYN flood from random
//! tuples with colliding ISNs, out of time order and in bursts sharing one
//! time stamp, and a RST storm, all interleaved with ordinary connections
//! that each also receive forged RSTs. With a small `--max-live`, the state
//! stays within the cap (evictions counted) and memory stays bounded, and
//! every ordinary connection comes out as it does from a capture that holds
//! it alone: `established`, with the counts the test sent.
//!
//! To see the measurements:
//! `cargo test --release --test tracker_attacks -- --nocapture`

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use common::packets::{PcapWriter, Seg, ACK, FIN, PSH, RST, SYN};

const MAX_LIVE: usize = 20_000;
const FLOOD_SYNS: u64 = 100_000;
const STORM_RSTS: u64 = 20_000;
const CONNECTIONS: u32 = 40;
/// Forged RSTs, far outside the window, sent into each ordinary connection.
const FORGED_RSTS: u32 = 3;
const START_US: u64 = 1_700_000_000_000_000;
const SPAN_US: u64 = 60_000_000;
const SERVER: [u8; 4] = [198, 51, 100, 1];

/// xorshift64*: the attack's randomness, the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// (file order, time stamp, frame) of one ordinary connection `i`, starting
/// at `t` microseconds.
fn connection(i: u32, t: u64) -> Vec<(u64, u64, Vec<u8>)> {
    let client = [192, 0, 2, 1 + i as u8];
    let (x, y) = (0x1000_0000 + i * 7919, 0x7000_0000 + i * 104_729);
    let (up, down) = (100 + i as usize, 1000 + i as usize);
    let c = |flags, seq, ack, payload| Seg {
        src: client,
        dst: SERVER,
        sport: 50_000 + i as u16,
        dport: 443,
        flags,
        seq,
        ack,
        payload,
    };
    let s = |flags, seq, ack, payload| Seg {
        src: SERVER,
        dst: client,
        sport: 443,
        dport: 50_000 + i as u16,
        flags,
        seq,
        ack,
        payload,
    };
    let x1 = x.wrapping_add(1);
    let y1 = y.wrapping_add(1);
    let (xe, ye) = (x1.wrapping_add(up as u32), y1.wrapping_add(down as u32));
    let mut segs = vec![
        c(SYN, x, 0, 0),
        s(SYN | ACK, y, x1, 0),
        c(ACK, x1, y1, 0),
        c(PSH | ACK, x1, y1, up),
        s(PSH | ACK, y1, xe, down),
        c(ACK, xe, ye, 0),
    ];
    for k in 0..FORGED_RSTS {
        // Forged by a third party: half a sequence space away from the window.
        segs.push(s(RST, ye.wrapping_add(0x8000_0000 + k), 0, 0));
    }
    segs.extend([
        c(FIN | ACK, xe, ye, 0),
        s(FIN | ACK, ye, xe.wrapping_add(1), 0),
        c(ACK, xe.wrapping_add(1), ye.wrapping_add(1), 0),
    ]);
    segs.iter()
        .enumerate()
        .map(|(k, seg)| (t + k as u64 * 1000, t + k as u64 * 1000, seg.frame()))
        .collect()
}

/// The attack: flood SYNs and storm RSTs, each with its file order and its
/// time stamp (every seventh SYN stamped 20 s early, bursts of ten sharing
/// one stamp).
fn attack() -> Vec<(u64, u64, Vec<u8>)> {
    let mut rng = Rng(0x5eed);
    let mut out = Vec::new();
    for n in 0..FLOOD_SYNS {
        let at = START_US + n * SPAN_US / FLOOD_SYNS;
        let stamp = if n % 7 == 0 {
            at - 20_000_000
        } else {
            START_US + (n - n % 10) * SPAN_US / FLOOD_SYNS
        };
        let r = rng.next();
        let seg = Seg {
            src: [10, (r >> 8) as u8, (r >> 16) as u8, (r >> 24) as u8],
            dst: SERVER,
            sport: 1024 + (r >> 32) as u16 % 60_000,
            dport: 80,
            flags: SYN,
            // Four ISNs shared by the whole flood.
            seq: 0xdead_0000 + (r >> 60) as u32 % 4,
            ack: 0,
            payload: 0,
        };
        out.push((at, stamp, seg.frame()));
    }
    for n in 0..STORM_RSTS {
        let at = START_US + n * SPAN_US / STORM_RSTS + 17;
        let r = rng.next();
        let seg = Seg {
            src: [10, 200, (r >> 8) as u8, (r >> 16) as u8],
            dst: SERVER,
            sport: (r >> 24) as u16,
            dport: if r & 1 == 0 { 80 } else { 443 },
            flags: if r & 2 == 0 { RST } else { RST | ACK },
            seq: (r >> 32) as u32,
            ack: r as u32,
            payload: 0,
        };
        out.push((at, at, seg.frame()));
    }
    out
}

fn ordinary() -> Vec<(u64, u64, Vec<u8>)> {
    (0..CONNECTIONS)
        .flat_map(|i| connection(i, START_US + 500_000 + u64::from(i) * 1_400_000))
        .collect()
}

fn write(path: &Path, mut packets: Vec<(u64, u64, Vec<u8>)>) {
    packets.sort_by_key(|p| p.0);
    let file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut w = PcapWriter::new(file);
    for (_, stamp, frame) in &packets {
        w.write(*stamp, frame);
    }
    w.finish();
}

/// The records of the ordinary connections, by client port, without what
/// depends on the rest of the capture (numbering, frame numbers, per-window
/// heuristics, why the record left the tracker).
fn ordinary_records(path: &Path) -> HashMap<u64, serde_json::Value> {
    let mut by_port = HashMap::new();
    let max_live = MAX_LIVE.to_string();
    for mut r in common::handshakes_jsonl(path, &["--max-live", &max_live]) {
        if r["server_port"] != 443 || !r["client"].as_str().unwrap().starts_with("192.0.2.") {
            continue;
        }
        let port = r["client_port"].as_u64().unwrap();
        for field in ["id", "first_frame", "heuristics", "end_reason"] {
            r.as_object_mut().unwrap().remove(field);
        }
        for event in r["events"].as_array_mut().unwrap() {
            event.as_object_mut().unwrap().remove("frame");
        }
        assert!(
            by_port.insert(port, r).is_none(),
            "one record for client port {port}"
        );
    }
    by_port
}

#[test]
fn ordinary_connections_keep_their_verdicts_through_floods_and_storms() {
    let dir = std::env::temp_dir().join(format!("synack-attacks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (alone, attacked) = (dir.join("alone.pcap"), dir.join("attacked.pcap"));
    write(&alone, ordinary());
    let mut all = ordinary();
    all.extend(attack());
    write(&attacked, all);

    // The summary, with the tracker's counters, under /usr/bin/time.
    let stats = dir.join("time.txt");
    let out = Command::new("/usr/bin/time")
        .args(["-v", "-o"])
        .arg(&stats)
        .arg(env!("CARGO_BIN_EXE_synack"))
        .args([
            "handshakes",
            "--summary",
            "--max-live",
            &MAX_LIVE.to_string(),
            "-r",
        ])
        .arg(&attacked)
        .output()
        .expect("/usr/bin/time (apt-get install time)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = String::from_utf8(out.stdout).unwrap();
    let counter = |after: &str| -> u64 {
        let at = summary
            .find(after)
            .unwrap_or_else(|| panic!("{after} in {summary}"));
        summary[..at]
            .split_whitespace()
            .last()
            .unwrap()
            .parse()
            .unwrap()
    };
    let (evicted, flushed, frames) = (
        counter(" evicted"),
        counter(" flushed early"),
        counter(" frames"),
    );
    let peak: u64 = summary
        .split("at most ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("at most N live");
    let report = std::fs::read_to_string(&stats).unwrap();
    let rss_kb: u64 = report
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|v| v.parse().ok())
        .expect("peak RSS");
    println!(
        "{frames} frames: at most {peak} live (cap {MAX_LIVE}), {evicted} evicted, {flushed} flushed early, peak RSS {} MB",
        rss_kb / 1024
    );
    let packets = FLOOD_SYNS + STORM_RSTS + u64::from(CONNECTIONS) * (9 + u64::from(FORGED_RSTS));
    assert_eq!(frames, packets);
    assert_eq!(
        peak, MAX_LIVE as u64,
        "the flood fills the table to its cap, no further"
    );
    // No flood SYN is answered, and only the seventh stamped 20 s early can
    // reach its 60 s handshake timeout before the capture ends: the rest of
    // what the cap cannot hold leaves early, evicted (the longest idle first)
    // or flushed (holding back in-order output), and is counted.
    assert!(
        evicted + flushed >= FLOOD_SYNS - MAX_LIVE as u64 - FLOOD_SYNS / 7,
        "{evicted} evicted, {flushed} flushed"
    );
    assert!(rss_kb < 128 * 1024, "peak RSS {rss_kb} kB");

    // Each ordinary connection as it is alone.
    let expected = ordinary_records(&alone);
    let got = ordinary_records(&attacked);
    assert_eq!(expected.len(), CONNECTIONS as usize);
    for i in 0..CONNECTIONS {
        let port = 50_000 + u64::from(i);
        let (e, g) = (&expected[&port], &got[&port]);
        assert_eq!(e["verdict"], "established");
        assert_eq!(e["bytes_client_to_server"], 100 + i);
        assert_eq!(e["bytes_server_to_client"], 1000 + i);
        assert_eq!(e["ignored_rsts"], FORGED_RSTS);
        assert_eq!(
            (&e["syn_count"], &e["synack_count"]),
            (&1.into(), &1.into())
        );
        assert_eq!(e["close"], "fin");
        assert_eq!(g, e, "connection from port {port} under attack");
    }
    std::fs::remove_dir_all(&dir).ok();
}
