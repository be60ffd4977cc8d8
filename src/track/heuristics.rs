//! Heuristics (handshakes.md §6), reported as such with their evidence: SYN
//! cookies, scanners, SYN floods and scans per time window, ISN sanity.
//!
//! The per-window counters live in [`Detectors`], fed with each record as it
//! finishes; their state is bounded (at most 64 windows, a capped number of
//! keys each).

use std::collections::BTreeMap;

// foldhash is seeded per process: a crafted capture cannot aim collisions.
use foldhash::HashMap;

use super::analysis::Verdict;
use super::attempt::{Attempt, EventKind, WindowFacts};
use super::seq;
use crate::wire::Addr;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Heuristic {
    pub name: &'static str,
    pub evidence: String,
}

#[derive(Clone, Debug)]
pub struct DetectorConfig {
    /// Window length in seconds.
    pub window_secs: i64,
    /// Failed attempts to one server in one window that make a SYN flood.
    pub flood_threshold: u32,
    /// Failed attempts from one address to one address in one window that
    /// make a scan.
    pub scan_threshold: u32,
    /// Most keys counted per window (the rest are not counted).
    pub max_keys: usize,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        DetectorConfig {
            window_secs: 10,
            flood_threshold: 100,
            scan_threshold: 20,
            max_keys: 65_536,
        }
    }
}

#[derive(Clone, Copy, Default)]
struct Count {
    failed: u32,
    /// Distinct other-end values seen, approximated by a 64-bit sketch
    /// (linear counting; exact up to a few dozen, close enough beyond).
    sketch: u64,
}

impl Count {
    fn add(&mut self, distinct: u64) {
        self.failed += 1;
        self.sketch |= 1 << (distinct.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 58);
    }
    fn distinct(&self) -> u32 {
        let zeros = 64 - self.sketch.count_ones();
        if zeros == 0 {
            return 64 * 4;
        }
        (-64.0 * (f64::from(zeros) / 64.0).ln()).round() as u32
    }
}

#[derive(Default)]
struct Window {
    to_server: HashMap<(Addr, u16), Count>,
    pair: HashMap<(Addr, Addr), Count>,
    isn: HashMap<(Addr, u32), u32>,
}

/// Windows kept at most; the oldest goes first.
const MAX_WINDOWS: usize = 64;

/// The per-window detectors. Records are counted when they finish
/// ([`Detectors::count`]) and read when they leave the tracker
/// ([`Detectors::facts`]), which for files is once their window is over.
pub struct Detectors {
    cfg: DetectorConfig,
    windows: BTreeMap<i64, Window>,
}

fn addr_bits(a: &Addr) -> u64 {
    a.octets()
        .iter()
        .fold(0u64, |h, &b| h.rotate_left(8) ^ u64::from(b))
}

impl Detectors {
    pub fn new(cfg: DetectorConfig) -> Detectors {
        Detectors {
            cfg,
            windows: BTreeMap::new(),
        }
    }

    /// Start (seconds) of the window an attempt belongs to.
    pub fn window_start(&self, a: &Attempt) -> i64 {
        let w = self.cfg.window_secs.max(1);
        a.first_time.sec.div_euclid(w) * w
    }

    /// End (seconds) of that window.
    pub fn window_end(&self, a: &Attempt) -> i64 {
        self.window_start(a) + self.cfg.window_secs.max(1)
    }

    /// Count a finished record.
    pub fn count(&mut self, a: &Attempt, verdict: Verdict) {
        let start = self.window_start(a);
        let max_keys = self.cfg.max_keys;
        if !self.windows.contains_key(&start) {
            if self.windows.len() >= MAX_WINDOWS {
                let oldest = *self.windows.keys().next().expect("non-empty");
                if oldest > start {
                    return;
                }
                self.windows.remove(&oldest);
            }
            self.windows.insert(start, Window::default());
        }
        let win = self.windows.get_mut(&start).expect("inserted");
        let failed = matches!(
            verdict,
            Verdict::Unanswered | Verdict::HalfOpen | Verdict::Aborted
        );
        if failed {
            let server = (a.server.addr, a.server.port);
            if win.to_server.len() < max_keys || win.to_server.contains_key(&server) {
                win.to_server
                    .entry(server)
                    .or_default()
                    .add(addr_bits(&a.client.addr));
            }
            let pair = (a.client.addr, a.server.addr);
            if win.pair.len() < max_keys || win.pair.contains_key(&pair) {
                win.pair
                    .entry(pair)
                    .or_default()
                    .add(u64::from(a.server.port));
            }
        }
        if let Some(isn) = a.client_isn.filter(|_| a.syn.is_some()) {
            let k = (a.client.addr, isn);
            if win.isn.len() < max_keys || win.isn.contains_key(&k) {
                *win.isn.entry(k).or_default() += 1;
            }
        }
    }

    /// What the attempt's window shows now.
    pub fn facts(&self, a: &Attempt) -> WindowFacts {
        let start = self.window_start(a);
        let Some(win) = self.windows.get(&start) else {
            return WindowFacts::default();
        };
        let s = win
            .to_server
            .get(&(a.server.addr, a.server.port))
            .copied()
            .unwrap_or_default();
        let p = win
            .pair
            .get(&(a.client.addr, a.server.addr))
            .copied()
            .unwrap_or_default();
        let same_isn = a
            .client_isn
            .filter(|_| a.syn.is_some())
            .and_then(|isn| win.isn.get(&(a.client.addr, isn)).copied())
            .unwrap_or(0);
        WindowFacts {
            failed_to_server: s.failed,
            failed_sources: s.distinct(),
            failed_from_client: p.failed,
            failed_ports: p.distinct(),
            same_isn,
            window_start: start,
        }
    }

    /// Drop windows that end before `sec`: no record can need them.
    pub fn forget_before(&mut self, sec: i64) {
        let w = self.cfg.window_secs.max(1);
        while let Some((&start, _)) = self.windows.first_key_value() {
            if start + w > sec {
                break;
            }
            self.windows.remove(&start);
        }
    }

    pub fn config(&self) -> &DetectorConfig {
        &self.cfg
    }
}

/// A SYN-ACK's options stripped to MSS although the client offered more, or a
/// timestamp clock that jumps right after the SYN-ACK: the marks of a Linux SYN
/// cookie (the server encodes the client's options in its ISN, or in the low
/// six bits of its TSval, and keeps no state).
fn syn_cookie(a: &Attempt) -> Option<String> {
    let syn = a.syn.as_ref()?;
    let sa = a.synack.as_ref()?;
    let (c, s) = (&syn.options, &sa.options);
    if c.timestamps.is_none()
        && (c.wscale.is_some() || c.sack_ok)
        && s.mss.is_some()
        && s.wscale.is_none()
        && !s.sack_ok
        && s.timestamps.is_none()
    {
        return Some(format!(
            "the client offered {} but the SYN-ACK carries only MSS {}",
            [
                c.wscale.map(|w| format!("wscale {w}")),
                c.sack_ok.then(|| "sackOK".to_string()),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" and "),
            s.mss.unwrap_or(0)
        ));
    }
    // With timestamps: the cookie's TSval is the clock rounded down to 64
    // ticks with the options in the low bits, so the server's next TSval
    // jumps ahead by more than the time that passed.
    let (tsval, _) = s.timestamps?;
    let (t, v) = a.server_next_tsval?;
    let jump = seq::diff(v, tsval);
    let elapsed_ms = t.micros_since(sa.time) / 1000.0;
    // In floating point: the two times may be any distance apart.
    let (jump_f, whole_ms) = (f64::from(jump), elapsed_ms.trunc());
    if jump_f > whole_ms + 2.0 && jump_f < whole_ms + 66.0 {
        let low = tsval & 0x3f;
        return Some(format!(
            "the server's TSval went from {tsval} in the SYN-ACK to {v} {:.3} ms later (+{jump} ticks): a TSval rounded down to 64 ticks with option bits {low} in its low six bits",
            elapsed_ms
        ));
    }
    None
}

/// Heuristics on one record.
pub fn heuristics(a: &Attempt, verdict: Verdict, cfg: &DetectorConfig) -> Vec<Heuristic> {
    let mut h = Vec::new();
    let mut add = |name: &'static str, evidence: String| h.push(Heuristic { name, evidence });
    if let Some(e) = syn_cookie(a) {
        add("syn_cookie", e);
    }
    if let Some(syn) = a.syn.as_ref() {
        let o = &syn.options;
        let no_options = o.mss.is_none()
            && o.wscale.is_none()
            && !o.sack_ok
            && o.timestamps.is_none()
            && o.tfo.is_none();
        if syn.window == 512 && no_options && syn.ack != 0 {
            add(
                "scanner_hping3",
                format!(
                    "SYN with window 512, no options and a non-zero ack field ({})",
                    syn.ack
                ),
            );
        }
        let mss_only = o.mss.is_some()
            && o.wscale.is_none()
            && !o.sack_ok
            && o.timestamps.is_none()
            && o.tfo.is_none();
        if matches!(syn.window, 1024 | 2048 | 3072 | 4096) && mss_only {
            let mut e = format!(
                "SYN with window {}, only MSS {}, TTL {}",
                syn.window,
                o.mss.unwrap_or(0),
                syn.ttl
            );
            if a.window.same_isn > 1 {
                e.push_str(&format!(
                    "; ISN {} used by {} attempts from {}",
                    syn.seq, a.window.same_isn, a.client.addr
                ));
            }
            add("scanner_nmap", e);
        }
        if syn.seq == 0 {
            add(
                "isn_crafted",
                "ISN 0: no TCP stack picks it (RFC 6528)".into(),
            );
        } else if a.window.same_isn >= 3 && !mss_only {
            add(
                "isn_shared",
                format!(
                    "ISN {} used by {} attempts from {}: crafted SYNs",
                    syn.seq, a.window.same_isn, a.client.addr
                ),
            );
        }
    }
    for e in &a.events {
        if let EventKind::PortReuse {
            previous_isn,
            previous_end,
        } = e.kind
        {
            if let Some(isn) = a.client_isn {
                let grew = seq::diff(isn, previous_isn);
                let ns = (e.time.as_nanos() - previous_end.as_nanos()) as f64;
                let clock = f64::from(grew) * 64.0;
                if grew > 0 && ns > 0.0 && (clock - ns).abs() < ns * 0.01 + 64_000.0 {
                    add(
                        "isn_clock",
                        format!(
                            "ISN grew by {grew} in {:.3} ms since the previous connection: a 64 ns clock (RFC 6528, Linux)",
                            ns / 1e6
                        ),
                    );
                } else if grew <= 0 {
                    add(
                        "isn_not_increasing",
                        format!("ISN {isn} is not above the previous connection's {previous_isn}"),
                    );
                }
            }
        }
    }
    let w = &a.window;
    let failed = matches!(
        verdict,
        Verdict::Unanswered | Verdict::HalfOpen | Verdict::Aborted
    );
    if failed && w.failed_to_server >= cfg.flood_threshold {
        add(
            "syn_flood",
            format!(
                "{} failed attempts to {} from about {} addresses in the {} s window from {}",
                w.failed_to_server, a.server, w.failed_sources, cfg.window_secs, w.window_start
            ),
        );
    }
    if failed
        && w.failed_from_client >= cfg.scan_threshold
        && w.failed_ports >= cfg.scan_threshold / 2
    {
        add(
            "port_scan",
            format!(
                "{} failed attempts from {} to about {} ports of {} in the {} s window from {}",
                w.failed_from_client,
                a.client.addr,
                w.failed_ports,
                a.server.addr,
                cfg.window_secs,
                w.window_start
            ),
        );
    }
    h
}
