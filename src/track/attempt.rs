//! The attempt record: what was seen of one connection attempt, as plain data.
//!
//! Nothing here decides anything. The verdict, the checks, the RTT legs, the
//! negotiated options, the heuristics and the Zeek and Wireshark views are pure
//! functions of this record (see [`super::analysis`]); the per-packet code in
//! [`super::machine`] only records facts.

use super::key::{Endpoint, Side};
use super::wireshark::WiresharkState;
use super::zeek::ZeekState;
use crate::source::Timestamp;
use crate::wire::tcp::OptionSummary;

/// The handshake-relevant options of one segment, owned.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OptionFacts {
    pub mss: Option<u16>,
    pub wscale: Option<u8>,
    pub sack_ok: bool,
    /// (TSval, TSecr)
    pub timestamps: Option<(u32, u32)>,
    pub tfo: Option<TfoCookie>,
    /// MPTCP subtype (0 MP_CAPABLE, 1 MP_JOIN, ...).
    pub mptcp: Option<u8>,
    pub md5: bool,
    pub tcp_ao: bool,
    pub malformed: bool,
}

/// A TCP Fast Open option: empty for a cookie request, else the cookie (RFC 7413
/// allows 4 to 16 bytes; longer ones are kept cut to 16).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TfoCookie {
    pub len: u8,
    pub bytes: [u8; 16],
}

impl TfoCookie {
    pub fn is_request(&self) -> bool {
        self.len == 0
    }
    pub fn cookie(&self) -> &[u8] {
        &self.bytes[..(self.len as usize).min(16)]
    }
}

impl OptionFacts {
    pub fn from_summary(s: &OptionSummary<'_>) -> OptionFacts {
        OptionFacts {
            mss: s.mss,
            wscale: s.wscale,
            sack_ok: s.sack_ok,
            timestamps: s.timestamps,
            tfo: s.fast_open.map(|f| {
                let mut c = TfoCookie {
                    len: f.cookie.len().min(255) as u8,
                    bytes: [0; 16],
                };
                let n = f.cookie.len().min(16);
                c.bytes[..n].copy_from_slice(&f.cookie[..n]);
                c
            }),
            mptcp: s.mptcp_subtype,
            md5: s.md5,
            tcp_ao: s.tcp_ao,
            malformed: s.malformed,
        }
    }

    pub fn tsval(&self) -> Option<u32> {
        self.timestamps.map(|t| t.0)
    }
    pub fn tsecr(&self) -> Option<u32> {
        self.timestamps.map(|t| t.1)
    }
}

/// What is kept of a SYN or a SYN-ACK.
#[derive(Clone, Copy, Debug)]
pub struct SegmentFacts {
    pub time: Timestamp,
    pub frame: u64,
    pub seq: u32,
    /// The acknowledgment field, whether or not the ACK flag is set (a non-zero
    /// field in a SYN is a scanner's tell).
    pub ack: u32,
    /// The eight classic flag bits.
    pub flags: u8,
    /// The AE bit (AccECN; formerly NS).
    pub ae: bool,
    pub window: u16,
    pub ttl: u8,
    pub dont_fragment: bool,
    /// The two ECN bits of the IP header.
    pub ip_ecn: u8,
    pub payload_len: u32,
    pub options: OptionFacts,
}

/// What is kept of the client segment that completed (or tried to complete)
/// the handshake.
#[derive(Clone, Copy, Debug)]
pub struct AckFacts {
    pub time: Timestamp,
    pub frame: u64,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub payload_len: u32,
    pub tsecr: Option<u32>,
    pub mptcp: Option<u8>,
}

/// A SYN-ACK whose acknowledgment number the client could not accept.
#[derive(Clone, Copy, Debug)]
pub struct BadSynAck {
    pub time: Timestamp,
    pub frame: u64,
    pub seq: u32,
    pub ack: u32,
    /// When the client answered it with `RST, seq = that ack`: the RFC 9293
    /// recovery from an old duplicate SYN.
    pub answered_by_rst: Option<Timestamp>,
}

/// The accepted RST that ended the handshake or the connection.
#[derive(Clone, Copy, Debug)]
pub struct RstFacts {
    pub side: Side,
    pub time: Timestamp,
    pub frame: u64,
    pub seq: u32,
    pub ack: Option<u32>,
}

/// The second half of a simultaneous open (RFC 9293 §3.5, figure 7): the
/// server's own SYN and the client's SYN-ACK.
#[derive(Clone, Copy, Debug, Default)]
pub struct SimultaneousOpen {
    pub server_syn: Option<SegmentFacts>,
    pub server_syn_count: u32,
    pub client_synack: Option<SegmentFacts>,
    pub client_synack_count: u32,
    /// The server acknowledged the client's SYN (by SYN-ACK or ACK).
    pub server_acked_client: Option<Timestamp>,
    /// The client acknowledged the server's SYN.
    pub client_acked_server: Option<Timestamp>,
}

/// How the record began.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// With the client's SYN.
    Syn,
    /// After the SYN: the capture started late (or missed it).
    Midstream,
}

/// Why a record left the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndReason {
    /// Closed (FIN both ways or RST), then the linger delay passed.
    Closed,
    /// No packet within the timeout for its state.
    Timeout,
    /// The table was full: the longest-idle attempt made room.
    Evicted,
    /// Records waiting to be written in order grew too many: the attempt
    /// holding them back was written as it stood.
    Flushed,
    /// A new attempt on the same 4-tuple replaced it.
    Replaced,
    /// End of input.
    EndOfInput,
}

/// Something that happened during an attempt, kept as numbers; the reports
/// turn it into words.
#[derive(Clone, Copy, Debug)]
pub struct Event {
    pub time: Timestamp,
    pub frame: u64,
    pub kind: EventKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// The client sent its SYN again (same ISN).
    SynRetransmission { tsval: Option<u32> },
    /// The server sent its SYN-ACK again (same ISN and ack).
    SynAckRetransmission { tsval: Option<u32> },
    /// A SYN came after a SYN-ACK: the client never received it (it was lost
    /// or dropped after the capture point).
    SynAfterSynAck,
    /// A RST that a real endpoint would drop.
    IgnoredRst {
        side: Side,
        seq: u32,
        ack: Option<u32>,
        why: RstIgnored,
    },
    /// A SYN with another ISN inside an established connection, answered by
    /// an ACK carrying the current numbers (RFC 5961 §4).
    ChallengeAck { syn_seq: u32, ack: u32 },
    /// A SYN-ACK whose ack is outside `(x, x+1+len(SYN data)]`.
    InvalidSynAck { ack: u32, seq: u32 },
    /// The client's `RST, seq = ack` answer to an unacceptable SYN-ACK.
    RecoveryRst { seq: u32 },
    /// A client ACK during the handshake that did not acknowledge y+1.
    InvalidAck { ack: u32, expected: u32 },
    /// This attempt reuses the 4-tuple of an earlier one.
    PortReuse {
        previous_isn: u32,
        previous_end: Timestamp,
    },
    /// A SYN-ACK with another server ISN than the first one.
    SynAckIsnChanged { seq: u32 },
    /// Segments with a bad TCP checksum from this side (counted once here;
    /// the record counts them all).
    BadChecksum { side: Side },
    /// Data the capture never saw was acknowledged.
    ContentGap { side: Side, from: u32, to: u32 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RstIgnored {
    /// In SYN-SENT a RST counts only with an ACK of the SYN (RFC 9293 §3.10.7.3).
    NoAck,
    /// In SYN-SENT the RST's ack must be in `(x, x+1+len]`.
    AckOutOfRange { expected: u32 },
    /// In other states the RST's seq must be in the receive window (RFC 5961 §3).
    SeqOutOfWindow { expected: u32 },
}

/// Facts from the per-window detectors (see [`super::heuristics`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WindowFacts {
    /// Failed attempts towards this server in the attempt's window.
    pub failed_to_server: u32,
    /// Distinct client addresses among them (counted up to a bound).
    pub failed_sources: u32,
    /// Failed attempts from this client address to this server address.
    pub failed_from_client: u32,
    /// Distinct server ports among them (counted up to a bound).
    pub failed_ports: u32,
    /// Attempts seen with this client address and ISN.
    pub same_isn: u32,
    /// Start of the window, seconds since the epoch.
    pub window_start: i64,
}

/// Events kept per record; the rest are counted.
pub const MAX_EVENTS: usize = 48;

/// One connection attempt.
#[derive(Clone, Debug)]
pub struct Attempt {
    /// Order of the first packet among all attempts (0, 1, ...).
    pub index: u64,
    pub first_frame: u64,
    pub first_time: Timestamp,
    pub last_time: Timestamp,
    pub packets: u64,
    pub ip_version: u8,
    pub origin: Origin,
    /// The side that sent the first SYN (for a midstream record: a guess).
    pub client: Endpoint,
    pub server: Endpoint,
    /// `x`; for a midstream record, inferred when possible.
    pub client_isn: Option<u32>,
    /// `y`.
    pub server_isn: Option<u32>,

    /// The client's first SYN.
    pub syn: Option<SegmentFacts>,
    pub syn_count: u32,
    /// Largest payload carried by one of the client's SYNs (TFO data).
    pub syn_data_max: u32,
    pub last_syn_time: Option<Timestamp>,
    /// The first SYN-ACK that acknowledged the client's SYN.
    pub synack: Option<SegmentFacts>,
    pub synack_count: u32,
    /// The server's first TSval after its SYN-ACK, and when.
    pub server_next_tsval: Option<(Timestamp, u32)>,
    pub bad_synack: Option<Box<BadSynAck>>,
    /// The client segment whose ACK acknowledged y+1.
    pub completing: Option<AckFacts>,
    /// The first client segment during the handshake whose ack was wrong.
    pub bad_ack: Option<Box<AckFacts>>,
    pub simultaneous: Option<Box<SimultaneousOpen>>,
    /// The accepted RST that ended the handshake or the connection.
    pub rst: Option<RstFacts>,
    /// Ignored RSTs (all of them; `events` keeps the first few).
    pub ignored_rsts: u32,
    pub challenge_acks: u32,

    /// First FIN from each side (`[client, server]`).
    pub fin: [Option<Timestamp>; 2],
    /// Payload bytes each way, counted once.
    pub bytes: [u64; 2],
    /// One past the highest payload byte seen from each side.
    pub data_end: [Option<u32>; 2],
    /// Highest acknowledgment sent by each side.
    pub highest_ack: [Option<u32>; 2],
    /// Last window field each side advertised (for RST acceptance).
    pub advertised_window: [u16; 2],
    pub bad_checksums: [u32; 2],
    /// Segments each way (`[client, server]`), for Zeek's `orig_pkts`/`resp_pkts`.
    pub side_packets: [u64; 2],
    /// IP bytes each way as IP headers claim them (Zeek's `*_ip_bytes`).
    pub ip_bytes: [u64; 2],
    /// Bytes acknowledged that the capture never held (Zeek's `missed_bytes`).
    pub gap_bytes: u64,

    pub events: Vec<Event>,
    pub events_dropped: u32,
    pub end_reason: Option<EndReason>,
    /// What the per-window detectors saw around this attempt (filled in when
    /// the record leaves the tracker).
    pub window: WindowFacts,

    /// The side Zeek takes as the originator.
    pub zeek_orig: Side,
    pub zeek: ZeekState,
    pub wireshark: WiresharkState,
}

impl Attempt {
    pub fn new(
        index: u64,
        frame: u64,
        time: Timestamp,
        ip_version: u8,
        origin: Origin,
        client: Endpoint,
        server: Endpoint,
    ) -> Attempt {
        Attempt {
            index,
            first_frame: frame,
            first_time: time,
            last_time: time,
            packets: 0,
            ip_version,
            origin,
            client,
            server,
            client_isn: None,
            server_isn: None,
            syn: None,
            syn_count: 0,
            syn_data_max: 0,
            last_syn_time: None,
            synack: None,
            synack_count: 0,
            server_next_tsval: None,
            bad_synack: None,
            completing: None,
            bad_ack: None,
            simultaneous: None,
            rst: None,
            ignored_rsts: 0,
            challenge_acks: 0,
            fin: [None; 2],
            bytes: [0; 2],
            data_end: [None; 2],
            highest_ack: [None; 2],
            advertised_window: [0; 2],
            bad_checksums: [0; 2],
            side_packets: [0; 2],
            ip_bytes: [0; 2],
            gap_bytes: 0,
            events: Vec::new(),
            events_dropped: 0,
            end_reason: None,
            window: WindowFacts::default(),
            zeek_orig: Side::Client,
            zeek: ZeekState::default(),
            wireshark: WiresharkState::default(),
        }
    }

    pub fn endpoint(&self, side: Side) -> Endpoint {
        match side {
            Side::Client => self.client,
            Side::Server => self.server,
        }
    }

    pub fn isn(&self, side: Side) -> Option<u32> {
        match side {
            Side::Client => self.client_isn,
            Side::Server => self.server_isn,
        }
    }

    pub fn push_event(&mut self, time: Timestamp, frame: u64, kind: EventKind) {
        if self.events.len() < MAX_EVENTS {
            self.events.push(Event { time, frame, kind });
        } else {
            self.events_dropped += 1;
        }
    }

    pub fn has_event(&self, pred: impl Fn(&EventKind) -> bool) -> bool {
        self.events.iter().any(|e| pred(&e.kind))
    }

    /// The handshake finished: completing ACK, or both SYNs of a simultaneous
    /// open acknowledged.
    pub fn handshake_complete(&self) -> bool {
        self.completing.is_some()
            || self.simultaneous.as_ref().is_some_and(|s| {
                s.server_syn.is_some()
                    && s.server_acked_client.is_some()
                    && s.client_acked_server.is_some()
            })
    }

    /// Both sides have closed (FIN each way) or a RST was accepted.
    pub fn closed(&self) -> bool {
        (self.fin[0].is_some() && self.fin[1].is_some()) || self.rst.is_some()
    }

    /// The first close of either kind: which side and when.
    pub fn first_close(&self) -> Option<(Side, Timestamp)> {
        let mut first: Option<(Side, Timestamp)> = None;
        let mut consider = |side: Side, t: Timestamp| match first {
            Some((_, ft)) if ft <= t => {}
            _ => first = Some((side, t)),
        };
        if let Some(t) = self.fin[0] {
            consider(Side::Client, t);
        }
        if let Some(t) = self.fin[1] {
            consider(Side::Server, t);
        }
        if let Some(r) = self.rst {
            consider(r.side, r.time);
        }
        first
    }

    /// Exchange the roles of the two sides (a simultaneous open is reported
    /// with the lower endpoint as the client).
    pub fn swap_roles(&mut self) {
        std::mem::swap(&mut self.client, &mut self.server);
        std::mem::swap(&mut self.client_isn, &mut self.server_isn);
        let sim = self.simultaneous.get_or_insert_with(Default::default);
        std::mem::swap(&mut self.syn, &mut sim.server_syn);
        std::mem::swap(&mut self.syn_count, &mut sim.server_syn_count);
        std::mem::swap(&mut self.synack, &mut sim.client_synack);
        std::mem::swap(&mut self.synack_count, &mut sim.client_synack_count);
        std::mem::swap(&mut sim.server_acked_client, &mut sim.client_acked_server);
        self.syn_data_max = self.syn.map_or(0, |s| s.payload_len);
        self.last_syn_time = self.syn.map(|s| s.time);
        self.fin.swap(0, 1);
        self.bytes.swap(0, 1);
        self.data_end.swap(0, 1);
        self.highest_ack.swap(0, 1);
        self.advertised_window.swap(0, 1);
        self.zeek_orig = self.zeek_orig.other();
        self.bad_checksums.swap(0, 1);
        self.side_packets.swap(0, 1);
        self.ip_bytes.swap(0, 1);
        if let Some(r) = self.rst.as_mut() {
            r.side = r.side.other();
        }
        for e in &mut self.events {
            match &mut e.kind {
                EventKind::IgnoredRst { side, .. }
                | EventKind::BadChecksum { side }
                | EventKind::ContentGap { side, .. } => *side = side.other(),
                _ => {}
            }
        }
    }
}
