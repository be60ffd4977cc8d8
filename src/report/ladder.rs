//! The ladder diagram of one attempt: its packets as rows between a client
//! and a server column, each with its direction, flags, sequence and
//! acknowledgment numbers (absolute and relative to each side's ISN), payload
//! length, time since the first SYN, its part in the handshake and notes
//! ("retransmission", "ignored RST", "lost after capture point", ...).
//!
//! The model is built once from the attempt's packets and its record, and
//! drawn two ways: [`text`] for terminals (Unicode box drawing, or ASCII) and
//! [`svg`] for pages. `synack explain` reads the same rows to explain each
//! packet. For an HTML report:
//!
//! ```text
//! let packets = PacketCollector::for_attempts(&[&attempt], precision) ... .finish();
//! let svg: String = report::ladder::svg_for(&packets[0], &attempt, &analysis);
//! ```

mod svg;
mod text;

pub use svg::render as render_svg;
pub use text::{locale_is_utf8, render as render_text, TextStyle};

use std::collections::BTreeMap;

use super::packets::AttemptPackets;
use crate::source::{Precision, Timestamp};
use crate::track::attempt::EventKind;
use crate::track::{Analysis, Attempt, Endpoint, Side, Verdict};
use crate::wire::{self, tcp};

/// What a packet is in the story of the attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The client's first SYN (x).
    Syn,
    /// The client's SYN again, same x.
    SynRetransmission,
    /// The server's SYN-ACK that acknowledged the SYN (y, ack x+1).
    SynAck,
    /// The same SYN-ACK again.
    SynAckRetransmission,
    /// A SYN-ACK whose ack does not acknowledge the SYN.
    InvalidSynAck,
    /// The client's `RST, seq = ack` answer to an unacceptable SYN-ACK.
    RecoveryRst,
    /// The client segment that acknowledged y+1: the handshake is complete.
    Completing,
    /// A client segment in the handshake whose ack is not y+1.
    InvalidAck,
    /// The server's own SYN (simultaneous open).
    PeerSyn,
    /// The server's own SYN again.
    PeerSynRetransmission,
    /// The client's SYN-ACK of a simultaneous open.
    CrossSynAck,
    /// The RST that was accepted: it ended the handshake or the connection.
    AcceptedRst,
    /// A RST a real endpoint drops.
    IgnoredRst,
    /// A SYN with another ISN inside the connection.
    StraySyn,
    /// The answer to a stray SYN: an ACK of the current numbers (RFC 5961 §4.2).
    ChallengeAck,
    /// Data (with ACK).
    Data,
    /// A FIN.
    Fin,
    /// A pure acknowledgment.
    Ack,
    /// Another RST.
    Rst,
    /// Anything else (no ACK, no SYN, no RST).
    Other,
}

/// A remark on a row, shown beside its arrow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Note {
    Retransmission,
    /// A SYN-ACK the client sent its SYN again after: it never arrived.
    LostAfterCapturePoint,
    IgnoredRst,
    InvalidSynAck,
    RecoveryRst,
    InvalidAck,
    HandshakeComplete,
    Refused,
    Aborted,
    Reset,
    SynInConnection,
    /// The other end's own SYN in a simultaneous open.
    SynsCross,
    ChallengeAck,
    PortReuse,
    /// Bytes of data carried by a SYN (TCP Fast Open).
    SynData(u32),
    BadChecksum,
    /// It acknowledges data the capture does not hold.
    AfterGap,
}

/// How a note reads to the eye: drawn in a colour by the SVG renderer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    Good,
    Retry,
    Problem,
    Info,
}

impl Note {
    pub fn label(self) -> String {
        match self {
            Note::Retransmission => "retransmission".into(),
            Note::LostAfterCapturePoint => "lost after capture point".into(),
            Note::IgnoredRst => "ignored RST".into(),
            Note::InvalidSynAck => "invalid SYN-ACK".into(),
            Note::RecoveryRst => "recovery RST".into(),
            Note::InvalidAck => "invalid ACK".into(),
            Note::HandshakeComplete => "handshake complete".into(),
            Note::Refused => "refused".into(),
            Note::Aborted => "aborted".into(),
            Note::Reset => "reset".into(),
            Note::SynInConnection => "SYN inside the connection".into(),
            Note::SynsCross => "SYNs cross".into(),
            Note::ChallengeAck => "challenge ACK".into(),
            Note::PortReuse => "port reuse".into(),
            Note::SynData(n) => format!("{n} bytes in the SYN"),
            Note::BadChecksum => "bad checksum".into(),
            Note::AfterGap => "acks data not captured".into(),
        }
    }

    pub fn tone(self) -> Tone {
        match self {
            Note::HandshakeComplete => Tone::Good,
            Note::Retransmission => Tone::Retry,
            Note::LostAfterCapturePoint
            | Note::IgnoredRst
            | Note::InvalidSynAck
            | Note::InvalidAck
            | Note::Refused
            | Note::Aborted
            | Note::Reset
            | Note::BadChecksum => Tone::Problem,
            Note::RecoveryRst
            | Note::SynInConnection
            | Note::SynsCross
            | Note::ChallengeAck
            | Note::PortReuse
            | Note::SynData(_)
            | Note::AfterGap => Tone::Info,
        }
    }
}

/// One packet of the attempt.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub frame: u64,
    pub time: Timestamp,
    /// Microseconds since the first SYN (or the first packet without one).
    pub since_us: f64,
    pub from: Side,
    /// The eight classic flag bits.
    pub flags: u8,
    pub seq: u32,
    /// The acknowledgment field, whether or not ACK is set.
    pub ack_field: u32,
    /// `seq` minus the sender's ISN (or its first sequence number seen).
    pub rel_seq: u32,
    /// The ack field minus the receiver's ISN (or its first sequence number).
    pub rel_ack: u32,
    pub window: u16,
    pub payload_len: u32,
    pub role: Role,
    pub notes: Vec<Note>,
    /// The TCP checksum is wrong (verified here, for every packet drawn,
    /// as tcpdump -v does).
    pub bad_checksum: bool,
}

impl Row {
    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    /// The acknowledgment number, when ACK is set.
    pub fn ack(&self) -> Option<u32> {
        self.has(tcp::ACK).then_some(self.ack_field)
    }

    /// The flag letters as tcpdump 4.x prints them in `Flags [...]`.
    pub fn flag_letters(&self) -> String {
        let mut v = Vec::with_capacity(8);
        crate::print::tcp_flag_letters(&mut v, self.flags);
        String::from_utf8_lossy(&v).into_owned()
    }
}

/// The packets of one attempt, ready to draw or explain.
#[derive(Clone, Debug)]
pub struct Ladder {
    pub client: Endpoint,
    pub server: Endpoint,
    /// The server port's name in the services database.
    pub service: Option<&'static str>,
    pub verdict: Verdict,
    pub rows: Vec<Row>,
    /// Packets of the attempt beyond those kept.
    pub more: u64,
    pub precision: Precision,
    /// From the first SYN to the completing segment, microseconds.
    pub handshake_us: Option<f64>,
}

/// A SYN without ACK.
fn pure_syn(flags: u8) -> bool {
    flags & (tcp::SYN | tcp::ACK | tcp::RST) == tcp::SYN
}

fn synack(flags: u8) -> bool {
    flags & (tcp::SYN | tcp::ACK | tcp::RST) == tcp::SYN | tcp::ACK
}

/// The role the record gives a frame, if the side fits it.
fn recorded_role(a: &Attempt, events: &[EventKind], r: &Row) -> Option<Role> {
    let client = r.from == Side::Client;
    for e in events {
        let role = match e {
            EventKind::InvalidSynAck { .. } if !client => Role::InvalidSynAck,
            EventKind::RecoveryRst { .. } if client => Role::RecoveryRst,
            EventKind::IgnoredRst { side, .. } if *side == r.from => Role::IgnoredRst,
            EventKind::SynRetransmission { .. } if client && pure_syn(r.flags) => {
                Role::SynRetransmission
            }
            EventKind::SynAckRetransmission { .. } if !client && synack(r.flags) => {
                Role::SynAckRetransmission
            }
            EventKind::ChallengeAck { .. } if !client => Role::ChallengeAck,
            EventKind::InvalidAck { .. } if client => Role::InvalidAck,
            _ => continue,
        };
        return Some(role);
    }
    let is = |f: Option<u64>| f == Some(r.frame);
    let sim = a.simultaneous.as_deref();
    Some(if is(a.syn.map(|s| s.frame)) && client {
        Role::Syn
    } else if is(a.synack.map(|s| s.frame)) && !client {
        Role::SynAck
    } else if is(a.completing.map(|c| c.frame)) && client {
        Role::Completing
    } else if is(a.rst.map(|x| x.frame)) && a.rst.is_some_and(|x| x.side == r.from) {
        Role::AcceptedRst
    } else if is(a.bad_synack.as_ref().map(|b| b.frame)) && !client {
        Role::InvalidSynAck
    } else if is(a.bad_ack.as_ref().map(|b| b.frame)) && client {
        Role::InvalidAck
    } else if is(sim.and_then(|s| s.server_syn.map(|x| x.frame))) && !client {
        Role::PeerSyn
    } else if is(sim.and_then(|s| s.client_synack.map(|x| x.frame))) && client {
        Role::CrossSynAck
    } else {
        return None;
    })
}

/// The role of a frame the record does not name, from its flags.
fn role_from_flags(a: &Attempt, r: &Row) -> Role {
    let client = r.from == Side::Client;
    if pure_syn(r.flags) {
        let own_isn = a.isn(r.from);
        return match (client, own_isn == Some(r.seq)) {
            (true, true) => Role::SynRetransmission,
            (false, true) if a.simultaneous.is_some() => Role::PeerSynRetransmission,
            _ => Role::StraySyn,
        };
    }
    if synack(r.flags) {
        return if client {
            Role::CrossSynAck
        } else if a.server_isn == Some(r.seq) && a.synack.is_some_and(|s| s.ack == r.ack_field) {
            Role::SynAckRetransmission
        } else {
            Role::InvalidSynAck
        };
    }
    if r.has(tcp::RST) {
        Role::Rst
    } else if r.has(tcp::FIN) {
        Role::Fin
    } else if r.payload_len > 0 {
        Role::Data
    } else if r.has(tcp::ACK) {
        Role::Ack
    } else {
        Role::Other
    }
}

fn notes(a: &Attempt, verdict: Verdict, events: &[EventKind], r: &Row) -> Vec<Note> {
    let mut n = Vec::new();
    match r.role {
        Role::SynRetransmission | Role::SynAckRetransmission | Role::PeerSynRetransmission => {
            n.push(Note::Retransmission)
        }
        Role::IgnoredRst => n.push(Note::IgnoredRst),
        Role::InvalidSynAck => n.push(Note::InvalidSynAck),
        Role::RecoveryRst => n.push(Note::RecoveryRst),
        Role::InvalidAck => n.push(Note::InvalidAck),
        Role::Completing => n.push(Note::HandshakeComplete),
        Role::AcceptedRst => n.push(match verdict {
            Verdict::Refused => Note::Refused,
            Verdict::Aborted => Note::Aborted,
            _ => Note::Reset,
        }),
        Role::StraySyn if a.challenge_acks > 0 => n.push(Note::SynInConnection),
        Role::ChallengeAck => n.push(Note::ChallengeAck),
        Role::PeerSyn => n.push(Note::SynsCross),
        _ => {}
    }
    if pure_syn(r.flags) && r.payload_len > 0 {
        n.push(Note::SynData(r.payload_len));
    }
    // The checksum note is the row's own, not the record's event: the
    // record keeps only the first bad checksum each way, and `report`
    // tracks without verifying checksums at all. It goes where the event
    // would be, after a port reuse and before a gap.
    let mut bad_checksum = r.bad_checksum;
    for e in events {
        match e {
            EventKind::PortReuse { .. } => n.push(Note::PortReuse),
            EventKind::ContentGap { .. } => {
                if std::mem::take(&mut bad_checksum) {
                    n.push(Note::BadChecksum);
                }
                n.push(Note::AfterGap)
            }
            _ => {}
        }
    }
    if bad_checksum {
        n.push(Note::BadChecksum);
    }
    n
}

/// The first sequence number each side used: its ISN when known.
fn bases(a: &Attempt, rows: &[Row]) -> [u32; 2] {
    let first = |side: Side| {
        a.isn(side)
            .or_else(|| rows.iter().find(|r| r.from == side).map(|r| r.seq))
            .unwrap_or(0)
    };
    [first(Side::Client), first(Side::Server)]
}

impl Ladder {
    /// The ladder of an attempt from its packets and its record.
    pub fn build(packets: &AttemptPackets, a: &Attempt, analysis: &Analysis) -> Ladder {
        let mut events: BTreeMap<u64, Vec<EventKind>> = BTreeMap::new();
        for e in &a.events {
            events.entry(e.frame).or_default().push(e.kind);
        }
        let start = a
            .syn
            .map(|s| s.time)
            .or_else(|| packets.frames.first().map(|f| f.ts))
            .unwrap_or(a.first_time);
        let mut rows: Vec<Row> = packets
            .frames
            .iter()
            .filter_map(|f| {
                let s = wire::decode(&f.frame()).ok()?;
                let src = Endpoint::new(s.ip.src, s.tcp.src_port());
                Some(Row {
                    frame: f.number,
                    time: f.ts,
                    since_us: f.ts.micros_since(start),
                    from: if src == a.client {
                        Side::Client
                    } else {
                        Side::Server
                    },
                    flags: s.tcp.flags(),
                    seq: s.tcp.seq(),
                    ack_field: s.tcp.ack(),
                    rel_seq: 0,
                    rel_ack: 0,
                    window: s.tcp.window(),
                    payload_len: s.payload_len,
                    role: Role::Other,
                    notes: Vec::new(),
                    bad_checksum: s.checksum_ok() == Some(false),
                })
            })
            .collect();
        let base = bases(a, &rows);
        let none = Vec::new();
        for r in &mut rows {
            let i = r.from.idx();
            r.rel_seq = r.seq.wrapping_sub(base[i]);
            r.rel_ack = r.ack_field.wrapping_sub(base[1 - i]);
            let ev = events.get(&r.frame).unwrap_or(&none);
            r.role = recorded_role(a, ev, r).unwrap_or_else(|| role_from_flags(a, r));
            r.notes = notes(a, analysis.verdict, ev, r);
        }
        mark_lost_synacks(&mut rows, analysis.verdict);
        Ladder {
            client: a.client,
            server: a.server,
            service: crate::print::names::service_name(a.server.port),
            verdict: analysis.verdict,
            rows,
            more: packets.more,
            precision: packets.precision,
            handshake_us: analysis.rtt.handshake,
        }
    }

    /// The one-line summary under the diagram.
    pub fn caption(&self) -> String {
        let mut s = self.verdict.name().to_string();
        if let Some(us) = self.handshake_us {
            s.push_str(&format!(", handshake {}", duration(us, self.precision)));
        }
        if self.more > 0 {
            s.push_str(&format!(", {} more packets not shown", self.more));
        }
        s
    }

    /// `10.99.0.2.5000` as tcpdump -n writes it, for a column head.
    pub fn endpoint_label(&self, side: Side) -> String {
        match side {
            Side::Client => self.client.to_string(),
            Side::Server => match self.service {
                Some(name) => format!("{} ({name})", self.server),
                None => self.server.to_string(),
            },
        }
    }
}

/// A SYN-ACK after which the client sent its SYN again (before sending
/// anything else) never reached the client: the capture saw it, so it was
/// lost after the capture point.
fn mark_lost_synacks(rows: &mut [Row], verdict: Verdict) {
    if verdict == Verdict::SimultaneousOpen {
        return;
    }
    for i in 0..rows.len() {
        let r = &rows[i];
        if r.from != Side::Server || !matches!(r.role, Role::SynAck | Role::SynAckRetransmission) {
            continue;
        }
        let next_client = rows[i + 1..].iter().find(|n| n.from == Side::Client);
        if next_client.is_some_and(|n| n.role == Role::SynRetransmission) {
            rows[i].notes.push(Note::LostAfterCapturePoint);
        }
    }
}

/// A duration for people: µs below a millisecond, ms below 10 s, else s.
pub fn duration(us: f64, p: Precision) -> String {
    let a = us.abs();
    match p {
        Precision::Nano if a < 1000.0 => format!("{us:.3} µs"),
        _ if a < 1000.0 => format!("{us:.0} µs"),
        _ if a < 10_000_000.0 => format!("{:.3} ms", us / 1000.0),
        _ => format!("{:.3} s", us / 1e6),
    }
}

/// Time since the start, as `+12.345 ms` with the capture's digits.
pub fn offset(us: f64, p: Precision) -> String {
    let digits = match p {
        Precision::Micro => 3,
        Precision::Nano => 6,
    };
    format!(
        "{}{:.*} ms",
        if us < 0.0 { "" } else { "+" },
        digits,
        us / 1000.0
    )
}

/// The SVG ladder of one attempt: a self-contained `<svg>` element for a page
/// (no scripts, no external fonts, no ids), the same bytes for the same input.
pub fn svg_for(packets: &AttemptPackets, attempt: &Attempt, analysis: &Analysis) -> String {
    render_svg(&Ladder::build(packets, attempt, analysis))
}

/// The text ladder of one attempt, for a terminal.
pub fn text_for(
    packets: &AttemptPackets,
    attempt: &Attempt,
    analysis: &Analysis,
    style: TextStyle,
) -> String {
    render_text(&Ladder::build(packets, attempt, analysis), style)
}

#[cfg(test)]
mod tests;
