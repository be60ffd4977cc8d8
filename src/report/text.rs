//! Words for numbers: times in the capture's precision, event names and details.

use crate::source::{Precision, Timestamp};
use crate::track::attempt::RstIgnored;
use crate::track::{Attempt, Event, EventKind};

/// Seconds since the epoch with the capture's digits (6 or 9), a fraction
/// outside `0..1 s` carried into the seconds.
pub fn time_text(t: Timestamp, p: Precision) -> String {
    let n = t.as_nanos();
    let sec = n.div_euclid(1_000_000_000);
    let frac = n.rem_euclid(1_000_000_000) as u32;
    // Written by hand: every record has several times, and the formatting
    // machinery (on 128-bit numbers at that) cost more than the rest.
    let mut out = String::with_capacity(24);
    // Seconds as 64 bits when they fit (always, but for a crafted time):
    // itoa's 128-bit path is the slow one.
    match i64::try_from(sec) {
        Ok(sec) => out.push_str(itoa::Buffer::new().format(sec)),
        Err(_) => out.push_str(itoa::Buffer::new().format(sec)),
    }
    out.push('.');
    let mut digits = [b'0'; 9];
    let mut rest = frac;
    for d in digits.iter_mut().rev() {
        *d = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    let shown = match p {
        Precision::Micro => &digits[..6],
        Precision::Nano => &digits[..],
    };
    // ASCII digits.
    out.extend(shown.iter().map(|&d| char::from(d)));
    out
}

/// Every transmission of the client's SYN (`synack: false`) or of the server's
/// SYN-ACK (`synack: true`): the first, then each retransmission event.
pub fn transmission_times(a: &Attempt, synack: bool) -> Vec<Timestamp> {
    let (first, again): (_, fn(&EventKind) -> bool) = if synack {
        (a.synack.map(|s| s.time), |k| {
            matches!(k, EventKind::SynAckRetransmission { .. })
        })
    } else {
        (a.syn.map(|s| s.time), |k| {
            matches!(k, EventKind::SynRetransmission { .. })
        })
    };
    first
        .into_iter()
        .chain(a.events.iter().filter(|e| again(&e.kind)).map(|e| e.time))
        .collect()
}

pub fn event_name(k: &EventKind) -> &'static str {
    match k {
        EventKind::SynRetransmission { .. } => "syn_retransmission",
        EventKind::SynAckRetransmission { .. } => "synack_retransmission",
        EventKind::SynAfterSynAck => "synack_not_received",
        EventKind::IgnoredRst { .. } => "ignored_rst",
        EventKind::ChallengeAck { .. } => "challenge_ack",
        EventKind::InvalidSynAck { .. } => "invalid_synack",
        EventKind::RecoveryRst { .. } => "recovery_rst",
        EventKind::InvalidAck { .. } => "invalid_ack",
        EventKind::PortReuse { .. } => "port_reuse",
        EventKind::SynAckIsnChanged { .. } => "synack_isn_changed",
        EventKind::BadChecksum { .. } => "bad_checksum",
        EventKind::ContentGap { .. } => "content_gap",
    }
}

fn ts(v: Option<u32>) -> String {
    v.map_or_else(|| "no timestamps".to_string(), |v| format!("TSval {v}"))
}

pub fn event_detail(e: &Event, p: Precision) -> String {
    match e.kind {
        EventKind::SynRetransmission { tsval } => {
            format!("SYN sent again, same ISN ({})", ts(tsval))
        }
        EventKind::SynAckRetransmission { tsval } => {
            format!("SYN-ACK sent again, same ISN and ack ({})", ts(tsval))
        }
        EventKind::SynAfterSynAck => "the client sent its SYN again after a SYN-ACK: it never got the SYN-ACK (lost or dropped after the capture point)".to_string(),
        EventKind::IgnoredRst { side, seq, ack, why } => {
            let acked = ack.map_or_else(|| "no ACK".to_string(), |a| format!("ack {a}"));
            let reason = match why {
                RstIgnored::NoAck => "in SYN-SENT a RST without ACK is dropped (RFC 9293 §3.10.7.3)".to_string(),
                RstIgnored::AckOutOfRange { expected } => format!(
                    "in SYN-SENT a RST counts only if it acks the SYN ({expected}); dropped (RFC 9293 §3.10.7.3)"
                ),
                RstIgnored::SeqOutOfWindow { expected } => format!(
                    "seq is not the receiver's next expected {expected}; dropped or challenged (RFC 5961 §3)"
                ),
            };
            format!("RST from the {} (seq {seq}, {acked}): {reason}", side.name())
        }
        EventKind::ChallengeAck { syn_seq, ack } => format!(
            "SYN with seq {syn_seq} inside the established connection, answered by an ACK of the current numbers (ack {ack}): RFC 5961 §4 challenge ACK, not a new connection"
        ),
        EventKind::InvalidSynAck { ack, seq } => format!(
            "SYN-ACK (seq {seq}) acks {ack}, which does not acknowledge the SYN"
        ),
        EventKind::RecoveryRst { seq } => format!(
            "the client answered the unacceptable SYN-ACK with RST seq {seq}: the RFC 9293 recovery from an old duplicate SYN"
        ),
        EventKind::InvalidAck { ack, expected } => format!(
            "client ACK acks {ack} instead of y+1 = {expected}"
        ),
        EventKind::PortReuse {
            previous_isn,
            previous_end,
        } => format!(
            "same 4-tuple as a connection with ISN {previous_isn} last seen at {}",
            super::time_text(previous_end, p)
        ),
        EventKind::SynAckIsnChanged { seq } => {
            format!("SYN-ACK with another server ISN ({seq})")
        }
        EventKind::BadChecksum { side } => format!(
            "segment from the {} with a bad TCP checksum (checksum offload on the capturing host, or damage)",
            side.name()
        ),
        EventKind::ContentGap { side, from, to } => format!(
            "the {} sent bytes {from}..{to} that the capture does not hold",
            side.name()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_have_the_capture_s_digits() {
        let reference = |t: Timestamp, p: Precision| {
            let n = t.as_nanos();
            let (sec, frac) = (n.div_euclid(1_000_000_000), n.rem_euclid(1_000_000_000));
            match p {
                Precision::Micro => format!("{sec}.{:06}", frac / 1000),
                Precision::Nano => format!("{sec}.{frac:09}"),
            }
        };
        let times = [
            (0, 0),
            (1_700_000_000, 5_553_000),
            (1_700_000_000, 999_999_999),
            (1, 1),
            (-1, 0),
            (-1, 999_999_999),
            (-5, 2_000_000_000),
            (3, -1),
            (i64::MAX, 999_999_999),
            (i64::MIN, 0),
            (i64::MIN, -1),
        ];
        for (sec, nsec) in times {
            let t = Timestamp { sec, nsec };
            for p in [Precision::Micro, Precision::Nano] {
                assert_eq!(time_text(t, p), reference(t, p), "{sec} {nsec} {p:?}");
            }
        }
    }

    proptest::proptest! {
        /// JSON Lines writes these texts as JSON numbers without parsing
        /// them again: each must be one, whole, for any time a file can hold.
        #[test]
        fn every_time_is_one_json_number(sec in proptest::prelude::any::<i64>(),
                                         nsec in proptest::prelude::any::<i64>()) {
            for p in [Precision::Micro, Precision::Nano] {
                let text = time_text(Timestamp { sec, nsec }, p);
                let read = serde_json::from_str::<&serde_json::value::RawValue>(&text);
                proptest::prop_assert!(read.is_ok_and(|v| v.get() == text), "{}", text);
                let number = serde_json::from_str::<serde_json::Value>(&text);
                proptest::prop_assert!(number.is_ok_and(|v| v.is_number()), "{}", text);
            }
        }
    }
}
