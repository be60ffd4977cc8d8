//! The two orders in which attempts leave: the live attempts by index (the
//! oldest holds back in-order output), and the finished records waiting for
//! it, also by index.
//!
//! Both were ordered maps. Attempts are numbered as they begin, so a new
//! live attempt always has the highest index, and waiting records always
//! leave lowest first: a sorted queue and a binary heap give the same order
//! without a tree's node walks on every attempt.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, VecDeque};

use super::attempt::Attempt;

/// The live attempts: index, slot and the second of the first packet, in
/// order of index.
pub(super) struct LiveSet {
    /// Sorted by index; an entry whose attempt left is a tombstone until it
    /// reaches the front or the queue is compacted.
    entries: VecDeque<LiveEntry>,
    live: usize,
}

#[derive(Clone, Copy)]
struct LiveEntry {
    index: u64,
    slot: u32,
    sec: i64,
}

/// The slot of a tombstone.
const LEFT: u32 = u32::MAX;

impl LiveSet {
    pub fn new() -> LiveSet {
        LiveSet {
            entries: VecDeque::new(),
            live: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.live
    }

    /// A new live attempt (its index is not already live).
    pub fn insert(&mut self, index: u64, slot: usize, sec: i64) {
        let e = LiveEntry {
            index,
            slot: u32::try_from(slot).expect("slot numbers are 32-bit"),
            sec,
        };
        self.live += 1;
        match self.entries.back() {
            Some(last) if last.index >= index => {
                // Not the newest (never so as the tracker numbers attempts;
                // kept correct all the same).
                let at = self.position(index);
                match self.entries.get_mut(at) {
                    // Its tombstone: live again.
                    Some(t) if t.index == index => *t = e,
                    _ => self.entries.insert(at, e),
                }
            }
            _ => self.entries.push_back(e),
        }
    }

    /// Where `index` is or would be.
    fn position(&self, index: u64) -> usize {
        // Attempts are numbered one by one and their entries stay until the
        // front passes them: unless tombstones were swept, the entry of
        // `index` lies that far from the front's.
        if let Some(front) = self.entries.front() {
            let guess = index.wrapping_sub(front.index) as usize;
            if self.entries.get(guess).is_some_and(|e| e.index == index) {
                return guess;
            }
        }
        self.entries.partition_point(|x| x.index < index)
    }

    /// The attempt `index` left; whether it was live.
    pub fn remove(&mut self, index: u64) -> bool {
        let at = self.position(index);
        match self.entries.get_mut(at) {
            Some(e) if e.index == index && e.slot != LEFT => e.slot = LEFT,
            _ => return false,
        }
        self.live -= 1;
        while self.entries.front().is_some_and(|e| e.slot == LEFT) {
            self.entries.pop_front();
        }
        // A long-lived attempt at the front keeps the tombstones behind it:
        // sweep them once the queue is four times the live entries, and
        // some thousand more (a sweep is a pass over the whole queue).
        if self.entries.len() > 4 * self.live + 4096 {
            self.entries.retain(|e| e.slot != LEFT);
        }
        true
    }

    /// The live attempt with the lowest index: (index, slot, second).
    pub fn first(&self) -> Option<(u64, usize, i64)> {
        // The front is never a tombstone.
        self.entries
            .front()
            .map(|e| (e.index, e.slot as usize, e.sec))
    }
}

/// Finished records waiting for earlier attempts, lowest index first.
pub(super) struct Waiting {
    heap: BinaryHeap<Reverse<ByIndex>>,
}

/// The index is kept beside the box: comparing through the box would read
/// a cold attempt at every step of the heap.
struct ByIndex(u64, Box<Attempt>);

impl PartialEq for ByIndex {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}
impl Eq for ByIndex {}
impl PartialOrd for ByIndex {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for ByIndex {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.cmp(&other.0)
    }
}

impl Waiting {
    pub fn new() -> Waiting {
        Waiting {
            heap: BinaryHeap::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn push(&mut self, a: Box<Attempt>) {
        self.heap.push(Reverse(ByIndex(a.index, a)));
    }

    /// The lowest index waiting.
    pub fn first_index(&self) -> Option<u64> {
        self.heap.peek().map(|Reverse(ByIndex(i, _))| *i)
    }

    /// The record with the lowest index.
    pub fn first(&self) -> Option<&Attempt> {
        self.heap.peek().map(|Reverse(ByIndex(_, a))| &**a)
    }

    pub fn pop_first(&mut self) -> Option<Box<Attempt>> {
        self.heap.pop().map(|Reverse(ByIndex(_, a))| a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Timestamp;
    use crate::track::attempt::Origin;
    use crate::track::key::Endpoint;
    use crate::wire::addr::Addr;
    use std::collections::BTreeMap;
    use std::net::Ipv4Addr;

    fn attempt(index: u64) -> Box<Attempt> {
        let e = Endpoint::new(Addr::V4(Ipv4Addr::new(10, 0, 0, 1).octets()), 80);
        Box::new(Attempt::new(
            index,
            index + 1,
            Timestamp::new(index as i64, 0),
            4,
            Origin::Syn,
            e,
            e,
        ))
    }

    /// Random operations on both orders and on the ordered maps they
    /// replace: the same answers throughout.
    #[test]
    fn agree_with_ordered_maps() {
        let mut x: u64 = 5;
        let mut next = move || crate::report::summary::xorshift64(&mut x);
        for round in 0..40 {
            let (mut live, mut live_map) = (LiveSet::new(), BTreeMap::new());
            let (mut waiting, mut waiting_map) = (Waiting::new(), BTreeMap::new());
            let mut index = 0u64;
            for _ in 0..2_000 {
                match next() % 8 {
                    0..=2 => {
                        let (slot, sec) = ((next() % 1000) as usize, (next() % 50) as i64);
                        live.insert(index, slot, sec);
                        live_map.insert(index, (slot, sec));
                        index += 1;
                    }
                    3..=4 if index > 0 => {
                        // Mostly live ones; sometimes one that is not.
                        let i = next() % index;
                        assert_eq!(live.remove(i), live_map.remove(&i).is_some());
                    }
                    5 if index > 0 => {
                        let i = next() % (index + 3);
                        if let std::collections::btree_map::Entry::Vacant(v) = waiting_map.entry(i)
                        {
                            v.insert(());
                            waiting.push(attempt(i));
                        }
                    }
                    6 => {
                        let got = waiting.pop_first().map(|a| a.index);
                        assert_eq!(got, waiting_map.pop_first().map(|(i, _)| i));
                    }
                    _ if round % 2 == 0 && index > 0 => {
                        // Out of order now and then (an index used before).
                        let i = index.saturating_sub(1 + next() % 5);
                        if let std::collections::btree_map::Entry::Vacant(v) = live_map.entry(i) {
                            v.insert((7, 3));
                            live.insert(i, 7, 3);
                        }
                    }
                    _ => {}
                }
                assert_eq!(live.len(), live_map.len());
                assert_eq!(
                    live.first(),
                    live_map.first_key_value().map(|(&i, &(n, s))| (i, n, s))
                );
                assert_eq!(waiting.len(), waiting_map.len());
                assert_eq!(
                    waiting.first().map(|a| a.index),
                    waiting_map.first_key_value().map(|(&i, _)| i)
                );
            }
            // Tombstones never outnumber the live entries by much.
            assert!(live.entries.len() <= 4 * live.len() + 4096);
        }
    }

    /// An attempt live from the start keeps every later entry behind it:
    /// their tombstones are swept, and the set still answers as the map.
    #[test]
    fn sweeps_tombstones_behind_a_long_lived_front() {
        let (mut live, mut map) = (LiveSet::new(), BTreeMap::new());
        let mut x: u64 = 9;
        let mut next = move || crate::report::summary::xorshift64(&mut x);
        for i in 0..60_000u64 {
            live.insert(i, i as usize, 0);
            map.insert(i, i as usize);
            // Index 0 stays; nine in ten others go at once, and now and
            // then an older one goes (or is found gone already).
            if i > 0 && next() % 10 != 0 {
                assert!(live.remove(i));
                map.remove(&i);
            }
            if i % 100 == 99 {
                let j = 1 + next() % i;
                assert_eq!(live.remove(j), map.remove(&j).is_some());
            }
            assert!(live.entries.len() <= 4 * live.len() + 4096);
        }
        assert_eq!(live.len(), map.len());
        assert!(live.len() * 5 < 60_000, "few enough live for sweeps");
        // After sweeps, entries no longer lie at their index's distance
        // from the front: every removal must still find its entry.
        let keys: Vec<u64> = map.keys().copied().collect();
        for k in keys.into_iter().rev().step_by(3) {
            assert!(live.remove(k));
            map.remove(&k);
            assert_eq!(
                live.first(),
                map.first_key_value().map(|(&i, &n)| (i, n, 0))
            );
            assert_eq!(live.len(), map.len());
        }
        assert!(!live.remove(60_000));
    }
}
