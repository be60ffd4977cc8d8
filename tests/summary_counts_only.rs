//! `handshakes --summary` tracks with `TrackerConfig::counts_only`: no
//! checksums, no Zeek or Wireshark views, no detector windows. Its summary
//! must be the one the table prints under its rows, where every record is
//! judged in full: the same verdict counts, handshake times, failing servers
//! and tracker counters, on every corpus capture and on generated captures
//! whose caps make the tracker evict and flush, with one thread and two.

mod common;

use std::path::Path;

use common::{captures, generated_capture, synack};
use synack_gen::Format;

/// The caps and timeouts tried on each capture.
const VARIANTS: &[&[&str]] = &[
    &[],
    &["--max-live", "40"],
    &["--max-live", "5", "--handshake-timeout", "2"],
    &["--verdict", "refused,unanswered"],
];

fn run(path: &Path, args: &[&str]) -> (String, Option<i32>) {
    let out = synack()
        .args(["handshakes", "--no-progress", "-r"])
        .arg(path)
        .args(args)
        .output()
        .expect("run synack");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        out.status.code(),
    )
}

/// The summary the table writes after a blank line under its rows.
fn summary_of_table(table: &str) -> &str {
    match table.rfind("\n\n") {
        Some(i) => &table[i + 2..],
        None => table,
    }
}

fn same_summary(path: &Path, variant: &[&str]) {
    let (table, table_rc) = run(path, variant);
    let want = summary_of_table(&table);
    assert!(
        want.contains(" frames, "),
        "{}: no summary in the table output:\n{table}",
        path.display()
    );
    for threads in ["1", "2"] {
        let mut args = variant.to_vec();
        args.extend(["--summary", "--threads", threads]);
        let (got, rc) = run(path, &args);
        assert_eq!(rc, table_rc, "{} {args:?}: exit status", path.display());
        assert_eq!(got, want, "{} {args:?}", path.display());
    }
}

#[test]
fn every_corpus_capture_has_the_tables_summary() {
    for (_, path) in captures() {
        for variant in VARIANTS {
            same_summary(&path, variant);
        }
    }
}

#[test]
fn generated_captures_have_the_tables_summary() {
    let dir = std::env::temp_dir().join(format!("synack-counts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    for (name, mix, format, seed) in [
        (
            "mix.pcap",
            "established=60,refused=10,unanswered=10,half_open=5,nmap=5,hping3=5,flood=5",
            Format::Pcap,
            31,
        ),
        (
            "flood.pcapng",
            "established=10,flood=90",
            Format::Pcapng,
            32,
        ),
    ] {
        let path = dir.join(name);
        generated_capture(&path, 5000, mix, format, seed);
        for variant in VARIANTS {
            same_summary(&path, variant);
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}
