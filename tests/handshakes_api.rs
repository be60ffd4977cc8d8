//! The tracker as a library: when records come out (streamed when final, or
//! in order of first packet), timeouts, and the cap on live attempts. The
//! facts asserted come from `../shared/corpus/LAB.md`.

mod common;

use std::time::Duration;

use synack::source::{open_path, FrameSource, Timestamp};
use synack::track::{analyze, Attempt, Emit, EndReason, Origin, Tracker, TrackerConfig, Verdict};

type Out = Vec<(Box<Attempt>, Option<u64>)>;

/// Feed a capture; return each record with the number of the frame after
/// which it came out (`None`: at the end of input), and each frame's time.
fn run(file: &str, cfg: TrackerConfig) -> (Out, Tracker, Vec<Timestamp>) {
    let path = common::corpus().join("captures").join(file);
    run_path(path.to_str().unwrap(), cfg)
}

/// [`run`] on a capture anywhere.
fn run_path(path: &str, cfg: TrackerConfig) -> (Out, Tracker, Vec<Timestamp>) {
    let mut src = open_path(path).unwrap();
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
fn each_attempt_leaves_at_the_timeout_of_its_last_state() {
    // A handshake timeout far beyond the capture, an idle timeout and a
    // shorter linger: the segment that closes an attempt (FIN both ways, or
    // an accepted RST) or completes its handshake brings its release forward,
    // to the first segment a linger (closed) or an idle timeout (established,
    // or begun midstream) after its last packet. After each segment, the
    // attempts still live are those whose deadline is still to come, by the
    // state each record ended in. With an idle timeout of 5 ms, connections
    // go idle between their segments; with 100 ms, they close long before.
    // (A generated capture: no SYN arrives on an open connection, whose
    // tentative attempt would be live without becoming a record.)
    let dir = std::env::temp_dir().join(format!("synack-api-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("timeouts.pcap");
    common::generated_capture(
        &path,
        2000,
        "established=60,refused=15,unanswered=10,half_open=10,nmap=5",
        synack_gen::Format::Pcap,
        3,
    );
    let path = path.to_str().unwrap();
    for (linger_ms, idle_ms, want_idle) in [(1, 5, 100), (1, 100, 0)] {
        let (linger, idle) = (
            Duration::from_millis(linger_ms),
            Duration::from_millis(idle_ms),
        );
        let cfg = TrackerConfig {
            linger,
            idle_timeout: idle,
            handshake_timeout: Duration::from_secs(86_400),
            ..TrackerConfig::default()
        };
        let (out, _, _) = run_path(path, cfg.clone());
        let deadline = |a: &Attempt| {
            let wait = if a.closed() {
                linger
            } else if a.handshake_complete() || a.origin == Origin::Midstream {
                idle
            } else {
                cfg.handshake_timeout
            };
            a.last_time.as_nanos() + wait.as_nanos() as i128
        };
        let mut src = open_path(path).unwrap();
        let mut t = Tracker::new(cfg.clone());
        let (mut checked, mut peak) = (0, 0);
        while let Some(f) = src.next_frame().unwrap() {
            t.observe(&f);
            while t.next_finished().is_some() {}
            let now = f.ts.as_nanos();
            let live = out
                .iter()
                .filter(|(a, _)| a.first_frame <= f.number && now < deadline(a))
                .count();
            assert_eq!(
                t.live(),
                live,
                "idle {idle_ms} ms: after frame {}",
                f.number
            );
            checked += 1;
            peak = peak.max(live);
        }
        let reason = |r| out.iter().filter(move |(a, _)| a.end_reason == Some(r));
        let closed = reason(EndReason::Closed).count();
        let idled = reason(EndReason::Timeout)
            .filter(|(a, _)| a.handshake_complete())
            .count();
        assert!(
            checked > 10_000 && peak > 10,
            "{checked} frames, at most {peak} live"
        );
        assert!(
            closed > 500 && idled >= want_idle,
            "{closed} closed, {idled} idle"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}
