//! synack ends every capture of the corpus as tcpdump does: the same exit
//! status (`rc=` in `expected/NAME.nSt.err`) and the same TCP lines before
//! any error; and, cut short at two places, every capture still ends as
//! tcpdump ends it on the same cut file.

mod common;

use std::process::Command;

use common::{captures, compare, corpus, run, tcp_lines};

/// tcpdump's exit status on a capture, as the corpus recorded it.
fn recorded_status(stem: &str) -> i32 {
    let err = std::fs::read_to_string(corpus().join(format!("expected/{stem}.nSt.err")))
        .expect("expected/NAME.nSt.err");
    err.lines()
        .find_map(|l| l.strip_prefix("rc="))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{stem}: no rc= line"))
}

#[test]
fn every_capture_exits_as_tcpdump_did_with_its_lines() {
    let mut agree = 0;
    let mut failures = Vec::new();
    for (stem, path) in captures() {
        let out = run(&["-n", "-S", "-t", "-r", path.to_str().unwrap()]);
        let expected =
            std::fs::read_to_string(corpus().join(format!("expected/{stem}.nSt.out"))).unwrap();
        let (_, fail, diffs) = compare(
            &tcp_lines(&expected),
            &tcp_lines(&String::from_utf8_lossy(&out.stdout)),
        );
        let status = out.status.code();
        if status != Some(recorded_status(&stem)) {
            failures.push(format!(
                "{stem}: exit {status:?}, tcpdump {}: {}",
                recorded_status(&stem),
                String::from_utf8_lossy(&out.stderr)
            ));
        } else if fail > 0 {
            failures.push(format!("{stem}: {fail} lines differ\n{}", diffs.join("\n")));
        } else {
            agree += 1;
        }
    }
    println!("{agree} captures exit as tcpdump did, with the same TCP lines");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        agree >= 127,
        "the corpus holds 127 captures, {agree} checked"
    );
}

#[test]
fn every_capture_cut_short_ends_as_tcpdump_ends_it() {
    let dir = std::env::temp_dir().join(format!("synack-corpus-cut-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (mut failed_runs, mut checked) = (0, 0);
    let mut failures = Vec::new();
    for (stem, path) in captures() {
        let bytes = std::fs::read(&path).unwrap();
        // Cuts that land inside a header or a packet for most captures.
        for cut in [bytes.len() * 2 / 3 + 1, bytes.len() - 3] {
            if cut <= 24 || cut >= bytes.len() {
                continue;
            }
            let file = dir.join(format!("{stem}-{cut}"));
            std::fs::write(&file, &bytes[..cut]).unwrap();
            let args = ["-n", "-S", "-t", "-r", file.to_str().unwrap()];
            let theirs = Command::new("tcpdump")
                .args(args)
                .env("TZ", "UTC")
                .output()
                .expect("tcpdump must be installed");
            let ours = run(&args);
            let (t, o) = (
                String::from_utf8_lossy(&theirs.stdout),
                String::from_utf8_lossy(&ours.stdout),
            );
            let (_, fail, diffs) = compare(&tcp_lines(&t), &tcp_lines(&o));
            let err = String::from_utf8_lossy(&ours.stderr);
            if ours.status.code() != theirs.status.code() {
                failures.push(format!(
                    "{stem} cut at {cut}: exit {:?}, tcpdump {:?}\n  synack: {err}  tcpdump: {}",
                    ours.status.code(),
                    theirs.status.code(),
                    String::from_utf8_lossy(&theirs.stderr)
                ));
            } else if fail > 0 {
                failures.push(format!("{stem} cut at {cut}:\n{}", diffs.join("\n")));
            } else if !ours.status.success() {
                failed_runs += 1;
                let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("synack:")).collect();
                if lines.len() != 1 || !lines[0].contains(file.to_str().unwrap()) {
                    failures.push(format!("{stem} cut at {cut}: error lines {lines:?}"));
                } else if !lines[0].contains("(at byte offset ") {
                    failures.push(format!("{stem} cut at {cut}: no offset in {}", lines[0]));
                }
            }
            checked += 1;
            std::fs::remove_file(&file).unwrap();
        }
    }
    std::fs::remove_dir_all(&dir).ok();
    println!("{checked} cut captures end as tcpdump ends them ({failed_runs} with an error)");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        failed_runs > 100,
        "most cuts land inside a record: {failed_runs}"
    );
}
