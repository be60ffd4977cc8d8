//! Every input kept under `fuzz/regressions/TARGET/` (crashes the fuzzers
//! found, and hostile inputs built on purpose by `fuzz/hostile.py`) replayed
//! through the same harness as the fuzz target, so that a fixed crash stays
//! fixed. The harnesses assert the targets' invariants themselves.

#[path = "../fuzz/harness/capture_file.rs"]
mod capture_file;
#[path = "../fuzz/harness/frame.rs"]
mod frame;
#[path = "../fuzz/harness/render.rs"]
mod render;
#[path = "../fuzz/harness/renderers.rs"]
mod renderers;
#[path = "../fuzz/harness/tcp_options.rs"]
mod tcp_options;
#[path = "../fuzz/harness/tracker.rs"]
mod tracker;

use std::path::PathBuf;

/// Replay every kept input of `target`; at least `min` of them must exist.
fn replay(target: &str, min: usize, run: fn(&[u8])) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions")
        .join(target);
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{dir:?}: {e}"))
        .map(|e| e.unwrap().path())
        .collect();
    inputs.sort();
    assert!(
        inputs.len() >= min,
        "{target}: {} inputs kept, expected at least {min}",
        inputs.len()
    );
    let mut failed = Vec::new();
    for path in &inputs {
        let data = std::fs::read(path).unwrap();
        if std::panic::catch_unwind(|| run(&data)).is_err() {
            failed.push(path.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    assert!(failed.is_empty(), "{target}: these inputs fail: {failed:?}");
}

#[test]
fn capture_file_regressions_replay() {
    replay("capture_file", 10, capture_file::run);
}

#[test]
fn frame_regressions_replay() {
    replay("frame", 10, frame::run);
}

#[test]
fn tcp_options_regressions_replay() {
    replay("tcp_options", 8, tcp_options::run);
}

#[test]
fn tracker_regressions_replay() {
    replay("tracker", 5, tracker::run);
}

#[test]
fn renderers_regressions_replay() {
    replay("renderers", 3, renderers::run);
}
