//! The order in which attempts leave: by index. The live attempts hold back
//! in-order output; the finished records wait behind the oldest of them.
//!
//! Attempts are numbered as they begin, so a new one always has the highest
//! index and records always leave lowest first: one queue sorted by index
//! holds both, each entry live, waiting with its record, or left. The
//! records whose turn has come are the waiting entries at its front: no
//! ordered map's node walks and no heap's sift on every attempt.

use std::collections::VecDeque;

/// Live attempts and waiting records (of type `R`), in order of index.
pub(super) struct Pending<R> {
    /// Sorted by index; an entry that left without a record to wait stays
    /// (as `Left`) until it reaches the front or the queue is compacted.
    entries: VecDeque<Entry<R>>,
    live: usize,
    waiting: usize,
    /// No entry before this index is live; the first live entry is found
    /// from here. It only moves forward: a live entry never comes back.
    first_live: u64,
}

struct Entry<R> {
    index: u64,
    /// The second of the attempt's first packet.
    sec: i64,
    state: State<R>,
}

enum State<R> {
    /// In the table, in this slot.
    Live(u32),
    /// Finished, its record waiting for the earlier attempts.
    Waiting(R),
    /// Gone without a record to wait (handed out already, or dropped).
    Left,
}

impl<R> Pending<R> {
    pub fn new() -> Pending<R> {
        Pending {
            entries: VecDeque::new(),
            live: 0,
            waiting: 0,
            first_live: 0,
        }
    }

    /// Live attempts.
    pub fn len(&self) -> usize {
        self.live
    }

    /// Records waiting.
    pub fn waiting(&self) -> usize {
        self.waiting
    }

    /// A new live attempt (its index is not already in the queue).
    pub fn insert(&mut self, index: u64, slot: usize, sec: i64) {
        let e = Entry {
            index,
            sec,
            state: State::Live(u32::try_from(slot).expect("slot numbers are 32-bit")),
        };
        self.live += 1;
        if self.live == 1 || index < self.first_live {
            self.first_live = index;
        }
        match self.entries.back() {
            Some(last) if last.index >= index => {
                // Not the newest (never so as the tracker numbers attempts;
                // kept correct all the same).
                let at = self.position(index);
                match self.entries.get_mut(at) {
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
        // front passes them: unless the queue was compacted, the entry of
        // `index` lies that far from the front's.
        if let Some(front) = self.entries.front() {
            let guess = index.wrapping_sub(front.index) as usize;
            if self.entries.get(guess).is_some_and(|e| e.index == index) {
                return guess;
            }
        }
        self.entries.partition_point(|x| x.index < index)
    }

    /// The live attempt `index` left; its record waits for the earlier ones
    /// when one is given. If `index` was not live, nothing changes and the
    /// record comes back.
    pub fn leave(&mut self, index: u64, record: Option<R>) -> Result<(), Option<R>> {
        let at = self.position(index);
        let Some(e) = self
            .entries
            .get_mut(at)
            .filter(|e| e.index == index && matches!(e.state, State::Live(_)))
        else {
            return Err(record);
        };
        e.state = match record {
            Some(a) => {
                self.waiting += 1;
                State::Waiting(a)
            }
            None => State::Left,
        };
        self.live -= 1;
        if index == self.first_live {
            self.advance_first_live(at);
        }
        self.pop_left();
        // A long-lived attempt at the front keeps the entries behind it:
        // sweep those that left once the queue is four times the entries
        // still needed, and some thousand more (a sweep is a pass over the
        // whole queue).
        if self.entries.len() > 4 * (self.live + self.waiting) + 4096 {
            self.entries.retain(|e| !matches!(e.state, State::Left));
        }
        Ok(())
    }

    /// The first live entry is past position `at` now.
    fn advance_first_live(&mut self, at: usize) {
        let next = self
            .entries
            .range(at..)
            .find(|e| matches!(e.state, State::Live(_)));
        self.first_live = match next {
            Some(e) => e.index,
            None => self.entries.back().map_or(0, |e| e.index + 1),
        };
    }

    fn pop_left(&mut self) {
        while self
            .entries
            .front()
            .is_some_and(|e| matches!(e.state, State::Left))
        {
            self.entries.pop_front();
        }
    }

    /// The live attempt with the lowest index: (index, slot, second).
    pub fn first(&self) -> Option<(u64, usize, i64)> {
        if self.live == 0 {
            return None;
        }
        let e = &self.entries[self.position(self.first_live)];
        match e.state {
            State::Live(slot) => Some((e.index, slot as usize, e.sec)),
            _ => unreachable!("the first live entry is live"),
        }
    }

    /// The waiting record at the front: every earlier attempt has left.
    pub fn front_waiting(&self) -> Option<&R> {
        match &self.entries.front()?.state {
            State::Waiting(a) => Some(a),
            _ => None,
        }
    }

    /// Take the waiting record at the front.
    pub fn pop_waiting(&mut self) -> Option<R> {
        self.front_waiting()?;
        let Some(Entry {
            state: State::Waiting(a),
            ..
        }) = self.entries.pop_front()
        else {
            unreachable!("the front is waiting")
        };
        self.waiting -= 1;
        self.pop_left();
        Some(a)
    }

    /// The records waiting, in order.
    #[cfg(test)]
    pub fn waiting_records(&self) -> impl Iterator<Item = &R> {
        self.entries.iter().filter_map(|e| match &e.state {
            State::Waiting(r) => Some(r),
            _ => None,
        })
    }

    /// The second of the first packet of the attempt with the lowest index
    /// still pending, live or waiting.
    pub fn oldest_sec(&self) -> Option<i64> {
        self.entries.front().map(|e| e.sec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Timestamp;
    use crate::track::attempt::Attempt;
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

    /// The model: each index not yet at the front's left, live (slot,
    /// second) or waiting (second), in an ordered map.
    #[derive(Clone, Copy, PartialEq, Debug)]
    enum Model {
        Live(usize, i64),
        Waiting(i64),
    }

    fn check(p: &Pending<Box<Attempt>>, model: &BTreeMap<u64, Model>) {
        let live = model.values().filter(|m| matches!(m, Model::Live(..)));
        assert_eq!(p.len(), live.count());
        assert_eq!(p.waiting(), model.len() - p.len());
        let first = model.iter().find_map(|(&i, m)| match *m {
            Model::Live(n, s) => Some((i, n, s)),
            Model::Waiting(_) => None,
        });
        assert_eq!(p.first(), first);
        let front = model.first_key_value();
        assert_eq!(
            p.front_waiting().map(|a| a.index),
            front
                .filter(|(_, m)| matches!(m, Model::Waiting(_)))
                .map(|(&i, _)| i)
        );
        assert_eq!(
            p.oldest_sec(),
            front.map(|(_, m)| match *m {
                Model::Live(_, s) | Model::Waiting(s) => s,
            })
        );
    }

    /// Random operations on the queue and on an ordered map: the same
    /// answers throughout.
    #[test]
    fn agrees_with_an_ordered_map() {
        let mut x: u64 = 5;
        let mut next = move || crate::report::summary::xorshift64(&mut x);
        for round in 0..40 {
            let (mut p, mut model) = (Pending::new(), BTreeMap::new());
            let mut index = 0u64;
            for _ in 0..2_000 {
                match next() % 8 {
                    0..=2 => {
                        let (slot, sec) = ((next() % 1000) as usize, (next() % 50) as i64);
                        p.insert(index, slot, sec);
                        model.insert(index, Model::Live(slot, sec));
                        index += 1;
                    }
                    3..=5 if index > 0 => {
                        // Mostly live ones; sometimes one that is not.
                        let i = next() % (index + 2);
                        let wait = next() % 3 != 0;
                        let record = wait.then(|| attempt(i));
                        let was = model.get(&i).copied();
                        let got = p.leave(i, record);
                        match was {
                            Some(Model::Live(_, s)) => {
                                assert!(got.is_ok());
                                if wait {
                                    model.insert(i, Model::Waiting(s));
                                } else {
                                    model.remove(&i);
                                }
                            }
                            // Not live: a record given comes back.
                            _ => assert_eq!(
                                got.err().map(|a| a.map(|a| a.index)),
                                Some(wait.then_some(i))
                            ),
                        }
                    }
                    6 => {
                        let front = model
                            .first_key_value()
                            .filter(|(_, m)| matches!(m, Model::Waiting(_)))
                            .map(|(&i, _)| i);
                        assert_eq!(p.pop_waiting().map(|a| a.index), front);
                        if let Some(i) = front {
                            model.remove(&i);
                        }
                    }
                    _ if round % 2 == 0 && index > 0 => {
                        // Out of order now and then (an index used before).
                        let i = index.saturating_sub(1 + next() % 5);
                        if let std::collections::btree_map::Entry::Vacant(v) = model.entry(i) {
                            // Only one that already left the queue's front or
                            // its compaction can be revived so; both agree.
                            v.insert(Model::Live(7, 3));
                            p.insert(i, 7, 3);
                        }
                    }
                    _ => {}
                }
                // The front's records leave once no live attempt is before them.
                while model
                    .first_key_value()
                    .is_some_and(|(_, m)| matches!(m, Model::Waiting(_)))
                    && next() % 2 == 0
                {
                    let (i, _) = model.pop_first().expect("front");
                    assert_eq!(p.pop_waiting().map(|a| a.index), Some(i));
                }
                check(&p, &model);
            }
            // Entries that left never outnumber the rest by much.
            assert!(p.entries.len() <= 4 * model.len() + 4096);
        }
    }

    /// An attempt live from the start keeps every later entry behind it:
    /// those that left are swept, and the queue still answers as the map.
    #[test]
    fn sweeps_behind_a_long_lived_front() {
        let (mut p, mut model) = (Pending::new(), BTreeMap::new());
        let mut x: u64 = 9;
        let mut next = move || crate::report::summary::xorshift64(&mut x);
        for i in 0..60_000u64 {
            p.insert(i, i as usize, 0);
            model.insert(i, Model::Live(i as usize, 0));
            // Index 0 stays; nine in ten others go at once (one in a
            // hundred leaving a record to wait), and now and then an older
            // one goes (or is found gone already).
            if i > 0 && next() % 10 != 0 {
                let wait = next() % 100 == 0;
                assert!(p.leave(i, wait.then(|| attempt(i))).is_ok());
                if wait {
                    model.insert(i, Model::Waiting(0));
                } else {
                    model.remove(&i);
                }
            }
            if i % 100 == 99 {
                let j = 1 + next() % i;
                let live = matches!(model.get(&j), Some(Model::Live(..)));
                assert_eq!(p.leave(j, None).is_ok(), live);
                if live {
                    model.remove(&j);
                }
            }
            assert!(p.entries.len() <= 4 * model.len() + 4096);
        }
        check(&p, &model);
        assert!(p.len() * 5 < 60_000, "few enough live for sweeps");
        // After sweeps, entries no longer lie at their index's distance
        // from the front: every departure must still find its entry.
        let keys: Vec<u64> = model
            .iter()
            .filter(|(&i, m)| i > 0 && matches!(m, Model::Live(..)))
            .map(|(&i, _)| i)
            .collect();
        for k in keys.into_iter().rev().step_by(3) {
            assert!(p.leave(k, None).is_ok());
            model.remove(&k);
            check(&p, &model);
        }
        assert!(p.leave(60_000, None).is_err());
        // The front leaves last: every record behind it comes out in order.
        assert!(p.leave(0, None).is_ok());
        model.remove(&0);
        while let Some((&i, m)) = model.first_key_value() {
            match m {
                Model::Waiting(_) => assert_eq!(p.pop_waiting().map(|a| a.index), Some(i)),
                Model::Live(..) => assert!(p.leave(i, None).is_ok()),
            }
            model.remove(&i);
            check(&p, &model);
        }
        assert!(p.entries.is_empty());
    }
}
