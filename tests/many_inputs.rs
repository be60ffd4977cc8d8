//! Several inputs at once: `-r` repeated or a quoted glob. Each file is judged
//! on its own (LAB.md's truth holds per file), and the records come out merged
//! by first packet with ids renumbered in output order.

mod common;

use common::{corpus, handshakes_jsonl, run};
use serde_json::Value;

const LABS: [&str; 3] = ["lab-extra.pcap", "lab-retrans.pcap", "lab-client.pcap"];

fn path(file: &str) -> String {
    corpus()
        .join("captures")
        .join(file)
        .to_string_lossy()
        .into_owned()
}

fn jsonl_of(args: &[&str]) -> Vec<Value> {
    let mut all = vec!["handshakes", "--format", "jsonl"];
    all.extend_from_slice(args);
    let out = run(&all);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn without_id(mut r: Value) -> Value {
    r.as_object_mut().unwrap().remove("id");
    r
}

#[test]
fn several_files_merge_by_first_packet_with_ids_renumbered() {
    let paths: Vec<String> = LABS.iter().map(|f| path(f)).collect();
    let mut args = Vec::new();
    for p in &paths {
        args.extend(["-r", p.as_str()]);
    }
    let merged = jsonl_of(&args);

    // The oracle: each file alone, then sorted by first packet time (stable,
    // so ties keep the order the files were given in).
    let mut each: Vec<(f64, usize, Value)> = Vec::new();
    for (i, p) in paths.iter().enumerate() {
        for r in handshakes_jsonl(std::path::Path::new(p), &[]) {
            each.push((r["first_time"].as_f64().unwrap(), i, r));
        }
    }
    each.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    assert_eq!(merged.len(), each.len());
    // LAB.md: 21 attempts in lab-client, E1–E4 and R1–R2 in the others.
    assert!(merged.len() >= 21 + 4 + 2);
    for (k, (m, (_, _, e))) in merged.iter().zip(each).enumerate() {
        assert_eq!(m["id"].as_u64(), Some(k as u64 + 1), "ids in output order");
        assert_eq!(without_id(m.clone()), without_id(e), "record {k}");
    }
    let times: Vec<f64> = merged
        .iter()
        .map(|r| r["first_time"].as_f64().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "time order");
}

#[test]
fn a_quoted_glob_is_expanded_in_sorted_order() {
    let pattern = path("lab-re*.pcap");
    let globbed = jsonl_of(&["-r", &pattern]);
    let listed = jsonl_of(&["-r", &path("lab-retrans.pcap")]);
    assert_eq!(globbed, listed, "one file matches lab-re*");

    let none = run(&["handshakes", "-r", &path("no-such-*.pcap")]);
    assert!(!none.status.success());
    assert!(String::from_utf8_lossy(&none.stderr).contains("no file matches"));
}

#[test]
fn selection_and_summary_apply_to_the_merged_records() {
    let a = path("lab-client.pcap");
    let b = path("lab-server.pcap");
    // LAB.md: the client and server captures hold the same 21 attempts each,
    // 3 of them refused.
    let refused = jsonl_of(&["--verdict", "refused", "-r", &a, "-r", &b]);
    assert_eq!(refused.len(), 6);
    let out = run(&["handshakes", "--summary", "-r", &a, "-r", &b]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("42 attempts\n"), "{text}");
}

#[test]
fn inputs_that_cannot_go_together_are_refused() {
    let a = path("lab-client.pcap");
    let out = run(&["handshakes", "-r", "-", "-r", &a]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("standard input"));
    let out = run(&["print", "-r", &a, "-r", &a]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("give -r once"));
}

#[test]
fn a_damaged_file_among_several_reports_the_rest_and_fails() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("many-inputs");
    std::fs::create_dir_all(&dir).unwrap();
    let whole = std::fs::read(path("lab-client.pcap")).unwrap();
    let cut = dir.join("cut.pcap");
    // A record header promising more bytes than the file holds.
    std::fs::write(&cut, &whole[..whole.len() - 7]).unwrap();
    let out = run(&[
        "handshakes",
        "--format",
        "jsonl",
        "-r",
        &path("lab-retrans.pcap"),
        "-r",
        cut.to_str().unwrap(),
    ]);
    assert!(
        !out.status.success(),
        "exit status says the file was damaged"
    );
    let lines = String::from_utf8(out.stdout).unwrap().lines().count();
    assert!(
        lines >= 2 + 20,
        "records of both files before the damage: {lines}"
    );
}
