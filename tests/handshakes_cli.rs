//! `synack handshakes` from the command line: formats, filters, summary.
//! Counts come from `../shared/corpus/LAB.md` (lab-client holds S1–S14:
//! 10 established, 3 refused, 3 unanswered, 1 half-open, 3 aborted, 1
//! simultaneous open).

mod common;

use common::{corpus, run};

fn lab_client() -> String {
    corpus()
        .join("captures/lab-client.pcap")
        .to_string_lossy()
        .into_owned()
}

fn stdout(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn table_for_people_is_plain_when_piped() {
    let text = stdout(&["handshakes", "-r", &lab_client()]);
    assert!(!text.contains('\x1b'), "no colour into a pipe");
    insta::assert_snapshot!("lab_client_table", text);
}

#[test]
fn summary_alone_counts_every_verdict() {
    let text = stdout(&["handshakes", "--summary", "-r", &lab_client()]);
    assert!(text.starts_with("21 attempts\n"), "{text}");
    for (verdict, n) in [
        ("established", 10),
        ("refused", 3),
        ("unanswered", 3),
        ("half_open", 1),
        ("aborted", 3),
        ("simultaneous_open", 1),
    ] {
        let line = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(verdict))
            .unwrap_or_else(|| panic!("{verdict} in {text}"));
        assert_eq!(line.split_whitespace().nth(1), Some(n.to_string().as_str()));
    }
    assert!(text.contains("handshake time: median"));
    assert!(!text.contains("CLIENT"), "no table");
}

#[test]
fn csv_has_a_header_and_one_row_per_selected_attempt() {
    let text = stdout(&[
        "handshakes",
        "--format",
        "csv",
        "--verdict",
        "refused,unanswered",
        "-r",
        &lab_client(),
    ]);
    let mut rows = csv::Reader::from_reader(text.as_bytes());
    let header = rows.headers().unwrap().clone();
    assert_eq!(
        header.iter().collect::<Vec<_>>(),
        synack::report::csv::HEADER
    );
    let verdict_col = header.iter().position(|h| h == "verdict").unwrap();
    let verdicts: Vec<String> = rows
        .records()
        .map(|r| r.unwrap()[verdict_col].to_string())
        .collect();
    assert_eq!(verdicts.len(), 6);
    assert_eq!(verdicts.iter().filter(|v| *v == "refused").count(), 3);
    assert_eq!(verdicts.iter().filter(|v| *v == "unanswered").count(), 3);
}

#[test]
fn failed_and_slow_filters() {
    let failed = stdout(&[
        "handshakes",
        "--failed",
        "--format",
        "jsonl",
        "-r",
        &lab_client(),
    ]);
    assert_eq!(failed.lines().count(), 11, "21 attempts, 10 established");
    assert!(!failed.contains("\"verdict\":\"established\""));
    // Only S9 waited for retransmitted SYNs (about a second).
    let slow = stdout(&[
        "handshakes",
        "--slow",
        "500",
        "--format",
        "jsonl",
        "-r",
        &lab_client(),
    ]);
    let v: Vec<serde_json::Value> = slow
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0]["client_port"], 6000);
}

#[test]
fn ids_follow_first_packets_and_jsonl_keeps_the_schema_fields() {
    let text = stdout(&["handshakes", "--format", "jsonl", "-r", &lab_client()]);
    let recs: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ids: Vec<u64> = recs.iter().map(|r| r["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, (1..=21).collect::<Vec<_>>());
    let frames: Vec<u64> = recs
        .iter()
        .map(|r| r["first_frame"].as_u64().unwrap())
        .collect();
    assert!(frames.windows(2).all(|w| w[0] < w[1]));
    // handshakes.md §9: names are an interface.
    for field in [
        "id",
        "ip_version",
        "client",
        "client_port",
        "server",
        "server_port",
        "verdict",
        "client_isn",
        "server_isn",
        "syn_count",
        "synack_count",
        "first_syn_time",
        "synack_time",
        "ack_time",
        "end_time",
        "rtt_us",
        "rtt_note",
        "capture_point",
        "options",
        "ecn",
        "tfo",
        "checks",
        "events",
        "close",
        "closed_by",
        "bytes_client_to_server",
        "bytes_server_to_client",
        "heuristics",
        "zeek",
        "wireshark_completeness",
    ] {
        assert!(recs.iter().all(|r| r.get(field).is_some()), "{field}");
    }
    for field in ["syn_to_synack", "synack_to_ack", "handshake", "irtt"] {
        assert!(recs[0]["rtt_us"].get(field).is_some(), "{field}");
    }
    for field in ["client", "server", "agreed"] {
        assert!(recs[0]["options"].get(field).is_some(), "{field}");
    }
    // Times keep the capture's six digits.
    assert!(text.contains("\"first_syn_time\":1795548555.141814,"));
}

#[test]
fn bad_arguments_are_reported() {
    let out = run(&["handshakes", "--verdict", "maybe", "-r", &lab_client()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown verdict"));
    let out = run(&["handshakes", "-r", "/nonexistent.pcap"]);
    assert!(!out.status.success());
}

#[test]
fn packet_count_and_filter_limit_the_input() {
    let text = stdout(&[
        "handshakes",
        "--format",
        "jsonl",
        "-r",
        &lab_client(),
        "tcp port 5001",
    ]);
    let n = text.lines().count();
    assert_eq!(n, 3, "S2, S11 and nmap's probe of 5001");
    let text = stdout(&[
        "handshakes",
        "--format",
        "jsonl",
        "-c",
        "12",
        "-r",
        &lab_client(),
    ]);
    assert_eq!(
        text.lines().count(),
        1,
        "the first 12 frames hold S1's handshake"
    );
}
