//! The default output: one line per attempt for people, coloured by verdict
//! on a terminal.

use super::Record;
use crate::print::{Clock, TimeFormat};
use crate::track::options::Ecn;
use crate::track::Verdict;

/// Colours as plain ANSI SGR sequences: five fixed codes do not justify a
/// dependency.
fn colour(v: Verdict) -> &'static str {
    match v {
        Verdict::Established => "\x1b[32m",
        Verdict::Refused | Verdict::Aborted => "\x1b[33m",
        Verdict::Unanswered | Verdict::HalfOpen | Verdict::Invalid => "\x1b[31m",
        Verdict::SimultaneousOpen => "\x1b[36m",
        Verdict::Midstream => "\x1b[2m",
    }
}
const RESET: &str = "\x1b[0m";

pub struct TableWriter {
    clock: Clock,
    colour: bool,
}

pub const HEADER: &str = "TIME            CLIENT                        SERVER                     VERDICT           SYN/SA  RTT(ms)    MSS   WSCALE  SACK TS  ECN/TFO        CLOSE";

impl TableWriter {
    pub fn new(colour: bool) -> TableWriter {
        TableWriter {
            clock: Clock::new(TimeFormat::Clock),
            colour,
        }
    }

    pub fn header(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(HEADER.as_bytes());
        out.push(b'\n');
    }

    pub fn row(&mut self, r: &Record<'_>, out: &mut Vec<u8>) {
        let a = r.attempt;
        let n = &r.analysis;
        let mut time = Vec::with_capacity(16);
        self.clock.print(&mut time, a.first_time);
        let time = String::from_utf8_lossy(&time);
        let time = time.trim_end();
        let agreed = n.negotiation.agreed.as_ref();
        let rtt = n
            .rtt
            .handshake
            .map_or("-".to_string(), |us| format!("{:.3}", us / 1000.0));
        let mss = agreed.map_or("-".to_string(), |g| g.mss.to_string());
        let wscale = agreed
            .and_then(|g| g.wscale)
            .map_or("-".to_string(), |w| format!("{}/{}", w[0], w[1]));
        let yes = |b: Option<bool>| match b {
            Some(true) => "yes",
            Some(false) => "no",
            None => "-",
        };
        let mut extras = Vec::new();
        if n.ecn != Ecn::Off {
            extras.push(format!("ecn:{}", n.ecn.name()));
        }
        if let Some(t) = &n.tfo {
            extras.push(if t.syn_data_accepted {
                format!("tfo+{}", t.syn_data_bytes)
            } else if t.cookie_requested {
                "tfo:req".to_string()
            } else {
                "tfo".to_string()
            });
        }
        if extras.is_empty() {
            extras.push("-".into());
        }
        let close = match n.closed_by {
            Some(side) => format!("{}:{}", n.close.name(), side.name()),
            None => n.close.name().to_string(),
        };
        let verdict = format!("{:<17}", n.verdict.name());
        let verdict = if self.colour {
            format!("{}{verdict}{RESET}", colour(n.verdict))
        } else {
            verdict
        };
        let line = format!(
            "{time:<15} {:<29} {:<26} {verdict} {:>2}/{:<3} {rtt:>9}  {mss:>5}  {wscale:>6}  {:<4} {:<3} {:<14} {close}\n",
            a.client.to_string(),
            a.server.to_string(),
            a.syn_count,
            a.synack_count,
            yes(agreed.map(|g| g.sack_ok)),
            yes(agreed.map(|g| g.timestamps)),
            extras.join(","),
        );
        out.extend_from_slice(line.as_bytes());
    }
}
