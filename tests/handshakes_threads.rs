//! `handshakes --threads N` writes exactly what one thread writes: every
//! format, with the caps and filters, on generated captures of several mixes
//! (pcap and pcapng) and on every capture of the corpus, byte for byte,
//! stderr and exit status included.

mod common;

use std::path::{Path, PathBuf};

use common::{captures, generated_capture, synack};
use synack_gen::Format;

/// The output options compared; the caps make the tracker evict and flush,
/// which act across connections.
const VARIANTS: &[&[&str]] = &[
    &["--format", "jsonl"],
    &["--format", "csv"],
    &[],
    &["--summary"],
    &["--format", "jsonl", "--failed"],
    &["--format", "jsonl", "--max-live", "40"],
    &[
        "--format",
        "csv",
        "--max-live",
        "5",
        "--handshake-timeout",
        "2",
    ],
    &["--summary", "--max-live", "300", "-c", "20000"],
];

fn same_output(path: &Path, variant: &[&str], threads: &str) {
    let p = path.to_string_lossy();
    let run = |extra: &[&str]| {
        synack()
            .args(["handshakes", "--no-progress", "-r", &p])
            .args(variant)
            .args(extra)
            .output()
            .expect("run synack")
    };
    let one = run(&[]);
    let many = run(&["--threads", threads]);
    assert_eq!(
        one.status.code(),
        many.status.code(),
        "{p} {variant:?}: exit status with --threads {threads}"
    );
    if one.stdout != many.stdout {
        let (a, b) = (
            String::from_utf8_lossy(&one.stdout),
            String::from_utf8_lossy(&many.stdout),
        );
        let first = a.lines().zip(b.lines()).position(|(x, y)| x != y);
        panic!(
            "{p} {variant:?}: --threads {threads} differs at line {:?}:\n  one:  {:?}\n  many: {:?}",
            first.map(|i| i + 1),
            first.and_then(|i| a.lines().nth(i)),
            first.and_then(|i| b.lines().nth(i)),
        );
    }
    assert_eq!(one.stderr, many.stderr, "{p} {variant:?}: stderr");
}

fn write_capture(dir: &Path, name: &str, mix: &str, format: Format, seed: u64) -> PathBuf {
    let path = dir.join(name);
    generated_capture(&path, 4000, mix, format, seed);
    path
}

#[test]
fn generated_captures_come_out_the_same_with_threads() {
    let dir = std::env::temp_dir().join(format!("synack-threads-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let captures = [
        (
            "default.pcap",
            "established=70,refused=8,unanswered=5,half_open=3,nmap=6,hping3=2,flood=6",
            Format::Pcap,
            21,
        ),
        (
            "default.pcapng",
            "established=70,refused=8,unanswered=5,half_open=3,nmap=6,hping3=2,flood=6",
            Format::Pcapng,
            22,
        ),
        (
            "failing.pcap",
            "established=20,refused=20,unanswered=20,half_open=20,nmap=10,hping3=10",
            Format::Pcap,
            23,
        ),
        (
            "flood.pcapng",
            "established=10,flood=90",
            Format::Pcapng,
            24,
        ),
        ("scans.pcap", "nmap=50,hping3=50", Format::Pcap, 25),
    ];
    for (name, mix, format, seed) in captures {
        let path = write_capture(&dir, name, mix, format, seed);
        for variant in VARIANTS {
            same_output(&path, variant, "2");
        }
        same_output(&path, &["--format", "jsonl"], "3");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn every_corpus_capture_comes_out_the_same_with_threads() {
    for (_, path) in captures() {
        for variant in VARIANTS {
            same_output(&path, variant, "2");
        }
    }
}
