//! `handshakes --threads N` writes exactly what one thread writes: every
//! format, with the caps, selections and `--count`, on generated captures of
//! several mixes (pcap and pcapng) and on every capture of the corpus, byte
//! for byte, stderr and exit status included; and so does `-w`, and a reader
//! that goes away early.
//!
//! With more threads, records are judged and formatted on either thread,
//! whichever has time: a large capture has both kinds mixed in one output.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

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
    &["--summary", "--failed"],
    &["--summary", "--slow", "20"],
    &["--format", "zeek"],
    &["--format", "zeek", "--failed"],
    &["--format", "jsonl", "-c", "3000"],
    &[
        "--format",
        "csv",
        "--verdict",
        "refused,unanswered,half_open",
    ],
    &["--slow", "20"],
    &["-c", "5000", "--max-live", "50"],
];

/// The generator's mix of the benchmark captures.
const DEFAULT_MIX: &str =
    "established=70,refused=8,unanswered=5,half_open=3,nmap=6,hping3=2,flood=6";

/// A fresh directory of this test process for `tag`'s captures.
fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("synack-threads-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

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
    same(&p, variant, threads, &one, &many);
}

fn same(p: &str, variant: &[&str], threads: &str, one: &Output, many: &Output) {
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
    let connections = match name {
        "large.pcap" | "pipe.pcap" => 60_000,
        _ => 4000,
    };
    generated_capture(&path, connections, mix, format, seed);
    path
}

#[test]
fn generated_captures_come_out_the_same_with_threads() {
    let dir = scratch("mixes");
    let captures = [
        ("default.pcap", DEFAULT_MIX, Format::Pcap, 21),
        ("default.pcapng", DEFAULT_MIX, Format::Pcapng, 22),
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

/// Big enough that the records of one run are formatted on both threads.
#[test]
fn a_large_capture_comes_out_the_same_with_threads() {
    let dir = scratch("large");
    let path = write_capture(&dir, "large.pcap", DEFAULT_MIX, Format::Pcap, 26);
    for format in ["jsonl", "csv", "table", "zeek"] {
        same_output(&path, &["--format", format], "2");
    }
    same_output(&path, &["--format", "jsonl", "--failed"], "2");
    std::fs::remove_dir_all(&dir).ok();
}

/// `-w` saves the same packets, and the records are the same.
#[test]
fn saving_comes_out_the_same_with_threads() {
    let dir = scratch("save");
    let path = write_capture(
        &dir,
        "save.pcapng",
        "established=60,refused=20,unanswered=20",
        Format::Pcapng,
        27,
    );
    let p = path.to_string_lossy();
    let run = |saved: &Path, extra: &[&str]| {
        let out = synack()
            .args(["handshakes", "--no-progress", "--format", "jsonl", "-r", &p])
            .args(["-c", "30000", "-w", &saved.to_string_lossy()])
            .args(extra)
            .output()
            .expect("run synack");
        (out, std::fs::read(saved).expect("saved capture"))
    };
    let (one, one_saved) = run(&dir.join("one.pcap"), &[]);
    let (many, many_saved) = run(&dir.join("many.pcap"), &["--threads", "2"]);
    same(&p, &["-w"], "2", &one, &many);
    assert!(!one_saved.is_empty());
    assert!(
        one_saved == many_saved,
        "-w saves other bytes with --threads 2"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// A reader that takes one line and goes away (`| head -1`) ends the run
/// quietly, as with one thread.
#[test]
fn a_closed_output_stops_quietly_with_threads() {
    let dir = scratch("pipe");
    let path = write_capture(
        &dir,
        "pipe.pcap",
        "established=80,refused=10,unanswered=10",
        Format::Pcap,
        28,
    );
    for format in ["jsonl", "csv", "table", "zeek"] {
        let first = |extra: &[&str]| {
            let mut child = synack()
                .args(["handshakes", "--no-progress", "--format", format, "-r"])
                .arg(&path)
                .args(extra)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("run synack");
            let mut line = String::new();
            BufReader::new(child.stdout.take().expect("stdout"))
                .read_line(&mut line)
                .expect("first line");
            let out = child.wait_with_output().expect("wait");
            (line, out.status.code(), out.stderr)
        };
        let one = first(&[]);
        let many = first(&["--threads", "2"]);
        assert_eq!(one, many, "{format}: the first line, exit status, stderr");
        assert_eq!(many.1, Some(0), "{format}: exit status");
        assert!(many.2.is_empty(), "{format}: stderr");
    }
    std::fs::remove_dir_all(&dir).ok();
}
