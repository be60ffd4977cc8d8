//! Wireshark's view of a conversation, for comparison: `tcp.completeness` and
//! `tcp.analysis.initial_rtt`, as Wireshark 4.0's `dissect_tcp` computes them.
//!
//! * Completeness is a bitmask that accumulates over the whole conversation:
//!   SYN 1 (only from the pure SYN that opens a new conversation, plus DATA 8
//!   when that SYN carries data), SYN-ACK 2, ACK 4 (ACK set, SYN clear, no
//!   payload: RST+ACK and FIN+ACK included), DATA 8 (ACK set, SYN clear, with
//!   payload), FIN 16 (FIN with ACK), RST 32. The first packet of a
//!   conversation counts only if it is a pure SYN.
//! * The initial RTT is taken at the first segment with ACK set and SYN clear
//!   (either direction, ack not checked) from the most recent pure SYN. A zero
//!   difference leaves it unset, so the next such segment tries again.

use crate::source::Timestamp;

pub const SYN: u8 = 1;
pub const SYNACK: u8 = 2;
pub const ACK: u8 = 4;
pub const DATA: u8 = 8;
pub const FIN: u8 = 16;
pub const RST: u8 = 32;

use crate::wire::tcp;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WiresharkState {
    pub completeness: u8,
    /// Time of the most recent pure SYN.
    pub last_syn: Option<Timestamp>,
    /// `tcp.analysis.initial_rtt` in nanoseconds.
    pub initial_rtt_ns: Option<i64>,
    started: bool,
}

impl WiresharkState {
    /// Account one segment. `opens_conversation` is true for the first packet
    /// of a conversation Wireshark creates afresh (not one it splits off an
    /// earlier conversation on the same ports, which starts at SYN only).
    pub fn update(&mut self, time: Timestamp, flags: u8, payload_len: u32, split_off: bool) {
        let syn = flags & tcp::SYN != 0;
        let ack = flags & tcp::ACK != 0;
        if !self.started {
            self.started = true;
            if syn && !ack {
                self.completeness |= SYN;
                if payload_len > 0 && !split_off {
                    self.completeness |= DATA;
                }
            }
        } else {
            if syn && ack {
                self.completeness |= SYNACK;
            }
            if ack && !syn {
                self.completeness |= if payload_len > 0 { DATA } else { ACK };
            }
            if flags & (tcp::FIN | tcp::ACK) == tcp::FIN | tcp::ACK {
                self.completeness |= FIN;
            }
            if flags & tcp::RST != 0 {
                self.completeness |= RST;
            }
        }
        if syn && !ack {
            // nstime_is_zero: a SYN stamped exactly at the epoch counts as none.
            self.last_syn = (time != Timestamp::default()).then_some(time);
        } else if ack && !syn && self.initial_rtt_ns.is_none() {
            if let Some(s) = self.last_syn {
                let d = time.as_nanos() - s.as_nanos();
                if d != 0 {
                    self.initial_rtt_ns = Some(d.clamp(i64::MIN.into(), i64::MAX.into()) as i64);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(us: i64) -> Timestamp {
        Timestamp::new(1_000_000 + us / 1_000_000, (us % 1_000_000) * 1000)
    }

    #[test]
    fn refused_attempt_is_syn_ack_rst_with_an_rtt() {
        let mut w = WiresharkState::default();
        w.update(t(0), tcp::SYN, 0, false);
        w.update(t(63), tcp::RST | tcp::ACK, 0, false);
        assert_eq!(w.completeness, SYN | ACK | RST);
        assert_eq!(w.initial_rtt_ns, Some(63_000));
    }

    #[test]
    fn midstream_first_packet_does_not_count() {
        let mut w = WiresharkState::default();
        w.update(t(0), tcp::ACK, 0, false);
        w.update(t(5), tcp::ACK | tcp::PSH, 10, false);
        assert_eq!(w.completeness, DATA);
        assert_eq!(w.initial_rtt_ns, None);
    }

    #[test]
    fn zero_rtt_waits_for_the_next_ack() {
        let mut w = WiresharkState::default();
        w.update(t(0), tcp::SYN, 0, false);
        w.update(t(0), tcp::ACK, 0, false);
        assert_eq!(w.initial_rtt_ns, None);
        w.update(t(7), tcp::ACK, 0, false);
        assert_eq!(w.initial_rtt_ns, Some(7_000));
    }

    #[test]
    fn syn_data_counts_unless_split_off() {
        let mut w = WiresharkState::default();
        w.update(t(0), tcp::SYN, 4, false);
        assert_eq!(w.completeness, SYN | DATA);
        let mut w = WiresharkState::default();
        w.update(t(0), tcp::SYN, 4, true);
        assert_eq!(w.completeness, SYN);
    }
}
