//! The table of live attempts: which attempt a segment belongs to, and when a
//! SYN starts a new one. Timeouts, caps and the order in which finished
//! records leave are in [`super::release`].
//!
//! Each 4-tuple has a slot in a slab, found through one hash lookup per
//! segment; the timeout queue, the live set and the bookkeeping after a
//! segment refer to the slot by number.

use std::collections::VecDeque;

use super::analysis;
use super::attempt::{Attempt, EndReason, EventKind, Origin};
use super::heuristics::Detectors;
use super::key::{Endpoint, FlowKey, Side};
use super::machine::Seg;
use super::order::Pending;
use super::packet::{payload_on_wire, Packet};
use super::release::{Counted, Held};
use super::slots::{Live, Slot, Slots};
use super::timeouts::{self, deadline, Timeouts, Wait};
use super::{Emit, TrackerConfig, TrackerStats};
use crate::source::{Frame, Timestamp};
use crate::wire::segment::Skip;
use crate::wire::{self, tcp, Segment};

/// Follows every connection attempt; see the module documentation of
/// [`crate::track`].
pub struct Tracker {
    pub(super) cfg: TrackerConfig,
    pub(super) slots: Slots,
    pub(super) due: Timeouts,
    /// Live attempts by index, with their slot and the second of their first
    /// packet, and the finished records waiting for earlier ones (in-order
    /// output): the oldest live attempt holds back the records after it.
    pub(super) pending: Pending<Held>,
    pub(super) next_index: u64,
    pub(super) ready: VecDeque<Box<Attempt>>,
    /// What is counted of the records ready, in their place, when only
    /// that is read ([`TrackerConfig::counts_only`]).
    pub(super) counted: VecDeque<Counted>,
    pub(super) now: i128,
    pub(super) detectors: Detectors,
    pub(super) stats: TrackerStats,
    /// The slot whose timeout comes next, and whether its attempt was
    /// brought into the cache too (see `warm_next_due`).
    pub(super) warming: (usize, bool),
    /// Boxes of records already reported, for new attempts: the last one
    /// reported is still in the cache, and no allocation is needed.
    #[allow(clippy::vec_box)] // the boxes themselves are what is kept
    spare: Vec<Box<Attempt>>,
}

/// Boxes kept for reuse: records leave one at a time on one thread, and
/// some hundreds come back with each batch from the reading thread.
const SPARE: usize = 256;

impl Tracker {
    pub fn new(mut cfg: TrackerConfig) -> Tracker {
        // Slot numbers are 32-bit; no memory holds this many attempts anyway.
        cfg.max_live = cfg.max_live.min(1 << 30);
        let detectors = Detectors::new(cfg.detectors.clone());
        Tracker {
            due: Timeouts::new(&cfg),
            cfg,
            slots: Slots::new(),
            pending: Pending::new(),
            next_index: 0,
            ready: VecDeque::new(),
            counted: VecDeque::new(),
            now: i128::MIN,
            detectors,
            stats: TrackerStats::default(),
            warming: (usize::MAX, false),
            spare: Vec::new(),
        }
    }

    /// A record reported and no longer needed: its box may hold a new attempt.
    pub fn recycle(&mut self, a: Box<Attempt>) {
        if self.spare.len() < SPARE {
            self.spare.push(a);
        }
    }

    pub fn stats(&self) -> TrackerStats {
        self.stats
    }

    /// Attempts currently held.
    pub fn live(&self) -> usize {
        self.pending.len()
    }

    /// Decode a frame and account it.
    pub fn observe(&mut self, frame: &Frame<'_>) {
        // The segment is tracked where it lies in the frame: what
        // [`Packet::decode`] would give, without copying it into a packet
        // (the tracker's threads need packets they own; this one does not).
        // Read in place in the decoder's result, not moved out of it.
        let decoded = wire::decode(frame);
        let s = match &decoded {
            Ok(s) => s,
            Err(skip) => return self.count_skipped(*skip, 1),
        };
        self.stats.frames += 1;
        self.stats.tcp_segments += 1;
        let mut base = Seg {
            frame: frame.number,
            time: frame.ts,
            side: Side::Client,
            flags: s.tcp.flags(),
            ae: s.tcp.ae(),
            seq: s.tcp.seq(),
            ack: s.tcp.ack(),
            window: s.tcp.window(),
            payload_len: payload_on_wire(frame, s),
            fragmented: s.ip.fragmented,
            ttl: s.ip.ttl,
            dont_fragment: s.ip.dont_fragment,
            ip_ecn: s.ip.ecn,
            options: s.tcp.options(),
            checksum_ok: if self.cfg.checksums() {
                s.checksum_ok()
            } else {
                None
            },
            ip_len: s.ip_len(),
            views: self.cfg.views(),
        };
        let src = Endpoint::new(s.ip.src, s.tcp.src_port());
        let dst = Endpoint::new(s.ip.dst, s.tcp.dst_port());
        self.track_segment(src, dst, &mut base);
    }

    /// Account a frame that holds a segment (see [`Packet::decode`]).
    pub fn observe_packet(&mut self, p: &Packet) {
        self.stats.frames += 1;
        self.stats.tcp_segments += 1;
        self.track(p);
    }

    /// Account frames that hold no trackable segment.
    pub fn count_skipped(&mut self, skip: Skip, frames: u64) {
        self.stats.frames += frames;
        match skip {
            Skip::NotIp | Skip::NotTcp => self.stats.not_tcp += frames,
            Skip::Truncated => self.stats.truncated += frames,
            Skip::Malformed => self.stats.malformed += frames,
        }
    }

    /// Whether a record is ready to be reported.
    #[inline]
    pub fn has_finished(&self) -> bool {
        !(self.ready.is_empty() && self.counted.is_empty())
    }

    /// The next record ready to be reported (none when only counts are
    /// read: see [`Tracker::next_counted`]).
    pub fn next_finished(&mut self) -> Option<Box<Attempt>> {
        self.ready.pop_front()
    }

    /// When only counts are read ([`TrackerConfig::counts_only`]): what is
    /// counted of the next record ready, whose box already holds a new
    /// attempt or went back to the allocator.
    pub fn next_counted(&mut self) -> Option<Counted> {
        self.counted.pop_front()
    }

    /// Account a decoded segment.
    pub fn observe_segment(&mut self, frame: u64, time: Timestamp, s: &Segment<'_>) {
        self.track(&Packet::from_segment(frame, time, s, s.payload_len));
    }

    pub(super) fn slot_mut(&mut self, n: usize) -> &mut Slot {
        self.slots.get_mut(n).expect("occupied slot")
    }

    /// Follow a segment: find or start its attempt.
    fn track(&mut self, p: &Packet) {
        let mut base = Seg {
            frame: p.frame,
            time: p.time,
            side: Side::Client,
            flags: p.flags,
            ae: p.ae(),
            seq: p.seq,
            ack: p.ack,
            window: p.window,
            payload_len: p.payload_len,
            fragmented: p.fragmented(),
            ttl: p.ttl,
            dont_fragment: p.dont_fragment(),
            ip_ecn: p.ip_ecn,
            options: p.options(),
            checksum_ok: p.checksum_ok,
            ip_len: p.ip_len,
            views: self.cfg.views(),
        };
        self.track_segment(p.src, p.dst, &mut base);
    }

    /// Follow a segment from `src` to `dst`: find or start its attempt.
    /// `base` is from the client's side until the attempt says which side
    /// sent it (set in place: the segment is not copied for it).
    fn track_segment(&mut self, src: Endpoint, dst: Endpoint, base: &mut Seg<'_>) {
        self.advance_to(base.time);
        let key = FlowKey::new(src, dst);
        let version = src.addr.version();

        let hash = self.slots.hash(&key);
        let Some(n) = self.slots.find(&key, hash) else {
            let a = self.create(version, src, dst, base, None);
            self.insert(key, hash, a);
            self.enforce_caps();
            return;
        };
        let slot = self.slot_mut(n);

        if slot.shadow.is_some() {
            self.route_with_shadow(n, src, base);
            self.enforce_caps();
            return;
        }

        let a = &slot.current.attempt;
        let side = if src == a.client {
            Side::Client
        } else {
            Side::Server
        };
        if base.is_pure_syn() && starts_new_attempt(a, side, base.seq) {
            let open = (a.handshake_complete() || a.origin == Origin::Midstream) && !a.closed();
            let previous = (a.isn(side).unwrap_or(base.seq.wrapping_sub(1)), a.last_time);
            let new = self.create(version, src, dst, base, Some(previous));
            let index = new.index;
            let slot = self.slot_mut(n);
            let old = std::mem::replace(
                &mut slot.current,
                Live {
                    attempt: new,
                    reported: false,
                },
            );
            self.pending.insert(index, n, base.time.sec);
            if open {
                self.slot_mut(n).shadow = Some(old);
            } else {
                self.release(old, EndReason::Replaced);
            }
            self.after_packet(n);
        } else {
            base.side = side;
            // A segment that leaves the attempt waiting out the same timeout
            // can only move its deadline later (the last packet's time never
            // goes back): the queued entry, no later than the deadline was,
            // stands, and is requeued when it comes due. Most segments are
            // such (data and ACKs of an established connection cannot even
            // change the timeout), and the deadline is not worked out for them.
            let a = &mut slot.current.attempt;
            let waiting = a.may_change_lane(base).then(|| timeouts::lane(a));
            a.observe(base, false);
            if waiting.is_some_and(|w| timeouts::lane(a) != w) {
                self.after_packet(n);
            } else {
                debug_assert!(self
                    .slots
                    .get(n)
                    .is_some_and(|s| slot_deadline(&self.due, s).0 >= s.queued_at));
                if self.cfg.emit == Emit::WhenFinal {
                    self.hand_out_final(n);
                }
            }
        }
        self.enforce_caps();
    }

    /// A new attempt from its first segment.
    fn create(
        &mut self,
        version: u8,
        src: Endpoint,
        dst: Endpoint,
        first: &Seg<'_>,
        previous: Option<(u32, Timestamp)>,
    ) -> Box<Attempt> {
        let (client, server, origin) = if first.is_pure_syn() {
            (src, dst, Origin::Syn)
        } else if first.has(tcp::SYN) || src.port < dst.port {
            // A SYN-ACK, or the lower port: the sender is the server.
            (dst, src, Origin::Midstream)
        } else {
            (src, dst, Origin::Midstream)
        };
        let index = self.next_index;
        self.next_index += 1;
        self.stats.attempts += 1;
        let new = Attempt::new(
            index,
            first.frame,
            first.time,
            version,
            origin,
            client,
            server,
        );
        let mut a = match self.spare.pop() {
            Some(mut a) => {
                // The events' buffer is kept too.
                let mut events = std::mem::take(&mut a.events);
                events.clear();
                *a = new;
                a.events = events;
                a
            }
            None => Box::new(new),
        };
        let side = if src == client {
            Side::Client
        } else {
            a.zeek.mark_flipped();
            Side::Server
        };
        if first.has(tcp::SYN) && first.has(tcp::ACK) {
            a.client_isn = Some(first.ack.wrapping_sub(1));
        }
        if let Some((previous_isn, previous_end)) = previous {
            a.push_event(
                first.time,
                first.frame,
                EventKind::PortReuse {
                    previous_isn,
                    previous_end,
                },
            );
        }
        a.observe(&first.with_side(side), previous.is_some());
        a
    }

    fn insert(&mut self, key: FlowKey, hash: u64, a: Box<Attempt>) {
        let (index, sec) = (a.index, a.first_time.sec);
        let slot = Slot {
            key,
            current: Live {
                attempt: a,
                reported: false,
            },
            shadow: None,
            generation: 0,
            queued_at: i128::MAX,
        };
        let n = self.slots.insert(hash, slot);
        self.pending.insert(index, n, sec);
        self.after_packet(n);
    }

    /// Segments of a 4-tuple that has an open connection and a tentative new
    /// attempt (see [`Slot::shadow`]).
    fn route_with_shadow(&mut self, n: usize, src: Endpoint, base: &Seg<'_>) {
        let slot = self.slot_mut(n);
        let tentative = &slot.current.attempt;
        let old = &slot.shadow.as_ref().expect("shadow").attempt;
        // The tentative attempt's client is the sender of the new SYN.
        let t_side = if src == tentative.client {
            Side::Client
        } else {
            Side::Server
        };
        let s = base.with_side(t_side);
        let x = tentative.client_isn.unwrap_or(0);
        let to_tentative = match t_side {
            Side::Client => {
                (s.is_pure_syn() && tentative.client_isn == Some(s.seq))
                    || tentative
                        .server_isn
                        .is_some_and(|y| s.has(tcp::ACK) && s.ack == y.wrapping_add(1))
            }
            Side::Server => {
                s.has(tcp::ACK) && s.ack == x.wrapping_add(1) && s.has(tcp::SYN | tcp::RST)
            }
        };
        if to_tentative {
            slot.current.attempt.observe(&s, false);
            if t_side == Side::Server {
                // The peer answered the new SYN: the old connection is gone.
                let old = slot.shadow.take().expect("shadow");
                self.release(old, EndReason::Replaced);
            }
            self.after_packet(n);
            return;
        }
        // Traffic of the old connection. An ACK from the peer that carries the
        // old numbers is the challenge ACK.
        let o_side = if src == old.client {
            Side::Client
        } else {
            Side::Server
        };
        let sender = if tentative.client == old.client {
            Side::Client
        } else {
            Side::Server
        }
        .idx();
        let expected =
            old.data_end[sender].map(|e| e.wrapping_add(u32::from(old.fin[sender].is_some())));
        let challenge = t_side == Side::Server
            && s.flags & (tcp::SYN | tcp::RST | tcp::FIN) == 0
            && s.has(tcp::ACK)
            && Some(s.ack) == expected;
        let mut old = slot.shadow.take().expect("shadow");
        old.attempt.observe(&base.with_side(o_side), false);
        if challenge {
            let syn_seq = slot.current.attempt.client_isn.unwrap_or(0);
            old.attempt.challenge_acks += 1;
            old.attempt.push_event(
                s.time,
                s.frame,
                EventKind::ChallengeAck {
                    syn_seq,
                    ack: s.ack,
                },
            );
            let dropped = std::mem::replace(&mut slot.current, old);
            // The SYN that was answered so belongs to the old connection: its
            // packets and bytes count there (as Zeek's and tshark's do).
            let (cur, gone) = (&mut slot.current.attempt, &dropped.attempt);
            cur.packets += gone.packets;
            for (from, to) in [(0, sender), (1, 1 - sender)] {
                cur.side_packets[to] += gone.side_packets[from];
                cur.ip_bytes[to] += gone.ip_bytes[from];
            }
            cur.last_time = cur.last_time.max(gone.last_time);
            // Folded back: the tentative attempt leaves no record.
            let _ = self.pending.leave(dropped.attempt.index, None);
            self.stats.attempts -= 1;
        } else {
            slot.shadow = Some(old);
        }
        self.after_packet(n);
    }

    /// Bookkeeping after a slot changed: hand out newly final records, move the
    /// slot's timeout earlier if it needs to be.
    fn after_packet(&mut self, n: usize) {
        let Some(slot) = self.slots.get_mut(n) else {
            return;
        };
        let (at, wait) = slot_deadline(&self.due, slot);
        if at < slot.queued_at {
            queue(&mut self.due, slot, n, at, wait);
        }
        if self.cfg.emit == Emit::WhenFinal {
            self.hand_out_final(n);
        }
    }

    /// Hand out the slot's records whose verdict can no longer change (a
    /// live capture's records leave as soon as they are final).
    fn hand_out_final(&mut self, n: usize) {
        let Some(slot) = self.slots.get_mut(n) else {
            return;
        };
        let mut finals = Vec::new();
        for live in std::iter::once(&mut slot.current).chain(slot.shadow.as_mut()) {
            if !live.reported && analysis::verdict_is_final(&live.attempt) {
                live.reported = true;
                finals.push(live.attempt.clone());
            }
        }
        for a in finals {
            self.hand_out(a);
        }
    }
}

/// (Re)queue a slot's timeout; earlier entries of the slot become stale.
pub(super) fn queue(due: &mut Timeouts, slot: &mut Slot, n: usize, at: i128, wait: Wait) {
    slot.generation = due.push(wait, at, n);
    slot.queued_at = at;
}

/// A pure SYN from `side` opens a new attempt when that side already has
/// another ISN in this one, or when this one began midstream.
fn starts_new_attempt(a: &Attempt, side: Side, seq: u32) -> bool {
    match a.isn(side) {
        Some(isn) => isn != seq,
        None => a.origin == Origin::Midstream && a.data_end[side.idx()].is_some(),
    }
}

/// The earlier deadline of a slot's attempts.
pub(super) fn slot_deadline(due: &Timeouts, slot: &Slot) -> (i128, Wait) {
    let d = deadline(due, &slot.current.attempt);
    match &slot.shadow {
        Some(s) => {
            let e = deadline(due, &s.attempt);
            if e.0 < d.0 {
                e
            } else {
                d
            }
        }
        None => d,
    }
}
