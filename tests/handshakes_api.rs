//! The tracker as a library: when records come out (streamed when final, or
//! in order of first packet), timeouts, and the cap on live attempts. The
//! facts asserted come from `../shared/corpus/LAB.md`.

mod common;

use std::time::Duration;

use synack::source::{open_path, FrameSource, Timestamp};
use synack::track::{analyze, Attempt, Emit, EndReason, Tracker, TrackerConfig, Verdict};

type Out = Vec<(Box<Attempt>, Option<u64>)>;

/// Feed a capture; return each record with the number of the frame after
/// which it came out (`None`: at the end of input), and each frame's time.
fn run(file: &str, cfg: TrackerConfig) -> (Out, Tracker, Vec<Timestamp>) {
    let path = common::corpus().join("captures").join(file);
    let mut src = open_path(path.to_str().unwrap()).unwrap();
    let mut t = Tracker::new(cfg);
    let mut out = Vec::new();
    let mut times = vec![Timestamp::default()];
    while let Some(f) = src.next_frame().unwrap() {
        let n = f.number;
        times.push(f.ts);
        t.observe(&f);
        while let Some(a) = t.next_finished() {
            out.push((a, Some(n)));
        }
    }
    t.finish();
    while let Some(a) = t.next_finished() {
        out.push((a, None));
    }
    (out, t, times)
}

fn verdict(a: &Attempt) -> Verdict {
    analyze(a, &Default::default()).verdict
}

fn find(out: &Out, port: u16) -> Vec<&(Box<Attempt>, Option<u64>)> {
    out.iter().filter(|(a, _)| a.client.port == port).collect()
}

#[test]
fn streaming_hands_out_each_record_when_its_verdict_is_final() {
    let cfg = TrackerConfig {
        emit: Emit::WhenFinal,
        handshake_timeout: Duration::from_secs(5),
        ..TrackerConfig::default()
    };
    let (out, _, times) = run("lab-client.pcap", cfg);
    // S1: established at the completing ACK (frame 12 of lab-client).
    let s1 = find(&out, 40000);
    assert_eq!(s1.len(), 1);
    assert_eq!(verdict(&s1[0].0), Verdict::Established);
    assert_eq!(s1[0].1, Some(s1[0].0.completing.unwrap().frame));
    // S2: refused at the RST, the frame after its SYN.
    let s2 = find(&out, 40002);
    assert_eq!(verdict(&s2[0].0), Verdict::Refused);
    assert_eq!(s2[0].1, Some(s2[0].0.first_frame + 1));
    // S3: unanswered once 5 s passed after its last SYN, not before.
    let s3 = find(&out, 40003);
    assert_eq!(verdict(&s3[0].0), Verdict::Unanswered);
    let due = s3[0].0.last_time.as_nanos() + 5_000_000_000;
    let at = s3[0].1.expect("judged by the timeout, before the end") as usize;
    assert!(times[at].as_nanos() >= due, "not before the timeout");
    assert!(
        times[at - 1].as_nanos() < due,
        "at the first frame after it"
    );
    assert_eq!(s3[0].0.end_reason, Some(EndReason::Timeout));
    // S14: one record, handed out at its completing ACK; the challenge ACK
    // later does not make a second one.
    assert_eq!(find(&out, 40010).len(), 1);
    assert_eq!(out.len(), 21, "each attempt once");
}

#[test]
fn files_come_out_in_order_of_first_packet() {
    let (out, _, _) = run("lab-client.pcap", TrackerConfig::default());
    let frames: Vec<u64> = out.iter().map(|(a, _)| a.first_frame).collect();
    let mut sorted = frames.clone();
    sorted.sort();
    assert_eq!(frames, sorted);
    assert_eq!(out.len(), 21);
}

#[test]
fn the_cap_evicts_the_longest_idle_attempt_and_counts_it() {
    let cfg = TrackerConfig {
        max_live: 2,
        max_waiting: 2,
        ..TrackerConfig::default()
    };
    let (out, t, _) = run("lab-client.pcap", cfg);
    let stats = t.stats();
    assert!(stats.evicted > 0);
    assert!(stats.peak_live <= 3, "{stats:?}");
    let evicted = out
        .iter()
        .filter(|(a, _)| a.end_reason == Some(EndReason::Evicted))
        .count() as u64;
    assert_eq!(evicted, stats.evicted);
    assert_eq!(out.len() as u64, stats.attempts, "every attempt reported");
}

#[test]
fn a_closing_segment_brings_the_release_forward_to_the_linger() {
    // Idle and handshake timeouts far beyond the capture, a short linger: an
    // attempt that closed (FIN both ways, or an accepted RST) leaves the
    // table at the first frame a linger after its last packet, whatever the
    // timeout it waited out before its closing segment.
    let linger = Duration::from_millis(200);
    let cfg = TrackerConfig {
        linger,
        idle_timeout: Duration::from_secs(86_400),
        handshake_timeout: Duration::from_secs(86_400),
        ..TrackerConfig::default()
    };
    let mut closed = 0;
    for file in ["lab-client.pcap", "lab-server.pcap"] {
        let (out, _, times) = run(file, cfg.clone());
        let last = times.last().expect("frames").as_nanos();
        for (a, _) in &out {
            if !a.closed() {
                continue;
            }
            let due = a.last_time.as_nanos() + linger.as_nanos() as i128;
            if last >= due {
                closed += 1;
                assert_eq!(
                    a.end_reason,
                    Some(EndReason::Closed),
                    "{file}: attempt from port {} closed at {:?}",
                    a.client.port,
                    a.last_time
                );
            } else {
                assert_eq!(a.end_reason, Some(EndReason::EndOfInput));
            }
        }
    }
    assert!(
        closed >= 5,
        "only {closed} attempts closed a linger before the end"
    );
}
