//! `synack print --classic` against tcpdump 3.7.2's own output for the 42
//! captures that have classic oracles (`../shared/corpus/expected/
//! NAME.classic.{nSt,n}.out`), compared as `tcpdump-diff --classic` does:
//! whole TCP lines, in order.

mod common;

use std::path::PathBuf;

use common::{captures, classic_lines, corpus, run, synack};

/// Lines tcpdump 3.7.2 printed that synack does not reproduce: (capture,
/// mode, 1-based number among the file's TCP lines, why). Each must still
/// differ, so a stale entry fails the test.
const KNOWN_DIFFERENCES: &[(&str, &str, usize, &str)] = &[
    (
        "wireshark-dns-ooo",
        "nSt",
        3,
        "3.7.2 decodes the payload of TCP port 53 as DNS (` 40833- [256q][|domain]` \
         before ` (DF)`); synack's lines carry no application-layer decoding",
    ),
    (
        "wireshark-dns-ooo",
        "n",
        3,
        "the same DNS decoding, with relative numbers",
    ),
];

fn expected(stem: &str, mode: &str) -> PathBuf {
    corpus().join(format!("expected/{stem}.classic.{mode}.out"))
}

/// The captures that have classic oracles.
fn classic_captures() -> Vec<(String, PathBuf)> {
    captures()
        .into_iter()
        .filter(|(stem, _)| expected(stem, "nSt").exists())
        .collect()
}

fn check_mode(mode: &str, flags: &[&str]) {
    let files = classic_captures();
    assert_eq!(files.len(), 42, "the corpus has 42 classic oracles");
    let (mut same, mut known, mut failures) = (0, 0, Vec::new());
    let mut unseen: Vec<_> = KNOWN_DIFFERENCES
        .iter()
        .filter(|k| k.1 == mode)
        .map(|k| (k.0, k.2))
        .collect();
    for (stem, path) in &files {
        let text = std::fs::read_to_string(expected(stem, mode)).expect("classic oracle");
        let p = path.to_string_lossy().into_owned();
        let mut args = vec!["--classic"];
        args.extend(flags);
        args.extend(["-r", &p]);
        let out = run(&args);
        assert!(out.status.success(), "{stem}: exit {:?}", out.status);
        let want = classic_lines(&text);
        let got = classic_lines(&String::from_utf8_lossy(&out.stdout));
        if want.len() != got.len() {
            failures.push(format!(
                "{stem}: tcpdump printed {} TCP lines, synack {}",
                want.len(),
                got.len()
            ));
        }
        for (n, (w, g)) in want.iter().zip(&got).enumerate() {
            if w == g {
                same += 1;
            } else if let Some(i) = unseen.iter().position(|&u| u == (stem.as_str(), n + 1)) {
                unseen.remove(i);
                known += 1;
            } else {
                failures.push(format!(
                    "{stem} line {}:\n  tcpdump: {w}\n  synack:  {g}",
                    n + 1
                ));
            }
        }
    }
    println!(
        "classic mode {mode}: {same} TCP lines identical, {known} known differences, {} different",
        failures.len()
    );
    assert!(failures.is_empty(), "mode {mode}:\n{}", failures.join("\n"));
    assert!(
        unseen.is_empty(),
        "listed differences that no longer differ: {unseen:?}"
    );
    assert!(same > 1100, "the classic oracles hold over 1100 TCP lines");
}

#[test]
fn classic_n_s_t_matches_tcpdump_3() {
    check_mode("nSt", &["-n", "-S", "-t"]);
}

#[test]
fn classic_n_with_timestamps_and_relative_numbers_matches_tcpdump_3() {
    check_mode("n", &["-n"]);
}

/// The issue's headline: the textbook handshake, byte for byte, whole file.
#[test]
fn seed_handshake_is_the_textbook_byte_for_byte() {
    let path = corpus().join("captures/seed-telnet-handshake.pcap");
    let p = path.to_string_lossy().into_owned();
    for (mode, flags) in [("nSt", &["-n", "-S", "-t"][..]), ("n", &["-n"][..])] {
        let want = std::fs::read(expected("seed-telnet-handshake", mode)).expect("oracle");
        let out = synack()
            .arg("print")
            .arg("--classic")
            .args(flags)
            .args(["-r", &p])
            .output()
            .expect("run synack");
        assert!(out.status.success());
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&want),
            "mode {mode}"
        );
    }
}
