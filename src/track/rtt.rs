//! Round-trip times of the handshake (handshakes.md §4): the two legs with
//! Karn's rule and timestamp disambiguation, the whole handshake, Wireshark's
//! initial RTT, and where the capture was taken.

use super::attempt::{Attempt, EventKind};
use crate::source::Timestamp;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rtt {
    /// Microseconds.
    pub syn_to_synack: Option<f64>,
    pub synack_to_ack: Option<f64>,
    pub handshake: Option<f64>,
    pub irtt: Option<f64>,
    /// Why a leg is missing, and how the capture point was inferred.
    pub notes: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CapturePoint {
    Client,
    Server,
    Middle,
    Unknown,
}

impl CapturePoint {
    pub fn name(self) -> &'static str {
        match self {
            CapturePoint::Client => "client",
            CapturePoint::Server => "server",
            CapturePoint::Middle => "middle",
            CapturePoint::Unknown => "unknown",
        }
    }
}

fn us(later: Timestamp, earlier: Timestamp) -> f64 {
    later.micros_since(earlier)
}

/// Each transmission of the client's SYN: (time, TSval).
fn syn_sends(a: &Attempt) -> Vec<(Timestamp, Option<u32>)> {
    let mut v: Vec<_> = a.syn.iter().map(|s| (s.time, s.options.tsval())).collect();
    v.extend(a.events.iter().filter_map(|e| match e.kind {
        EventKind::SynRetransmission { tsval } => Some((e.time, tsval)),
        _ => None,
    }));
    v
}

/// Each transmission of the server's SYN-ACK: (time, TSval).
fn synack_sends(a: &Attempt) -> Vec<(Timestamp, Option<u32>)> {
    let mut v: Vec<_> = a
        .synack
        .iter()
        .map(|s| (s.time, s.options.tsval()))
        .collect();
    v.extend(a.events.iter().filter_map(|e| match e.kind {
        EventKind::SynAckRetransmission { tsval } => Some((e.time, tsval)),
        _ => None,
    }));
    v
}

/// The send among `sends` (all before the answer) that an answer echoing
/// `tsecr` answers: the only one, or the only one whose TSval it echoes.
fn answered(
    sends: &[(Timestamp, Option<u32>)],
    answer: Timestamp,
    tsecr: Option<u32>,
    what: &str,
    answer_name: &str,
    notes: &mut Vec<String>,
) -> Option<Timestamp> {
    let before: Vec<_> = sends.iter().filter(|(t, _)| *t <= answer).collect();
    match before.len() {
        0 => None,
        1 => Some(before[0].0),
        n => {
            let matching: Vec<_> = before
                .iter()
                .filter(|(_, v)| v.is_some() && *v == tsecr)
                .collect();
            if matching.len() == 1 {
                Some(matching[0].0)
            } else {
                let why = match tsecr {
                    None => "no timestamps to tell which".to_string(),
                    Some(e) if matching.is_empty() => {
                        format!("its TSecr {e} echoes none of their TSvals")
                    }
                    Some(e) => format!("its TSecr {e} echoes {} of them", matching.len()),
                };
                notes.push(format!(
                    "Karn's rule: {what} was sent {n} times before the {answer_name}, {why}"
                ));
                None
            }
        }
    }
}

pub fn rtt(a: &Attempt) -> Rtt {
    let mut r = Rtt {
        irtt: a.wireshark.initial_rtt_ns.map(|n| n as f64 / 1000.0),
        ..Rtt::default()
    };
    if let Some(sa) = a.synack.as_ref() {
        if let Some(t) = answered(
            &syn_sends(a),
            sa.time,
            sa.options.tsecr(),
            "the SYN",
            "SYN-ACK",
            &mut r.notes,
        ) {
            r.syn_to_synack = Some(us(sa.time, t));
        }
    }
    if let Some(ack) = a.completing.as_ref() {
        if let Some(t) = answered(
            &synack_sends(a),
            ack.time,
            ack.tsecr,
            "the SYN-ACK",
            "completing ACK",
            &mut r.notes,
        ) {
            r.synack_to_ack = Some(us(ack.time, t));
        }
    }
    r.handshake = handshake_time(a);
    r
}

/// Microseconds from the first SYN to the end of the handshake (the
/// completing ACK, or both SYNs of a simultaneous open acknowledged).
pub fn handshake_time(a: &Attempt) -> Option<f64> {
    let start = a.syn?.time;
    let end = a.completing.map(|c| c.time).or_else(|| {
        let s = a.simultaneous.as_ref()?;
        Some(s.server_acked_client?.max(s.client_acked_server?))
    })?;
    Some(us(end, start))
}

/// The initial TTLs in use (Linux and most Unix 64, Windows 128, network gear
/// 255, some old stacks 32).
const INITIAL_TTLS: [u8; 4] = [32, 64, 128, 255];

/// Where the capture was taken, and why we think so.
pub fn capture_point(a: &Attempt, rtt: &Rtt) -> (CapturePoint, String) {
    let (Some(syn), Some(sa)) = (a.syn.as_ref(), a.synack.as_ref()) else {
        return (
            CapturePoint::Unknown,
            "capture point unknown: no SYN and SYN-ACK pair".to_string(),
        );
    };
    let local = |ttl: u8| INITIAL_TTLS.contains(&ttl);
    let (cl, sl) = (local(syn.ttl), local(sa.ttl));
    let legs = match (rtt.syn_to_synack, rtt.synack_to_ack) {
        (Some(x), Some(y)) => Some((x, y)),
        _ => None,
    };
    let ttls = format!("SYN TTL {}, SYN-ACK TTL {}", syn.ttl, sa.ttl);
    let by_legs = |x: f64, y: f64| {
        if y * 10.0 < x {
            Some(CapturePoint::Client)
        } else if x * 10.0 < y {
            Some(CapturePoint::Server)
        } else {
            None
        }
    };
    match (cl, sl) {
        (true, false) => (
            CapturePoint::Client,
            format!("capture at the client: {ttls} (only the client's is an initial TTL); SYN→SYN-ACK is the network round trip"),
        ),
        (false, true) => (
            CapturePoint::Server,
            format!("capture at the server: {ttls} (only the server's is an initial TTL); SYN-ACK→ACK is the network round trip"),
        ),
        (false, false) => (
            CapturePoint::Middle,
            format!("capture between the hosts: {ttls}, both decremented; each leg is part of the path"),
        ),
        (true, true) => match legs.and_then(|(x, y)| by_legs(x, y).map(|p| (p, x, y))) {
            Some((p, x, y)) => (
                p,
                format!(
                    "capture at the {}: {ttls} (both initial), legs {x:.0} µs and {y:.0} µs: the much shorter leg is the local stack",
                    p.name()
                ),
            ),
            None => (
                CapturePoint::Unknown,
                format!("capture point unknown: {ttls} (both initial: one link apart) and legs of similar length"),
            ),
        },
    }
}
