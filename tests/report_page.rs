//! `synack report` as a file: self-contained, the same bytes for the same
//! input, and the attempts sampled for ladder diagrams are the ones the rule
//! names (every failing verdict in turn, and the slowest handshakes), checked
//! against the JSONL records of the same capture.

mod common;

use std::path::{Path, PathBuf};

use common::{corpus, handshakes_jsonl, synack};
use regex::Regex;

fn page(inputs: &[PathBuf], name: &str) -> String {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let mut cmd = synack();
    cmd.arg("report");
    for i in inputs {
        cmd.arg("-r").arg(i);
    }
    let run = cmd.arg("-o").arg(&out).output().unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    std::fs::read_to_string(out).unwrap()
}

fn lab(file: &str) -> PathBuf {
    corpus().join("captures").join(file)
}

#[test]
fn the_page_is_self_contained_and_reproducible() {
    let a = page(&[lab("lab-client.pcap")], "page-a.html");
    let b = page(&[lab("lab-client.pcap")], "page-b.html");
    assert_eq!(a, b, "same input, same bytes");
    assert!(!a.contains("<script"), "no script");
    for fetch in ["src=", "<link", "@import", "url("] {
        assert!(!a.contains(fetch), "nothing fetched: {fetch}");
    }
    // The only URL is the SVG namespace, which is a name, not a fetch.
    let urls = Regex::new(r#"https?://[^"' ]+"#).unwrap();
    for u in urls.find_iter(&a) {
        assert_eq!(u.as_str(), "http://www.w3.org/2000/svg");
    }
}

/// (id, why) of every sampled attempt, in the page's order.
fn picks(html: &str) -> Vec<(u64, String)> {
    let row = Regex::new(r#"<tr class="pick" data-id="(\d+)"><td class="num"><a href="[^"]*">\d+</a></td><td>(\w+)</td>"#).unwrap();
    row.captures_iter(html)
        .map(|c| (c[1].parse().unwrap(), c[2].to_string()))
        .collect()
}

#[test]
fn ladders_sample_every_failing_verdict_and_the_slowest_handshakes() {
    let inputs = [
        lab("lab-client.pcap"),
        lab("lab-extra.pcap"),
        lab("lab-retrans.pcap"),
    ];
    let html = page(&inputs, "page-three.html");
    let mut records = Vec::new();
    for i in &inputs {
        records.extend(handshakes_jsonl(i, &[]));
    }
    // The page numbers the merged records; the JSONL of the same merge:
    let mut args = vec!["handshakes", "--format", "jsonl"];
    let paths: Vec<String> = inputs
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    for p in &paths {
        args.extend(["-r", p.as_str()]);
    }
    let out = common::run(&args);
    let merged: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(merged.len(), records.len());

    let got = picks(&html);
    let failing: Vec<u64> = got
        .iter()
        .filter(|p| p.1 == "failing")
        .map(|p| p.0)
        .collect();
    let slowest: Vec<u64> = got
        .iter()
        .filter(|p| p.1 == "slowest")
        .map(|p| p.0)
        .collect();

    // Failing: refused, unanswered, half_open, aborted, invalid. Fewer than
    // ten per verdict here, so taking them in turn reaches ten and every
    // failing verdict is represented.
    let failed: Vec<&serde_json::Value> = merged
        .iter()
        .filter(|r| {
            ["refused", "unanswered", "half_open", "aborted", "invalid"]
                .contains(&r["verdict"].as_str().unwrap())
        })
        .collect();
    assert!(failed.len() > 10);
    assert_eq!(failing.len(), 10);
    let verdict_of = |id: u64| {
        merged[id as usize - 1]["verdict"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let mut shown: Vec<String> = failing.iter().map(|id| verdict_of(*id)).collect();
    shown.sort();
    shown.dedup();
    let mut present: Vec<String> = failed
        .iter()
        .map(|r| r["verdict"].as_str().unwrap().to_string())
        .collect();
    present.sort();
    present.dedup();
    assert_eq!(shown, present, "every failing verdict has a ladder");

    // Slowest: the ten largest handshake times of the merged records.
    let mut timed: Vec<(f64, u64)> = merged
        .iter()
        .filter_map(|r| Some((r["rtt_us"]["handshake"].as_f64()?, r["id"].as_u64()?)))
        .collect();
    timed.sort_by(|a, b| b.0.total_cmp(&a.0));
    let cut = timed[9].0;
    assert!(slowest.len() == 10);
    for id in &slowest {
        let us = merged[*id as usize - 1]["rtt_us"]["handshake"]
            .as_f64()
            .unwrap();
        assert!(
            us >= cut,
            "attempt {id} ({us} µs) is among the ten slowest (≥ {cut})"
        );
    }
    assert!(slowest.windows(2).all(|w| w[0] < w[1]), "in output order");
}
