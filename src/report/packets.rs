//! The packets of chosen attempts, gathered in a second read of the capture
//! or held while the input is read once.
//!
//! An [`Attempt`] keeps numbers, not packets (a million SYNs must fit in
//! memory). To show or explain an attempt packet by packet, the frames of the
//! attempt's 4-tuple are kept from its first frame to its last packet time, at
//! most [`MAX_PACKETS`] of them, with a count of the rest.
//!
//! A file is read again ([`PacketCollector`]). The second read must see the
//! same frames as the tracker did: the same filter, the same `-c` limit.
//!
//! ```text
//! let mut c = PacketCollector::for_attempts(&[&attempt], precision);
//! for frame in capture_again { c.offer(&frame); if c.complete(frame.ts) { break } }
//! let packets: Vec<AttemptPackets> = c.finish();
//! ```
//!
//! Standard input and a live capture cannot be read again: [`HeldFrames`]
//! holds the frames of the attempts the tracker has not handed out yet, and
//! gives each attempt its packets when it is handed out (through a
//! [`PacketCollector`] over the held frames, so both ways pick the same ones).

// foldhash is seeded per process: a crafted capture cannot aim collisions.
use foldhash::HashMap;

mod held;
pub use held::{HeldFrames, MAX_HELD_BYTES, MAX_HELD_FLOWS};

use crate::source::{Frame, Linktype, Precision, Timestamp};
use crate::track::{Attempt, Endpoint, FlowKey};
use crate::wire;

/// Packets kept per attempt: a handshake with a few retransmissions and the
/// start of its data fit; the rest are counted.
pub const MAX_PACKETS: usize = 32;

/// A frame that outlives the reader's buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CapturedFrame {
    pub number: u64,
    pub ts: Timestamp,
    pub len: u32,
    pub linktype: Linktype,
    pub data: Vec<u8>,
}

impl CapturedFrame {
    pub fn from_frame(f: &Frame<'_>) -> CapturedFrame {
        CapturedFrame {
            number: f.number,
            ts: f.ts,
            len: f.len,
            linktype: f.linktype,
            data: f.data.to_vec(),
        }
    }

    /// The frame as the printers and decoders take it.
    pub fn frame(&self) -> Frame<'_> {
        Frame {
            number: self.number,
            ts: self.ts,
            len: self.len,
            linktype: self.linktype,
            data: &self.data,
            offset: 0,
        }
    }
}

/// The packets of one attempt, in capture order.
#[derive(Clone, Debug, Default)]
pub struct AttemptPackets {
    /// The first [`MAX_PACKETS`] frames.
    pub frames: Vec<CapturedFrame>,
    /// Frames of the attempt beyond those.
    pub more: u64,
    /// The capture's clock precision (how many digits its times have).
    pub precision: Precision,
}

/// The 4-tuple key of a frame that decodes to TCP.
pub fn frame_key(f: &Frame<'_>) -> Option<FlowKey> {
    let s = wire::decode(f).ok()?;
    Some(FlowKey::new(
        Endpoint::new(s.ip.src, s.tcp.src_port()),
        Endpoint::new(s.ip.dst, s.tcp.dst_port()),
    ))
}

/// Where one wanted attempt's frames lie.
struct Wanted {
    first_frame: u64,
    last_time: Timestamp,
    /// First frame of a later attempt on the same 4-tuple (its frames are not
    /// this attempt's).
    before_frame: u64,
    /// Packets the tracker counted for the attempt.
    counted: u64,
    taken: u64,
    packets: AttemptPackets,
}

/// Picks the frames of chosen attempts out of a second read of the capture.
pub struct PacketCollector {
    wanted: Vec<Wanted>,
    by_key: HashMap<FlowKey, Vec<usize>>,
    last_time: Timestamp,
    precision: Precision,
    /// Wanted attempts by first frame, and how many of them have begun.
    by_start: Vec<usize>,
    begun: usize,
    /// Begun attempts that may still have frames to come.
    open: Vec<usize>,
}

impl PacketCollector {
    /// A collector that wants nothing yet.
    pub fn new(precision: Precision) -> PacketCollector {
        PacketCollector {
            wanted: Vec::new(),
            by_key: HashMap::default(),
            last_time: Timestamp::default(),
            precision,
            by_start: Vec::new(),
            begun: 0,
            open: Vec::new(),
        }
    }

    /// Collect for these attempts (their packets come back in this order).
    pub fn for_attempts(attempts: &[&Attempt], precision: Precision) -> PacketCollector {
        let mut c = PacketCollector::new(precision);
        for a in attempts {
            c.add(a);
        }
        c
    }

    /// Want this attempt's packets too. It also ends, where it begins, any
    /// earlier wanted attempt on the same 4-tuple.
    pub fn add(&mut self, a: &Attempt) {
        self.bound_by(a);
        self.by_key
            .entry(FlowKey::new(a.client, a.server))
            .or_default()
            .push(self.wanted.len());
        self.last_time = self.last_time.max(a.last_time);
        // Kept in order of first frame; attempts come nearly in that order.
        let at = self
            .by_start
            .partition_point(|&i| self.wanted[i].first_frame <= a.first_frame);
        self.by_start.insert(at, self.wanted.len());
        if at < self.begun {
            self.begun = 0;
            self.open.clear();
        }
        self.wanted.push(Wanted {
            first_frame: a.first_frame,
            last_time: a.last_time,
            before_frame: u64::MAX,
            counted: a.packets,
            taken: 0,
            packets: AttemptPackets {
                precision: self.precision,
                ..AttemptPackets::default()
            },
        });
    }

    /// Attempts wanted so far.
    pub fn len(&self) -> usize {
        self.wanted.len()
    }

    pub fn is_empty(&self) -> bool {
        self.wanted.is_empty()
    }

    /// A later attempt on the same 4-tuple ends the earlier wanted ones
    /// where it begins.
    pub fn bound_by(&mut self, later: &Attempt) {
        self.bound_at(FlowKey::new(later.client, later.server), later.first_frame);
    }

    /// An attempt on `key` that begins with frame `first_frame` ends the
    /// earlier wanted ones there.
    pub fn bound_at(&mut self, key: FlowKey, first_frame: u64) {
        let Some(ids) = self.by_key.get(&key) else {
            return;
        };
        for &i in ids {
            let w = &mut self.wanted[i];
            if first_frame > w.first_frame {
                w.before_frame = w.before_frame.min(first_frame);
            }
        }
    }

    /// Can this frame belong to a wanted attempt? Without decoding it: one
    /// has begun at or before it and has not yet had all its frames by a
    /// time before it. Most frames of a large capture are of no wanted
    /// attempt, and this check is what lets them go cheaply.
    fn may_hold(&mut self, f: &Frame<'_>) -> bool {
        while let Some(&i) = self.by_start.get(self.begun) {
            if self.wanted[i].first_frame > f.number {
                break;
            }
            self.open.push(i);
            self.begun += 1;
        }
        let wanted = &self.wanted;
        self.open
            .retain(|&i| f.ts <= wanted[i].last_time || wanted[i].taken < wanted[i].counted);
        !self.open.is_empty()
    }

    /// Offer a frame of the second read.
    pub fn offer(&mut self, f: &Frame<'_>) {
        if !self.may_hold(f) {
            return;
        }
        let Some(key) = frame_key(f) else {
            return;
        };
        let Some(ids) = self.by_key.get(&key) else {
            return;
        };
        // The latest-starting attempt whose span holds the frame.
        let owner = ids
            .iter()
            .copied()
            .filter(|&i| {
                let w = &self.wanted[i];
                f.number >= w.first_frame && f.number < w.before_frame && f.ts <= w.last_time
            })
            .max_by_key(|&i| self.wanted[i].first_frame);
        let Some(i) = owner else {
            return;
        };
        let w = &mut self.wanted[i];
        if w.taken >= w.counted {
            // The tracker counted no more for it: the frame is a later
            // attempt's on the same 4-tuple that was not wanted (a reused
            // port in the same time stamp, or time stamps out of order).
            return;
        }
        w.taken += 1;
        if w.packets.frames.len() < MAX_PACKETS {
            w.packets.frames.push(CapturedFrame::from_frame(f));
        } else {
            w.packets.more += 1;
        }
    }

    /// The first frame that can still be wanted, when that is a later
    /// attempt's first: every attempt begun so far has had as many frames
    /// as the tracker counted, so the frames before it can be skipped.
    pub fn wanted_next(&self) -> Option<u64> {
        let wanted = &self.wanted;
        if !self
            .open
            .iter()
            .all(|&i| wanted[i].taken >= wanted[i].counted)
        {
            return None;
        }
        let next = *self.by_start.get(self.begun)?;
        Some(wanted[next].first_frame)
    }

    /// Nothing later than a frame of this time can still belong to a wanted
    /// attempt: each has as many frames as the tracker counted and the
    /// capture has passed every last packet time. (Both, because time stamps
    /// may go backwards.)
    pub fn complete(&self, now: Timestamp) -> bool {
        now > self.last_time && self.wanted.iter().all(|w| w.taken >= w.counted)
    }

    /// The packets of each attempt, in the order they were given.
    pub fn finish(self) -> Vec<AttemptPackets> {
        self.wanted.into_iter().map(|w| w.packets).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testing::{frame, Seg, CLIENT, SERVER};
    use crate::track::Origin;
    use crate::wire::Addr;

    fn seg_frame(number: u64, sec: i64, client_port: u16, from_client: bool) -> CapturedFrame {
        let mut s = Seg::new(from_client, sec * 1_000_000, crate::wire::tcp::SYN, 1, 0);
        s.client_port = client_port;
        frame(number, &s)
    }

    fn attempt(first_frame: u64, first: i64, last: i64, packets: u64) -> Attempt {
        let mut a = Attempt::new(
            0,
            first_frame,
            Timestamp::new(1_700_000_000 + first, 0),
            4,
            Origin::Syn,
            Endpoint::new(Addr::V4(CLIENT.0), CLIENT.1),
            Endpoint::new(Addr::V4(SERVER.0), SERVER.1),
        );
        a.last_time = Timestamp::new(1_700_000_000 + last, 0);
        a.packets = packets;
        a
    }

    fn numbers(p: &AttemptPackets) -> Vec<u64> {
        p.frames.iter().map(|f| f.number).collect()
    }

    #[test]
    fn port_reuse_splits_the_frames_between_attempts() {
        let first = attempt(1, 10, 11, 2);
        let second = attempt(3, 11, 12, 2);
        let frames: Vec<_> = [(1, 10), (2, 11), (3, 11), (4, 12)]
            .iter()
            .map(|&(n, s)| seg_frame(n, s, CLIENT.1, true))
            .collect();
        let mut c = PacketCollector::for_attempts(&[&first, &second], Precision::Micro);
        for f in &frames {
            c.offer(&f.frame());
        }
        let got = c.finish();
        assert_eq!(numbers(&got[0]), vec![1, 2]);
        assert_eq!(numbers(&got[1]), vec![3, 4]);
    }

    #[test]
    fn a_later_attempt_in_the_same_time_stamp_keeps_its_frames_when_not_wanted() {
        // Refused (SYN, RST), then the port reused within the same second:
        // only the first attempt is wanted, and it gets only its two frames.
        let first = attempt(1, 10, 10, 2);
        let frames: Vec<_> = [(1, 10), (2, 10), (3, 10), (4, 10)]
            .iter()
            .map(|&(n, s)| seg_frame(n, s, CLIENT.1, n % 2 == 1))
            .collect();
        let mut c = PacketCollector::for_attempts(&[&first], Precision::Micro);
        for f in &frames {
            c.offer(&f.frame());
        }
        let got = c.finish();
        assert_eq!(numbers(&got[0]), vec![1, 2]);
        assert_eq!(got[0].more, 0);
    }

    #[test]
    fn other_tuples_and_later_frames_are_left_out() {
        let a = attempt(2, 10, 11, 2);
        let frames = [
            seg_frame(1, 10, CLIENT.1, true),
            seg_frame(2, 10, CLIENT.1, true),
            seg_frame(3, 10, CLIENT.1 + 1, true),
            seg_frame(4, 11, CLIENT.1, false),
            seg_frame(5, 12, CLIENT.1, true),
        ];
        let mut c = PacketCollector::for_attempts(&[&a], Precision::Micro);
        let mut stopped_at = None;
        for f in &frames {
            c.offer(&f.frame());
            if c.complete(f.ts) {
                stopped_at = Some(f.number);
                break;
            }
        }
        assert_eq!(stopped_at, Some(5), "complete once past the last time");
        assert_eq!(numbers(&c.finish()[0]), vec![2, 4]);
    }

    #[test]
    fn beyond_the_cap_frames_are_counted() {
        let n = MAX_PACKETS as u64 + 5;
        let a = attempt(1, 10, 10, n);
        let mut c = PacketCollector::for_attempts(&[&a], Precision::Nano);
        for i in 1..=n {
            c.offer(&seg_frame(i, 10, CLIENT.1, true).frame());
        }
        let got = c.finish();
        assert_eq!(got[0].frames.len(), MAX_PACKETS);
        assert_eq!(got[0].more, 5);
        assert_eq!(got[0].precision, Precision::Nano);
    }
}
