//! The packets of chosen attempts, gathered in a second read of the capture.
//!
//! An [`Attempt`] keeps numbers, not packets (a million SYNs must fit in
//! memory). To show or explain an attempt packet by packet, the capture is read
//! again and the frames of the attempt's 4-tuple are kept from its first frame
//! to its last packet time, at most [`MAX_PACKETS`] of them, with a count of
//! the rest. The second read must see the same frames as the tracker did: the
//! same filter, the same `-c` limit.
//!
//! ```text
//! let mut c = PacketCollector::for_attempts(&[&attempt], precision);
//! for frame in capture_again { c.offer(&frame); if c.complete(frame.ts) { break } }
//! let packets: Vec<AttemptPackets> = c.finish();
//! ```

// foldhash is seeded per process: a crafted capture cannot aim collisions.
use foldhash::HashMap;

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
fn frame_key(f: &Frame<'_>) -> Option<FlowKey> {
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
}

impl PacketCollector {
    /// A collector that wants nothing yet.
    pub fn new(precision: Precision) -> PacketCollector {
        PacketCollector {
            wanted: Vec::new(),
            by_key: HashMap::default(),
            last_time: Timestamp::default(),
            precision,
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
        let Some(ids) = self.by_key.get(&FlowKey::new(later.client, later.server)) else {
            return;
        };
        for &i in ids {
            let w = &mut self.wanted[i];
            if later.first_frame > w.first_frame {
                w.before_frame = w.before_frame.min(later.first_frame);
            }
        }
    }

    /// Offer a frame of the second read.
    pub fn offer(&mut self, f: &Frame<'_>) {
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
        w.taken += 1;
        if w.packets.frames.len() < MAX_PACKETS {
            w.packets.frames.push(CapturedFrame::from_frame(f));
        } else {
            w.packets.more += 1;
        }
    }

    /// Nothing later than a frame of this time can still belong to a wanted
    /// attempt: each has as many frames as the tracker counted and the
    /// capture has passed every last packet time. (Both, because a SYN the
    /// tracker folded into a connection as a challenge is not counted, and
    /// time stamps may go backwards.)
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
    use crate::track::Origin;
    use crate::wire::Addr;

    /// An Ethernet/IPv4/TCP frame with these ports and no options.
    fn tcp_frame(number: u64, sec: i64, sport: u16, dport: u16) -> CapturedFrame {
        let mut d = vec![0u8; 14 + 20 + 20];
        d[12] = 0x08;
        d[14] = 0x45;
        d[16..18].copy_from_slice(&40u16.to_be_bytes());
        d[22] = 64;
        d[23] = 6;
        d[26..30].copy_from_slice(&[10, 0, 0, 1]);
        d[30..34].copy_from_slice(&[10, 0, 0, 2]);
        d[34..36].copy_from_slice(&sport.to_be_bytes());
        d[36..38].copy_from_slice(&dport.to_be_bytes());
        d[46] = 0x50;
        d[47] = 0x02;
        CapturedFrame {
            number,
            ts: Timestamp::new(sec, 0),
            len: d.len() as u32,
            linktype: Linktype::ETHERNET,
            data: d,
        }
    }

    fn attempt(first_frame: u64, first: i64, last: i64, packets: u64) -> Attempt {
        let mut a = Attempt::new(
            0,
            first_frame,
            Timestamp::new(first, 0),
            4,
            Origin::Syn,
            Endpoint::new(Addr::V4([10, 0, 0, 1]), 40000),
            Endpoint::new(Addr::V4([10, 0, 0, 2]), 80),
        );
        a.last_time = Timestamp::new(last, 0);
        a.packets = packets;
        a
    }

    #[test]
    fn port_reuse_splits_the_frames_between_attempts() {
        let first = attempt(1, 10, 11, 2);
        let second = attempt(3, 11, 12, 2);
        let frames: Vec<_> = [(1, 10), (2, 11), (3, 11), (4, 12)]
            .iter()
            .map(|&(n, s)| tcp_frame(n, s, 40000, 80))
            .collect();
        let mut c = PacketCollector::for_attempts(&[&first, &second], Precision::Micro);
        for f in &frames {
            c.offer(&f.frame());
        }
        let got = c.finish();
        let numbers = |p: &AttemptPackets| p.frames.iter().map(|f| f.number).collect::<Vec<_>>();
        assert_eq!(numbers(&got[0]), vec![1, 2]);
        assert_eq!(numbers(&got[1]), vec![3, 4]);
    }

    #[test]
    fn other_tuples_and_later_frames_are_left_out() {
        let a = attempt(2, 10, 11, 2);
        let frames = [
            tcp_frame(1, 10, 40000, 80),
            tcp_frame(2, 10, 40000, 80),
            tcp_frame(3, 10, 40001, 80),
            tcp_frame(4, 11, 80, 40000),
            tcp_frame(5, 12, 40000, 80),
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
        let got = c.finish();
        let numbers: Vec<u64> = got[0].frames.iter().map(|f| f.number).collect();
        assert_eq!(numbers, vec![2, 4]);
    }

    #[test]
    fn beyond_the_cap_frames_are_counted() {
        let n = MAX_PACKETS as u64 + 5;
        let a = attempt(1, 10, 10, n);
        let mut c = PacketCollector::for_attempts(&[&a], Precision::Nano);
        for i in 1..=n {
            c.offer(&tcp_frame(i, 10, 40000, 80).frame());
        }
        let got = c.finish();
        assert_eq!(got[0].frames.len(), MAX_PACKETS);
        assert_eq!(got[0].more, 5);
        assert_eq!(got[0].precision, Precision::Nano);
    }
}
