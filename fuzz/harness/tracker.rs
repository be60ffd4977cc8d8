//! Arbitrary segment sequences through the tracker with tiny caps and
//! timeouts, then every record through the reports.
//!
//! The fuzz bytes are read as a small program: a header picks the limits,
//! then each segment picks its flow (32 of them: IPv4 or IPv6, four address
//! pairs, four client ports), direction, flags, sequence and acknowledgment
//! numbers (raw, or near what the flow last sent, so that real handshakes are
//! easy to reach), payload length, options (raw bytes or a SYN's usual set),
//! a time step (forwards, backwards or none) and an optional damaged byte.
//! Whatever the input, the tracker must keep its promises: live attempts
//! within the cap, counters that never go back, every attempt handed out
//! exactly once (in order of first packet for files), nothing left at the end.
//! The first records are then explained with their packets, picked out of the
//! same frames as `synack explain` picks them out of a second read.

use std::time::Duration;

use synack::report::ladder::{text_for, TextStyle};
use synack::report::packets::{CapturedFrame, PacketCollector};
use synack::source::{Frame, Linktype, Precision, Timestamp};
use synack::track::heuristics::DetectorConfig;
use synack::track::{analyze, Attempt, Counted, Emit, Tracker, TrackerConfig, TrackerStats};
use synack::wire::internet_checksum;

/// The fuzz input, read front to back; zeros once it runs out.
struct Bytes<'a> {
    data: &'a [u8],
    at: usize,
}

impl Bytes<'_> {
    fn u8(&mut self) -> u8 {
        let b = self.data.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        b
    }
    fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }
    fn u32(&mut self) -> u32 {
        u32::from_be_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
    fn more(&self) -> bool {
        self.at < self.data.len()
    }
}

const FLOWS: usize = 32;
/// Records explained packet by packet.
const EXPLAINED: usize = 16;

/// One segment's IP packet (LINKTYPE_RAW), checksums right.
#[allow(clippy::too_many_arguments)]
fn packet(
    flow: usize,
    from_client: bool,
    flags: u8,
    seq: u32,
    ack: u32,
    window: u16,
    options: &[u8],
    payload: usize,
) -> Vec<u8> {
    let v6 = flow & 1 != 0;
    let pair = ((flow >> 1) & 3) as u8;
    let client_port = 40_000 + ((flow >> 3) & 3) as u16;
    let server_port = if pair == 3 { 443 } else { 80 };
    let addr = |host: u8| -> Vec<u8> {
        if v6 {
            let mut a = vec![0x20, 0x01, 0x0d, 0xb8];
            a.resize(15, 0);
            a.push(host);
            a
        } else {
            vec![10, 0, pair, host]
        }
    };
    let (client, server) = (addr(1 + pair), addr(100));
    let (src, dst, sport, dport) = if from_client {
        (client, server, client_port, server_port)
    } else {
        (server, client, server_port, client_port)
    };
    let mut opts = options.to_vec();
    while opts.len() % 4 != 0 {
        opts.push(1);
    }
    let mut tcp = Vec::with_capacity(20 + opts.len() + payload);
    tcp.extend_from_slice(&sport.to_be_bytes());
    tcp.extend_from_slice(&dport.to_be_bytes());
    tcp.extend_from_slice(&seq.to_be_bytes());
    tcp.extend_from_slice(&ack.to_be_bytes());
    tcp.push((((20 + opts.len()) / 4) as u8) << 4);
    tcp.push(flags);
    tcp.extend_from_slice(&window.to_be_bytes());
    tcp.extend_from_slice(&[0, 0, 0, 0]);
    tcp.extend_from_slice(&opts);
    tcp.resize(tcp.len() + payload, b'x');
    let len = (tcp.len() as u16).to_be_bytes();
    let sum = if v6 {
        internet_checksum(&[&src, &dst, &[0, 0], &len, &[0, 0, 0, 6], &tcp])
    } else {
        internet_checksum(&[&src, &dst, &[0, 6], &len, &tcp])
    };
    tcp[16..18].copy_from_slice(&sum.to_be_bytes());
    let mut ip = if v6 {
        let mut h = vec![0x60, 0, 0, 0];
        h.extend_from_slice(&len);
        h.extend_from_slice(&[6, 64]);
        h
    } else {
        let total = ((20 + tcp.len()) as u16).to_be_bytes();
        vec![0x45, 0, total[0], total[1], 0, 1, 0x40, 0, 64, 6, 0, 0]
    };
    ip.extend_from_slice(&src);
    ip.extend_from_slice(&dst);
    if !v6 {
        let sum = internet_checksum(&[&ip]);
        ip[10..12].copy_from_slice(&sum.to_be_bytes());
    }
    ip.extend_from_slice(&tcp);
    ip
}

/// A SYN's usual options with fuzz-chosen values.
fn syn_options(b: &mut Bytes<'_>) -> Vec<u8> {
    let mut o = vec![2, 4];
    o.extend_from_slice(&b.u16().to_be_bytes());
    o.extend_from_slice(&[4, 2, 8, 10]);
    o.extend_from_slice(&b.u32().to_be_bytes());
    o.extend_from_slice(&b.u32().to_be_bytes());
    o.extend_from_slice(&[1, 3, 3, b.u8()]);
    o
}

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

pub fn run(data: &[u8]) {
    let mut b = Bytes { data, at: 0 };
    let limits = b.u8();
    let max_live = 1 + usize::from(limits & 3);
    let max_waiting = 1 + usize::from((limits >> 2) & 3);
    let emit = if limits & 0x10 != 0 {
        Emit::WhenFinal
    } else {
        Emit::InOrder
    };
    let precision = if limits & 0x20 != 0 {
        Precision::Nano
    } else {
        Precision::Micro
    };
    let detectors = DetectorConfig {
        window_secs: i64::from(b.u8() % 4),
        flood_threshold: u32::from(b.u8() % 4),
        scan_threshold: u32::from(b.u8() % 4),
        max_keys: 1 + usize::from(limits >> 6),
    };
    let cfg = TrackerConfig {
        handshake_timeout: Duration::from_millis(u64::from(b.u8()) * 25),
        idle_timeout: Duration::from_millis(u64::from(b.u8()) * 100),
        linger: Duration::from_millis(u64::from(b.u8()) * 10),
        max_live,
        max_waiting,
        emit,
        detectors: detectors.clone(),
        counts_only: false,
        without_views: false,
    };
    // The same frames through a tracker that only counts (the summary's):
    // its verdicts must be the full tracker's.
    let mut counting = Tracker::new(TrackerConfig {
        counts_only: true,
        ..cfg.clone()
    });
    let mut counted = Vec::new();
    // And through one that keeps no Zeek or Wireshark views (the report's).
    let mut viewless = Tracker::new(TrackerConfig {
        without_views: true,
        ..cfg.clone()
    });
    let mut unviewed = Vec::new();
    let mut tracker = Tracker::new(cfg);
    let mut last_sent = [[0u32; 2]; FLOWS];
    let mut now: i128 = 1_700_000_000_000_000_000;
    let mut records = Vec::new();
    let mut before = counters(&tracker.stats());
    let mut attempts_before = 0;
    let mut number = 0u64;
    let mut frames = Vec::new();
    while b.more() && number < 4096 {
        let flags = b.u8();
        let pick = b.u8();
        let flow = usize::from(pick & 0x1f);
        let from_client = pick & 0x20 == 0;
        let side = usize::from(!from_client);
        let modes = b.u8();
        let raw_seq = b.u32();
        let raw_ack = b.u32();
        let near = |last: u32, v: u32| last.wrapping_add(v % 4096);
        let seq = match pick >> 6 {
            0 => raw_seq,
            1 => near(last_sent[flow][side], raw_seq),
            2 => last_sent[flow][side].wrapping_sub(raw_seq % 4096),
            _ => u32::MAX - raw_seq % 8,
        };
        let peer = last_sent[flow][1 - side];
        let ack = match modes & 3 {
            0 => raw_ack,
            1 => near(peer.wrapping_add(1), raw_ack % 3),
            2 => 0,
            _ => peer.wrapping_add(raw_ack % 3).wrapping_sub(1),
        };
        let payload = usize::from((modes >> 2) & 0x3f);
        let time = b.u8();
        let step = i128::from(time & 0x0f) << (3 * ((time >> 4) & 7));
        now += if time & 0x80 != 0 {
            -step * 1000
        } else {
            step * 1000
        };
        let window = u16::from(b.u8()) * 257;
        let shape = b.u8();
        let options = if shape & 0x40 != 0 {
            syn_options(&mut b)
        } else {
            (0..usize::from(shape & 0x3f).min(40))
                .map(|_| b.u8())
                .collect()
        };
        let mut data = packet(
            flow,
            from_client,
            flags,
            seq,
            ack,
            window,
            &options,
            payload,
        );
        last_sent[flow][side] = seq.wrapping_add(payload as u32);
        let mut wire_len = data.len() as u32;
        if shape & 0x80 != 0 {
            // Damage: one byte changed, the capture cut short, the wire
            // length understated.
            let (at, value, cut) = (usize::from(b.u8()), b.u8(), b.u8());
            let n = data.len();
            data[at % n] = value;
            data.truncate(n - usize::from(cut) % n);
            if cut & 0x80 != 0 {
                wire_len = u32::from(cut);
            }
        }
        number += 1;
        let ts = Timestamp::new(
            (now.div_euclid(1_000_000_000)) as i64,
            (now.rem_euclid(1_000_000_000)) as i64,
        );
        let frame = Frame {
            number,
            ts,
            len: wire_len,
            linktype: Linktype::RAW,
            data: &data,
            offset: 0,
        };
        tracker.observe(&frame);
        viewless.observe(&frame);
        drain(&mut viewless, &mut unviewed);
        // Through an owned packet, as the tracking thread of --threads
        // gets it: the two paths must agree too.
        match synack::track::Packet::decode_for(&frame, false) {
            Ok(p) => counting.observe_packet(&p),
            Err(skip) => counting.count_skipped(skip, 1),
        }
        assert!(
            counting.next_finished().is_none(),
            "a tracker that only counts hands out no whole record"
        );
        while let Some(c) = counting.next_counted() {
            counted.push(c);
        }
        frames.push(CapturedFrame::from_frame(&frame));
        drain(&mut tracker, &mut records);
        let stats = tracker.stats();
        assert!(tracker.live() <= max_live, "{} live", tracker.live());
        assert!(stats.peak_live <= max_live as u64);
        let after = counters(&stats);
        for (i, (x, y)) in before.iter().zip(&after).enumerate() {
            assert!(y >= x, "counter {i} went back from {x} to {y}");
        }
        before = after;
        assert_eq!(stats.frames, number);
        assert_eq!(
            stats.tcp_segments + stats.not_tcp + stats.truncated + stats.malformed,
            stats.frames
        );
        assert!(stats.attempts + 1 >= attempts_before);
        attempts_before = stats.attempts;
        assert!(records.len() as u64 <= stats.attempts);
    }
    tracker.finish();
    drain(&mut tracker, &mut records);
    let stats = tracker.stats();
    // The counting tracker: what it counted of each record, in order.
    counting.finish();
    assert!(counting.next_finished().is_none());
    while let Some(c) = counting.next_counted() {
        counted.push(c);
    }
    assert_eq!(counting.stats(), stats, "the counting tracker's counters");
    let count = |c: &Counted| (c.verdict, c.handshake_us.map(f64::to_bits), c.server);
    assert_eq!(
        counted.iter().map(count).collect::<Vec<_>>(),
        records
            .iter()
            .map(|a| count(&Counted::of(a)))
            .collect::<Vec<_>>(),
        "the counting tracker's records"
    );
    agrees("viewless", &mut viewless, &mut unviewed, stats, &records);
    // The report's tracker verifies no checksum: its ladders do, for the
    // packets they draw (checked below).
    assert!(
        unviewed.iter().all(|a| a.bad_checksums == [0, 0]),
        "the viewless tracker counted a bad checksum"
    );
    assert_eq!(tracker.live(), 0, "nothing held after the end");
    assert_eq!(records.len() as u64, stats.attempts, "each attempt once");
    let mut indices: Vec<u64> = records.iter().map(|a| a.index).collect();
    if emit == Emit::InOrder {
        assert!(
            indices.windows(2).all(|w| w[0] < w[1]),
            "in order of first packet: {indices:?}"
        );
    }
    indices.sort_unstable();
    indices.dedup();
    assert_eq!(indices.len(), records.len(), "no attempt twice");
    let slow = f64::from(limits & 0x0f) * 0.5;
    let chosen: Vec<&synack::track::Attempt> =
        records.iter().take(EXPLAINED).map(|a| &**a).collect();
    let mut collector = PacketCollector::for_attempts(&chosen, precision);
    for f in &frames {
        collector.offer(&f.frame());
    }
    let packets = collector.finish();
    let style = TextStyle {
        ascii: true,
        absolute: false,
    };
    for (a, p) in chosen.iter().zip(&packets) {
        assert!(
            (p.frames.len() as u64 + p.more) <= a.packets,
            "attempt {}: {} packets picked, {} counted",
            a.index,
            p.frames.len() as u64 + p.more,
            a.packets
        );
        // The report draws the viewless tracker's record: its ladder is the
        // full record's, unless the full record's events were cut short
        // (its bad-checksum events then took places the other's need not).
        if a.events_dropped > 0 {
            continue;
        }
        let u = unviewed
            .iter()
            .find(|u| u.index == a.index)
            .expect("the viewless tracker's record of the attempt");
        assert_eq!(
            text_for(p, u, &analyze(u, &detectors), style),
            text_for(p, a, &analyze(a, &detectors), style),
            "attempt {}: the report's ladder",
            a.index
        );
    }
    crate::render::check(
        &records,
        Some(&packets),
        &stats,
        precision,
        &detectors,
        Some(slow),
    );
}

/// Every record `t` has finished, onto `into`.
#[allow(clippy::vec_box)] // the tracker hands out boxes
fn drain(t: &mut Tracker, into: &mut Vec<Box<Attempt>>) {
    while let Some(a) = t.next_finished() {
        into.push(a);
    }
}

/// Another tracker over the same frames, finished: the full tracker's
/// counters, and its records' verdicts, handshake times and servers.
#[allow(clippy::vec_box)] // the tracker hands out boxes
fn agrees(
    name: &str,
    other: &mut Tracker,
    theirs: &mut Vec<Box<Attempt>>,
    stats: TrackerStats,
    records: &[Box<Attempt>],
) {
    other.finish();
    drain(other, theirs);
    assert_eq!(other.stats(), stats, "the {name} tracker's counters");
    let judged = |r: &[Box<Attempt>]| -> Vec<_> {
        r.iter()
            .map(|a| {
                (
                    a.index,
                    synack::track::analysis::verdict(a),
                    synack::track::rtt::handshake_time(a).map(f64::to_bits),
                    a.server,
                )
            })
            .collect()
    };
    assert_eq!(
        judged(theirs),
        judged(records),
        "the {name} tracker's records"
    );
}
