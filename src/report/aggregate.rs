//! What the HTML report draws, gathered in one pass over the records with
//! bounded memory: fixed histogram buckets, a timeline that widens its bins
//! instead of growing, the summary's bounded counts, and a bounded sample of
//! attempts for ladder diagrams.

use std::collections::BTreeMap;

use super::summary::{is_failure, verdict_slot, xorshift64};
use super::{Record, Summary};
use crate::source::{Precision, Timestamp};
use crate::track::options::Ecn;
use crate::track::{Analysis, Attempt};

/// Handshake-time buckets: five per decade from 10 µs to 100 s, with one
/// below and one above.
pub const RTT_BUCKETS_PER_DECADE: usize = 5;
pub const RTT_LOW_US: f64 = 10.0;
pub const RTT_DECADES: usize = 7;
pub const RTT_BUCKETS: usize = RTT_DECADES * RTT_BUCKETS_PER_DECADE + 2;

/// The lower edge of bucket `i` in microseconds (`None` for the first, open
/// below).
pub fn rtt_bucket_low(i: usize) -> Option<f64> {
    (i > 0).then(|| RTT_LOW_US * 10f64.powf((i - 1) as f64 / RTT_BUCKETS_PER_DECADE as f64))
}

fn rtt_bucket(us: f64) -> usize {
    if us.is_nan() || us < RTT_LOW_US {
        return 0;
    }
    let steps = (us / RTT_LOW_US).log10() * RTT_BUCKETS_PER_DECADE as f64;
    // A value on an edge belongs above it; the float log may land a hair
    // below, so compare with the edge itself.
    let mut i = steps.floor() as usize + 1;
    if let Some(next) = rtt_bucket_low(i + 1) {
        if us >= next {
            i += 1;
        }
    }
    i.min(RTT_BUCKETS - 1)
}

/// Timeline bin widths in milliseconds: each a multiple of the one before, so
/// widening merges whole bins.
const BIN_WIDTHS_MS: [i64; 20] = [
    1,
    2,
    10,
    20,
    100,
    200,
    1_000,
    2_000,
    10_000,
    20_000,
    60_000,
    120_000,
    600_000,
    1_200_000,
    3_600_000,
    7_200_000,
    21_600_000,
    43_200_000,
    86_400_000,
    604_800_000,
];
/// Most bins drawn; past it the bins widen.
pub const MAX_BINS: i64 = 240;

/// Attempts per time bin and verdict. Bins start on multiples of their width
/// since the epoch; when the attempts span more than [`MAX_BINS`] bins, the
/// width steps up to the next in [`BIN_WIDTHS_MS`] (a week and beyond double).
#[derive(Default)]
pub struct Timeline {
    width_ms: i64,
    bins: BTreeMap<i64, [u64; 8]>,
}

impl Timeline {
    pub fn width_ms(&self) -> i64 {
        self.width_ms.max(1)
    }

    /// Every bin from the first attempt's to the last's, empty ones
    /// included: `(bin start in ms since the epoch, counts per verdict)`.
    pub fn bins(&self) -> Vec<(i64, [u64; 8])> {
        let w = self.width_ms();
        let (Some(&lo), Some(&hi)) = (self.bins.keys().next(), self.bins.keys().next_back()) else {
            return Vec::new();
        };
        (lo..=hi)
            .map(|k| {
                (
                    k.saturating_mul(w),
                    self.bins.get(&k).copied().unwrap_or_default(),
                )
            })
            .collect()
    }

    fn next_width(w: i64) -> i64 {
        BIN_WIDTHS_MS
            .iter()
            .copied()
            .find(|&x| x > w)
            .unwrap_or(w.saturating_mul(2))
    }

    fn add(&mut self, t: Timestamp, verdict: usize) {
        if self.width_ms == 0 {
            self.width_ms = BIN_WIDTHS_MS[0];
        }
        let ms =
            (t.as_nanos().div_euclid(1_000_000)).clamp(i64::MIN as i128, i64::MAX as i128) as i64;
        loop {
            let key = ms.div_euclid(self.width_ms);
            let lo = self.bins.keys().next().map_or(key, |&k| k.min(key));
            let hi = self.bins.keys().next_back().map_or(key, |&k| k.max(key));
            if hi.saturating_sub(lo) < MAX_BINS {
                self.bins.entry(key).or_default()[verdict] += 1;
                return;
            }
            let wider = Self::next_width(self.width_ms);
            let ratio = wider / self.width_ms;
            let mut merged: BTreeMap<i64, [u64; 8]> = BTreeMap::new();
            for (k, counts) in std::mem::take(&mut self.bins) {
                let m = merged.entry(k.div_euclid(ratio)).or_default();
                for (a, b) in m.iter_mut().zip(counts) {
                    *a += b;
                }
            }
            self.bins = merged;
            self.width_ms = wider;
        }
    }
}

/// Why an attempt was picked for a ladder diagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PickReason {
    Failing,
    Slowest,
}

/// An attempt sampled for a ladder diagram: the record as it was reported,
/// and the input it came from (its packets are frames from
/// `attempt.first_frame` on, between its two endpoints, in that file).
#[derive(Clone, Debug)]
pub struct LadderPick {
    pub id: u64,
    pub reason: PickReason,
    pub attempt: Attempt,
    pub analysis: Analysis,
    pub precision: Precision,
    /// Index into the expanded `-r` list.
    pub input: usize,
}

/// Ladders shown: at most this many failing and this many slowest attempts.
pub const LADDERS_PER_KIND: usize = 10;

/// A bounded, reproducible sample of attempts for ladder diagrams: for each
/// failing verdict a reservoir of [`LADDERS_PER_KIND`] (Vitter's algorithm R
/// with a fixed seed, so the same capture gives the same page), and the
/// [`LADDERS_PER_KIND`] slowest handshakes.
pub struct LadderSample {
    failing: [Vec<LadderPick>; 8],
    seen: [u64; 8],
    slowest: Vec<(f64, LadderPick)>,
    rng: u64,
}

impl Default for LadderSample {
    fn default() -> Self {
        LadderSample {
            failing: Default::default(),
            seen: [0; 8],
            slowest: Vec::new(),
            rng: 0x9e37_79b9_7f4a_7c15,
        }
    }
}

impl LadderSample {
    fn random(&mut self) -> u64 {
        xorshift64(&mut self.rng)
    }

    fn pick(r: &Record<'_>, reason: PickReason) -> LadderPick {
        LadderPick {
            id: r.id,
            reason,
            attempt: r.attempt.clone(),
            analysis: r.analysis.clone(),
            precision: r.precision,
            input: r.input,
        }
    }

    fn add(&mut self, r: &Record<'_>) {
        let v = r.analysis.verdict;
        if is_failure(v) {
            let slot = verdict_slot(v);
            self.seen[slot] += 1;
            if self.failing[slot].len() < LADDERS_PER_KIND {
                self.failing[slot].push(Self::pick(r, PickReason::Failing));
            } else {
                let j = (self.random() % self.seen[slot]) as usize;
                if j < LADDERS_PER_KIND {
                    self.failing[slot][j] = Self::pick(r, PickReason::Failing);
                }
            }
        }
        if let Some(us) = r.analysis.rtt.handshake {
            let full = self.slowest.len() >= LADDERS_PER_KIND;
            // The fastest kept one leaves when a slower one comes.
            let min = self
                .slowest
                .iter()
                .enumerate()
                .min_by(|a, b| a.1 .0.total_cmp(&b.1 .0))
                .map(|(i, s)| (i, s.0));
            match min {
                Some((i, m)) if full && us > m => {
                    self.slowest[i] = (us, Self::pick(r, PickReason::Slowest));
                }
                _ if !full => self.slowest.push((us, Self::pick(r, PickReason::Slowest))),
                _ => {}
            }
        }
    }

    /// The sampled attempts, failing ones first (taken in turn from each
    /// failing verdict, up to [`LADDERS_PER_KIND`]) then the slowest, each
    /// group in output order.
    pub fn picks(&self) -> Vec<&LadderPick> {
        let mut failing: Vec<&LadderPick> = Vec::new();
        let mut round = 0;
        while failing.len() < LADDERS_PER_KIND {
            let before = failing.len();
            for group in &self.failing {
                if let Some(p) = group.get(round) {
                    if failing.len() < LADDERS_PER_KIND {
                        failing.push(p);
                    }
                }
            }
            if failing.len() == before {
                break;
            }
            round += 1;
        }
        failing.sort_by_key(|p| p.id);
        let mut slowest: Vec<&LadderPick> = self.slowest.iter().map(|s| &s.1).collect();
        slowest.sort_by_key(|p| p.id);
        failing.extend(slowest);
        failing
    }
}

/// Transmissions counted per attempt: 0, 1, ..., and the last bucket for
/// that many or more.
pub const COUNT_BUCKETS: usize = 8;

/// The negotiated options of the attempts whose SYN-ACK was seen.
#[derive(Default)]
pub struct OptionsMix {
    /// Attempts with both a SYN and a SYN-ACK.
    pub negotiated: u64,
    pub mss: BTreeMap<u16, u64>,
    /// Client window-scale shift 0..=14 agreed, and index 15 for none.
    pub wscale: [u64; 16],
    pub sack: [u64; 2],
    pub timestamps: [u64; 2],
    /// Attempts with a SYN, by ECN outcome: off, requested, negotiated, accecn.
    pub ecn: [u64; 4],
    /// Attempts with a SYN, by TFO: none, cookie requested, cookie sent,
    /// data accepted.
    pub tfo: [u64; 4],
}

impl OptionsMix {
    fn add(&mut self, a: &Attempt, n: &Analysis) {
        if let Some(g) = n.negotiation.agreed.as_ref() {
            self.negotiated += 1;
            *self.mss.entry(g.mss).or_default() += 1;
            self.wscale[g.wscale.map_or(15, |w| usize::from(w[0].min(14)))] += 1;
            self.sack[usize::from(g.sack_ok)] += 1;
            self.timestamps[usize::from(g.timestamps)] += 1;
        }
        if a.syn.is_some() {
            self.ecn[match n.ecn {
                Ecn::Off => 0,
                Ecn::Requested => 1,
                Ecn::Negotiated => 2,
                Ecn::AccEcn => 3,
            }] += 1;
            self.tfo[match n.tfo.as_ref() {
                None => 0,
                Some(t) if t.syn_data_accepted => 3,
                Some(t) if t.cookie_requested => 1,
                Some(_) => 2,
            }] += 1;
        }
    }
}

/// Everything the report draws.
pub struct Aggregate {
    pub summary: Summary,
    pub rtt: [u64; RTT_BUCKETS],
    /// Attempts by SYNs sent, and by SYN-ACKs sent.
    pub syns: [u64; COUNT_BUCKETS],
    pub synacks: [u64; COUNT_BUCKETS],
    pub timeline: Timeline,
    pub options: OptionsMix,
    pub ladders: LadderSample,
    pub first: Option<Timestamp>,
    pub last: Option<Timestamp>,
}

impl Default for Aggregate {
    fn default() -> Self {
        Aggregate::new()
    }
}

impl Aggregate {
    pub fn new() -> Aggregate {
        Aggregate {
            summary: Summary::new(),
            rtt: [0; RTT_BUCKETS],
            syns: [0; COUNT_BUCKETS],
            synacks: [0; COUNT_BUCKETS],
            timeline: Timeline::default(),
            options: OptionsMix::default(),
            ladders: LadderSample::default(),
            first: None,
            last: None,
        }
    }

    pub fn add(&mut self, r: &Record<'_>) {
        let a = r.attempt;
        let n = &r.analysis;
        self.summary.add(r);
        if let Some(us) = n.rtt.handshake {
            self.rtt[rtt_bucket(us)] += 1;
        }
        let bucket = |c: u32| (c as usize).min(COUNT_BUCKETS - 1);
        self.syns[bucket(a.syn_count)] += 1;
        self.synacks[bucket(a.synack_count)] += 1;
        self.timeline.add(a.first_time, verdict_slot(n.verdict));
        self.options.add(a, n);
        self.ladders.add(r);
        if self.first.map_or(true, |t| a.first_time < t) {
            self.first = Some(a.first_time);
        }
        if self.last.map_or(true, |t| a.last_time > t) {
            self.last = Some(a.last_time);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtt_buckets_split_at_their_edges() {
        assert_eq!(rtt_bucket(9.9), 0);
        assert_eq!(rtt_bucket(f64::NAN), 0);
        assert_eq!(rtt_bucket(10.0), 1);
        assert_eq!(rtt_bucket(100.0), 1 + RTT_BUCKETS_PER_DECADE);
        assert_eq!(rtt_bucket(99.99), RTT_BUCKETS_PER_DECADE);
        assert_eq!(rtt_bucket(1e9), RTT_BUCKETS - 1);
        for i in 1..RTT_BUCKETS {
            let low = rtt_bucket_low(i).unwrap();
            assert_eq!(rtt_bucket(low * 1.0000001), i, "bucket {i} from {low}");
        }
    }

    #[test]
    fn timeline_widens_without_losing_attempts() {
        let mut t = Timeline::default();
        for s in 0..10_000i64 {
            t.add(
                Timestamp::new(1_700_000_000 + s, 500_000_000),
                (s % 8) as usize,
            );
        }
        let bins = t.bins();
        assert!(bins.len() as i64 <= MAX_BINS, "{} bins", bins.len());
        let total: u64 = bins.iter().map(|(_, c)| c.iter().sum::<u64>()).sum();
        assert_eq!(total, 10_000);
        assert_eq!(
            t.width_ms(),
            60_000,
            "10 000 s in at most 240 bins: one minute each"
        );
        assert!(bins.windows(2).all(|w| w[0].0 < w[1].0));
    }
}
