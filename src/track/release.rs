//! How attempts leave the table (timeouts, the caps, the end of input), and
//! the order in which their records are handed out.

use super::analysis::{self, Verdict};
use super::attempt::{Attempt, EndReason, WindowFacts};
use super::key::Endpoint;
use super::slots::{prefetch_attempt, Live};
use super::table::{queue, slot_deadline, Tracker};
use super::timeouts::{deadline, Due};
use super::Emit;
use crate::source::Timestamp;

/// What a sink that only counts reads of a record: its verdict, handshake
/// time and server ([`RecordSink::count`](crate::records::RecordSink::count)).
#[derive(Clone, Copy, Debug)]
pub struct Counted {
    pub verdict: Verdict,
    pub handshake_us: Option<f64>,
    pub server: Endpoint,
}

impl Counted {
    pub fn of(a: &Attempt) -> Counted {
        Counted {
            verdict: analysis::verdict(a),
            handshake_us: super::rtt::handshake_time(a),
            server: a.server,
        }
    }
}

/// A finished record waiting for the earlier attempts to finish. When only
/// counts are read, what is counted of it waits instead, and its 888-byte
/// box holds a new attempt at once: most of the records a capture holds at
/// any time are waiting, and their boxes were most of its memory and of
/// its first-touch page faults.
pub(super) enum Held {
    Whole(Box<Attempt>),
    Counted(Box<Counted>),
}

impl Tracker {
    /// Let capture time pass without a packet (live capture): attempts whose
    /// timeout passed are judged.
    #[inline]
    pub fn advance_to(&mut self, now: Timestamp) {
        let now = now.as_nanos();
        if now <= self.now {
            return;
        }
        self.now = now;
        if self.due.any_due(now) {
            self.expire_due();
        }
        self.warm_next_due();
    }

    /// Judge the attempts whose timeout passed by now.
    #[inline(never)]
    fn expire_due(&mut self) {
        while let Some(due) = self.due.pop_due(self.now) {
            self.expire(due);
        }
    }

    /// Bring the slot and then the attempt whose timeout comes next into the
    /// cache while packets arrive before it is due: by then, they have long
    /// left it, and waiting for memory twice was most of an expiry's cost.
    fn warm_next_due(&mut self) {
        let Some(n) = self.due.next_slot() else {
            return;
        };
        if n != self.warming.0 {
            // A new one: its slot first; its attempt at the next packet,
            // when the slot can be read without a wait.
            self.warming = (n, false);
            self.slots.prefetch(n);
        } else if !self.warming.1 {
            self.warming.1 = true;
            if let Some(slot) = self.slots.get(n) {
                prefetch_attempt(&slot.current.attempt);
            }
        }
    }

    /// End of input: every attempt still held is judged as of its last packet.
    pub fn finish(&mut self) {
        for n in 0..self.slots.span() {
            self.remove_slot(n, EndReason::EndOfInput);
        }
        self.due.clear();
        while let Some(held) = self.pending.pop_waiting() {
            self.ready_as_is(held);
        }
    }

    fn expire(&mut self, due: Due) {
        let Some(slot) = self.slots.get_mut(due.slot) else {
            return;
        };
        if slot.generation != due.generation {
            return;
        }
        let now = self.now;
        let mut released = Vec::new();
        if let Some(shadow) = &slot.shadow {
            if deadline(&self.due, &shadow.attempt).0 <= now {
                released.push(slot.shadow.take().expect("shadow"));
            }
        }
        let current_due = deadline(&self.due, &slot.current.attempt).0 <= now;
        let remove = current_due && slot.shadow.is_none();
        if current_due && !remove {
            let shadow = slot.shadow.take().expect("shadow");
            released.push(std::mem::replace(&mut slot.current, shadow));
        }
        if remove {
            let slot = self.slots.remove(due.slot).expect("slot");
            released.push(slot.current);
        } else {
            let (at, wait) = slot_deadline(&self.due, slot);
            queue(&mut self.due, slot, due.slot, at, wait);
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
    /// that holds back in-order output. Asked after every packet; the work
    /// itself is rare and stays out of line.
    #[inline]
    pub(super) fn enforce_caps(&mut self) {
        if self.pending.len() > self.cfg.max_live.max(1) {
            self.evict();
        }
        // Counted once the live cap is enforced and before flushes: the most
        // held between packets.
        self.stats.peak_live = self.stats.peak_live.max(self.pending.len() as u64);
        if self.pending.waiting() > self.cfg.max_waiting.max(1) {
            self.flush();
        }
    }

    /// Evict the longest-idle slots until the live attempts fit the cap.
    #[inline(never)]
    fn evict(&mut self) {
        while self.pending.len() > self.cfg.max_live.max(1) {
            let Some(due) = self.due.pop_longest_idle() else {
                break;
            };
            let Some(slot) = self.slots.get_mut(due.slot) else {
                continue;
            };
            if slot.generation != due.generation {
                continue;
            }
            let (actual, wait) = slot_deadline(&self.due, slot);
            if actual > due.at {
                // Stale-early entry: the slot was active since it was queued.
                queue(&mut self.due, slot, due.slot, actual, wait);
                continue;
            }
            self.stats.evicted += self.remove_slot(due.slot, EndReason::Evicted);
        }
    }

    /// Flush the attempts that hold back in-order output until the waiting
    /// records fit their cap.
    #[inline(never)]
    fn flush(&mut self) {
        while self.pending.waiting() > self.cfg.max_waiting.max(1) {
            if self.pending.front_waiting().is_some() {
                // Only the window of a live attempt holds it back: let it go
                // with the counts as they are.
                let held = self.pending.pop_waiting().expect("front");
                self.ready_with_window(held);
            } else {
                // The front is the oldest live attempt.
                let (_, n, _) = self.pending.first().expect("a live attempt at the front");
                self.stats.flushed += self.remove_slot(n, EndReason::Flushed);
            }
        }
    }

    /// Take a slot out of the table and release its attempts; how many.
    fn remove_slot(&mut self, n: usize, reason: EndReason) -> u64 {
        let Some(slot) = self.slots.remove(n) else {
            return 0;
        };
        let count = 1 + u64::from(slot.shadow.is_some());
        if let Some(shadow) = slot.shadow {
            self.release(shadow, reason);
        }
        self.release(slot.current, reason);
        count
    }

    /// An attempt leaves the table.
    pub(super) fn release(&mut self, mut live: Live, reason: EndReason) {
        let index = live.attempt.index;
        if live.reported {
            let _ = self.pending.leave(index, None);
        } else {
            live.attempt.end_reason = Some(reason);
            match self.cfg.emit {
                Emit::WhenFinal => {
                    let _ = self.pending.leave(index, None);
                    self.hand_out(live.attempt);
                }
                Emit::InOrder => {
                    let a = self.judge(live.attempt);
                    let held = self.hold(a);
                    if let Err(Some(held)) = self.pending.leave(index, Some(held)) {
                        // Not live (never so): it has nothing to wait for.
                        self.ready_with_window(held);
                    }
                }
            }
        }
        self.drain_waiting();
    }

    /// A record leaves at once, not in order (live capture).
    pub(super) fn hand_out(&mut self, a: Box<Attempt>) {
        let a = self.judge(a);
        let held = self.hold(a);
        self.ready_with_window(held);
    }

    /// A judged record as it waits, or leaves: whole, or only what is
    /// counted of it (the one place a record becomes its counts).
    fn hold(&mut self, a: Box<Attempt>) -> Held {
        if !self.cfg.counts_only {
            return Held::Whole(a);
        }
        let counted = Counted::of(&a);
        self.recycle(a);
        Held::Counted(Box::new(counted))
    }

    /// A record's turn has come: with its detector window's counts.
    fn ready_with_window(&mut self, held: Held) {
        match held {
            Held::Whole(mut a) => {
                a.window = self.window_facts(&a);
                self.ready_as_is(Held::Whole(a));
            }
            counted @ Held::Counted(_) => self.ready_as_is(counted),
        }
    }

    /// A record's turn has come, as it stands.
    fn ready_as_is(&mut self, held: Held) {
        match held {
            Held::Whole(a) => self.ready.push_back(a),
            Held::Counted(c) => self.counted.push_back(*c),
        }
    }

    /// Count a finished record in the detector windows; a simultaneous open
    /// is told from the lower endpoint's side.
    fn judge(&mut self, mut a: Box<Attempt>) -> Box<Attempt> {
        let verdict = analysis::verdict(&a);
        if verdict == Verdict::SimultaneousOpen && a.server < a.client {
            a.swap_roles();
        }
        if self.cfg.views() {
            self.detectors.count(&a, verdict);
        }
        a
    }

    /// The detector window's counts for a record leaving.
    fn window_facts(&self, a: &Attempt) -> WindowFacts {
        if !self.cfg.views() {
            return WindowFacts::default();
        }
        self.detectors.facts(a)
    }

    /// Hand out the waiting records whose turn has come: no earlier attempt is
    /// still live, and no live attempt began in their detector window (so the
    /// window's counts are complete).
    fn drain_waiting(&mut self) {
        let views = self.cfg.views();
        while let Some(held) = self.pending.front_waiting() {
            if let (true, Held::Whole(a)) = (views, held) {
                if let Some((_, _, sec)) = self.pending.first() {
                    if sec < self.detectors.window_end(a) {
                        break;
                    }
                }
            }
            let held = self.pending.pop_waiting().expect("front");
            self.ready_with_window(held);
        }
        if views {
            if let Some(sec) = self.pending.oldest_sec() {
                self.detectors.forget_before(sec);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testing::{frames, Seg};
    use crate::track::TrackerConfig;

    const SYN: u8 = 0x02;
    const ACK: u8 = 0x10;
    const RST: u8 = 0x04;

    /// A connection that stays open, then `n` refused attempts behind it.
    fn held_back(n: u16) -> Vec<Seg> {
        let mut segs = vec![
            Seg::new(true, 0, SYN, 1000, 0),
            Seg::new(false, 1, SYN | ACK, 5000, 1001),
            Seg::new(true, 2, ACK, 1001, 5001),
        ];
        for i in 0..n {
            let t = 10 + i64::from(i) * 10;
            let mut syn = Seg::new(true, t, SYN, 7000, 0);
            syn.client_port = 1024 + i;
            let mut rst = Seg::new(false, t + 1, RST | ACK, 0, 7001);
            rst.client_port = 1024 + i;
            segs.extend([syn, rst]);
        }
        // The open connection again, past the refused ones' linger: they
        // have left the table, and wait for it.
        segs.push(Seg::new(true, 20_000_000, ACK, 1001, 5001));
        segs
    }

    fn tracker(counts_only: bool, segs: &[Seg]) -> Tracker {
        let mut t = Tracker::new(TrackerConfig {
            counts_only,
            ..TrackerConfig::default()
        });
        for f in frames(segs) {
            t.observe(&f.frame());
        }
        t
    }

    #[test]
    fn records_held_back_wait_as_counts_when_only_counts_are_read() {
        const N: u16 = 300;
        let segs = held_back(N);
        let (mut full, mut counts) = (tracker(false, &segs), tracker(true, &segs));
        for t in [&full, &counts] {
            assert!(!t.has_finished(), "held back by the open connection");
            assert_eq!(t.pending.waiting(), usize::from(N));
        }
        let whole = |t: &Tracker| {
            t.pending
                .waiting_records()
                .filter(|h| matches!(h, Held::Whole(_)))
                .count()
        };
        assert_eq!(whole(&full), usize::from(N));
        assert_eq!(whole(&counts), 0, "no box kept for a record waiting");
        // The same records, in the same order, once the open one ends.
        full.finish();
        counts.finish();
        let mut want = Vec::new();
        while let Some(a) = full.next_finished() {
            want.push(Counted::of(&a));
        }
        assert!(full.next_counted().is_none());
        assert!(counts.next_finished().is_none());
        let mut got = Vec::new();
        while let Some(c) = counts.next_counted() {
            got.push(c);
        }
        assert_eq!(got.len(), usize::from(N) + 1);
        assert_eq!(want.len(), got.len());
        for (w, g) in want.iter().zip(&got) {
            assert_eq!(
                (w.verdict, w.handshake_us, w.server),
                (g.verdict, g.handshake_us, g.server)
            );
        }
        assert_eq!(got[0].verdict, Verdict::Established);
        assert!(got[1..].iter().all(|c| c.verdict == Verdict::Refused));
    }
}
