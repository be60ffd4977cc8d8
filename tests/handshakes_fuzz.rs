//! No input makes the tracker or the reports panic, and every attempt comes
//! out exactly once, whatever the segments, their order, their timestamps,
//! the caps and the timeouts.

use std::collections::HashSet;
use std::time::Duration;

use proptest::prelude::*;
use synack::report::{csv::CsvWriter, jsonl, table::TableWriter, Record, Summary};
use synack::source::{Frame, Linktype, Precision, Timestamp};
use synack::track::{Emit, Tracker, TrackerConfig, TrackerStats, Verdict};

#[derive(Debug, Clone)]
struct Seg {
    from_a: bool,
    port_pair: u8,
    flags: u8,
    seq: u32,
    ack: u32,
    window: u16,
    payload: u8,
    options: Vec<u8>,
    dt_us: i64,
    damage: Option<(usize, u8)>,
}

fn near() -> impl Strategy<Value = u32> {
    prop_oneof![
        Just(0u32),
        (0u32..4).prop_map(|d| 1000 + d),
        (0u32..4).prop_map(|d| u32::MAX - d),
        any::<u32>(),
    ]
}

fn seg() -> impl Strategy<Value = Seg> {
    (
        any::<bool>(),
        0u8..3,
        prop_oneof![
            Just(0x02u8),
            Just(0x12),
            Just(0x10),
            Just(0x18),
            Just(0x11),
            Just(0x04),
            Just(0x14),
            Just(0xc2),
            any::<u8>()
        ],
        near(),
        near(),
        any::<u16>(),
        0u8..40,
        prop::collection::vec(any::<u8>(), 0..16),
        prop_oneof![0i64..2_000, 0i64..200_000_000, -1_000_000i64..0],
        prop::option::weighted(0.1, (0usize..80, any::<u8>())),
    )
        .prop_map(
            |(from_a, port_pair, flags, seq, ack, window, payload, options, dt_us, damage)| Seg {
                from_a,
                port_pair,
                flags,
                seq,
                ack,
                window,
                payload,
                options,
                dt_us,
                damage,
            },
        )
}

/// A raw IPv4 packet (LINKTYPE_RAW) for a segment.
fn packet(s: &Seg) -> Vec<u8> {
    let mut opts = s.options.clone();
    while opts.len() % 4 != 0 {
        opts.push(1);
    }
    let thl = 20 + opts.len();
    let total = 20 + thl + s.payload as usize;
    let (a, b) = ([10u8, 0, 0, 1], [10u8, 0, 0, 2]);
    let (pa, pb) = (40000 + u16::from(s.port_pair), 80u16);
    let (src, dst, sp, dp) = if s.from_a {
        (a, b, pa, pb)
    } else {
        (b, a, pb, pa)
    };
    let mut p = vec![0u8; total];
    p[0] = 0x45;
    p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    p[8] = 64;
    p[9] = 6;
    p[12..16].copy_from_slice(&src);
    p[16..20].copy_from_slice(&dst);
    let t = &mut p[20..];
    t[0..2].copy_from_slice(&sp.to_be_bytes());
    t[2..4].copy_from_slice(&dp.to_be_bytes());
    t[4..8].copy_from_slice(&s.seq.to_be_bytes());
    t[8..12].copy_from_slice(&s.ack.to_be_bytes());
    t[12] = ((thl / 4) as u8) << 4;
    t[13] = s.flags;
    t[14..16].copy_from_slice(&s.window.to_be_bytes());
    t[20..thl].copy_from_slice(&opts);
    if let Some((at, b)) = s.damage {
        let n = p.len();
        p[at % n] = b;
    }
    p
}

/// The segments at times accumulated from their `dt_us`.
fn timed(segs: &[Seg]) -> Vec<(i64, Seg)> {
    let mut now: i64 = 1_700_000_000_000_000;
    segs.iter()
        .map(|s| {
            now += s.dt_us;
            (now, s.clone())
        })
        .collect()
}

/// The counters of the tracker's statistics that only grow. `attempts` is
/// not one of them: a SYN that the peer answers with a challenge ACK is
/// folded back into the connection it belongs to, and the attempt it had
/// opened is withdrawn (one at most per segment).
fn counters(s: &TrackerStats) -> [u64; 8] {
    [
        s.frames,
        s.tcp_segments,
        s.not_tcp,
        s.truncated,
        s.malformed,
        s.evicted,
        s.flushed,
        s.peak_live,
    ]
}

fn exercise(segs: &[Seg], max_live: usize, timeout_ms: u64, streaming: bool) {
    exercise_timed(&timed(segs), max_live, timeout_ms, streaming);
}

/// Feed the segments (time in microseconds, segment) in the order given and
/// check the tracker's promises after each: no more live attempts than the
/// cap, counters that never go back, no attempt handed out twice; at the
/// end, every attempt handed out exactly once (in order of first packet
/// unless streaming), nothing held, and every record through every report.
fn exercise_timed(packets: &[(i64, Seg)], max_live: usize, timeout_ms: u64, streaming: bool) {
    let cfg = TrackerConfig {
        handshake_timeout: Duration::from_millis(timeout_ms),
        idle_timeout: Duration::from_millis(timeout_ms * 3),
        linger: Duration::from_millis(timeout_ms / 2),
        max_live,
        max_waiting: max_live,
        emit: if streaming {
            Emit::WhenFinal
        } else {
            Emit::InOrder
        },
        ..TrackerConfig::default()
    };
    let detectors = cfg.detectors.clone();
    let mut t = Tracker::new(cfg);
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut before = counters(&t.stats());
    let mut attempts_before = 0;
    for (i, (us, s)) in packets.iter().enumerate() {
        let data = packet(s);
        let f = Frame {
            number: i as u64 + 1,
            ts: Timestamp::new(us.div_euclid(1_000_000), us.rem_euclid(1_000_000) * 1000),
            len: data.len() as u32,
            linktype: Linktype::RAW,
            data: &data,
            offset: 0,
        };
        t.observe(&f);
        while let Some(a) = t.next_finished() {
            assert!(seen.insert(a.index), "attempt {} handed out twice", a.index);
            out.push(a);
        }
        let stats = t.stats();
        assert!(t.live() <= max_live, "{} live, cap {max_live}", t.live());
        assert!(
            stats.peak_live <= max_live as u64,
            "peak {}",
            stats.peak_live
        );
        let after = counters(&stats);
        for (k, (x, y)) in before.iter().zip(&after).enumerate() {
            assert!(y >= x, "counter {k} went back from {x} to {y}");
        }
        before = after;
        assert!(
            stats.attempts + 1 >= attempts_before,
            "attempts went back from {attempts_before} to {}",
            stats.attempts
        );
        attempts_before = stats.attempts;
        assert!(out.len() as u64 <= stats.attempts);
    }
    t.finish();
    while let Some(a) = t.next_finished() {
        assert!(seen.insert(a.index), "attempt {} handed out twice", a.index);
        out.push(a);
    }
    assert_eq!(out.len() as u64, t.stats().attempts, "each attempt once");
    assert_eq!(t.live(), 0);
    if !streaming {
        assert!(
            out.windows(2).all(|w| w[0].index < w[1].index),
            "in order of first packet"
        );
    }
    let mut buf = Vec::new();
    let mut table = TableWriter::new(true);
    let mut summary = Summary::new();
    for (i, a) in out.iter().enumerate() {
        let r = Record::new(i as u64 + 1, a, Precision::Micro, &detectors);
        jsonl::write(&r, &mut buf);
        CsvWriter::new().row(&r, &mut buf);
        table.row(&r, &mut buf);
        summary.add(&r);
    }
    let judged: u64 = Verdict::ALL.iter().map(|&v| summary.count(v)).sum();
    assert_eq!(judged, out.len() as u64, "one verdict per attempt");
    summary.write_text(&t.stats(), &mut buf);
    for line in buf.split(|&b| b == b'\n').filter(|l| l.starts_with(b"{")) {
        serde_json::from_slice::<serde_json::Value>(line).expect("valid JSON");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn any_segments_any_limits(
        segs in prop::collection::vec(seg(), 0..60),
        max_live in 1usize..4,
        timeout_ms in 1u64..5_000,
        streaming: bool,
    ) {
        exercise(&segs, max_live, timeout_ms, streaming);
    }

    #[test]
    fn the_same_segments_in_any_order(
        segs in prop::collection::vec(seg(), 0..60)
            .prop_flat_map(|segs| Just(timed(&segs)).prop_shuffle()),
        max_live in 1usize..4,
        timeout_ms in 1u64..5_000,
        streaming: bool,
    ) {
        exercise_timed(&segs, max_live, timeout_ms, streaming);
    }

    #[test]
    fn any_bytes_on_any_link(frames in prop::collection::vec((any::<u32>(), prop::collection::vec(any::<u8>(), 0..120)), 0..30)) {
        let mut t = Tracker::new(TrackerConfig::default());
        for (i, (lt, data)) in frames.iter().enumerate() {
            let f = Frame {
                number: i as u64 + 1,
                ts: Timestamp::new(i as i64, 0),
                len: data.len() as u32,
                linktype: Linktype([0, 1, 9, 101, 113, 228, 229, 276][*lt as usize % 8]),
                data,
                offset: 0,
            };
            t.observe(&f);
        }
        t.finish();
        let mut n = 0;
        while t.next_finished().is_some() {
            n += 1;
        }
        prop_assert_eq!(n, t.stats().attempts);
    }
}
