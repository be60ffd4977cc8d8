//! The second read of a capture file (the packets of chosen attempts, for
//! `report`'s ladders, `explain` and `synack ladder`) skips ahead with the
//! first read's index of a pcap file: what it collects, and what the commands
//! print, are what a read of every frame gives.

mod common;

use std::path::{Path, PathBuf};

use common::{corpus, generated_capture, synack};
use synack::cli::InputArgs;
use synack::explain::collect_packets;
use synack::source::{open_path, FrameIndex, FrameSource};
use synack::track::{Attempt, Tracker, TrackerConfig};
use synack_gen::Format;

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("synack-second-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// A generated pcap in a directory of its own: the directory and the file.
fn generated(tag: &str, connections: u64, mix: &str, seed: u64) -> (PathBuf, PathBuf) {
    let dir = scratch(tag);
    let path = dir.join("capture.pcap");
    generated_capture(&path, connections, mix, Format::Pcap, seed);
    (dir, path)
}

/// Every frame of a file: number, offset, time and bytes.
fn frames_of(path: &Path) -> Vec<(u64, u64, String, Vec<u8>)> {
    let mut f = open_path(path.to_str().unwrap()).expect("open");
    let mut out = Vec::new();
    while let Some(fr) = f.next_frame().expect("read") {
        out.push((
            fr.number,
            fr.offset,
            format!("{:?}", fr.ts),
            fr.data.to_vec(),
        ));
    }
    out
}

/// After `seek_record` to a frame's offset, the file reads on from that
/// frame, numbered as before, to the same end; a pcapng file and standard
/// input do not seek, and read on where they were.
#[test]
fn a_pcap_file_reads_on_from_any_record() {
    let path = corpus().join("captures/lab-client.pcap");
    let all = frames_of(&path);
    assert!(all.len() > 50, "{} frames", all.len());
    for k in [1, 2, all.len() / 3, all.len() - 1] {
        let (number, offset, ..) = all[k];
        let mut f = open_path(path.to_str().unwrap()).unwrap();
        f.next_frame().unwrap();
        assert!(f.seek_record(offset, number).unwrap(), "pcap seeks");
        let mut rest = Vec::new();
        while let Some(fr) = f.next_frame().unwrap() {
            rest.push((
                fr.number,
                fr.offset,
                format!("{:?}", fr.ts),
                fr.data.to_vec(),
            ));
        }
        assert_eq!(rest, all[k..], "from frame {number}");
    }
    let ng = corpus().join("captures/of13_ericsson.pcapng");
    let mut f = open_path(ng.to_str().unwrap()).unwrap();
    let first = f.next_frame().unwrap().map(|fr| fr.number);
    assert!(!f.seek_record(1000, 7).unwrap(), "pcapng does not seek");
    let second = f.next_frame().unwrap().map(|fr| fr.number);
    assert_eq!((first, second), (Some(1), Some(2)));
}

/// A first read's index: marks about every `EVERY` frames, and the last mark
/// at or before any frame.
#[test]
fn the_index_marks_frames_as_they_are_read() {
    let (dir, path) = generated("index", 3000, "established=90,refused=10", 3);
    let all = frames_of(&path);
    let mut index = FrameIndex::default();
    let mut f = open_path(path.to_str().unwrap()).unwrap();
    // A filter's gaps: only every third frame reaches the index.
    while let Some(fr) = f.next_frame().unwrap() {
        if fr.number % 3 == 0 {
            index.note(&fr);
        }
    }
    assert!(
        all.len() as u64 > 4 * FrameIndex::EVERY,
        "{} frames",
        all.len()
    );
    let mut marks = 0;
    for &(number, offset, ..) in &all {
        let Some((n, o)) = index.at_or_before(number) else {
            assert!(number < 3, "frame {number} before the first mark");
            continue;
        };
        assert!(
            n <= number && number - n < FrameIndex::EVERY + 3,
            "{n} for {number}"
        );
        assert_eq!(o, all[n as usize - 1].1, "the mark's offset is its frame's");
        if n == number {
            marks += 1;
            assert_eq!(o, offset);
        }
    }
    assert_eq!(marks as u64, all.len() as u64 / FrameIndex::EVERY + 1);
    std::fs::remove_dir_all(&dir).ok();
}

/// The packets collected with the index equal those of a read of every
/// frame, for attempts spread over a capture large enough to skip in.
#[test]
fn packets_collected_with_the_index_are_those_of_a_whole_read() {
    let (dir, path) = generated(
        "collect",
        8000,
        "established=60,refused=10,unanswered=10,half_open=10,nmap=5,flood=5",
        11,
    );
    let p = path.to_str().unwrap().to_string();
    let mut tracker = Tracker::new(TrackerConfig::default());
    let mut index = FrameIndex::default();
    let mut records: Vec<Box<Attempt>> = Vec::new();
    let mut f = open_path(&p).unwrap();
    while let Some(fr) = f.next_frame().unwrap() {
        index.note(&fr);
        tracker.observe(&fr);
        while let Some(a) = tracker.next_finished() {
            records.push(a);
        }
    }
    tracker.finish();
    while let Some(a) = tracker.next_finished() {
        records.push(a);
    }
    assert!(records.len() > 7000, "{} records", records.len());
    let input = InputArgs {
        read: vec![p.clone()],
        ..InputArgs::default()
    };
    let span = |a: &Attempt| a.last_time.micros_since(a.first_time);
    // Short-lived and far apart: most of the file between them is skipped.
    let far: Vec<&Attempt> = records
        .iter()
        .map(|a| &**a)
        .filter(|a| span(a) < 1e6)
        .step_by(500)
        .collect();
    // The longest-lived (SYN retries, lingering closes), and a run: their
    // later frames come after others have begun, and must not be skipped.
    let mut long: Vec<&Attempt> = records.iter().map(|a| &**a).collect();
    long.sort_by(|a, b| span(b).total_cmp(&span(a)));
    let mut near: Vec<&Attempt> = long.into_iter().take(10).collect();
    near.extend(records[5000..5010].iter().map(|a| &**a));
    near.extend(far.iter().step_by(3));
    let mut frames = 0;
    for chosen in [&far, &near] {
        let skipping = collect_packets(&input, chosen, Some(&index)).unwrap();
        let whole = collect_packets(&input, chosen, None).unwrap();
        assert_eq!(skipping.len(), chosen.len());
        for (i, (s, w)) in skipping.iter().zip(&whole).enumerate() {
            assert_eq!(s.frames, w.frames, "attempt {} ({i})", chosen[i].index);
            assert_eq!(s.more, w.more);
            frames += s.frames.len();
        }
    }
    assert!(
        far.len() > 10 && frames > 200,
        "{} far apart, {frames} frames collected",
        far.len()
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// `report`, `synack ladder` and `explain` print the same with the second
/// read skipping and without (`-c` larger than the capture: a count of the
/// frames read turns the skipping off).
#[test]
fn commands_print_the_same_whether_the_second_read_skips_or_not() {
    let (dir, path) = generated(
        "commands",
        6000,
        "established=70,refused=10,unanswered=10,half_open=10",
        5,
    );
    let p = path.to_str().unwrap();
    let run = |args: &[&str], count: bool| {
        let mut cmd = synack();
        cmd.args(args).args(["-r", p]);
        if count {
            cmd.args(["-c", "100000000"]);
        }
        let out = cmd.output().expect("run synack");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let page = |count: bool| {
        let html = dir.join(format!("report-{count}.html"));
        run(&["report", "-o", html.to_str().unwrap()], count);
        std::fs::read(&html).unwrap()
    };
    assert_eq!(page(false), page(true), "report");
    for conn in ["1", "2500", "5900"] {
        let args = ["ladder", "--ascii", "--conn", conn];
        assert_eq!(run(&args, false), run(&args, true), "ladder {conn}");
    }
    let explain = ["explain", "-n", "--conn", "4000"];
    let text = run(&explain, false);
    assert!(!text.is_empty());
    assert_eq!(text, run(&explain, true), "explain");
    std::fs::remove_dir_all(&dir).ok();
}
