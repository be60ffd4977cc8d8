//! What a packet's numbers mean in terms of x and y: the ISNs, the
//! acknowledgments of x+1 and y+1, the third segment's own seq, what a wrong
//! number is off by, and which transmission a timestamp echo answers.

use super::fields::{self, side};
use super::{Ctx, Seen, Taught};
use crate::report::ladder::{Role, Row};
use crate::track::attempt::{EventKind, RstIgnored};
use crate::track::{seq, Side};
use crate::wire::tcp;

/// `seq 4255483971` (4.x) or `4255483971` (3.x): how the line names the
/// segment's own sequence number.
pub(super) fn seq_token(ctx: &Ctx<'_>, s: &Seen<'_>) -> String {
    let shown = s.shown.map_or(s.row.seq, |v| v.0);
    if ctx.style.classic {
        shown.to_string()
    } else {
        format!("seq {shown}")
    }
}

fn ordinal(n: usize) -> String {
    match n {
        1 => "first".into(),
        2 => "second".into(),
        3 => "third".into(),
        4 => "fourth".into(),
        5 => "fifth".into(),
        n => format!("{n}th"),
    }
}

/// Which transmission of a SYN (or SYN-ACK) carried this TSval: the sends of
/// a side in order, each with its TSval (the record's first one and its
/// retransmission events).
fn echoed(sends: &[Option<u32>], ecr: u32) -> Option<usize> {
    sends.iter().position(|v| *v == Some(ecr)).map(|i| i + 1)
}

fn syn_sends(ctx: &Ctx<'_>) -> Vec<Option<u32>> {
    let mut v: Vec<Option<u32>> = ctx.a.syn.iter().map(|s| s.options.tsval()).collect();
    v.extend(ctx.a.events.iter().filter_map(|e| match e.kind {
        EventKind::SynRetransmission { tsval } => Some(tsval),
        _ => None,
    }));
    v
}

fn synack_sends(ctx: &Ctx<'_>) -> Vec<Option<u32>> {
    let mut v: Vec<Option<u32>> = ctx.a.synack.iter().map(|s| s.options.tsval()).collect();
    v.extend(ctx.a.events.iter().filter_map(|e| match e.kind {
        EventKind::SynAckRetransmission { tsval } => Some(tsval),
        _ => None,
    }));
    v
}

fn tsecr(s: &Seen<'_>) -> Option<u32> {
    s.options.iter().find_map(|o| match o {
        crate::wire::tcp::TcpOption::Timestamps { ecr, .. } => Some(*ecr),
        _ => None,
    })
}

/// "TSecr 5 echoes the TSval of the second SYN": which transmission an
/// answer answers (Karn's rule needs it when there were several).
fn echo_sentence(s: &Seen<'_>, sends: &[Option<u32>], what: &str) -> Option<String> {
    let ecr = tsecr(s)?;
    if sends.iter().all(Option::is_none) {
        return None;
    }
    Some(match (echoed(sends, ecr), sends.len()) {
        (Some(_), 1) => format!("Its TSecr, {ecr}, echoes the {what}'s TSval."),
        (Some(i), n) => format!(
            "Its TSecr, {ecr}, echoes the TSval of the {} of the {n} transmissions of the {what}: it answers that one, which is how timestamps tell the round trip despite the retransmissions.",
            ordinal(i)
        ),
        (None, _) => format!("Its TSecr, {ecr}, echoes none of the {what}'s TSvals seen."),
    })
}

/// What the numbers are in terms of x and y.
pub(super) fn numbers(ctx: &Ctx<'_>, s: &Seen<'_>, t: &mut Taught) -> Vec<String> {
    let r = s.row;
    let a = ctx.a;
    let mut v = Vec::new();
    let l = a.syn_data_max;
    match r.role {
        Role::Syn => {
            let x = r.seq;
            v.push(format!(
                "{} is the client's initial sequence number (ISN), called x. A TCP picks it hard to guess (RFC 6528), so that stray or forged segments do not fit the connection.",
                seq_token(ctx, s)
            ));
            v.push(format!(
                "The SYN itself uses up one sequence number, so x+1 = {} will number the client's first byte of data.",
                x.wrapping_add(1)
            ));
            if !r.has(tcp::ACK) && r.ack_field != 0 {
                v.push(format!("The ACK flag is clear, yet the acknowledgment field holds {}: a TCP stack leaves it 0 in a SYN, so a non-zero value marks a packet made by a tool such as hping3.", r.ack_field));
            }
        }
        Role::SynRetransmission => {
            if let Some(v2) = s.options.iter().find_map(|o| match o {
                tcp::TcpOption::Timestamps { val, .. } => Some(*val),
                _ => None,
            }) {
                if t.first("syn:tsval") {
                    v.push(format!("Its TSval, {v2}, is new, so the TSecr of a SYN-ACK can tell which transmission it answers."));
                }
            }
        }
        Role::SynAck | Role::CrossSynAck | Role::PeerSyn => {
            let (own, isn_name, peer_isn) = match r.from {
                Side::Server => ("server", "y", a.client_isn),
                Side::Client => ("client", "x", a.server_isn),
            };
            let peer = if r.from == Side::Server { "x" } else { "y" };
            v.push(format!(
                "{} is the {own}'s initial sequence number, {isn_name} = {}{}.",
                seq_token(ctx, s),
                r.seq,
                if r.role == Role::CrossSynAck {
                    ", repeated"
                } else {
                    ", chosen independently of the other side's"
                }
            ));
            if let (Some(ack), Some(p)) = (r.ack(), peer_isn) {
                let p1 = p.wrapping_add(1);
                let text = if ack == p1 && (r.from == Side::Client || l == 0) {
                    format!("ack {ack} = {peer}+1: an acknowledgment number names the next sequence number the sender expects, and the {}'s SYN used up {peer} = {p}, so the {own} expects {peer}+1.", side(r.from.other()))
                } else if ack == p1 {
                    format!("ack {ack} = x+1 acknowledges the SYN but not the {l} bytes of data it carried: the server did not accept them (no valid Fast Open cookie), and the client will send them again after the handshake.")
                } else if r.from == Side::Server
                    && seq::diff(ack, p1) as i64 == i64::from(l)
                    && l > 0
                {
                    format!("ack {ack} = x+1+{l}: the server acknowledges the SYN and the {l} bytes of data it carried (TCP Fast Open, RFC 7413): the data was accepted and already handed to the server's application.")
                } else {
                    format!("ack {ack}, where {peer}+1 = {p1} was due.")
                };
                v.push(text);
            }
            if r.role == Role::SynAck {
                v.extend(echo_sentence(s, &syn_sends(ctx), "SYN"));
                v.extend(unanswered_options(ctx));
            }
        }
        Role::Completing => {
            if let Some(y) = a.server_isn {
                v.push(format!(
                    "ack {} = y+1: the server's SYN used up y = {y}, so the client expects y+1 next.",
                    r.ack_field
                ));
            }
            if let Some(x) = a.client_isn {
                let due = x.wrapping_add(1).wrapping_add(
                    a.synack
                        .map_or(0, |sa| sa.ack.wrapping_sub(x.wrapping_add(1))),
                );
                let form = if due == x.wrapping_add(1) {
                    "x+1".to_string()
                } else {
                    format!("x+1+{}", due.wrapping_sub(x.wrapping_add(1)))
                };
                if r.seq != due {
                    v.push(format!(
                        "Its own sequence number is {}, where {form} = {due} was due.",
                        r.seq
                    ));
                } else if r.payload_len == 0 {
                    let used = if form == "x+1" {
                        "the SYN used up x".to_string()
                    } else {
                        format!(
                            "the SYN used up x and its data x+1 to x+{}",
                            due.wrapping_sub(x.wrapping_add(1))
                        )
                    };
                    let mut text = format!("Its own sequence number is {form} = {due}: {used}, and a segment without data still carries the next sequence number.");
                    if !fields::seq_printed(ctx, s) {
                        text.push_str(" tcpdump does not print it, because the segment has no data, SYN, FIN or RST; tutorials that give this third segment seq x are wrong.");
                    }
                    v.push(text);
                } else {
                    v.push(format!("It already carries {} bytes of data, numbered from {form} = {due} on: the handshake's last step and the first data travel together.", r.payload_len));
                }
            }
            v.extend(echo_sentence(s, &synack_sends(ctx), "SYN-ACK"));
        }
        Role::InvalidSynAck => {
            if let Some(x) = a.client_isn {
                let x1 = x.wrapping_add(1);
                v.push(format!(
                    "It acknowledges {}, but only x+1 = {x1}{} acknowledges the client's SYN: {} off. In SYN-SENT an acknowledgment outside that range is unacceptable (RFC 9293 §3.10.7.3): the client must answer it with a reset and keep waiting.",
                    r.ack_field,
                    if l > 0 { format!(" (up to x+1+{l})") } else { String::new() },
                    signed(seq::diff(r.ack_field, x1))
                ));
            }
        }
        Role::IgnoredRst => v.extend(ignored_rst(ctx, r)),
        Role::InvalidAck => {
            if let Some(y) = a.server_isn {
                let y1 = y.wrapping_add(1);
                v.push(format!(
                    "ack {}, where y+1 = {y1} was due: {} off.",
                    r.ack_field,
                    signed(seq::diff(r.ack_field, y1))
                ));
            }
        }
        Role::Data | Role::Fin if r.has(tcp::ACK) && t.first("ack:meaning") => {
            v.push(format!(
                "ack {}: the {} has received everything the {} sent before that sequence number.",
                r.ack_field,
                side(r.from),
                side(r.from.other())
            ));
        }
        _ => {}
    }
    v
}

/// Options the client's SYN offered that the SYN-ACK did not answer with.
fn unanswered_options(ctx: &Ctx<'_>) -> Option<String> {
    let (c, s) = (&ctx.a.syn?.options, &ctx.a.synack?.options);
    let missing: Vec<&str> = [
        (c.wscale.is_some() && s.wscale.is_none(), "window scaling"),
        (c.sack_ok && !s.sack_ok, "SACK"),
        (
            c.timestamps.is_some() && s.timestamps.is_none(),
            "timestamps",
        ),
    ]
    .into_iter()
    .filter(|(m, _)| *m)
    .map(|(_, name)| name)
    .collect();
    (!missing.is_empty()).then(|| {
        format!(
            "The SYN offered {} that this SYN-ACK does not answer with, so {} off for this connection: each is on only if both SYNs carry it.",
            missing.join(", "),
            if missing.len() == 1 { "it is" } else { "they are" }
        )
    })
}

/// `+999` or `-5`, with "modulo 2^32" when the distance is large.
fn signed(d: i32) -> String {
    if d.unsigned_abs() >= 1 << 20 {
        format!("{d:+} (modulo 2^32)")
    } else {
        format!("{d:+}")
    }
}

fn ignored_rst(ctx: &Ctx<'_>, r: &Row) -> Vec<String> {
    let why = ctx.a.events.iter().find_map(|e| match e.kind {
        EventKind::IgnoredRst { why, .. } if e.frame == r.frame => Some(why),
        _ => None,
    });
    let receiver = side(r.from.other());
    let text = match why {
        Some(RstIgnored::NoAck) => "In SYN-SENT a reset counts only with the ACK flag set and an ack that acknowledges the SYN (RFC 9293 §3.10.7.3); this one has no ACK, so the client drops it and keeps waiting.".to_string(),
        Some(RstIgnored::AckOutOfRange { expected }) => format!(
            "In SYN-SENT a reset counts only if it acknowledges the SYN, ack x+1 = {expected} (RFC 9293 §3.10.7.3); this one acks {}, {} off, so the client drops it and keeps waiting.",
            r.ack_field,
            signed(seq::diff(r.ack_field, expected))
        ),
        Some(RstIgnored::SeqOutOfWindow { expected }) => format!(
            "Its seq, {}, is not the {receiver}'s next expected sequence number, {expected} ({} off): RFC 5961 §3 has the receiver drop such a reset (or answer it with a challenge ACK when it falls inside the window), which defeats blind reset attacks.",
            r.seq,
            signed(seq::diff(r.seq, expected))
        ),
        None => format!("The {receiver} would not accept it."),
    };
    vec![text]
}
