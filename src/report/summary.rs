//! The summary at the end: attempts per verdict, handshake times, the servers
//! that failed most. Bounded: handshake times are kept exactly up to
//! [`MAX_SAMPLES`], then sampled (Vitter's algorithm R), and failing servers
//! are counted for at most [`MAX_SERVERS`] distinct servers.

// foldhash is seeded per process: a crafted capture cannot aim collisions.
use foldhash::HashMap;

use super::Record;
use crate::track::{Endpoint, TrackerStats, Verdict};

pub const MAX_SAMPLES: usize = 1_000_000;
pub const MAX_SERVERS: usize = 100_000;

#[derive(Default)]
pub struct Summary {
    pub attempts: u64,
    pub per_verdict: [u64; 8],
    samples: Vec<f64>,
    seen_samples: u64,
    rng: u64,
    max_us: Option<f64>,
    failing: HashMap<Endpoint, u64>,
}

/// A small xorshift generator for sampling (Marsaglia's xorshift64):
/// reproducible from its seed, no dependency.
pub fn xorshift64(state: &mut u64) -> u64 {
    let mut x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    x
}

/// The index of a verdict in [`Verdict::ALL`] (and in per-verdict arrays).
pub fn verdict_slot(v: Verdict) -> usize {
    Verdict::ALL.iter().position(|x| *x == v).unwrap_or(0)
}

/// Verdicts counted as failed attempts: not established, not a simultaneous
/// open, not a connection first seen midstream.
pub fn is_failure(v: Verdict) -> bool {
    !matches!(
        v,
        Verdict::Established | Verdict::Midstream | Verdict::SimultaneousOpen
    )
}

impl Summary {
    pub fn new() -> Summary {
        Summary {
            rng: 0x2545_f491_4f6c_dd1d,
            ..Summary::default()
        }
    }

    fn next_random(&mut self) -> u64 {
        xorshift64(&mut self.rng)
    }

    pub fn add(&mut self, r: &Record<'_>) {
        self.add_verdict(
            r.analysis.verdict,
            r.analysis.rtt.handshake,
            r.attempt.server,
        );
    }

    /// [`Summary::add`] from what it counts: the verdict, the handshake time
    /// in microseconds and the server.
    pub fn add_verdict(&mut self, v: Verdict, handshake_us: Option<f64>, server: Endpoint) {
        self.attempts += 1;
        self.per_verdict[verdict_slot(v)] += 1;
        if let Some(us) = handshake_us {
            self.seen_samples += 1;
            self.max_us = Some(self.max_us.map_or(us, |m: f64| m.max(us)));
            if self.samples.len() < MAX_SAMPLES {
                self.samples.push(us);
            } else {
                let j = self.next_random() % self.seen_samples;
                if (j as usize) < MAX_SAMPLES {
                    self.samples[j as usize] = us;
                }
            }
        }
        if is_failure(v) && (self.failing.len() < MAX_SERVERS || self.failing.contains_key(&server))
        {
            *self.failing.entry(server).or_default() += 1;
        }
    }

    pub fn count(&self, v: Verdict) -> u64 {
        self.per_verdict[verdict_slot(v)]
    }

    /// Handshake time percentile in microseconds (nearest rank).
    pub fn percentile(&self, p: f64) -> Option<f64> {
        self.percentiles(&[p])[0]
    }

    /// Several percentiles, each found by selection.
    pub fn percentiles(&self, ps: &[f64]) -> Vec<Option<f64>> {
        if self.samples.is_empty() {
            return vec![None; ps.len()];
        }
        let mut v = self.samples.clone();
        ps.iter()
            .map(|p| {
                let rank = ((p / 100.0) * v.len() as f64).ceil().max(1.0) as usize;
                // The value of that rank, without sorting all the others.
                let at = rank.min(v.len()) - 1;
                let (_, value, _) = v.select_nth_unstable_by(at, |a, b| a.total_cmp(b));
                Some(*value)
            })
            .collect()
    }

    /// More handshake times were seen than kept: percentiles are estimates.
    pub fn sampled(&self) -> bool {
        self.seen_samples as usize > MAX_SAMPLES
    }

    pub fn max(&self) -> Option<f64> {
        self.max_us
    }

    /// The servers with the most failed attempts, most first.
    pub fn top_failing(&self, n: usize) -> Vec<(Endpoint, u64)> {
        let mut v: Vec<_> = self.failing.iter().map(|(e, c)| (*e, *c)).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v.truncate(n);
        v
    }

    /// The summary for people.
    pub fn write_text(&self, stats: &TrackerStats, out: &mut Vec<u8>) {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = writeln!(s, "{} attempts", self.attempts);
        for v in Verdict::ALL {
            let n = self.count(v);
            if n > 0 {
                let _ = writeln!(s, "  {:<18} {n}", v.name());
            }
        }
        let ms = |us: Option<f64>| us.map_or("-".to_string(), |u| format!("{:.3} ms", u / 1000.0));
        let p = self.percentiles(&[50.0, 95.0]);
        let _ = writeln!(
            s,
            "handshake time: median {}, p95 {}, max {}{}",
            ms(p[0]),
            ms(p[1]),
            ms(self.max()),
            if self.sampled() {
                format!(" (percentiles from a sample of {MAX_SAMPLES})")
            } else {
                String::new()
            }
        );
        let top = self.top_failing(5);
        if !top.is_empty() {
            let _ = writeln!(s, "top failing servers:");
            for (e, n) in top {
                let _ = writeln!(s, "  {:<40} {n}", e.to_string());
            }
        }
        let _ = writeln!(
            s,
            "{} frames, {} TCP segments, {} not TCP, {} truncated, {} malformed; {} evicted, {} flushed early, at most {} live",
            stats.frames,
            stats.tcp_segments,
            stats.not_tcp,
            stats.truncated,
            stats.malformed,
            stats.evicted,
            stats.flushed,
            stats.peak_live
        );
        out.extend_from_slice(s.as_bytes());
    }
}
