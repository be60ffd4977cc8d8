//! The paragraph under each packet: what the packet is in the attempt (its
//! role in the ladder), what its numbers mean in terms of x and y, then its
//! fields (see [`super::fields`]).

use super::fields::{self, side};
use super::numbers::numbers;
use super::{Ctx, Seen, Taught};
use crate::report::ladder::{duration, Note, Role, Row};
use crate::track::attempt::EventKind;
use crate::track::{seq, Side, Verdict};
use crate::wire::tcp;

/// Everything said under one packet, in groups: what the packet is and what
/// its numbers mean; its other fields; what its notes add.
pub(super) fn sentences(ctx: &Ctx<'_>, s: &Seen<'_>, t: &mut Taught) -> Vec<Vec<String>> {
    let mut what = lead(ctx, s, t);
    what.extend(fields::flags(ctx, s, t));
    what.extend(fields::relative(ctx, s, t));
    what.extend(numbers(ctx, s, t));
    what.extend(fields::notation(ctx, s, t));
    // Repeats and stray SYNs: their window and options are not news.
    let repeat = matches!(
        s.row.role,
        Role::SynRetransmission
            | Role::SynAckRetransmission
            | Role::PeerSynRetransmission
            | Role::StraySyn
    );
    let mut rest = Vec::new();
    if !repeat {
        rest.extend(fields::window(ctx, s, t));
        rest.extend(fields::options(ctx, s, t));
        rest.extend(payload(ctx, s, t));
    }
    rest.extend(fields::ip(ctx, s, t));
    vec![what, rest, notes(ctx, s)]
}

fn service(ctx: &Ctx<'_>) -> String {
    ctx.ladder
        .service
        .map_or(String::new(), |name| format!(" ({name})"))
}

/// The rows of the attempt before this one.
fn earlier<'a>(ctx: &'a Ctx<'_>, r: &Row) -> std::slice::Iter<'a, Row> {
    let rows = &ctx.ladder.rows;
    let at = rows
        .iter()
        .position(|x| x.frame == r.frame)
        .unwrap_or(rows.len());
    rows[..at].iter()
}

/// Is the SYN before `previous` (an index into `before`) the first one?
fn first_retry_of(before: &[&Row], previous: Option<usize>) -> bool {
    previous.is_some_and(|i| before[i].role == Role::Syn)
}

fn pure_syn(r: &Row) -> bool {
    r.flags & (tcp::SYN | tcp::ACK | tcp::RST) == tcp::SYN
}

fn gap_since_previous(ctx: &Ctx<'_>, r: &Row, same: impl Fn(&Row) -> bool) -> String {
    let prev = earlier(ctx, r).rev().find(|x| same(x));
    match prev {
        Some(p) => format!(
            "{} after the previous one",
            duration(r.since_us - p.since_us, ctx.ladder.precision)
        ),
        None => "again".into(),
    }
}

/// What the packet is.
fn lead(ctx: &Ctx<'_>, s: &Seen<'_>, t: &mut Taught) -> Vec<String> {
    let r = s.row;
    let a = ctx.a;
    let who = side(r.from);
    let other = side(r.from.other());
    let simultaneous = a
        .simultaneous
        .as_ref()
        .is_some_and(|x| x.server_syn.is_some());
    let mut v = Vec::new();
    match r.role {
        Role::Syn if simultaneous => v.push(format!(
            "{} sends a SYN from its port {} to port {}{} on {}, to open a connection (as the other end will turn out to be doing too; synack calls this end the client).",
            a.client.addr, a.client.port, a.server.port, service(ctx), a.server.addr
        )),
        Role::Syn => {
            v.push(format!(
                "Step 1 of the handshake: the client, {}, asks the server, {}, to open a connection from its port {} to port {}{}.",
                a.client.addr, a.server.addr, a.client.port, a.server.port, service(ctx)
            ));
            if ctx.ladder.service.is_some() && t.first("services") {
                v.push("(Port names come from the services database, /etc/services: they say what a port is registered for, not what really listens on it.)".into());
            }
        }
        Role::SynRetransmission => {
            let previous = gap_since_previous(ctx, r, |x| x.from == Side::Client && x.has(tcp::SYN));
            let second = earlier(ctx, r).filter(|x| x.from == Side::Client && pure_syn(x)).count() == 1;
            let since_first = if second {
                String::new()
            } else {
                format!(" and {} after the first", duration(r.since_us, ctx.ladder.precision))
            };
            v.push(format!(
                "The client sends its SYN again, {previous}{since_first}, with the same ISN x = {}: a retransmission of the same attempt, not a new connection.",
                r.seq
            ));
        }
        Role::SynAck if simultaneous => v.push(
            "The server's side answers the client's SYN with a SYN-ACK: in SYN-SENT, a SYN without ACK moves a TCP to SYN-RECEIVED, and it sends its own SYN again, now with an acknowledgment (RFC 9293 §3.10.7.3).".into(),
        ),
        Role::SynAck => v.push(
            "Step 2: the server accepts with a SYN-ACK, which does two things at once: it sends the server's own SYN and acknowledges the client's.".into(),
        ),
        Role::SynAckRetransmission => {
            let after_syn = earlier(ctx, r)
                .next_back()
                .is_some_and(|p| p.role == Role::SynRetransmission);
            v.push(format!(
                "The server sends its SYN-ACK again, {}, with the same y and ack. {}",
                gap_since_previous(ctx, r, |x| x.from == Side::Server && x.has(tcp::SYN)),
                if after_syn {
                    "It answers the client's repeated SYN: a server that holds the half-open connection answers a retransmitted SYN with its SYN-ACK.".to_string()
                } else {
                    let first = ctx.ladder.rows.iter().find(|x| x.role == Role::SynAck);
                    let since = first.map_or(String::new(), |f| format!(" ({} after its first SYN-ACK)", duration(r.since_us - f.since_us, ctx.ladder.precision)));
                    format!("No ACK had come, so the server's retransmission timer fired{since}; the timer backs off, doubling its wait each time.")
                }
            ));
        }
        Role::Completing if simultaneous => v.push(
            "The client acknowledges the other end's SYN-ACK. In a simultaneous open each end became ESTABLISHED when the other's SYN-ACK arrived (RFC 9293 §3.5, figure 7); this ACK only confirms it.".into(),
        ),
        Role::Completing => v.push(
            "Step 3: the client acknowledges the server's SYN, and the handshake is complete. The client entered ESTABLISHED when the SYN-ACK arrived; the server does so when this segment arrives.".into(),
        ),
        Role::InvalidSynAck => v.push(
            "A SYN-ACK the client cannot accept: its acknowledgment number does not acknowledge the client's SYN.".into(),
        ),
        Role::RecoveryRst => v.push(
            "The client answers the unacceptable SYN-ACK with a reset, as RFC 9293 §3.10.7.3 asks of a TCP in SYN-SENT: RST with seq set to that SYN-ACK's ack, and no ACK flag. This is TCP's recovery from an old duplicate SYN (RFC 9293 §3.5, figure 8): the reset clears a stale half-connection at the other end, and the client stays in SYN-SENT, waiting for the answer to its own SYN.".into(),
        ),
        Role::IgnoredRst => v.push(format!(
            "A reset from the {who} that the {other} must ignore; synack reports it and does not take it as the outcome."
        )),
        Role::AcceptedRst => v.push(accepted_rst(ctx, r)),
        Role::InvalidAck => v.push(
            "The client's answer to the SYN-ACK does not acknowledge y+1: the server, in SYN-RECEIVED, answers an unacceptable ACK with a reset (RFC 9293 §3.10.7.4).".into(),
        ),
        Role::PeerSyn => v.push(format!(
            "The other end sends a SYN of its own instead of answering: both ends are opening the connection at the same time. Each SYN left before the other arrived, so they cross: a simultaneous open (RFC 9293 §3.5, figure 7). synack calls the lower address and port the client, here {}.",
            a.client
        )),
        Role::PeerSynRetransmission => v.push(format!(
            "The server's side sends its SYN again, {}, with the same ISN y: nothing had answered it.",
            gap_since_previous(ctx, r, |x| x.from == Side::Server && x.has(tcp::SYN))
        )),
        Role::CrossSynAck => v.push(
            "The client answers the other end's SYN with a SYN-ACK: in SYN-SENT, a SYN without ACK moves a TCP to SYN-RECEIVED, and it sends its own SYN again, now with an acknowledgment (RFC 9293 §3.10.7.3).".into(),
        ),
        Role::StraySyn => {
            v.push(format!(
                "A SYN with seq {} on the ports of a connection that is already established.",
                r.seq
            ));
            if a.challenge_acks > 0 {
                v.push("It does not open a new connection: RFC 5961 §4.2 tells a TCP that receives a SYN in a synchronized state to answer, whatever its sequence number, with a challenge ACK and to keep the connection.".into());
            }
        }
        Role::ChallengeAck => v.push(format!(
            "The server's challenge ACK (RFC 5961 §4.2): instead of a SYN-ACK it sends a pure ACK with its current numbers, ack {}, the next byte it expects on the existing connection. A peer that really had lost the connection would answer with a reset whose seq is that ack, and then try again; the real client, whose connection is fine, takes it as a duplicate acknowledgment.",
            r.ack_field
        )),
        Role::Data => v.push(format!(
            "The {who} sends {} bytes of data, sequence numbers {} to {}.",
            r.payload_len,
            r.seq,
            r.seq.wrapping_add(r.payload_len).wrapping_sub(1)
        )),
        Role::Fin => v.push(fin(ctx, r)),
        Role::Ack => v.push(ack_only(ctx, r)),
        Role::Rst => v.push(format!(
            "The {who} sends another reset (seq {}); the connection is already over.",
            r.seq
        )),
        Role::Other => v.push(format!(
            "A segment from the {who} with neither ACK, SYN nor RST, which no TCP sends inside a connection."
        )),
    }
    v
}

fn accepted_rst(ctx: &Ctx<'_>, r: &Row) -> String {
    let a = ctx.a;
    let x1 = a.client_isn.map(|x| x.wrapping_add(1));
    match (r.from, ctx.n.verdict) {
        (Side::Server, Verdict::Refused) => {
            let numbers = match (r.seq, r.ack(), x1) {
                (0, Some(ack), Some(x1)) if ack == x1 => format!(
                    "Since the SYN had no ACK, the reset carries seq 0 and ack x+1 = {x1}, acknowledging the SYN."
                ),
                (seq, ack, _) => format!(
                    "The reset carries seq {seq}{}.",
                    ack.map_or(String::new(), |v| format!(" and ack {v}"))
                ),
            };
            format!(
                "The server refuses the connection: nothing listens on port {}{} (or a firewall rejects it with a reset). A SYN to a closed port draws a reset (RFC 9293 §3.10.7.1). {numbers} The client accepts it because it acknowledges the SYN (RFC 9293 §3.10.7.3), and its connect() fails with \"connection refused\".",
                a.server.port,
                service(ctx)
            )
        }
        (Side::Client, Verdict::Aborted) => format!(
            "The client resets instead of completing the handshake: RST with seq {}{}, the number the SYN-ACK acknowledged. A TCP sends exactly this when a SYN-ACK arrives for a connection it has no record of (RFC 9293 §3.10.7.1): the SYN was made by a program that builds its own packets, such as a SYN scanner or hping3, not by the client's connect(); or the client gave up. The server, in SYN-RECEIVED, accepts a reset whose seq is exactly x+1 and forgets the half-open connection.",
            r.seq,
            if x1 == Some(r.seq) { " = x+1" } else { "" }
        ),
        (Side::Server, Verdict::Aborted) => format!(
            "The server gives up its half-open connection with a reset (seq {}).",
            r.seq
        ),
        (who, _) => format!(
            "The {} resets the connection: its seq, {}, is where the {} expects it, so the reset is accepted (RFC 9293 §3.10.7.4, RFC 5961 §3) and the connection ends at once, without the FIN exchange.",
            side(who),
            r.seq,
            side(who.other())
        ),
    }
}

fn fin(ctx: &Ctx<'_>, r: &Row) -> String {
    let who = side(r.from);
    let other = side(r.from.other());
    let fin_seq = r.seq.wrapping_add(r.payload_len);
    let data = if r.payload_len > 0 {
        format!(", carrying {} bytes of data as well", r.payload_len)
    } else {
        String::new()
    };
    let first = !earlier(ctx, r).any(|x| x.from != r.from && x.has(tcp::FIN));
    format!(
        "The {who} closes its direction of the connection with FIN{data}: it has nothing more to send. {} The FIN uses up one sequence number, {fin_seq}, so the {other} will acknowledge {}.",
        if first {
            format!("The {who} closes first (the active close).")
        } else {
            format!("The {who} closes too, after the {other} (the passive close).")
        },
        fin_seq.wrapping_add(1)
    )
}

fn ack_only(ctx: &Ctx<'_>, r: &Row) -> String {
    let who = side(r.from);
    let other = side(r.from.other());
    let ack = r.ack_field;
    let last = earlier(ctx, r).rev().find(|x| x.from != r.from);
    let what = match last {
        Some(p) if p.has(tcp::FIN) && p.seq.wrapping_add(p.payload_len).wrapping_add(1) == ack => {
            format!("the {other}'s FIN")
        }
        Some(p) if p.payload_len > 0 && p.seq.wrapping_add(p.payload_len) == ack => {
            format!("the {} bytes of data the {other} sent", p.payload_len)
        }
        _ => format!("everything the {other} sent before sequence number {ack}"),
    };
    format!("A pure acknowledgment from the {who}: ack {ack} acknowledges {what}.")
}

/// The data length, where the line's notation has not said it.
fn payload(ctx: &Ctx<'_>, s: &Seen<'_>, t: &mut Taught) -> Vec<String> {
    let r = s.row;
    let n = r.payload_len;
    let mut v = Vec::new();
    if r.has(tcp::SYN) && n > 0 {
        let x = r.seq;
        v.push(format!(
            "{n} bytes of data ride in the SYN (TCP Fast Open, RFC 7413). tcpdump writes the range as seq plus the data length, {x}:{}; counting the SYN, the data really takes x+1 = {} to x+{n} = {}.",
            x.wrapping_add(n),
            x.wrapping_add(1),
            x.wrapping_add(n)
        ));
    } else if !ctx.style.classic && n == 0 && t.first("len0") {
        v.push("length 0: the segment carries no data.".into());
    } else if !ctx.style.classic && n > 0 && t.first("len") {
        v.push(format!("length {n}: the bytes of data in the segment."));
    }
    v
}

/// The notes on the ladder row that the lead has not told.
fn notes(ctx: &Ctx<'_>, s: &Seen<'_>) -> Vec<String> {
    let r = s.row;
    let mut v = Vec::new();
    for n in &r.notes {
        match n {
            Note::LostAfterCapturePoint => v.push("The client never received this SYN-ACK: it sent its SYN again afterwards. The capture saw the SYN-ACK, so it was lost after the capture point (on the way, or dropped by the client's own firewall).".into()),
            Note::PortReuse => {
                let prev = ctx.a.events.iter().find_map(|e| match e.kind {
                    EventKind::PortReuse { previous_isn, previous_end } => Some((previous_isn, previous_end)),
                    _ => None,
                });
                if let Some((isn, end)) = prev {
                    let gap = duration(r.time.micros_since(end), ctx.ladder.precision);
                    let d = seq::diff(r.seq, isn);
                    v.push(format!(
                        "These ports were used by an earlier connection, with ISN {isn}, last seen {gap} before. This SYN's ISN is {} {} it: {}",
                        d.unsigned_abs(),
                        if d > 0 { "above" } else { "below" },
                        if d > 0 {
                            "a new connection on the same ports, told apart by its new, higher ISN."
                        } else {
                            "a server still holding the old connection may take this SYN for an old duplicate."
                        }
                    ));
                }
            }
            Note::BadChecksum => v.push("Its TCP checksum is wrong. In a capture taken on the sending host that usually means checksum offload: the network card fills the checksum in after the capture saw the packet.".into()),
            Note::AfterGap => v.push("It acknowledges data that the capture does not hold: a segment was sent, and received, but not captured.".into()),
            _ => {}
        }
    }
    if r.role == Role::SynRetransmission {
        let before: Vec<&Row> = earlier(ctx, r).collect();
        let previous = before
            .iter()
            .rposition(|x| x.from == Side::Client && pure_syn(x));
        let since_previous = previous.map_or(&before[..], |i| &before[i + 1..]);
        let answered = before
            .iter()
            .any(|x| matches!(x.role, Role::SynAck | Role::SynAckRetransmission));
        let unacceptable = since_previous.iter().rev().find(|x| {
            x.role == Role::InvalidSynAck || (x.role == Role::IgnoredRst && x.has(tcp::ACK))
        });
        let rejected = unacceptable.is_some();
        // Linux re-arms its retransmission timer to its minimum, a few clock
        // ticks, when an unacceptable ACK arrives in SYN-SENT before any
        // retransmission (tcp_rcv_synsent_state_process).
        let quick = unacceptable
            .filter(|u| r.since_us - u.since_us < 50_000.0 && first_retry_of(&before, previous));
        let first_retry = first_retry_of(&before, previous);
        let gap_s = previous.map_or(0.0, |i| (r.since_us - before[i].since_us) / 1e6);
        v.push(if answered {
            "A SYN-ACK came before it in the capture: the client sends its SYN again because that SYN-ACK never reached it.".into()
        } else if let Some(u) = quick {
            format!(
                "It follows the unacceptable {} by {}: the client is still waiting for a real answer, and Linux, when an unacceptable acknowledgment arrives in SYN-SENT before any retransmission, re-arms its retransmission timer to its minimum, so the SYN goes out again almost at once.",
                if u.role == Role::InvalidSynAck { "SYN-ACK" } else { "reset" },
                duration(r.since_us - u.since_us, ctx.ladder.precision)
            )
        } else if rejected {
            "The only answers since the last SYN were unacceptable, so the client is still waiting for an answer to its SYN.".into()
        } else if first_retry && (0.9..1.3).contains(&gap_s) {
            "No answer had come back, so the client's retransmission timer fired: the first wait, about 1 s, is the initial retransmission timeout of RFC 6298 §2.1.".into()
        } else {
            "No answer had come back, so the client's retransmission timer fired.".into()
        });
    }
    v
}
