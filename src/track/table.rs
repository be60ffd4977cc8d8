//! The table of live attempts, their timeouts, the caps, and the order in
//! which finished records leave.

use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeMap, BinaryHeap, VecDeque};

// foldhash is seeded per process: a crafted capture cannot aim collisions.
use foldhash::HashMap;

use super::analysis::{self, Verdict};
use super::attempt::{Attempt, EndReason, EventKind, Origin};
use super::heuristics::Detectors;
use super::key::{Endpoint, FlowKey, Side};
use super::machine::Seg;
use super::{Emit, TrackerConfig, TrackerStats};
use crate::source::{Frame, Timestamp};
use crate::wire::segment::Skip;
use crate::wire::{self, tcp, Segment};

/// An attempt in the table, and whether it was already handed out (records
/// handed out when their verdict is final stay until their connection ends,
/// so that its later segments are not taken for a new connection).
struct Live {
    attempt: Box<Attempt>,
    reported: bool,
}

struct Slot {
    current: Live,
    /// An open connection that saw a SYN with another ISN. Until the peer
    /// answers, the SYN is held as a tentative attempt in `current`: a SYN-ACK
    /// makes it a new connection, an ACK with the old numbers is an RFC 5961
    /// challenge ACK and folds it back into this one.
    shadow: Option<Live>,
    /// Generation and deadline of this slot's entry in the timeout queue.
    generation: u64,
    queued_at: i128,
}

/// A timeout-queue entry; stale once its generation is not the slot's.
struct Due {
    at: i128,
    generation: u64,
    key: FlowKey,
}

impl PartialEq for Due {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Due {}
impl PartialOrd for Due {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Due {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.generation).cmp(&(other.at, other.generation))
    }
}

/// Follows every connection attempt; see the module documentation of
/// [`crate::track`].
pub struct Tracker {
    cfg: TrackerConfig,
    table: HashMap<FlowKey, Slot>,
    due: BinaryHeap<Reverse<Due>>,
    /// Live attempts by index, with the second of their first packet: the
    /// oldest one holds back in-order output.
    live: BTreeMap<u64, (FlowKey, i64)>,
    next_index: u64,
    next_generation: u64,
    /// Finished records waiting for earlier ones (in-order output).
    waiting: BTreeMap<u64, Box<Attempt>>,
    ready: VecDeque<Box<Attempt>>,
    now: i128,
    detectors: Detectors,
    stats: TrackerStats,
}

fn nanos(d: std::time::Duration) -> i128 {
    d.as_nanos() as i128
}

impl Tracker {
    pub fn new(cfg: TrackerConfig) -> Tracker {
        let detectors = Detectors::new(cfg.detectors.clone());
        Tracker {
            cfg,
            table: HashMap::default(),
            due: BinaryHeap::new(),
            live: BTreeMap::new(),
            next_index: 0,
            next_generation: 0,
            waiting: BTreeMap::new(),
            ready: VecDeque::new(),
            now: i128::MIN,
            detectors,
            stats: TrackerStats::default(),
        }
    }

    pub fn stats(&self) -> TrackerStats {
        self.stats
    }

    /// Attempts currently held.
    pub fn live(&self) -> usize {
        self.live.len()
    }

    /// Decode a frame and account it.
    pub fn observe(&mut self, frame: &Frame<'_>) {
        self.stats.frames += 1;
        match wire::decode(frame) {
            Ok(seg) => {
                self.stats.tcp_segments += 1;
                // An IP length beyond the frame's length on the wire is a lie
                // (damage, fuzzing): only what was on the wire was sent.
                let tcp_at = seg.tcp.bytes().as_ptr() as usize - frame.data.as_ptr() as usize;
                let on_wire = (frame.len as usize)
                    .saturating_sub(tcp_at + seg.tcp.header_len())
                    .min(u32::MAX as usize) as u32;
                self.observe_capped(frame.number, frame.ts, &seg, seg.payload_len.min(on_wire));
            }
            Err(Skip::NotIp | Skip::NotTcp) => self.stats.not_tcp += 1,
            Err(Skip::Truncated) => self.stats.truncated += 1,
            Err(Skip::Malformed) => self.stats.malformed += 1,
        }
    }

    /// The next record ready to be reported.
    pub fn next_finished(&mut self) -> Option<Box<Attempt>> {
        self.ready.pop_front()
    }

    /// Let capture time pass without a packet (live capture): attempts whose
    /// timeout passed are judged.
    pub fn advance_to(&mut self, now: Timestamp) {
        let now = now.as_nanos();
        if now <= self.now {
            return;
        }
        self.now = now;
        while let Some(Reverse(top)) = self.due.peek() {
            if top.at > now {
                break;
            }
            let Reverse(due) = self.due.pop().expect("peeked");
            self.expire(due);
        }
    }

    /// End of input: every attempt still held is judged as of its last packet.
    pub fn finish(&mut self) {
        let keys: Vec<FlowKey> = self.table.keys().copied().collect();
        for key in keys {
            self.remove_slot(key, EndReason::EndOfInput);
        }
        self.due.clear();
        while let Some((_, a)) = self.waiting.pop_first() {
            self.ready.push_back(a);
        }
    }

    /// Account a decoded segment.
    pub fn observe_segment(&mut self, frame: u64, time: Timestamp, s: &Segment<'_>) {
        self.observe_capped(frame, time, s, s.payload_len);
    }

    fn observe_capped(&mut self, frame: u64, time: Timestamp, s: &Segment<'_>, payload_len: u32) {
        self.advance_to(time);
        let src = Endpoint::new(s.ip.src, s.tcp.src_port());
        let dst = Endpoint::new(s.ip.dst, s.tcp.dst_port());
        let key = FlowKey::new(src, dst);
        let base = Seg {
            frame,
            time,
            side: Side::Client,
            flags: s.tcp.flags(),
            ae: s.tcp.ae(),
            seq: s.tcp.seq(),
            ack: s.tcp.ack(),
            window: s.tcp.window(),
            payload_len,
            fragmented: s.ip.fragmented,
            ttl: s.ip.ttl,
            dont_fragment: s.ip.dont_fragment,
            ip_ecn: s.ip.ecn,
            options: s.tcp.options(),
            checksum_ok: s.checksum_ok(),
            ip_len: s.ip_len(),
        };
        let version = s.ip.src.version();

        let Some(slot) = self.table.get_mut(&key) else {
            let a = self.create(version, src, dst, &base, None);
            self.insert(key, a);
            self.enforce_caps();
            return;
        };

        if slot.shadow.is_some() {
            self.route_with_shadow(key, src, &base);
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
            let new = self.create(version, src, dst, &base, Some(previous));
            let index = new.index;
            let slot = self.table.get_mut(&key).expect("slot");
            let old = std::mem::replace(
                &mut slot.current,
                Live {
                    attempt: new,
                    reported: false,
                },
            );
            self.live.insert(index, (key, time.sec));
            if open {
                slot.shadow = Some(old);
            } else {
                self.release(old, EndReason::Replaced);
            }
            self.after_packet(key);
        } else {
            slot.current.attempt.observe(&base.with_side(side), false);
            self.after_packet(key);
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
        let mut a = Box::new(Attempt::new(
            index,
            first.frame,
            first.time,
            version,
            origin,
            client,
            server,
        ));
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

    fn insert(&mut self, key: FlowKey, a: Box<Attempt>) {
        self.live.insert(a.index, (key, a.first_time.sec));
        self.stats.peak_live = self.stats.peak_live.max(self.live.len() as u64);
        self.table.insert(
            key,
            Slot {
                current: Live {
                    attempt: a,
                    reported: false,
                },
                shadow: None,
                generation: 0,
                queued_at: i128::MAX,
            },
        );
        self.after_packet(key);
    }

    /// Segments of a 4-tuple that has an open connection and a tentative new
    /// attempt (see [`Slot::shadow`]).
    fn route_with_shadow(&mut self, key: FlowKey, src: Endpoint, base: &Seg<'_>) {
        let slot = self.table.get_mut(&key).expect("slot");
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
            self.after_packet(key);
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
            self.live.remove(&dropped.attempt.index);
            self.stats.attempts -= 1;
        } else {
            slot.shadow = Some(old);
        }
        self.after_packet(key);
    }

    /// Bookkeeping after a slot changed: hand out newly final records, move the
    /// slot's timeout earlier if it needs to be.
    fn after_packet(&mut self, key: FlowKey) {
        let emit_final = self.cfg.emit == Emit::WhenFinal;
        let cfg = &self.cfg;
        let Some(slot) = self.table.get_mut(&key) else {
            return;
        };
        let mut finals = Vec::new();
        if emit_final {
            for live in std::iter::once(&mut slot.current).chain(slot.shadow.as_mut()) {
                if !live.reported && analysis::verdict_is_final(&live.attempt) {
                    live.reported = true;
                    finals.push(live.attempt.clone());
                }
            }
        }
        let at = slot_deadline(cfg, slot);
        if at < slot.queued_at {
            queue(&mut self.due, &mut self.next_generation, slot, key, at);
        }
        for a in finals {
            self.hand_out(a);
        }
    }

    fn expire(&mut self, due: Due) {
        let Some(slot) = self.table.get_mut(&due.key) else {
            return;
        };
        if slot.generation != due.generation {
            return;
        }
        let now = self.now;
        let mut released = Vec::new();
        if let Some(shadow) = &slot.shadow {
            if deadline(&self.cfg, &shadow.attempt) <= now {
                released.push(slot.shadow.take().expect("shadow"));
            }
        }
        let current_due = deadline(&self.cfg, &slot.current.attempt) <= now;
        let remove = current_due && slot.shadow.is_none();
        if current_due && !remove {
            let shadow = slot.shadow.take().expect("shadow");
            released.push(std::mem::replace(&mut slot.current, shadow));
        }
        if remove {
            let slot = self.table.remove(&due.key).expect("slot");
            released.push(slot.current);
        } else {
            let at = slot_deadline(&self.cfg, slot);
            queue(&mut self.due, &mut self.next_generation, slot, due.key, at);
        }
        for live in released {
            let reason = if live.attempt.closed() {
                EndReason::Closed
            } else {
                EndReason::Timeout
            };
            self.release(live, reason);
        }
    }

    /// Keep within the caps: evict the longest-idle slot, flush the attempt
    /// that holds back in-order output.
    fn enforce_caps(&mut self) {
        while self.live.len() > self.cfg.max_live.max(1) {
            let Some(Reverse(due)) = self.due.pop() else {
                break;
            };
            let Some(slot) = self.table.get_mut(&due.key) else {
                continue;
            };
            if slot.generation != due.generation {
                continue;
            }
            let actual = slot_deadline(&self.cfg, slot);
            if actual > due.at {
                // Stale-early entry: the slot was active since it was queued.
                queue(
                    &mut self.due,
                    &mut self.next_generation,
                    slot,
                    due.key,
                    actual,
                );
                continue;
            }
            self.stats.evicted += self.remove_slot(due.key, EndReason::Evicted);
        }
        while self.waiting.len() > self.cfg.max_waiting.max(1) {
            let head = *self.waiting.keys().next().expect("non-empty");
            match self.live.first_key_value() {
                // Only its window holds the head back: let it go with the
                // counts as they are.
                Some((&l, _)) if l > head => {
                    let mut a = self.waiting.pop_first().expect("head").1;
                    a.window = self.detectors.facts(&a);
                    self.ready.push_back(a);
                }
                Some((_, &(key, _))) => {
                    self.stats.flushed += self.remove_slot(key, EndReason::Flushed);
                }
                None => self.drain_waiting(),
            }
        }
    }

    /// Take a slot out of the table and release its attempts; how many.
    fn remove_slot(&mut self, key: FlowKey, reason: EndReason) -> u64 {
        let Some(slot) = self.table.remove(&key) else {
            return 0;
        };
        let n = 1 + u64::from(slot.shadow.is_some());
        if let Some(shadow) = slot.shadow {
            self.release(shadow, reason);
        }
        self.release(slot.current, reason);
        n
    }

    /// An attempt leaves the table.
    fn release(&mut self, mut live: Live, reason: EndReason) {
        self.live.remove(&live.attempt.index);
        if !live.reported {
            live.attempt.end_reason = Some(reason);
            self.hand_out(live.attempt);
        }
        self.drain_waiting();
    }

    fn hand_out(&mut self, mut a: Box<Attempt>) {
        let verdict = analysis::verdict(&a);
        if verdict == Verdict::SimultaneousOpen && a.server < a.client {
            a.swap_roles();
        }
        self.detectors.count(&a, verdict);
        match self.cfg.emit {
            Emit::WhenFinal => {
                a.window = self.detectors.facts(&a);
                self.ready.push_back(a);
            }
            Emit::InOrder => {
                self.waiting.insert(a.index, a);
                self.drain_waiting();
            }
        }
    }

    /// Hand out the waiting records whose turn has come: no earlier attempt is
    /// still live, and no live attempt began in their detector window (so the
    /// window's counts are complete).
    fn drain_waiting(&mut self) {
        while let Some((&first, a)) = self.waiting.first_key_value() {
            if let Some((&l, &(_, sec))) = self.live.first_key_value() {
                if l < first || sec < self.detectors.window_end(a) {
                    break;
                }
            }
            let (_, mut a) = self.waiting.pop_first().expect("first");
            a.window = self.detectors.facts(&a);
            self.ready.push_back(a);
        }
        let oldest = [
            self.live.first_key_value().map(|(_, &(_, s))| s),
            self.waiting
                .first_key_value()
                .map(|(_, a)| a.first_time.sec),
        ]
        .into_iter()
        .flatten()
        .min();
        if let Some(sec) = oldest {
            self.detectors.forget_before(sec);
        }
    }
}

/// (Re)queue a slot's timeout; earlier entries of the slot become stale.
fn queue(
    due: &mut BinaryHeap<Reverse<Due>>,
    generation: &mut u64,
    slot: &mut Slot,
    key: FlowKey,
    at: i128,
) {
    *generation += 1;
    slot.generation = *generation;
    slot.queued_at = at;
    due.push(Reverse(Due {
        at,
        generation: *generation,
        key,
    }));
}

/// A pure SYN from `side` opens a new attempt when that side already has
/// another ISN in this one, or when this one began midstream.
fn starts_new_attempt(a: &Attempt, side: Side, seq: u32) -> bool {
    match a.isn(side) {
        Some(isn) => isn != seq,
        None => a.origin == Origin::Midstream && a.data_end[side.idx()].is_some(),
    }
}

/// When an attempt is due: its last packet plus the timeout for its state.
fn deadline(cfg: &TrackerConfig, a: &Attempt) -> i128 {
    let wait = if a.closed() {
        cfg.linger
    } else if a.handshake_complete() || a.origin == Origin::Midstream {
        cfg.idle_timeout
    } else {
        cfg.handshake_timeout
    };
    a.last_time.as_nanos() + nanos(wait)
}

fn slot_deadline(cfg: &TrackerConfig, slot: &Slot) -> i128 {
    let d = deadline(cfg, &slot.current.attempt);
    match &slot.shadow {
        Some(s) => d.min(deadline(cfg, &s.attempt)),
        None => d,
    }
}
