//! The frames of attempts not yet handed out, held while an input that
//! cannot be read twice is read once.

use std::collections::BTreeMap;

// foldhash is seeded per process: a crafted capture cannot aim collisions.
use foldhash::HashMap;

use super::{AttemptPackets, CapturedFrame, PacketCollector, MAX_PACKETS};
use crate::source::{Frame, Precision};
use crate::track::{Attempt, FlowKey, Packet, Tracker};

/// Most 4-tuples whose frames [`HeldFrames`] holds at once.
pub const MAX_HELD_FLOWS: usize = 1024;
/// Most bytes [`HeldFrames`] holds at once (frames and their bookkeeping).
pub const MAX_HELD_BYTES: usize = 64 << 20;

/// What the tracker made of a frame, as [`HeldFrames`] needs to know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Began {
    /// The frame began a new attempt on its 4-tuple.
    Attempt,
    /// The frame belongs to an attempt begun earlier (or to none).
    Nothing,
    /// The frame made the tracker take back the attempt that the 4-tuple's
    /// latest SYN began: a challenge ACK showed that SYN to be part of the
    /// open connection (RFC 5961 §4).
    Withdrawn,
}

/// An attempt begun on a 4-tuple: the frames from its first to the next
/// attempt's first.
#[derive(Debug)]
struct Start {
    frame: u64,
    /// The first [`MAX_PACKETS`] frames and the latest one.
    frames: Vec<CapturedFrame>,
    /// Frames counted but not held.
    dropped: u64,
    /// Handed out: its frames are let go, and so are the next ones until
    /// another attempt begins.
    taken: bool,
}

/// The attempts of one 4-tuple that [`HeldFrames`] holds frames for.
#[derive(Debug, Default)]
struct Held {
    starts: Vec<Start>,
    /// Number of the 4-tuple's latest frame: its place in the eviction order.
    latest: u64,
    bytes: usize,
}

/// What holding a frame costs.
fn cost(f: &CapturedFrame) -> usize {
    f.data.len() + std::mem::size_of::<CapturedFrame>()
}

/// The frames of attempts the tracker has not handed out yet, for an input
/// read once (standard input, a live capture).
///
/// The tracker says which frame begins an attempt; from there on a 4-tuple's
/// frames are the attempt's, until the next attempt on it begins. Bounds:
///
/// - per attempt, its first [`MAX_PACKETS`] frames (what an attempt keeps)
///   and its latest one until the next comes (the frame that finishes an
///   attempt must be there when it is handed out); the others are counted
///   and shown as "not shown". Per attempt, not per 4-tuple: read in file
///   order, an attempt on a reused port can begin before the earlier one is
///   handed out, and each must keep its handshake;
/// - at most [`MAX_HELD_FLOWS`] 4-tuples and [`MAX_HELD_BYTES`] bytes;
///   beyond either, 4-tuples are let go, the one whose latest frame is
///   oldest first (never the one of the frame just held), and their
///   attempts are explained from their records alone, their packets counted
///   but not shown;
/// - an attempt's frames are let go when it is handed out, and later frames
///   of its 4-tuple are not held until another attempt begins: the rest of a
///   connection whose verdict came at its handshake (live) is not held.
#[derive(Debug)]
pub struct HeldFrames {
    flows: HashMap<FlowKey, Held>,
    /// 4-tuples by the number of their latest frame, oldest first.
    by_age: BTreeMap<u64, FlowKey>,
    bytes: usize,
    precision: Precision,
}

impl HeldFrames {
    pub fn new(precision: Precision) -> HeldFrames {
        HeldFrames {
            flows: HashMap::default(),
            by_age: BTreeMap::new(),
            bytes: 0,
            precision,
        }
    }

    /// 4-tuples held.
    pub fn flows(&self) -> usize {
        self.flows.len()
    }

    /// Frames held.
    pub fn frames(&self) -> usize {
        let starts = self.flows.values().flat_map(|h| &h.starts);
        starts.map(|s| s.frames.len()).sum()
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Let the tracker see frame `f`, and hold the frame while an attempt
    /// of its 4-tuple may still be handed out; then [`HeldFrames::take`] the
    /// packets of each attempt the tracker hands out.
    pub fn track(&mut self, tracker: &mut Tracker, f: &Frame<'_>) {
        let attempts = tracker.stats().attempts;
        match Packet::decode(f) {
            Ok(p) => {
                tracker.observe_packet(&p);
                let began = match tracker.stats().attempts.cmp(&attempts) {
                    std::cmp::Ordering::Greater => Began::Attempt,
                    std::cmp::Ordering::Equal => Began::Nothing,
                    std::cmp::Ordering::Less => Began::Withdrawn,
                };
                self.hold(f, FlowKey::new(p.src, p.dst), began);
            }
            Err(skip) => tracker.count_skipped(skip, 1),
        }
    }

    /// Hold frame `f` of 4-tuple `key`, after the tracker saw it.
    fn hold(&mut self, f: &Frame<'_>, key: FlowKey, began: Began) {
        let start_cost = std::mem::size_of::<Start>();
        match began {
            Began::Attempt => {
                let held = self.flows.entry(key).or_default();
                held.starts.push(Start {
                    frame: f.number,
                    frames: Vec::new(),
                    dropped: 0,
                    taken: false,
                });
                held.bytes += start_cost;
                self.bytes += start_cost;
            }
            Began::Withdrawn => {
                if let Some(held) = self.flows.get_mut(&key) {
                    if let Some(back) = held.starts.pop() {
                        held.bytes -= start_cost;
                        self.bytes -= start_cost;
                        match held.starts.last_mut() {
                            Some(previous) if !previous.taken => {
                                previous.frames.extend(back.frames);
                                previous.dropped += back.dropped;
                            }
                            _ => {
                                let freed: usize = back.frames.iter().map(cost).sum();
                                held.bytes -= freed;
                                self.bytes -= freed;
                            }
                        }
                    }
                }
            }
            Began::Nothing => {}
        }
        let Some(held) = self.flows.get_mut(&key) else {
            // A frame of attempts already handed out.
            return;
        };
        match held.starts.last_mut() {
            Some(start) if !start.taken => {
                while start.frames.len() > MAX_PACKETS {
                    let beyond = start.frames.pop().expect("frames");
                    held.bytes -= cost(&beyond);
                    self.bytes -= cost(&beyond);
                    start.dropped += 1;
                }
                let frame = CapturedFrame::from_frame(f);
                held.bytes += cost(&frame);
                self.bytes += cost(&frame);
                start.frames.push(frame);
            }
            Some(_) => {}
            None => {
                self.let_go(&key);
                return;
            }
        }
        self.by_age.remove(&held.latest);
        held.latest = f.number;
        self.by_age.insert(f.number, key);
        while self.flows.len() > MAX_HELD_FLOWS || self.bytes > MAX_HELD_BYTES {
            match self.by_age.first_key_value() {
                Some((_, &oldest)) if oldest != key => self.let_go(&oldest),
                _ => break,
            }
        }
    }

    /// The packets of `a`, which the tracker has just handed out; its frames
    /// are let go.
    pub fn take(&mut self, a: &Attempt) -> AttemptPackets {
        let key = FlowKey::new(a.client, a.server);
        let mut collector = PacketCollector::for_attempts(&[a], self.precision);
        let start = self.flows.get_mut(&key).and_then(|held| {
            let start = held
                .starts
                .iter_mut()
                .find(|s| s.frame == a.first_frame && !s.taken)?;
            start.taken = true;
            let freed: usize = start.frames.iter().map(cost).sum();
            held.bytes -= freed;
            self.bytes -= freed;
            Some((std::mem::take(&mut start.frames), start.dropped))
        });
        let Some((frames, dropped)) = start else {
            // Let go for room (or never held): counted, not shown.
            let mut packets = collector.finish().pop().expect("one attempt");
            packets.more = a.packets;
            return packets;
        };
        for f in &frames {
            collector.offer(&f.frame());
        }
        let mut packets = collector.finish().pop().expect("one attempt");
        packets.more += dropped;
        if self.flows[&key].starts.iter().all(|s| s.taken) {
            self.let_go(&key);
        }
        packets
    }

    fn let_go(&mut self, key: &FlowKey) {
        if let Some(held) = self.flows.remove(key) {
            self.by_age.remove(&held.latest);
            self.bytes -= held.bytes;
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::report::testing::{frames, judged, judged_once, Seg, CLIENT};
    use crate::track::{Emit, TrackerConfig};
    use crate::wire::tcp::{ACK, FIN, PSH, RST, SYN};

    fn numbers(p: &AttemptPackets) -> Vec<u64> {
        p.frames.iter().map(|f| f.number).collect()
    }

    /// What an explanation is made of: which attempt, which frames, how
    /// many more.
    fn shown(judged: &[(Box<Attempt>, AttemptPackets)]) -> Vec<(u64, Vec<u64>, u64)> {
        judged
            .iter()
            .map(|(a, p)| (a.first_frame, numbers(p), p.more))
            .collect()
    }

    /// A connection from `port`: handshake, `data` segments from the
    /// client, FINs both ways, starting at `micros`, ISN `x`.
    fn connection(port: u16, micros: i64, x: u32, data: u32) -> Vec<Seg> {
        let y = x.wrapping_mul(7);
        let mut segs = vec![
            Seg::new(true, 0, SYN, x, 0),
            Seg::new(false, 10, SYN | ACK, y, x + 1),
            Seg::new(true, 20, ACK, x + 1, y + 1),
        ];
        for i in 0..data {
            let mut s = Seg::new(true, 30 + 10 * i as i64, ACK | PSH, x + 1 + 10 * i, y + 1);
            s.payload = 10;
            segs.push(s);
        }
        let end = x + 1 + 10 * data;
        let t = 40 + 10 * data as i64;
        segs.push(Seg::new(true, t, FIN | ACK, end, y + 1));
        segs.push(Seg::new(false, t + 10, FIN | ACK, y + 1, end + 1));
        segs.push(Seg::new(true, t + 20, ACK, end + 1, y + 2));
        for s in &mut segs {
            s.client_port = port;
            s.micros += micros;
        }
        segs
    }

    #[test]
    fn read_once_in_order_the_packets_are_those_of_two_reads() {
        // A long connection (beyond MAX_PACKETS), its port used again at
        // once, a refused attempt in between, and another connection woven
        // through the first.
        let mut segs = connection(CLIENT.1, 0, 1000, 40);
        segs.extend(connection(CLIENT.1 + 1, 55, 5000, 3));
        let mut refused = vec![
            Seg::new(true, 100, SYN, 9000, 0),
            Seg::new(false, 110, RST | ACK, 0, 9001),
        ];
        refused
            .iter_mut()
            .for_each(|s| s.client_port = CLIENT.1 + 2);
        segs.extend(refused);
        segs.extend(connection(CLIENT.1, 1_000, 50_000, 2));
        segs.sort_by_key(|s| s.micros);
        let twice = judged(&segs);
        let once = judged_once(&segs, Emit::InOrder);
        assert_eq!(shown(&once), shown(&twice));
        let long = &once[0].1;
        assert_eq!(
            (long.frames.len(), long.more),
            (MAX_PACKETS, 46 - MAX_PACKETS as u64)
        );
        let reused = once.last().expect("the reused port");
        assert_eq!(reused.1.frames.len(), 8, "all of the second connection's");
    }

    #[test]
    fn read_live_an_attempt_has_its_handshake_and_nothing_is_held_after() {
        let segs = connection(CLIENT.1, 0, 1000, 5);
        let mut tracker = Tracker::new(TrackerConfig {
            emit: Emit::WhenFinal,
            ..TrackerConfig::default()
        });
        let mut held = HeldFrames::new(Precision::Micro);
        let mut got = Vec::new();
        for f in &frames(&segs) {
            held.track(&mut tracker, &f.frame());
            while let Some(a) = tracker.next_finished() {
                got.push((f.number, numbers(&held.take(&a))));
            }
            if f.number >= 3 {
                assert_eq!((held.flows(), held.frames()), (0, 0), "frame {}", f.number);
            }
        }
        assert_eq!(got, vec![(3, vec![1, 2, 3])], "explained at the third ACK");
    }

    #[test]
    fn beyond_the_held_flows_the_oldest_is_let_go() {
        let segs: Vec<Seg> = (0..=MAX_HELD_FLOWS as u16)
            .map(|i| {
                let mut s = Seg::new(true, i64::from(i), SYN, 1000, 0);
                s.client_port = 10_000 + i;
                s
            })
            .collect();
        let judged = judged_once(&segs, Emit::WhenFinal);
        assert_eq!(judged.len(), MAX_HELD_FLOWS + 1);
        for (a, p) in &judged {
            let first = a.client.port == 10_000;
            assert_eq!(
                p.frames.len(),
                usize::from(!first),
                "port {}",
                a.client.port
            );
            assert_eq!(p.more, u64::from(first), "port {}", a.client.port);
        }
    }

    fn any_seg() -> impl Strategy<Value = Seg> {
        let number = prop_oneof![
            Just(1000u32),
            Just(1001),
            Just(7000),
            Just(7001),
            any::<u32>()
        ];
        (
            any::<bool>(),
            0u16..2,
            0i64..3_000_000,
            prop_oneof![
                Just(SYN),
                Just(SYN | ACK),
                Just(ACK),
                Just(ACK | PSH),
                Just(ACK | FIN),
                Just(RST | ACK),
                any::<u8>()
            ],
            number.clone(),
            number,
            0usize..20,
        )
            .prop_map(|(from_client, port, micros, flags, seq, ack, payload)| {
                let mut s = Seg::new(from_client, micros, flags, seq, ack);
                s.client_port = CLIENT.1 + port;
                s.payload = payload;
                s
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Read once in file order, every attempt gets the packets the
        /// second read of a file gives it.
        #[test]
        fn read_once_in_order_agrees_with_two_reads(
            mut segs in prop::collection::vec(any_seg(), 1..48)
        ) {
            segs.sort_by_key(|s| s.micros);
            prop_assert_eq!(shown(&judged_once(&segs, Emit::InOrder)), shown(&judged(&segs)));
        }
    }
}
