//! Where live attempts are kept and found: one slot per 4-tuple, in pages of
//! a slab, and an index from 4-tuple to slot number.
//!
//! A segment costs one probe of a compact index and one visit to its slot,
//! which holds the key and the bookkeeping. The attempt stays boxed: it
//! leaves the table as the record handed out, without a copy.

use std::hash::BuildHasher;

// foldhash is seeded per process: a crafted capture cannot aim collisions.
use foldhash::fast::RandomState;

use super::attempt::Attempt;
use super::key::FlowKey;

/// An attempt in the table, and whether it was already handed out (records
/// handed out when their verdict is final stay until their connection ends,
/// so that its later segments are not taken for a new connection).
pub(super) struct Live {
    pub attempt: Box<Attempt>,
    pub reported: bool,
}

pub(super) struct Slot {
    pub key: FlowKey,
    pub current: Live,
    /// An open connection that saw a SYN with another ISN. Until the peer
    /// answers, the SYN is held as a tentative attempt in `current`: a SYN-ACK
    /// makes it a new connection, an ACK with the old numbers is an RFC 5961
    /// challenge ACK and folds it back into this one.
    pub shadow: Option<Live>,
    /// Generation and deadline of this slot's entry in the timeout queue.
    pub generation: u64,
    pub queued_at: i128,
}

/// Slots per page. Pages are allocated as slots are needed and kept: a slab
/// in one vector would move every slot when it grows, and could hold twice
/// the slots it needs.
const PAGE: usize = 1024;

/// The slots, by number, and the index to them.
pub(super) struct Slots {
    pages: Vec<Box<[Option<Slot>]>>,
    vacant: Vec<u32>,
    index: FlowIndex,
    hasher: RandomState,
}

impl Slots {
    pub fn new() -> Slots {
        Slots {
            pages: Vec::new(),
            vacant: Vec::new(),
            index: FlowIndex::new(),
            hasher: RandomState::default(),
        }
    }

    pub fn hash(&self, key: &FlowKey) -> u64 {
        self.hasher.hash_one(key)
    }

    /// The slot of a 4-tuple, given the key's [`Slots::hash`].
    pub fn find(&self, key: &FlowKey, hash: u64) -> Option<usize> {
        self.index
            .find(hash, |n| self.get(n).is_some_and(|s| s.key == *key))
    }

    /// Slot numbers ever used: every occupied slot is below this.
    pub fn span(&self) -> usize {
        self.pages.len() * PAGE
    }

    pub fn get(&self, n: usize) -> Option<&Slot> {
        self.pages.get(n / PAGE)?[n % PAGE].as_ref()
    }

    pub fn get_mut(&mut self, n: usize) -> Option<&mut Slot> {
        self.pages.get_mut(n / PAGE)?[n % PAGE].as_mut()
    }

    /// Start bringing slot `n` into the cache (a hint; nothing is read).
    #[inline]
    pub fn prefetch(&self, n: usize) {
        if let Some(page) = self.pages.get(n / PAGE) {
            prefetch(page.as_ptr().wrapping_add(n % PAGE).cast());
        }
    }

    /// Store a slot for a key that has none; returns its number.
    pub fn insert(&mut self, hash: u64, slot: Slot) -> usize {
        let n = match self.vacant.pop() {
            Some(n) => n as usize,
            None => {
                let first = self.span();
                self.pages.push(
                    (0..PAGE)
                        .map(|_| None)
                        .collect::<Vec<_>>()
                        .into_boxed_slice(),
                );
                // Hand out the new page's slots lowest first.
                self.vacant
                    .extend((first + 1..first + PAGE).rev().map(|n| n as u32));
                first
            }
        };
        self.pages[n / PAGE][n % PAGE] = Some(slot);
        self.index.insert(hash, n as u32);
        n
    }

    /// Take a slot out.
    pub fn remove(&mut self, n: usize) -> Option<Slot> {
        let slot = self.pages.get_mut(n / PAGE)?[n % PAGE].take()?;
        let hash = self.hash(&slot.key);
        self.index.remove(hash, n as u32);
        self.vacant.push(n as u32);
        Some(slot)
    }
}

/// Ask the processor to bring the cache line at `p` in; a hint, which
/// neither reads memory nor can fault, whatever `p` is.
#[inline(always)]
pub(super) fn prefetch(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHT0 is an SSE instruction (every x86_64 has SSE) and
    // does not access memory architecturally: any address is allowed.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Bring a whole attempt into the cache: deciding its timeout reads fields
/// all over it.
#[inline]
pub(super) fn prefetch_attempt(a: &Attempt) {
    let start = (a as *const Attempt).cast::<u8>();
    for line in (0..std::mem::size_of::<Attempt>()).step_by(64) {
        prefetch(start.wrapping_add(line));
    }
}

/// The index from 4-tuple to slot: open addressing with linear probing over
/// 8-byte entries (32 bits of the key's hash and the slot number), the key
/// itself compared in the slot. It is written here rather than taken from
/// `std::collections::HashMap` because that map stores each 40-byte key in
/// its own table, one more cache miss per segment on top of the slot's,
/// and a table of 8-byte entries stays in the processor's cache.
struct FlowIndex {
    /// `tag << 32 | slot + 1`; zero is an empty entry.
    entries: Vec<u64>,
    len: usize,
}

const MIN_ENTRIES: usize = 64;

impl FlowIndex {
    fn new() -> FlowIndex {
        FlowIndex {
            entries: vec![0; MIN_ENTRIES],
            len: 0,
        }
    }

    fn mask(&self) -> usize {
        self.entries.len() - 1
    }

    fn tag(hash: u64) -> u64 {
        hash >> 32
    }

    fn home(&self, tag: u64) -> usize {
        tag as usize & self.mask()
    }

    fn find(&self, hash: u64, is_key: impl Fn(usize) -> bool) -> Option<usize> {
        let tag = Self::tag(hash);
        let mut i = self.home(tag);
        loop {
            let e = self.entries[i];
            if e == 0 {
                return None;
            }
            if e >> 32 == tag {
                let n = (e as u32 - 1) as usize;
                if is_key(n) {
                    return Some(n);
                }
            }
            i = (i + 1) & self.mask();
        }
    }

    fn insert(&mut self, hash: u64, slot: u32) {
        // At most half full: probe runs stay short.
        if (self.len + 1) * 2 > self.entries.len() {
            self.grow();
        }
        self.place((Self::tag(hash) << 32) | u64::from(slot + 1));
        self.len += 1;
    }

    fn place(&mut self, entry: u64) {
        let mut i = self.home(entry >> 32);
        while self.entries[i] != 0 {
            i = (i + 1) & self.mask();
        }
        self.entries[i] = entry;
    }

    fn grow(&mut self) {
        let doubled = vec![0; self.entries.len() * 2];
        let old = std::mem::replace(&mut self.entries, doubled);
        for e in old.into_iter().filter(|&e| e != 0) {
            self.place(e);
        }
    }

    /// Remove the entry of `slot`, then close the gap: move back each later
    /// entry of the probe run that may not sit beyond an empty entry
    /// (deletion without tombstones, so lookups never lengthen).
    fn remove(&mut self, hash: u64, slot: u32) {
        let want = (Self::tag(hash) << 32) | u64::from(slot + 1);
        let mask = self.mask();
        let mut i = self.home(want >> 32);
        while self.entries[i] != want {
            if self.entries[i] == 0 {
                return;
            }
            i = (i + 1) & mask;
        }
        self.entries[i] = 0;
        self.len -= 1;
        let mut gap = i;
        let mut j = (i + 1) & mask;
        while self.entries[j] != 0 {
            let home = self.home(self.entries[j] >> 32);
            // The entry at j may move to the gap unless its home lies in
            // (gap, j] (cyclically).
            let stays = if gap <= j {
                gap < home && home <= j
            } else {
                gap < home || home <= j
            };
            if !stays {
                self.entries[gap] = self.entries[j];
                self.entries[j] = 0;
                gap = j;
            }
            j = (j + 1) & mask;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn index_agrees_with_a_map_through_inserts_and_removals() {
        let mut index = FlowIndex::new();
        let mut map: HashMap<u32, u64> = HashMap::new();
        let mut x: u64 = 99;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for round in 0..20_000u32 {
            if next() % 3 == 0 && !map.is_empty() {
                let &slot = map
                    .keys()
                    .nth((next() % map.len() as u64) as usize)
                    .unwrap();
                let hash = map.remove(&slot).unwrap();
                index.remove(hash, slot);
            } else {
                // Few distinct hashes: long probe runs and equal tags.
                let hash = ((next() % 97) << 32) | (next() % 5);
                index.insert(hash, round);
                map.insert(round, hash);
            }
            if round % 97 == 0 {
                assert_eq!(index.len, map.len());
                for (&slot, &hash) in &map {
                    let got = index.find(hash, |n| n == slot as usize);
                    assert_eq!(got, Some(slot as usize));
                }
            }
        }
    }
}
