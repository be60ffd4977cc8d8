//! Judging a record: the verdict (handshakes.md §2), the arithmetic checks of
//! §1 with expected and actual numbers, how the connection closed, and every
//! derived view, all as pure functions of the [`Attempt`].

use super::attempt::{Attempt, EventKind, Origin, RstIgnored};
use super::heuristics::{self, DetectorConfig, Heuristic};
use super::key::Side;
use super::options::{self, Ecn, Negotiation, Tfo};
use super::rtt::{self, CapturePoint, Rtt};
use crate::wire::tcp;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Verdict {
    Established,
    Refused,
    Unanswered,
    HalfOpen,
    Aborted,
    SimultaneousOpen,
    Invalid,
    Midstream,
}

impl Verdict {
    pub const ALL: [Verdict; 8] = [
        Verdict::Established,
        Verdict::Refused,
        Verdict::Unanswered,
        Verdict::HalfOpen,
        Verdict::Aborted,
        Verdict::SimultaneousOpen,
        Verdict::Invalid,
        Verdict::Midstream,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Verdict::Established => "established",
            Verdict::Refused => "refused",
            Verdict::Unanswered => "unanswered",
            Verdict::HalfOpen => "half_open",
            Verdict::Aborted => "aborted",
            Verdict::SimultaneousOpen => "simultaneous_open",
            Verdict::Invalid => "invalid",
            Verdict::Midstream => "midstream",
        }
    }

    pub fn from_name(s: &str) -> Option<Verdict> {
        Verdict::ALL.into_iter().find(|v| v.name() == s)
    }
}

/// The handshake verdict.
pub fn verdict(a: &Attempt) -> Verdict {
    if a.origin == Origin::Midstream {
        return Verdict::Midstream;
    }
    if let Some(sim) = a.simultaneous.as_deref() {
        if sim.server_syn.is_some()
            && sim.server_acked_client.is_some()
            && sim.client_acked_server.is_some()
        {
            return Verdict::SimultaneousOpen;
        }
    }
    if a.completing.is_some() {
        return Verdict::Established;
    }
    if let Some(r) = a.rst {
        match (r.side, a.synack.is_some()) {
            (Side::Server, false) => return Verdict::Refused,
            (_, true) => return Verdict::Aborted,
            (Side::Client, false) => {}
        }
    }
    let unrecovered_synack = a
        .bad_synack
        .as_ref()
        .is_some_and(|b| b.answered_by_rst.is_none() && a.synack.is_none());
    if unrecovered_synack || a.bad_ack.is_some() {
        return Verdict::Invalid;
    }
    if a.synack.is_some() {
        return Verdict::HalfOpen;
    }
    Verdict::Unanswered
}

/// Can later packets still change the verdict? (Unanswered, half-open and
/// invalid are only known at the timeout or the end of input.)
pub fn verdict_is_final(a: &Attempt) -> bool {
    !matches!(
        verdict(a),
        Verdict::Unanswered | Verdict::HalfOpen | Verdict::Invalid
    )
}

/// A value in a check: a number or a description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Num(u64),
    Text(String),
}

/// One arithmetic or flag check of handshakes.md §1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// `syn`, `synack`, `ack`, `rst`.
    pub step: &'static str,
    pub check: &'static str,
    pub expected: Value,
    pub actual: Value,
    pub ok: bool,
}

/// Flag letters as tcpdump prints them (`S`, `S.`, `R.`, `SF`, ...).
pub fn flag_text(flags: u8) -> String {
    let mut s = String::new();
    for (bit, c) in [
        (tcp::FIN, 'F'),
        (tcp::SYN, 'S'),
        (tcp::RST, 'R'),
        (tcp::PSH, 'P'),
        (tcp::URG, 'U'),
        (tcp::ECE, 'E'),
        (tcp::CWR, 'W'),
    ] {
        if flags & bit != 0 {
            s.push(c);
        }
    }
    if flags & tcp::ACK != 0 {
        s.push('.');
    }
    if s.is_empty() {
        s.push_str("none");
    }
    s
}

fn range_text(lo: u32, hi: u32) -> Value {
    if lo == hi {
        Value::Num(u64::from(lo))
    } else {
        Value::Text(format!("{lo}..{hi}"))
    }
}

pub fn checks(a: &Attempt) -> Vec<Check> {
    let mut v = Vec::new();
    let Some(syn) = a.syn.as_ref() else {
        return v;
    };
    let x = syn.seq;
    let bad = tcp::ACK | tcp::RST | tcp::FIN;
    v.push(Check {
        step: "syn",
        check: "flags",
        expected: Value::Text("S".into()),
        actual: Value::Text(flag_text(syn.flags & !(tcp::ECE | tcp::CWR | tcp::PSH))),
        ok: syn.flags & bad == 0,
    });
    v.push(Check {
        step: "syn",
        check: "ack_field",
        expected: Value::Num(0),
        actual: Value::Num(u64::from(syn.ack)),
        ok: syn.ack == 0,
    });
    if syn.options.md5 && syn.options.tcp_ao {
        v.push(Check {
            step: "syn",
            check: "md5_with_tcp_ao",
            expected: Value::Text("not both".into()),
            actual: Value::Text("both".into()),
            ok: false,
        });
    }
    let lo = x.wrapping_add(1);
    let hi = lo.wrapping_add(a.syn_data_max);
    if let Some(b) = a.bad_synack.as_deref() {
        v.push(Check {
            step: "synack",
            check: "ack",
            expected: range_text(lo, hi),
            actual: Value::Num(u64::from(b.ack)),
            ok: false,
        });
    }
    if let Some(sa) = a.synack.as_ref() {
        v.push(Check {
            step: "synack",
            check: "ack",
            expected: range_text(lo, hi),
            actual: Value::Num(u64::from(sa.ack)),
            ok: true,
        });
        let only_if = |check: &'static str, offered: bool, present: bool| Check {
            step: "synack",
            check,
            expected: Value::Text(if offered { "allowed" } else { "absent" }.into()),
            actual: Value::Text(if present { "present" } else { "absent" }.into()),
            ok: offered || !present,
        };
        let (c, s) = (&syn.options, &sa.options);
        if s.wscale.is_some() {
            v.push(only_if("wscale_offered", c.wscale.is_some(), true));
        }
        if s.timestamps.is_some() {
            v.push(only_if("timestamps_offered", c.timestamps.is_some(), true));
        }
        if s.sack_ok {
            v.push(only_if("sack_offered", c.sack_ok, true));
        }
        let l = sa.ack.wrapping_sub(lo);
        let y = sa.seq;
        for (step, ack) in [
            ("ack", a.completing.as_ref()),
            ("ack", a.bad_ack.as_deref()),
        ] {
            let Some(ack) = ack else { continue };
            v.push(Check {
                step,
                check: "seq",
                expected: Value::Num(u64::from(lo.wrapping_add(l))),
                actual: Value::Num(u64::from(ack.seq)),
                ok: ack.seq == lo.wrapping_add(l),
            });
            v.push(Check {
                step,
                check: "ack",
                expected: Value::Num(u64::from(y.wrapping_add(1))),
                actual: Value::Num(u64::from(ack.ack)),
                ok: ack.ack == y.wrapping_add(1),
            });
        }
        if let (Some(c), Some(tsecr)) = (a.completing.as_ref(), a.completing.and_then(|c| c.tsecr))
        {
            if let Some((val, _)) = s.timestamps {
                let echoed: Vec<u32> = std::iter::once(val)
                    .chain(a.events.iter().filter_map(|e| match e.kind {
                        EventKind::SynAckRetransmission { tsval } if e.time <= c.time => tsval,
                        _ => None,
                    }))
                    .collect();
                let latest = *echoed.last().unwrap_or(&val);
                v.push(Check {
                    step: "ack",
                    check: "tsecr",
                    expected: Value::Num(u64::from(latest)),
                    actual: Value::Num(u64::from(tsecr)),
                    ok: echoed.contains(&tsecr),
                });
            }
        }
    }
    if let Some(r) = a.rst {
        if !a.handshake_complete() {
            let (check, expected, actual) = match (r.side, a.synack.as_ref()) {
                (Side::Server, None) => ("ack", range_text(lo, hi), r.ack.unwrap_or(0)),
                (Side::Server, Some(sa)) => {
                    ("seq", Value::Num(u64::from(sa.seq.wrapping_add(1))), r.seq)
                }
                (Side::Client, Some(sa)) => ("seq", Value::Num(u64::from(sa.ack)), r.seq),
                (Side::Client, None) => ("seq", Value::Num(u64::from(lo)), r.seq),
            };
            v.push(Check {
                step: "rst",
                check,
                expected,
                actual: Value::Num(u64::from(actual)),
                ok: true,
            });
        }
    }
    for e in &a.events {
        if let EventKind::IgnoredRst { ack, seq, why, .. } = e.kind {
            let (check, expected, actual) = match why {
                RstIgnored::NoAck => (
                    "ack_flag",
                    Value::Text("ACK set".into()),
                    Value::Text("ACK clear".into()),
                ),
                RstIgnored::AckOutOfRange { expected } => (
                    "ack",
                    range_text(expected, expected.wrapping_add(a.syn_data_max)),
                    Value::Num(u64::from(ack.unwrap_or(0))),
                ),
                RstIgnored::SeqOutOfWindow { expected } => (
                    "seq",
                    Value::Num(u64::from(expected)),
                    Value::Num(u64::from(seq)),
                ),
            };
            v.push(Check {
                step: "rst",
                check,
                expected,
                actual,
                ok: false,
            });
        }
    }
    v
}

/// How the connection ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Close {
    Fin,
    Reset,
    Open,
}

impl Close {
    pub fn name(self) -> &'static str {
        match self {
            Close::Fin => "fin",
            Close::Reset => "reset",
            Close::Open => "open",
        }
    }
}

/// `fin` when FINs closed it (a RST after both FINs changes nothing), `reset`
/// when an accepted RST did, and the side that closed first.
pub fn close(a: &Attempt) -> (Close, Option<Side>) {
    let by = a.first_close().map(|(s, _)| s);
    let both_fins = match (a.fin[0], a.fin[1]) {
        (Some(c), Some(s)) => Some(c.max(s)),
        _ => None,
    };
    let kind = match (a.rst, both_fins) {
        (Some(r), Some(f)) if f <= r.time => Close::Fin,
        (Some(_), _) => Close::Reset,
        (None, _) if a.fin.iter().any(Option::is_some) => Close::Fin,
        _ => Close::Open,
    };
    (kind, by)
}

/// Everything derived from a record, once.
#[derive(Clone, Debug)]
pub struct Analysis {
    pub verdict: Verdict,
    pub checks: Vec<Check>,
    pub rtt: Rtt,
    pub capture_point: CapturePoint,
    pub negotiation: Negotiation,
    pub ecn: Ecn,
    pub tfo: Option<Tfo>,
    pub close: Close,
    pub closed_by: Option<Side>,
    pub heuristics: Vec<Heuristic>,
    pub zeek_conn_state: &'static str,
    pub zeek_history: String,
    pub wireshark_completeness: u8,
}

impl Analysis {
    /// `rtt_note`: why an RTT is missing and how the capture point was judged.
    pub fn rtt_note(&self) -> Option<String> {
        (!self.rtt.notes.is_empty()).then(|| self.rtt.notes.join("; "))
    }
}

pub fn analyze(a: &Attempt, detectors: &DetectorConfig) -> Analysis {
    let verdict = verdict(a);
    let mut rtt = rtt::rtt(a);
    let (capture_point, why) = rtt::capture_point(a, &rtt);
    if a.syn.is_some() && a.synack.is_some() {
        rtt.notes.push(why);
    }
    let (close, closed_by) = close(a);
    let orig = a.zeek_orig.idx();
    Analysis {
        verdict,
        checks: checks(a),
        capture_point,
        negotiation: options::negotiate(a),
        ecn: options::ecn(a),
        tfo: options::tfo(a),
        close,
        closed_by,
        heuristics: heuristics::heuristics(a, verdict, detectors),
        zeek_conn_state: a.zeek.conn_state(a.bytes[orig], a.bytes[1 - orig]),
        zeek_history: a.zeek.history().to_string(),
        wireshark_completeness: a.wireshark.completeness,
        rtt,
    }
}
