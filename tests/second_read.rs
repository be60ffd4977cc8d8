//! The second read of a capture file (the packets of chosen attempts, for
//! `report`'s ladders, `explain` and `synack ladder`) skips ahead with the
//! first read's index of a pcap or pcapng file: what it collects, and what
//! the commands print, are what a read of every frame gives.

mod common;

use std::path::{Path, PathBuf};

use common::{corpus, generated_capture, synack};
use synack::cli::InputArgs;
use synack::explain::collect_packets;
use synack::source::{open_path, CaptureFile, FrameIndex, FrameSource};
use synack::track::{Attempt, Tracker, TrackerConfig};
use synack_gen::Format;

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("synack-second-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// A generated capture in a directory of its own: the directory and the file.
fn generated(
    tag: &str,
    connections: u64,
    mix: &str,
    seed: u64,
    format: Format,
) -> (PathBuf, PathBuf) {
    let dir = scratch(tag);
    let path = dir.join(match format {
        Format::Pcap => "capture.pcap",
        Format::Pcapng => "capture.pcapng",
    });
    generated_capture(&path, connections, mix, format, seed);
    (dir, path)
}

/// Every frame of a file: number, offset, time and bytes.
fn frames_of(path: &Path) -> Vec<(u64, u64, String, Vec<u8>)> {
    rest_of(&mut open_path(path.to_str().unwrap()).expect("open"))
}

/// The frames a file gives from here on.
fn rest_of(f: &mut CaptureFile) -> Vec<(u64, u64, String, Vec<u8>)> {
    let mut rest = Vec::new();
    while let Some(fr) = f.next_frame().unwrap() {
        rest.push((
            fr.number,
            fr.offset,
            format!("{:?}", fr.ts),
            fr.data.to_vec(),
        ));
    }
    rest
}

/// After `seek_record` to a frame's offset, the file reads on from that
/// frame, numbered as before, to the same end.
#[test]
fn a_pcap_file_reads_on_from_any_record() {
    let path = corpus().join("captures/lab-client.pcap");
    let all = frames_of(&path);
    assert!(all.len() > 50, "{} frames", all.len());
    for k in [1, 2, all.len() / 3, all.len() - 1] {
        let (number, offset, ..) = all[k];
        let mut f = open_path(path.to_str().unwrap()).unwrap();
        f.next_frame().unwrap();
        // A pcap file has no interface blocks: where they end is no matter.
        assert!(
            f.seek_record(offset, number, u64::MAX).unwrap(),
            "pcap seeks"
        );
        assert_eq!(rest_of(&mut f), all[k..], "from frame {number}");
    }
}

/// A pcapng file reads on from a record too, but only once it has read the
/// last section header and interface description the first read found:
/// those before a record say how it is read. Two sections, the second's
/// header and interfaces in the middle of the file.
#[test]
fn a_pcapng_file_reads_on_from_a_record_past_its_last_interface_block() {
    let dir = scratch("pcapng");
    let mut bytes = Vec::new();
    for (seed, name) in [(21, "a.pcapng"), (22, "b.pcapng")] {
        let part = dir.join(name);
        generated_capture(&part, 60, "established=80,refused=20", Format::Pcapng, seed);
        bytes.extend(std::fs::read(&part).unwrap());
    }
    let path = dir.join("two-sections.pcapng");
    std::fs::write(&path, &bytes).unwrap();
    let p = path.to_str().unwrap();
    let all = frames_of(&path);
    // The first read, keeping the index told where the interface blocks end.
    let index = FrameIndex::default();
    assert_eq!(index.settled(), u64::MAX, "unknown before a read");
    let mut f = open_path(p).unwrap();
    f.report_settled(index.settled_to());
    while f.next_frame().unwrap().is_some() {}
    let settled = index.settled();
    let second = all.iter().position(|fr| fr.1 >= settled).unwrap();
    assert!(
        second > 100 && second < all.len() - 100,
        "{second} of {}",
        all.len()
    );
    assert!(
        all[second - 1].1 < settled,
        "the first section's last frame"
    );
    let (k, number, offset) = (all.len() - 50, all[all.len() - 50].0, all[all.len() - 50].1);
    // Not yet past the second section's blocks: it reads on where it was.
    let mut f = open_path(p).unwrap();
    f.next_frame().unwrap();
    assert!(!f.seek_record(offset, number, settled).unwrap());
    assert_eq!(rest_of(&mut f), all[1..]);
    // Past them, it skips.
    let mut f = open_path(p).unwrap();
    for _ in 0..=second {
        f.next_frame().unwrap();
    }
    assert!(
        f.seek_record(offset, number, settled).unwrap(),
        "pcapng seeks"
    );
    assert_eq!(rest_of(&mut f), all[k..], "from frame {number}");
    // In a file of one section, once its first interface block is read;
    // and in the same file written big-endian.
    let one = dir.join("a.pcapng");
    let all = frames_of(&one);
    let big = dir.join("a-big-endian.pcapng");
    std::fs::write(&big, big_endian(&std::fs::read(&one).unwrap())).unwrap();
    assert_eq!(frames_of(&big), all, "the same frames either way");
    for file in [&one, &big] {
        let mut f = open_path(file.to_str().unwrap()).unwrap();
        let index = FrameIndex::default();
        f.report_settled(index.settled_to());
        f.next_frame().unwrap();
        let k = all.len() / 2;
        assert!(f.seek_record(all[k].1, all[k].0, index.settled()).unwrap());
        assert_eq!(rest_of(&mut f), all[k..], "{}", file.display());
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// A little-endian pcapng file of section headers, interface descriptions
/// and enhanced packets without options (as `synack-gen` writes them),
/// written big-endian.
fn big_endian(le: &[u8]) -> Vec<u8> {
    let mut out = le.to_vec();
    let mut swap = |at: usize, width: usize| out[at..at + width].reverse();
    let mut at = 0;
    while at < le.len() {
        let kind = u32::from_le_bytes(le[at..at + 4].try_into().unwrap());
        let len = u32::from_le_bytes(le[at + 4..at + 8].try_into().unwrap()) as usize;
        // Type and both lengths (a section header's type reads alike).
        swap(at, 4);
        swap(at + 4, 4);
        swap(at + len - 4, 4);
        let fields: &[usize] = match kind {
            // byte-order magic, major and minor version, section length
            0x0a0d_0d0a => &[4, 2, 2, 8],
            // link type, reserved, snapshot length
            1 => &[2, 2, 4],
            // interface, time stamp (high, low), captured and original length
            6 => &[4, 4, 4, 4, 4],
            other => panic!("block type {other} at {at}"),
        };
        let mut field = at + 8;
        for &width in fields {
            swap(field, width);
            field += width;
        }
        at += len;
    }
    out
}

/// A first read's index: marks about every `EVERY` frames, and the last mark
/// at or before any frame.
#[test]
fn the_index_marks_frames_as_they_are_read() {
    let (dir, path) = generated("index", 3000, "established=90,refused=10", 3, Format::Pcap);
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
    for format in [Format::Pcap, Format::Pcapng] {
        collected_with_the_index_as_in_a_whole_read(format);
    }
}

fn collected_with_the_index_as_in_a_whole_read(format: Format) {
    let (dir, path) = generated(
        "collect",
        8000,
        "established=60,refused=10,unanswered=10,half_open=10,nmap=5,flood=5",
        11,
        format,
    );
    let p = path.to_str().unwrap().to_string();
    let mut tracker = Tracker::new(TrackerConfig::default());
    let mut index = FrameIndex::default();
    let mut records: Vec<Box<Attempt>> = Vec::new();
    let mut f = open_path(&p).unwrap();
    f.report_settled(index.settled_to());
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
    for format in [Format::Pcap, Format::Pcapng] {
        commands_print_alike(format);
    }
}

fn commands_print_alike(format: Format) {
    let (dir, path) = generated(
        "commands",
        6000,
        "established=70,refused=10,unanswered=10,half_open=10",
        5,
        format,
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
