//! The observer's state machine (handshakes.md §1–§3): what one segment adds to
//! an attempt's record. It records facts only; judging them is for
//! [`super::analysis`].

use super::attempt::{
    AckFacts, Attempt, BadSynAck, EventKind, OptionFacts, Origin, RstFacts, RstIgnored,
    SegmentFacts,
};
use super::key::Side;
use super::seq;
use super::zeek::{Scaled, ZeekSegment};
use crate::source::Timestamp;
use crate::wire::tcp::{self, OptionSummary};

/// One decoded segment, from the point of view of an attempt.
#[derive(Clone, Copy)]
pub struct Seg<'a> {
    pub frame: u64,
    pub time: Timestamp,
    pub side: Side,
    pub flags: u8,
    pub ae: bool,
    pub seq: u32,
    pub ack: u32,
    pub window: u16,
    pub payload_len: u32,
    /// First fragment of a fragmented datagram.
    pub fragmented: bool,
    pub ttl: u8,
    pub dont_fragment: bool,
    pub ip_ecn: u8,
    pub options: &'a [u8],
    pub checksum_ok: Option<bool>,
    /// The IP datagram's claimed length.
    pub ip_len: u32,
    /// Keep Zeek's and Wireshark's views ([`super::TrackerConfig::views`]).
    pub views: bool,
}

impl<'a> Seg<'a> {
    pub fn with_side(&self, side: Side) -> Seg<'a> {
        Seg { side, ..*self }
    }
    pub fn has(&self, f: u8) -> bool {
        self.flags & f != 0
    }
    /// SYN without ACK.
    pub fn is_pure_syn(&self) -> bool {
        self.flags & (tcp::SYN | tcp::ACK) == tcp::SYN
    }
    fn facts(&self) -> SegmentFacts {
        SegmentFacts {
            time: self.time,
            frame: self.frame,
            seq: self.seq,
            ack: self.ack,
            flags: self.flags,
            ae: self.ae,
            window: self.window,
            ttl: self.ttl,
            dont_fragment: self.dont_fragment,
            ip_ecn: self.ip_ecn,
            payload_len: self.payload_len,
            options: OptionFacts::from_summary(&OptionSummary::parse(self.options)),
        }
    }
    fn ack_facts(&self) -> AckFacts {
        let o = OptionSummary::parse(self.options);
        AckFacts {
            time: self.time,
            frame: self.frame,
            seq: self.seq,
            ack: self.ack,
            flags: self.flags,
            payload_len: self.payload_len,
            tsecr: o.timestamps.map(|t| t.1),
            mptcp: o.mptcp_subtype,
        }
    }
    fn tsval(&self) -> Option<u32> {
        OptionSummary::parse(self.options).timestamps.map(|t| t.0)
    }
}

/// Sequence-space jumps larger than this are not counted as bytes (a broken or
/// crafted segment, not a transfer).
const MAX_ADVANCE: u32 = 1 << 30;

impl Attempt {
    /// Whether observing `s` can change what [`super::timeouts::lane`] reads:
    /// only a FIN (the first each way) or an accepted RST closes an attempt,
    /// and only an ACK before the handshake completed can complete it.
    #[inline]
    pub(super) fn may_change_lane(&self, s: &Seg<'_>) -> bool {
        s.has(tcp::FIN | tcp::RST) || self.completing.is_none()
    }

    /// Account one segment of this attempt. `split_off` is true for the first
    /// segment of an attempt that reuses the ports of an earlier one.
    pub fn observe(&mut self, s: &Seg<'_>, split_off: bool) {
        self.packets += 1;
        self.side_packets[s.side.idx()] += 1;
        self.ip_bytes[s.side.idx()] += u64::from(s.ip_len);
        if s.time > self.last_time {
            self.last_time = s.time;
        }
        self.views(s, split_off);

        let syn = s.has(tcp::SYN);
        match (s.side, syn, s.has(tcp::ACK)) {
            (Side::Client, true, false) => self.client_syn(s),
            (Side::Server, true, false) => self.server_syn(s),
            (Side::Server, true, true) => self.server_synack(s),
            (Side::Client, true, true) => self.client_synack(s),
            _ => {}
        }
        if s.has(tcp::RST) {
            self.rst_segment(s);
        } else if !syn && s.has(tcp::ACK) {
            self.ack_segment(s);
        }
        self.track_stream(s);
    }

    /// The segment's checksum, and Wireshark's and Zeek's views of it when
    /// they are kept.
    fn views(&mut self, s: &Seg<'_>, split_off: bool) {
        let from_orig = s.side == self.zeek_orig;
        if s.checksum_ok == Some(false) {
            let i = s.side.idx();
            if self.bad_checksums[i] == 0 {
                self.push_event(s.time, s.frame, EventKind::BadChecksum { side: s.side });
            }
            self.bad_checksums[i] += 1;
            if s.views {
                self.zeek.bad_checksum(from_orig);
            }
        } else if s.views {
            self.zeek.update(ZeekSegment {
                from_orig,
                flags: s.flags,
                seq: s.seq,
                payload_len: s.payload_len,
                window: s.window,
            });
        }
        if s.views {
            // Wireshark does not size the segments of a fragmented datagram.
            let ws_len = if s.fragmented { 0 } else { s.payload_len };
            self.wireshark.update(s.time, s.flags, ws_len, split_off);
        }
    }

    fn client_syn(&mut self, s: &Seg<'_>) {
        if self.syn.is_none() {
            self.syn = Some(s.facts());
            self.client_isn = Some(s.seq);
            self.syn_count = 1;
        } else {
            self.syn_count += 1;
            self.push_event(
                s.time,
                s.frame,
                EventKind::SynRetransmission { tsval: s.tsval() },
            );
            if self.synack.is_some()
                && !self.handshake_complete()
                && !self.has_event(|k| *k == EventKind::SynAfterSynAck)
            {
                self.push_event(s.time, s.frame, EventKind::SynAfterSynAck);
            }
        }
        self.syn_data_max = self.syn_data_max.max(s.payload_len);
        self.last_syn_time = Some(s.time);
    }

    /// The server's own SYN: simultaneous open, or a split handshake.
    fn server_syn(&mut self, s: &Seg<'_>) {
        let facts = s.facts();
        let sim = self.simultaneous.get_or_insert_with(Default::default);
        if sim.server_syn.is_none() {
            sim.server_syn = Some(facts);
            sim.server_syn_count = 1;
            self.server_isn.get_or_insert(s.seq);
        } else {
            sim.server_syn_count += 1;
        }
    }

    fn server_synack(&mut self, s: &Seg<'_>) {
        if self.syn.is_none() {
            // Midstream: the SYN was not captured.
            if self.synack.is_none() {
                self.synack = Some(s.facts());
                self.server_isn.get_or_insert(s.seq);
            }
            self.synack_count += 1;
            return;
        }
        let x = self.client_isn.unwrap_or(s.ack.wrapping_sub(1));
        let hi = x.wrapping_add(1).wrapping_add(self.syn_data_max);
        if !seq::in_half_open(s.ack, x, hi) {
            if self.bad_synack.is_none() {
                self.bad_synack = Some(Box::new(BadSynAck {
                    time: s.time,
                    frame: s.frame,
                    seq: s.seq,
                    ack: s.ack,
                    answered_by_rst: None,
                }));
            }
            self.push_event(
                s.time,
                s.frame,
                EventKind::InvalidSynAck {
                    ack: s.ack,
                    seq: s.seq,
                },
            );
            return;
        }
        match self.server_isn {
            None => self.server_isn = Some(s.seq),
            Some(y) if y != s.seq && self.synack.is_some() => {
                self.push_event(s.time, s.frame, EventKind::SynAckIsnChanged { seq: s.seq })
            }
            _ => {}
        }
        if self.synack.is_none() {
            self.synack = Some(s.facts());
            self.synack_count = 1;
        } else {
            self.synack_count += 1;
            self.push_event(
                s.time,
                s.frame,
                EventKind::SynAckRetransmission { tsval: s.tsval() },
            );
        }
        if let Some(sim) = self.simultaneous.as_mut() {
            sim.server_acked_client.get_or_insert(s.time);
        }
    }

    /// The client's SYN-ACK of a simultaneous open.
    fn client_synack(&mut self, s: &Seg<'_>) {
        let y = self.server_isn;
        let facts = s.facts();
        let sim = self.simultaneous.get_or_insert_with(Default::default);
        if sim.client_synack.is_none() {
            sim.client_synack = Some(facts);
            sim.client_synack_count = 1;
        } else {
            sim.client_synack_count += 1;
        }
        if y.is_some_and(|y| s.ack == y.wrapping_add(1)) {
            sim.client_acked_server.get_or_insert(s.time);
        }
    }

    /// A segment with ACK and without SYN or RST (pure ACK, data, FIN).
    fn ack_segment(&mut self, s: &Seg<'_>) {
        match s.side {
            Side::Client => {
                let y = self.server_isn;
                if let (Some(sim), Some(y)) = (self.simultaneous.as_mut(), y) {
                    if sim.server_syn.is_some() && s.ack == y.wrapping_add(1) {
                        sim.client_acked_server.get_or_insert(s.time);
                    }
                }
                if self.completing.is_none() && self.synack.is_some() && self.syn.is_some() {
                    let expected = self.server_isn.unwrap_or(0).wrapping_add(1);
                    if s.ack == expected {
                        self.completing = Some(s.ack_facts());
                    } else if self.bad_ack.is_none() && !self.handshake_complete() {
                        self.bad_ack = Some(Box::new(s.ack_facts()));
                        self.push_event(
                            s.time,
                            s.frame,
                            EventKind::InvalidAck {
                                ack: s.ack,
                                expected,
                            },
                        );
                    }
                }
            }
            Side::Server => {
                if self.synack.is_some() && self.server_next_tsval.is_none() {
                    if let Some(v) = s.tsval() {
                        self.server_next_tsval = Some((s.time, v));
                    }
                }
                let x = self.client_isn;
                if let (Some(sim), Some(x)) = (self.simultaneous.as_mut(), x) {
                    if sim.server_syn.is_some() && s.ack == x.wrapping_add(1) {
                        sim.server_acked_client.get_or_insert(s.time);
                    }
                }
            }
        }
    }

    fn ignore_rst(&mut self, s: &Seg<'_>, why: RstIgnored) {
        self.ignored_rsts += 1;
        self.push_event(
            s.time,
            s.frame,
            EventKind::IgnoredRst {
                side: s.side,
                seq: s.seq,
                ack: s.has(tcp::ACK).then_some(s.ack),
                why,
            },
        );
    }

    fn accept_rst(&mut self, s: &Seg<'_>) {
        self.rst = Some(RstFacts {
            side: s.side,
            time: s.time,
            frame: s.frame,
            seq: s.seq,
            ack: s.has(tcp::ACK).then_some(s.ack),
        });
    }

    /// Would the receiver accept this RST? RFC 9293 §3.10.7 with RFC 5961 §3.
    fn rst_segment(&mut self, s: &Seg<'_>) {
        if self.rst.is_some() || self.origin == Origin::Midstream && self.syn.is_none() {
            if self.rst.is_none() {
                self.accept_rst(s);
            }
            return;
        }
        let x = self.client_isn.unwrap_or(0);
        if !self.handshake_complete() {
            match s.side {
                Side::Server if self.synack.is_none() => {
                    // The client is in SYN-SENT.
                    let hi = x.wrapping_add(1).wrapping_add(self.syn_data_max);
                    if !s.has(tcp::ACK) {
                        self.ignore_rst(s, RstIgnored::NoAck);
                    } else if seq::in_half_open(s.ack, x, hi) {
                        self.accept_rst(s);
                    } else {
                        self.ignore_rst(
                            s,
                            RstIgnored::AckOutOfRange {
                                expected: x.wrapping_add(1),
                            },
                        );
                    }
                }
                Side::Server => {
                    // The server gives up its SYN-RECEIVED connection.
                    let expected = self.server_isn.unwrap_or(0).wrapping_add(1);
                    if s.seq == expected {
                        self.accept_rst(s);
                    } else {
                        self.ignore_rst(s, RstIgnored::SeqOutOfWindow { expected });
                    }
                }
                Side::Client => {
                    if let Some(bad) = self.bad_synack.as_mut() {
                        if s.seq == bad.ack && bad.answered_by_rst.is_none() {
                            bad.answered_by_rst = Some(s.time);
                            self.push_event(s.time, s.frame, EventKind::RecoveryRst { seq: s.seq });
                            return;
                        }
                    }
                    // The server (in SYN-RECEIVED) takes only an exact RCV.NXT.
                    let expected = match self.synack {
                        Some(sa) => sa.ack,
                        None => x.wrapping_add(1),
                    };
                    if s.seq == expected {
                        self.accept_rst(s);
                    } else {
                        self.ignore_rst(s, RstIgnored::SeqOutOfWindow { expected });
                    }
                }
            }
            return;
        }
        // Synchronized states: RFC 5961 §3 asks for RCV.NXT exactly; an
        // observer that may have missed segments accepts anything inside the
        // receiver's last advertised window.
        let i = s.side.idx();
        let expected = match self.data_end[i] {
            Some(e) => e.wrapping_add(u32::from(self.fin[i].is_some())),
            None => s.seq,
        };
        // The largest window the receiver could mean: its field at the
        // largest shift (the observer does not re-derive the negotiated one).
        let window = u32::from(self.advertised_window[s.side.other().idx()]).max(1) << 14;
        let off = seq::diff(s.seq, expected);
        if off == 0 || off.unsigned_abs() < window {
            self.accept_rst(s);
        } else {
            self.ignore_rst(s, RstIgnored::SeqOutOfWindow { expected });
        }
    }

    /// Payload bytes, FINs, acknowledgments, windows and content gaps.
    fn track_stream(&mut self, s: &Seg<'_>) {
        let i = s.side.idx();
        let o = s.side.other().idx();
        if !s.has(tcp::RST) {
            let syn = s.has(tcp::SYN);
            let start = if syn { s.seq.wrapping_add(1) } else { s.seq };
            let end = start.wrapping_add(s.payload_len);
            match self.data_end[i] {
                None => {
                    self.data_end[i] = Some(end);
                    self.bytes[i] += u64::from(s.payload_len);
                }
                Some(prev) => {
                    let adv = end.wrapping_sub(prev);
                    // Only payload moves the end: a pure ACK after a FIN has
                    // seq one past the FIN.
                    if s.payload_len > 0 && seq::gt(end, prev) && adv < MAX_ADVANCE {
                        self.data_end[i] = Some(end);
                        self.bytes[i] += u64::from(adv);
                    }
                }
            }
            if s.has(tcp::FIN) && self.fin[i].is_none() {
                self.fin[i] = Some(s.time);
            }
            self.advertised_window[i] = s.window;
        }
        if s.has(tcp::ACK) {
            match self.highest_ack[i] {
                Some(h) if !seq::gt(s.ack, h) => {}
                _ => self.highest_ack[i] = Some(s.ack),
            }
            // An acknowledgment of bytes the capture never saw (Zeek's content
            // gap; not counted on FIN or RST segments, as Zeek does).
            if !s.has(tcp::FIN | tcp::RST | tcp::SYN) {
                if let Some(de) = self.data_end[o] {
                    let acked_end = de.wrapping_add(u32::from(self.fin[o].is_some()));
                    let gap = s.ack.wrapping_sub(acked_end);
                    if seq::gt(s.ack, acked_end) && gap < MAX_ADVANCE {
                        let other = s.side.other();
                        if !self.has_event(|k| matches!(k, EventKind::ContentGap { .. })) {
                            self.push_event(
                                s.time,
                                s.frame,
                                EventKind::ContentGap {
                                    side: other,
                                    from: acked_end,
                                    to: s.ack,
                                },
                            );
                        }
                        self.bytes[o] += u64::from(gap);
                        self.gap_bytes += u64::from(gap);
                        self.data_end[o] = Some(de.wrapping_add(gap));
                        let other_orig = other == self.zeek_orig;
                        self.zeek.scaled(other_orig, Scaled::Gap);
                    }
                }
            }
        }
    }
}
