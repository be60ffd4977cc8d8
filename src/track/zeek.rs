//! Zeek's view of a connection, for comparison: `conn_state` and `history`.
//!
//! The endpoint state machine follows Zeek's `TCPSessionAdapter`
//! (`UpdateStateMachine` and its helpers) and the history letters its
//! `update_history` and `TCP_Endpoint` code: `s h f r` are recorded again when
//! the sequence number changes, `a d i q` once per direction, `c g t w` at the
//! 1st, 10th, 100th... occurrence. `conn_state` is the decision order of Zeek's
//! `Conn::conn_state` script function. The originator is the client of the
//! record; a `^` starts the history when that is not the sender of the first
//! packet (Zeek's "direction flipped").

use crate::wire::tcp;

/// A Zeek `TCP_ENDPOINT_*` state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EndpointState {
    #[default]
    Inactive,
    SynSent,
    SynAckSent,
    Partial,
    Established,
    Closed,
    Reset,
}

use EndpointState as S;

/// History letters kept; Zeek's own history is unbounded, but past this a
/// connection's letters repeat only through the logarithmic counters.
const HISTORY_MAX: usize = 40;

const HIST_ACK: u8 = 1;
const HIST_DATA: u8 = 2;
const HIST_FIN_RST: u8 = 4;
const HIST_MULTI: u8 = 8;

#[derive(Clone, Copy, Debug, Default)]
struct Endpoint {
    state: EndpointState,
    prev: EndpointState,
    once: u8,
    last_syn: Option<u32>,
    last_fin: Option<u32>,
    last_rst: Option<u32>,
    /// Next sequence number after everything this endpoint sent (SYN and FIN
    /// included), for Zeek's retransmission test.
    last_seq: Option<u32>,
    /// Counters for c, g, t, w.
    counts: [u32; 4],
}

impl Endpoint {
    fn set(&mut self, s: EndpointState) {
        if s != self.state {
            self.prev = self.state;
            self.state = s;
        }
    }
}

/// The scaled letters: checksum, gap, retransmission, zero window.
#[derive(Clone, Copy, Debug)]
pub enum Scaled {
    Checksum = 0,
    Gap = 1,
    Retransmission = 2,
    ZeroWindow = 3,
}

#[derive(Clone, Copy, Debug)]
pub struct ZeekState {
    ends: [Endpoint; 2],
    history: [u8; HISTORY_MAX],
    len: u8,
}

impl Default for ZeekState {
    fn default() -> Self {
        ZeekState {
            ends: [Endpoint::default(); 2],
            history: [0; HISTORY_MAX],
            len: 0,
        }
    }
}

/// One segment as Zeek's analyzer sees it.
#[derive(Clone, Copy, Debug)]
pub struct ZeekSegment {
    pub from_orig: bool,
    pub flags: u8,
    pub seq: u32,
    pub payload_len: u32,
    pub window: u16,
}

impl ZeekState {
    pub fn history(&self) -> &str {
        std::str::from_utf8(&self.history[..self.len as usize]).unwrap_or("")
    }

    /// Zeek's `^`: the originator is not the sender of the first packet.
    pub fn mark_flipped(&mut self) {
        self.add(b'^');
    }

    fn add(&mut self, c: u8) {
        if (self.len as usize) < HISTORY_MAX {
            self.history[self.len as usize] = c;
            self.len += 1;
        }
    }

    fn letter(from_orig: bool, upper: u8) -> u8 {
        if from_orig {
            upper
        } else {
            upper.to_ascii_lowercase()
        }
    }

    fn once(&mut self, from_orig: bool, bit: u8, upper: u8) {
        let e = &mut self.ends[usize::from(!from_orig)];
        if e.once & bit == 0 {
            e.once |= bit;
            self.add(Self::letter(from_orig, upper));
        }
    }

    /// Count a scaled event; the letter is recorded at 1, 10, 100, ...
    pub fn scaled(&mut self, from_orig: bool, what: Scaled) {
        let upper = [b'C', b'G', b'T', b'W'][what as usize];
        let e = &mut self.ends[usize::from(!from_orig)];
        let i = what as usize;
        e.counts[i] = e.counts[i].saturating_add(1);
        let mut n = e.counts[i];
        while n % 10 == 0 {
            n /= 10;
        }
        if n == 1 {
            self.add(Self::letter(from_orig, upper));
        }
    }

    /// A segment with a bad checksum: Zeek records it and ignores the segment.
    pub fn bad_checksum(&mut self, from_orig: bool) {
        self.scaled(from_orig, Scaled::Checksum);
    }

    /// Account one (checksum-valid) segment.
    pub fn update(&mut self, s: ZeekSegment) {
        let syn = s.flags & tcp::SYN != 0;
        let fin = s.flags & tcp::FIN != 0;
        let rst = s.flags & tcp::RST != 0;
        let ack = s.flags & tcp::ACK != 0;
        let (me, peer) = if s.from_orig { (0, 1) } else { (1, 0) };

        // History (update_history).
        let bits = u8::from(syn) + u8::from(fin) + u8::from(rst);
        if bits > 1 {
            if fin && rst {
                self.once(s.from_orig, HIST_FIN_RST, b'I');
            } else {
                self.once(s.from_orig, HIST_MULTI, b'Q');
            }
        } else if bits == 1 {
            let e = self.ends[me];
            if syn {
                if e.last_syn != Some(s.seq) {
                    self.add(Self::letter(s.from_orig, if ack { b'H' } else { b'S' }));
                }
                self.ends[me].last_syn = Some(s.seq);
            }
            if fin {
                let end = s.seq.wrapping_add(s.payload_len);
                if e.last_fin != Some(end) {
                    self.add(Self::letter(s.from_orig, b'F'));
                }
                self.ends[me].last_fin = Some(end);
            }
            if rst {
                if e.last_rst != Some(s.seq) {
                    self.add(Self::letter(s.from_orig, b'R'));
                }
                self.ends[me].last_rst = Some(s.seq);
            }
        } else if s.payload_len > 0 {
            self.once(s.from_orig, HIST_DATA, b'D');
        } else if ack {
            self.once(s.from_orig, HIST_ACK, b'A');
        }

        // Zero window (update_window).
        if s.window == 0
            && !rst
            && self.ends[peer].state != S::Closed
            && self.ends[me].state != S::Reset
        {
            self.scaled(s.from_orig, Scaled::ZeroWindow);
        }

        // Retransmitted payload (update_last_seq): the segment ends at or
        // before what this endpoint already sent.
        let seg_len = if rst {
            0
        } else {
            s.payload_len + u32::from(syn) + u32::from(fin)
        };
        let end = s.seq.wrapping_add(seg_len);
        match self.ends[me].last_seq {
            None => self.ends[me].last_seq = Some(end),
            Some(last) => {
                let delta = end.wrapping_sub(last) as i32;
                if self.ends[me].state == S::Reset || (syn || rst) && delta.unsigned_abs() > 1 << 20
                {
                } else if delta > 0 {
                    self.ends[me].last_seq = Some(end);
                } else if s.payload_len > 0 && !rst {
                    self.scaled(s.from_orig, Scaled::Retransmission);
                }
            }
        }

        self.step(s.from_orig, syn, fin, rst, ack, s.payload_len);
    }

    /// Zeek's UpdateStateMachine.
    fn step(&mut self, from_orig: bool, syn: bool, fin: bool, rst: bool, ack: bool, len: u32) {
        let (me, peer) = if from_orig { (0, 1) } else { (1, 0) };
        match self.ends[me].state {
            S::Inactive => {
                if syn {
                    if from_orig {
                        self.ends[me].set(if ack { S::SynAckSent } else { S::SynSent });
                    } else {
                        if self.ends[peer].state == S::SynSent {
                            self.ends[peer].set(S::Established);
                        }
                        self.ends[me].set(S::Established);
                    }
                }
                if fin {
                    self.ends[me].set(S::Closed);
                }
                if rst {
                    self.ends[me].set(S::Reset);
                }
                if self.ends[me].state == S::Inactive {
                    if !from_orig && len == 0 && self.ends[0].state == S::SynSent {
                        // An ACK of the SYN before the SYN-ACK: not partial.
                    } else if ack && self.ends[peer].state == S::Established {
                        self.ends[me].set(S::Established);
                    } else {
                        self.ends[me].set(S::Partial);
                    }
                }
            }
            S::SynSent | S::SynAckSent => {
                if fin {
                    self.ends[me].set(S::Closed);
                }
                if rst {
                    self.ends[me].set(S::Reset);
                }
            }
            S::Established | S::Partial => {
                if syn
                    && self.ends[me].state == S::Partial
                    && self.ends[peer].state == S::Inactive
                    && !ack
                {
                    self.ends[me].set(S::SynSent);
                }
                if fin && !rst {
                    self.ends[me].set(S::Closed);
                    if self.ends[peer].state == S::Reset && self.ends[peer].prev == S::Closed {
                        self.ends[peer].set(S::Closed);
                    }
                }
                if rst {
                    self.ends[me].set(S::Reset);
                }
            }
            S::Closed => {
                if rst && self.ends[peer].state != S::Closed {
                    self.ends[me].set(S::Reset);
                }
            }
            S::Reset => {}
        }
    }

    /// Zeek's `conn_state`, given whether each side sent any payload (the
    /// `size == 0` test of its REJ rule).
    pub fn conn_state(&self, orig_bytes: u64, resp_bytes: u64) -> &'static str {
        let os = self.ends[0].state;
        let rs = self.ends[1].state;
        let o_inactive = matches!(os, S::Inactive | S::Partial);
        let r_inactive = matches!(rs, S::Inactive | S::Partial);
        if rs == S::Reset {
            if matches!(os, S::SynSent | S::SynAckSent)
                || (os == S::Reset && orig_bytes == 0 && resp_bytes == 0)
            {
                "REJ"
            } else if o_inactive {
                "RSTRH"
            } else {
                "RSTR"
            }
        } else if os == S::Reset {
            if r_inactive {
                if self.rstos0_history() {
                    "RSTOS0"
                } else {
                    "OTH"
                }
            } else {
                "RSTO"
            }
        } else if rs == S::Closed && os == S::Closed {
            "SF"
        } else if os == S::Closed {
            if r_inactive {
                "SH"
            } else {
                "S2"
            }
        } else if rs == S::Closed {
            if o_inactive {
                "SHR"
            } else {
                "S3"
            }
        } else if os == S::SynSent && rs == S::Inactive {
            "S0"
        } else if os == S::Established && rs == S::Established {
            "S1"
        } else {
            "OTH"
        }
    }

    /// Zeek's `/\^?S[^HAFGIQ]*R.*/` on the history.
    fn rstos0_history(&self) -> bool {
        let h = self.history().as_bytes();
        let h = h.strip_prefix(b"^").unwrap_or(h);
        if h.first() != Some(&b'S') {
            return false;
        }
        for &c in &h[1..] {
            if c == b'R' {
                return true;
            }
            if b"HAFGIQ".contains(&c) {
                return false;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(from_orig: bool, flags: u8, seq: u32, len: u32) -> ZeekSegment {
        ZeekSegment {
            from_orig,
            flags,
            seq,
            payload_len: len,
            window: 1000,
        }
    }

    #[test]
    fn normal_connection_is_sf() {
        let mut z = ZeekState::default();
        z.update(seg(true, tcp::SYN, 100, 0));
        z.update(seg(false, tcp::SYN | tcp::ACK, 500, 0));
        z.update(seg(true, tcp::ACK, 101, 0));
        z.update(seg(true, tcp::ACK | tcp::PSH, 101, 5));
        z.update(seg(false, tcp::ACK, 501, 0));
        z.update(seg(true, tcp::ACK | tcp::FIN, 106, 0));
        z.update(seg(false, tcp::ACK | tcp::FIN, 501, 0));
        z.update(seg(true, tcp::ACK, 107, 0));
        assert_eq!(z.history(), "ShADaFf");
        assert_eq!(z.conn_state(5, 0), "SF");
    }

    #[test]
    fn refused_is_rej_and_unanswered_is_s0() {
        let mut z = ZeekState::default();
        z.update(seg(true, tcp::SYN, 100, 0));
        assert_eq!(z.conn_state(0, 0), "S0");
        z.update(seg(false, tcp::RST | tcp::ACK, 0, 0));
        assert_eq!(z.history(), "Sr");
        assert_eq!(z.conn_state(0, 0), "REJ");
    }

    #[test]
    fn syn_then_own_rst_is_rstos0() {
        let mut z = ZeekState::default();
        z.update(seg(true, tcp::SYN, 100, 0));
        z.update(seg(true, tcp::RST, 101, 0));
        assert_eq!(z.conn_state(0, 0), "RSTOS0");
    }

    #[test]
    fn retransmitted_syn_adds_no_letter_and_scaled_letters_repeat_at_ten() {
        let mut z = ZeekState::default();
        z.update(seg(true, tcp::SYN, 100, 0));
        z.update(seg(true, tcp::SYN, 100, 0));
        assert_eq!(z.history(), "S");
        for _ in 0..10 {
            z.bad_checksum(false);
        }
        assert_eq!(z.history(), "Scc");
    }
}
