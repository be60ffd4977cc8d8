//! When attempts are due: entries of (deadline, generation, slot), taken in
//! order of deadline, ties in the order they were queued.
//!
//! A deadline is an attempt's last packet plus the timeout of its state
//! (handshake, idle, linger). Entries queued with the same timeout therefore
//! arrive in order of their deadlines while packets arrive in time order, so
//! each timeout gets a first-in first-out lane; an entry that would break
//! its lane's order (an older attempt's deadline, a capture out of time
//! order) goes to a binary heap instead. The earliest entry is the earliest
//! of the lane fronts and the heap's top: the order of one heap holding all
//! entries, without a heap's cache misses on every push and pop.

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
    out_of_order: BinaryHeap<Reverse<Due>>,
    generation: u64,
    /// The earliest deadline queued (`i128::MAX` when none): asked after
    /// every packet, it is kept rather than found among the fronts.
    earliest: i128,
}

/// Where the earliest entry is.
enum Front {
    Lane(usize),
    Heap,
}

impl Timeouts {
    pub fn new() -> Timeouts {
        Timeouts {
            lanes: Default::default(),
            out_of_order: BinaryHeap::new(),
            generation: 0,
            earliest: i128::MAX,
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
        self.earliest = self.earliest.min(at);
        let lane = &mut self.lanes[wait as usize];
        if lane.back().map_or(true, |last| last.at <= at) {
            lane.push_back(due);
        } else {
            self.out_of_order.push(Reverse(due));
        }
        self.generation
    }

    fn front(&self) -> Option<(Front, Due)> {
        let mut best: Option<(Front, Due)> =
            self.out_of_order.peek().map(|Reverse(d)| (Front::Heap, *d));
        for (i, lane) in self.lanes.iter().enumerate() {
            if let Some(d) = lane.front() {
                if best.as_ref().map_or(true, |(_, b)| d < b) {
                    best = Some((Front::Lane(i), *d));
                }
            }
        }
        best
    }

    /// Take the earliest entry.
    pub fn pop(&mut self) -> Option<Due> {
        let (front, due) = self.front()?;
        match front {
            Front::Lane(i) => self.lanes[i].pop_front(),
            Front::Heap => self.out_of_order.pop().map(|Reverse(d)| d),
        };
        self.earliest = self.front().map_or(i128::MAX, |(_, d)| d.at);
        Some(due)
    }

    /// Take the earliest entry if it is due by `now`.
    pub fn pop_due(&mut self, now: i128) -> Option<Due> {
        if self.earliest > now {
            return None;
        }
        self.pop()
    }

    pub fn clear(&mut self) {
        for lane in &mut self.lanes {
            lane.clear();
        }
        self.out_of_order.clear();
        self.earliest = i128::MAX;
    }
}

fn nanos(d: Duration) -> i128 {
    d.as_nanos() as i128
}

/// When an attempt is due: its last packet plus the timeout for its state.
pub(super) fn deadline(cfg: &TrackerConfig, a: &Attempt) -> (i128, Wait) {
    let (wait, lane) = if a.closed() {
        (cfg.linger, Wait::Linger)
    } else if a.handshake_complete() || a.origin == Origin::Midstream {
        (cfg.idle_timeout, Wait::Idle)
    } else {
        (cfg.handshake_timeout, Wait::Handshake)
    };
    (a.last_time.as_nanos() + nanos(wait), lane)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_and_heap_pop_in_the_order_of_one_heap() {
        let mut x: u64 = 7;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..50 {
            let mut t = Timeouts::new();
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

    #[test]
    fn pop_due_stops_at_the_first_entry_after_now() {
        let mut t = Timeouts::new();
        t.push(Wait::Handshake, 5, 0);
        t.push(Wait::Linger, 3, 1);
        t.push(Wait::Idle, 9, 2);
        assert_eq!(t.pop_due(4).map(|d| d.slot), Some(1));
        assert_eq!(t.pop_due(4).map(|d| d.slot), None);
        assert_eq!(t.pop_due(5).map(|d| d.slot), Some(0));
        t.clear();
        assert!(t.pop().is_none());
    }
}
