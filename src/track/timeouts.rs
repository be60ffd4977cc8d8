//! When attempts are due: entries of (deadline, generation, slot), taken in
//! order of deadline, ties in the order they were queued; and, when the live
//! cap needs room, in order of last packet (the longest idle first).
//!
//! A deadline is an attempt's last packet plus the timeout of its state
//! (handshake, idle, linger). Entries queued with the same timeout therefore
//! arrive in order of their deadlines while packets arrive in time order, so
//! each timeout gets a first-in first-out lane; an entry that would break
//! its lane's order (an older attempt's deadline, a capture out of time
//! order) goes to that lane's binary heap instead. The earliest entry is the
//! earliest of the lane fronts and the heaps' tops: the order of one heap
//! holding all entries, without a heap's cache misses on every push and pop.
//! Within a lane, deadline order is also last-packet order, so the longest
//! idle entry is found among the same fronts, each less its lane's timeout.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, VecDeque};
use std::time::Duration;

use super::attempt::{Attempt, Origin};
use super::TrackerConfig;

/// A queued deadline of a slot; stale once its generation is not the slot's.
#[derive(Clone, Copy, Debug)]
pub(super) struct Due {
    pub at: i128,
    pub generation: u64,
    pub slot: usize,
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

/// Which timeout a deadline comes from (the lane it is queued in).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Wait {
    Linger = 0,
    Idle = 1,
    Handshake = 2,
}

pub(super) struct Timeouts {
    lanes: [VecDeque<Due>; 3],
    out_of_order: [BinaryHeap<Reverse<Due>>; 3],
    /// Each lane's timeout in nanoseconds: a deadline less it is the last packet.
    waits: [i128; 3],
    generation: u64,
    /// The earliest entry and where it is (`None` when none): asked after
    /// every packet whether it is due, and taken by an expiry, it is kept
    /// rather than found among the fronts.
    first: Option<(Front, Due)>,
}

/// Where an entry is: in lane `n`'s queue or in its heap.
#[derive(Clone, Copy, Debug)]
enum Front {
    Lane(usize),
    Heap(usize),
}

impl Timeouts {
    pub fn new(cfg: &TrackerConfig) -> Timeouts {
        Timeouts {
            lanes: Default::default(),
            out_of_order: Default::default(),
            waits: [cfg.linger, cfg.idle_timeout, cfg.handshake_timeout].map(nanos),
            generation: 0,
            first: None,
        }
    }

    /// Queue a deadline of `slot`; returns the entry's generation, which is
    /// above that of every entry queued before.
    pub fn push(&mut self, wait: Wait, at: i128, slot: usize) -> u64 {
        self.generation += 1;
        let due = Due {
            at,
            generation: self.generation,
            slot,
        };
        let lane = &mut self.lanes[wait as usize];
        let front = if lane.back().map_or(true, |last| last.at <= at) {
            lane.push_back(due);
            Front::Lane(wait as usize)
        } else {
            self.out_of_order[wait as usize].push(Reverse(due));
            Front::Heap(wait as usize)
        };
        // Strictly earlier only: of equal deadlines, the one queued first
        // stays first.
        if self.first.map_or(true, |(_, d)| at < d.at) {
            self.first = Some((front, due));
        }
        self.generation
    }

    /// The entry with the least key among the lanes' fronts and heaps' tops;
    /// `key` is given the lane and the entry.
    fn least<K: Ord>(&self, key: impl Fn(usize, &Due) -> K) -> Option<(Front, Due)> {
        // A plain loop over the six places: an iterator chain with a
        // minimum by key took twice the instructions, once per expiry.
        let mut best: Option<((K, u64), Front, Due)> = None;
        let mut consider = |k: (K, u64), front: Front, d: &Due| {
            if best.as_ref().map_or(true, |(b, ..)| k < *b) {
                best = Some((k, front, *d));
            }
        };
        for i in 0..3 {
            if let Some(d) = self.lanes[i].front() {
                consider((key(i, d), d.generation), Front::Lane(i), d);
            }
            if let Some(Reverse(d)) = self.out_of_order[i].peek() {
                consider((key(i, d), d.generation), Front::Heap(i), d);
            }
        }
        best.map(|(_, front, d)| (front, d))
    }

    fn take(&mut self, front: Front) {
        match front {
            Front::Lane(i) => {
                self.lanes[i].pop_front();
            }
            Front::Heap(i) => {
                self.out_of_order[i].pop();
            }
        }
        self.first = self.least(|_, d| d.at);
    }

    /// Take the earliest entry.
    pub fn pop(&mut self) -> Option<Due> {
        let (front, due) = self.first?;
        self.take(front);
        Some(due)
    }

    /// Take the entry whose slot had the earliest last packet when queued:
    /// the one to evict when the live cap needs room (handshakes.md §8, the
    /// oldest first). A closed connection waiting out its linger for the
    /// last ACK is fresh, and goes after the attempts idle for longer.
    pub fn pop_longest_idle(&mut self) -> Option<Due> {
        let waits = self.waits;
        let (front, due) = self.least(|i, d| d.at - waits[i])?;
        self.take(front);
        Some(due)
    }

    /// Whether an entry is due by `now`.
    #[inline]
    pub fn any_due(&self, now: i128) -> bool {
        self.first.is_some_and(|(_, d)| d.at <= now)
    }

    /// Take the earliest entry if it is due by `now`.
    pub fn pop_due(&mut self, now: i128) -> Option<Due> {
        if !self.any_due(now) {
            return None;
        }
        self.pop()
    }

    pub fn clear(&mut self) {
        for lane in &mut self.lanes {
            lane.clear();
        }
        for heap in &mut self.out_of_order {
            heap.clear();
        }
        self.first = None;
    }

    /// The slot whose entry comes due next, if any (possibly a stale entry).
    pub fn next_slot(&self) -> Option<usize> {
        self.first.map(|(_, d)| d.slot)
    }
}

fn nanos(d: Duration) -> i128 {
    d.as_nanos() as i128
}

/// When an attempt is due: its last packet plus the timeout for its state.
pub(super) fn deadline(due: &Timeouts, a: &Attempt) -> (i128, Wait) {
    let lane = lane(a);
    (a.last_time.as_nanos() + due.waits[lane as usize], lane)
}

/// Which timeout an attempt's state waits out.
#[inline]
pub(super) fn lane(a: &Attempt) -> Wait {
    if a.closed() {
        Wait::Linger
    } else if a.handshake_complete() || a.origin == Origin::Midstream {
        Wait::Idle
    } else {
        Wait::Handshake
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Timeouts of 10, 300 and 60 nanoseconds (linger, idle, handshake).
    fn timeouts() -> Timeouts {
        Timeouts::new(&TrackerConfig {
            linger: Duration::from_nanos(10),
            idle_timeout: Duration::from_nanos(300),
            handshake_timeout: Duration::from_nanos(60),
            ..TrackerConfig::default()
        })
    }

    #[test]
    fn lanes_and_heap_pop_in_the_order_of_one_heap() {
        let mut x: u64 = 7;
        let mut next = move || crate::report::summary::xorshift64(&mut x);
        for _ in 0..50 {
            let mut t = timeouts();
            let mut reference = BinaryHeap::new();
            let mut clock: i128 = 0;
            for i in 0..400 {
                if next() % 3 == 0 {
                    let got = t.pop().map(|d| (d.at, d.generation));
                    let want = reference.pop().map(|Reverse(e)| e);
                    assert_eq!(got, want);
                    continue;
                }
                // Mostly increasing times, some late ones, many ties.
                clock += (next() % 3) as i128;
                let late = if next() % 8 == 0 {
                    (next() % 20) as i128
                } else {
                    0
                };
                let wait = [Wait::Linger, Wait::Idle, Wait::Handshake][(next() % 3) as usize];
                let at = clock - late + [10, 300, 60][wait as usize];
                let g = t.push(wait, at, i);
                reference.push(Reverse((at, g)));
            }
            while let Some(Reverse(want)) = reference.pop() {
                assert_eq!(t.pop().map(|d| (d.at, d.generation)), Some(want));
            }
            assert!(t.pop().is_none());
        }
    }

    /// Pushes, pops by deadline and pops by idleness mixed: each pop takes the
    /// entry a scan of all entries picks, and the earliest entry's deadline
    /// and slot are known without a pop.
    #[test]
    fn mixed_pops_match_a_scan_of_all_entries() {
        let mut x: u64 = 23;
        let mut next = move || crate::report::summary::xorshift64(&mut x);
        let waits = [10, 300, 60];
        for _ in 0..50 {
            let mut t = timeouts();
            // (deadline, generation, slot, lane's timeout)
            let mut all: Vec<(i128, u64, usize, i128)> = Vec::new();
            let mut clock: i128 = 0;
            for i in 0..400 {
                let first = all.iter().min_by_key(|e| (e.0, e.1)).copied();
                assert_eq!(t.next_slot(), first.map(|e| e.2));
                assert_eq!(t.any_due(clock), first.is_some_and(|e| e.0 <= clock));
                let take = match next() % 4 {
                    0 => first,
                    1 => all.iter().min_by_key(|e| (e.0 - e.3, e.1)).copied(),
                    _ => {
                        clock += (next() % 3) as i128;
                        let late = if next() % 8 == 0 { next() % 20 } else { 0 } as i128;
                        let lane = (next() % 3) as usize;
                        let wait = [Wait::Linger, Wait::Idle, Wait::Handshake][lane];
                        let at = clock - late + waits[lane];
                        let g = t.push(wait, at, i);
                        all.push((at, g, i, waits[lane]));
                        continue;
                    }
                };
                let got = if take == first {
                    t.pop()
                } else {
                    t.pop_longest_idle()
                };
                assert_eq!(
                    got.map(|d| (d.at, d.generation, d.slot)),
                    take.map(|e| (e.0, e.1, e.2))
                );
                all.retain(|e| Some(*e) != take);
            }
        }
    }

    #[test]
    fn pop_due_stops_at_the_first_entry_after_now() {
        let mut t = timeouts();
        t.push(Wait::Handshake, 5, 0);
        t.push(Wait::Linger, 3, 1);
        t.push(Wait::Idle, 9, 2);
        assert_eq!(t.pop_due(4).map(|d| d.slot), Some(1));
        assert_eq!(t.pop_due(4).map(|d| d.slot), None);
        assert_eq!(t.pop_due(5).map(|d| d.slot), Some(0));
        t.clear();
        assert!(t.pop().is_none());
    }

    #[test]
    fn the_longest_idle_goes_first_whatever_its_timeout() {
        let mut t = timeouts();
        // Last packets at 100 (handshake), 95 (idle), 120 (closed), 90
        // (handshake, queued out of order), 130 (idle).
        t.push(Wait::Handshake, 160, 0);
        t.push(Wait::Idle, 395, 1);
        t.push(Wait::Linger, 130, 2);
        t.push(Wait::Handshake, 150, 3);
        t.push(Wait::Idle, 430, 4);
        let order: Vec<usize> =
            std::iter::from_fn(|| t.pop_longest_idle().map(|d| d.slot)).collect();
        assert_eq!(order, [3, 1, 0, 2, 4]);
        // By deadline the closed connection would have gone first.
        t.push(Wait::Handshake, 160, 0);
        t.push(Wait::Linger, 130, 2);
        assert_eq!(t.pop().map(|d| d.slot), Some(2));
    }

    #[test]
    fn longest_idle_order_matches_a_sort_by_last_packet() {
        let mut x: u64 = 11;
        let mut next = move || crate::report::summary::xorshift64(&mut x);
        for _ in 0..50 {
            let mut t = timeouts();
            let mut reference = BinaryHeap::new();
            let mut clock: i128 = 0;
            for i in 0..400 {
                if next() % 3 == 0 {
                    let got = t.pop_longest_idle().map(|d| (d.at, d.generation));
                    let want = reference.pop().map(|Reverse((_, g, at))| (at, g));
                    assert_eq!(got, want);
                    continue;
                }
                clock += (next() % 3) as i128;
                let late = if next() % 8 == 0 {
                    (next() % 20) as i128
                } else {
                    0
                };
                let last = clock - late;
                let wait = [Wait::Linger, Wait::Idle, Wait::Handshake][(next() % 3) as usize];
                let at = last + [10, 300, 60][wait as usize];
                let g = t.push(wait, at, i);
                reference.push(Reverse((last, g, at)));
            }
        }
    }
}
