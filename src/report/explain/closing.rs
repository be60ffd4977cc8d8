//! The closing paragraphs under an attempt's packets: the verdict and what
//! led to it, the round-trip legs and where the capture was taken, what the
//! handshake agreed, the arithmetic checks (expected and actual), the
//! heuristics with their evidence, how the connection ended, and how Zeek
//! and Wireshark would see it.

use super::{paragraph, Ctx};
use crate::report::ladder::{duration, offset};
use crate::track::analysis::{Check, Close, Value};
use crate::track::attempt::{EndReason, EventKind};
use crate::track::options::Ecn;
use crate::track::rtt::CapturePoint;
use crate::track::{seq, Side, Verdict};

/// Write the closing paragraphs.
pub(super) fn write(ctx: &Ctx<'_>, out: &mut String) {
    out.push_str(&format!("Verdict: {}.\n", ctx.n.verdict.name()));
    let paragraphs = [
        verdict(ctx),
        timing(ctx),
        agreed(ctx),
        checks(ctx),
        heuristics(ctx),
        afterwards(ctx),
        views(ctx),
    ];
    let mut first = true;
    for p in paragraphs.iter().filter(|p| !p.is_empty()) {
        if !first {
            out.push('\n');
        }
        first = false;
        paragraph(out, p);
    }
}

fn num(v: Option<u32>) -> String {
    v.map_or("?".to_string(), |v| v.to_string())
}

fn dur(ctx: &Ctx<'_>, us: f64) -> String {
    duration(us, ctx.ladder.precision)
}

fn plural(n: u32, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

/// When each SYN was sent, and what the waits between them look like.
fn syn_schedule(ctx: &Ctx<'_>) -> Option<String> {
    let a = ctx.a;
    let start = a.syn?.time;
    let mut times = vec![0.0];
    times.extend(a.events.iter().filter_map(|e| match e.kind {
        EventKind::SynRetransmission { .. } => Some(e.time.micros_since(start)),
        _ => None,
    }));
    if times.len() < 2 {
        return None;
    }
    let p = ctx.ladder.precision;
    let at: Vec<String> = times.iter().map(|t| offset(*t, p)).collect();
    let gaps: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    let waits: Vec<String> = gaps.iter().map(|g| dur(ctx, *g)).collect();
    let steady = gaps.len() >= 2 && gaps.iter().all(|g| (g / gaps[0] - 1.0).abs() < 0.25);
    let doubling = gaps.len() >= 2 && gaps.windows(2).all(|w| (1.6..2.5).contains(&(w[1] / w[0])));
    let shape = if steady {
        format!(
            ": a steady wait of about {:.1} s, as Linux 6.x retries a SYN at first, before it backs off",
            gaps[0] / 1e6
        )
    } else if doubling {
        ": each wait doubles, the exponential backoff of RFC 6298 §5.5".to_string()
    } else {
        String::new()
    };
    Some(format!(
        "The SYNs left at {} (waits of {}){shape}.",
        at.join(", "),
        waits.join(", ")
    ))
}

fn synack_schedule(ctx: &Ctx<'_>) -> Option<String> {
    let a = ctx.a;
    let first = a.synack?.time;
    let start = a.syn.map_or(first, |s| s.time);
    let mut times = vec![first.micros_since(start)];
    times.extend(a.events.iter().filter_map(|e| match e.kind {
        EventKind::SynAckRetransmission { .. } => Some(e.time.micros_since(start)),
        _ => None,
    }));
    if times.len() < 2 {
        return None;
    }
    let at: Vec<String> = times
        .iter()
        .map(|t| offset(*t, ctx.ladder.precision))
        .collect();
    Some(format!("The SYN-ACKs left at {}.", at.join(", ")))
}

fn verdict(ctx: &Ctx<'_>) -> Vec<String> {
    let a = ctx.a;
    let n = ctx.n;
    let x = a.client_isn;
    let y = a.server_isn;
    let x1 = x.map(|x| x.wrapping_add(1));
    let y1 = y.map(|y| y.wrapping_add(1));
    let service = ctx
        .ladder
        .service
        .map_or(String::new(), |s| format!(" ({s})"));
    let mut v = Vec::new();
    match n.verdict {
        Verdict::Established => {
            let synack_ack = a.synack.map(|s| s.ack);
            let third_seq = a.completing.map(|c| c.seq);
            v.push(format!(
                "The three-way handshake completed: the SYN with x = {}; the SYN-ACK with y = {} and ack {}{}; the ACK with ack y+1 = {} and seq {}.",
                num(x),
                num(y),
                num(synack_ack),
                match (synack_ack, x1) {
                    (Some(s), Some(x1)) if s == x1 => " = x+1".to_string(),
                    (Some(s), Some(x1)) if a.syn_data_max > 0 && s.wrapping_sub(x1) == a.syn_data_max => format!(" = x+1+{}", a.syn_data_max),
                    _ => String::new(),
                },
                num(y1),
                num(third_seq)
            ));
            if let Some(h) = n.rtt.handshake {
                v.push(format!("From the first SYN to the completing ACK took {}.", dur(ctx, h)));
            }
        }
        Verdict::Refused => {
            v.push(format!(
                "The server answered the SYN with a reset that acknowledges it (ack x+1 = {}). Nothing was listening on port {}{service} of {}, or a firewall rejected the connection with a reset.",
                num(x1),
                a.server.port,
                a.server.addr
            ));
            if a.ignored_rsts > 0 {
                v.push(format!(
                    "Before it came {} that the client had to ignore: only a reset that acknowledges the SYN ends a connection attempt (RFC 9293 §3.10.7.3), which keeps blind resets from killing it.",
                    plural(a.ignored_rsts, "reset", "resets")
                ));
            }
        }
        Verdict::Unanswered => {
            v.push(if a.syn_count == 1 {
                format!("The client sent one SYN, with ISN x = {}, and the capture holds no acceptable answer.", num(x))
            } else {
                format!("The client sent {} SYNs, all with ISN x = {}, and the capture holds no acceptable answer.", a.syn_count, num(x))
            });
            if let Some(b) = a.bad_synack.as_deref() {
                v.push(format!(
                    "The one answer that came, a SYN-ACK with ack {}, did not acknowledge the SYN, and the client reset it (see above).",
                    b.ack
                ));
            }
            v.push("A SYN that draws nothing, not even a reset, was most likely dropped on the way by a firewall (a closed port would have answered with a reset); or the server is down or unreachable; or its answers took a path the capture does not see.".into());
            if a.syn_count == 1 {
                v.push("There was a single SYN: a scanner sends its probe once (nmap retries a silent port with a new ISN, which makes a new attempt), or the capture ended before any retry.".into());
            }
        }
        Verdict::HalfOpen => {
            v.push(format!(
                "The server answered with a SYN-ACK (y = {}){}, but the client neither acknowledged it nor reset it.",
                num(y),
                if a.synack_count > 1 {
                    format!(" and sent it {} times", a.synack_count)
                } else {
                    String::new()
                }
            ));
            v.push("The server keeps the half-open connection in SYN-RECEIVED and sends its SYN-ACK again, doubling the wait, until it gives up. A client that stays silent sent a SYN it did not mean to follow up (forged, or made by a tool whose reset was suppressed), or vanished, or never received the SYN-ACKs; many such attempts at once make a SYN flood (RFC 4987).".into());
        }
        Verdict::Aborted => match a.rst.map(|r| r.side) {
            Some(Side::Client) => v.push(format!(
                "The server accepted with a SYN-ACK, but the client answered it with a reset, seq x+1 = {}, instead of the final ACK. This is how a half-open (\"SYN\") scan ends: the scanner learns from the SYN-ACK that the port is open and never completes the connection. The same happens when a tool builds the SYN itself (hping3) and the client's own TCP, which knows of no such connection, resets it; or when the client gave up.",
                num(x1)
            )),
            _ => v.push("The server reset its half-open connection after its SYN-ACK.".into()),
        },
        Verdict::SimultaneousOpen => {
            v.push(format!(
                "Both ends sent a SYN, x = {} from {} and y = {} from {}, and each answered the other's with a SYN-ACK, so the connection was established without either end listening (RFC 9293 §3.5, figure 7). synack names the lower address and port the client.",
                num(x),
                a.client,
                num(y),
                a.server
            ));
            if let Some(h) = n.rtt.handshake {
                v.push(format!("From the first SYN until both SYNs were acknowledged took {}.", dur(ctx, h)));
            }
        }
        Verdict::Invalid => v.push("The arithmetic of the handshake failed and the endpoints did not recover inside this attempt; the failed checks below say which number was wrong and by how much.".into()),
        Verdict::Midstream => {
            let first = ctx.ladder.rows.first().map(|r| r.flag_letters()).unwrap_or_default();
            v.push(format!(
                "The capture begins after this connection's handshake (its first packet here is already [{first}]), so neither ISN is known and no verdict on the handshake can be given. synack takes {} for the client{}.",
                a.client,
                if a.client.port > a.server.port { ", the side with the higher port" } else { "" }
            ));
        }
    }
    if a.syn_count > 1 || n.verdict == Verdict::Unanswered {
        v.extend(syn_schedule(ctx));
    }
    if a.synack_count > 1 {
        v.extend(synack_schedule(ctx));
    }
    v
}

fn timing(ctx: &Ctx<'_>) -> Vec<String> {
    let a = ctx.a;
    let n = ctx.n;
    let r = &n.rtt;
    let mut v = Vec::new();
    let leg = |x: Option<f64>| x.map_or("not measured".to_string(), |us| dur(ctx, us));
    if a.syn.is_some() && a.synack.is_some() {
        let (s, c) = (leg(r.syn_to_synack), leg(r.synack_to_ack));
        v.push(if a.completing.is_some() {
            format!("The two legs of the handshake: SYN to SYN-ACK {s}, SYN-ACK to ACK {c}.")
        } else {
            format!("SYN to SYN-ACK took {s}; no ACK completed the handshake.")
        });
        let crafted = n.heuristics.iter().any(|h| h.name.starts_with("scanner_"));
        let by_ttl = n.rtt.notes.iter().any(|note| note.contains("only the"));
        if crafted && by_ttl {
            v.push(format!(
                "synack's TTL rule would place the capture at the {}, but the SYN was made by a tool (hping3, nmap) that may set its own TTL, so where the capture was taken is not known here.",
                n.capture_point.name()
            ));
        } else {
            v.push(match n.capture_point {
            CapturePoint::Client => format!("The capture was taken at the client: there, SYN to SYN-ACK ({s}) is the round trip through the network to the server and back (with the server's own turnaround){}.", if a.completing.is_some() { format!(", while SYN-ACK to ACK ({c}) is only the client's TCP answering") } else { String::new() }),
            CapturePoint::Server => format!("The capture was taken at the server: there, SYN to SYN-ACK ({s}) is only the server's TCP answering{}.", if a.completing.is_some() { format!(", while SYN-ACK to ACK ({c}) is the round trip through the network to the client and back") } else { String::new() }),
            CapturePoint::Middle => "The capture was taken between the two hosts (both TTLs had been decremented on the way): SYN to SYN-ACK is the round trip from here to the server, SYN-ACK to ACK the round trip from here to the client, and together they make the whole round trip.".to_string(),
            CapturePoint::Unknown => "Where the capture was taken cannot be told from these packets, so neither leg can be called the network's round trip.".to_string(),
        });
        }
        if n.verdict == Verdict::SimultaneousOpen {
            v.push("In a simultaneous open these legs pair the client's SYN with the other end's SYN-ACK and that with the client's ACK; the time until both SYNs were acknowledged says more.".into());
        }
        // Karn's-rule notes always; the capture-point reasoning when it
        // reached a conclusion the tool's TTLs do not undermine.
        let shown: Vec<&str> = n
            .rtt
            .notes
            .iter()
            .map(String::as_str)
            .filter(|note| {
                note.starts_with("Karn")
                    || (n.capture_point != CapturePoint::Unknown && !(crafted && by_ttl))
            })
            .collect();
        if !shown.is_empty() {
            v.push(format!("How synack judged: {}.", shown.join("; ")));
        }
    } else if let Some(note) = n.rtt_note() {
        v.push(format!("{note}."));
    }
    if let Some(irtt) = r.irtt {
        v.push(format!(
            "Wireshark's initial RTT (tcp.analysis.initial_rtt, from the last SYN to the first later segment with ACK) is {}.",
            dur(ctx, irtt)
        ));
    }
    v
}

fn agreed(ctx: &Ctx<'_>) -> Vec<String> {
    let n = ctx.n;
    let neg = &n.negotiation;
    let mut v = Vec::new();
    let default = if ctx.a.ip_version == 6 { 1220 } else { 536 };
    match (&neg.agreed, &neg.client) {
        (Some(g), Some(c)) => {
            let s = neg.server.as_ref();
            let mss = |m: Option<u16>| m.map_or(format!("none, so {default}"), |m| m.to_string());
            let mut parts = vec![format!(
                "MSS {} (client {}, server {})",
                g.mss,
                mss(c.mss),
                mss(s.and_then(|s| s.mss))
            )];
            parts.push(match g.wscale {
                Some([cs, ss]) => format!(
                    "window scaling, the client's windows multiplied by {} and the server's by {}",
                    1u64 << cs,
                    1u64 << ss
                ),
                None if c.wscale.is_some() => "no window scaling (the client offered it, the server did not answer with it), so windows stay within 65535 bytes".into(),
                None => "no window scaling".into(),
            });
            parts.push(if g.sack_ok {
                "SACK".into()
            } else {
                "no SACK".into()
            });
            parts.push(if g.timestamps {
                "timestamps".into()
            } else {
                "no timestamps".into()
            });
            v.push(format!("Agreed in the handshake: {}.", parts.join("; ")));
        }
        (None, Some(c)) => {
            let mut offered = Vec::new();
            if let Some(m) = c.mss {
                offered.push(format!("MSS {m}"));
            }
            if let Some(w) = c.wscale {
                offered.push(format!("window scale {w}"));
            }
            if c.sack_ok {
                offered.push("SACK".into());
            }
            if c.timestamps {
                offered.push("timestamps".into());
            }
            if offered.is_empty() {
                v.push("The SYN offered no options at all, which TCP stacks today practically never do: most likely a hand-made packet.".into());
            } else {
                v.push(format!(
                    "The SYN offered {}; no SYN-ACK says what the server would have agreed to.",
                    offered.join(", ")
                ));
            }
        }
        _ => {}
    }
    match n.ecn {
        Ecn::Negotiated => v.push("ECN was negotiated: the SYN carried ECE and CWR, the SYN-ACK ECE alone (RFC 3168 §6.1.1), so packets may be marked ECN-capable and routers may mark congestion instead of dropping.".into()),
        Ecn::Requested => v.push("The client asked for ECN (ECE and CWR on its SYN), but the server did not accept it.".into()),
        Ecn::AccEcn => v.push("Accurate ECN was negotiated (RFC 9768).".into()),
        Ecn::Off => {}
    }
    if let Some(t) = &n.tfo {
        if t.cookie_requested {
            v.push(format!(
                "TCP Fast Open: the client asked for a cookie{}.",
                t.cookie
                    .as_ref()
                    .map_or(", and none was granted".to_string(), |c| format!(
                        " and the server granted {c}; a later SYN to this server may carry data"
                    ))
            ));
        }
        if t.syn_data_bytes > 0 {
            v.push(format!(
                "TCP Fast Open: {} bytes of data rode in the SYN{} and {}.",
                t.syn_data_bytes,
                t.cookie
                    .as_ref()
                    .map_or(String::new(), |c| format!(" with the cookie {c}")),
                if t.syn_data_accepted {
                    "were accepted: the SYN-ACK acknowledges x+1 plus the data"
                } else {
                    "were not accepted: the SYN-ACK acknowledges only x+1"
                }
            ));
        }
    }
    let mptcp = (
        neg.client.as_ref().and_then(|c| c.mptcp.clone()),
        neg.server.as_ref().and_then(|s| s.mptcp.clone()),
    );
    match mptcp {
        (Some(_), Some(_)) => v.push("Multipath TCP: the client offered MP_CAPABLE and the server accepted it (RFC 8684 §3.1).".into()),
        (Some(_), None) if neg.server.is_some() => v.push("Multipath TCP: the client offered it, the server answered as plain TCP.".into()),
        _ => {}
    }
    v
}

/// What a check checks, in words.
fn check_words(c: &Check) -> String {
    match (c.step, c.check) {
        ("syn", "flags") => "the SYN's flags (SYN, without ACK, RST or FIN)".into(),
        ("syn", "ack_field") => "the SYN's acknowledgment field (0)".into(),
        ("syn", "md5_with_tcp_ao") => "MD5 and TCP-AO not used together".into(),
        ("synack", "ack") => "the SYN-ACK's ack (x+1)".into(),
        ("synack", "wscale_offered") => "the SYN-ACK's wscale (only if the SYN offered it)".into(),
        ("synack", "timestamps_offered") => {
            "the SYN-ACK's timestamps (only if the SYN offered them)".into()
        }
        ("synack", "sack_offered") => "the SYN-ACK's sackOK (only if the SYN offered it)".into(),
        ("ack", "seq") => "the third segment's seq (x+1)".into(),
        ("ack", "ack") => "the third segment's ack (y+1)".into(),
        ("ack", "tsecr") => "the third segment's TSecr (the SYN-ACK's TSval)".into(),
        ("rst", "ack") => "the reset's ack (it must acknowledge the SYN)".into(),
        ("rst", "seq") => "the reset's seq (the receiver's next expected number)".into(),
        ("rst", "ack_flag") => "the reset's ACK flag (set, in SYN-SENT)".into(),
        (step, check) => format!("{step} {check}"),
    }
}

fn value(v: &Value) -> String {
    match v {
        Value::Num(n) => n.to_string(),
        Value::Text(t) => t.clone(),
    }
}

fn checks(ctx: &Ctx<'_>) -> Vec<String> {
    let cs = &ctx.n.checks;
    if cs.is_empty() {
        return Vec::new();
    }
    let mut v = Vec::new();
    let passed: Vec<String> = cs.iter().filter(|c| c.ok).map(check_words).collect();
    if !passed.is_empty() {
        v.push(format!("Checks passed: {}.", passed.join("; ")));
    }
    for c in cs.iter().filter(|c| !c.ok) {
        // A distance means something between sequence numbers only.
        let numbers = matches!((c.step, c.check), ("synack" | "ack" | "rst", "ack" | "seq"));
        let off = match (&c.expected, &c.actual) {
            (Value::Num(e), Value::Num(a)) if numbers => {
                let d = seq::diff(*a as u32, *e as u32);
                if d.unsigned_abs() >= 1 << 20 {
                    format!(", {d:+} modulo 2^32")
                } else {
                    format!(", {d:+}")
                }
            }
            _ => String::new(),
        };
        v.push(format!(
            "Check failed: {}: expected {}, actual {}{off}.",
            check_words(c),
            value(&c.expected),
            value(&c.actual)
        ));
    }
    v
}

/// How a heuristic reads as a sentence's start.
fn heuristic_lead(name: &str) -> String {
    match name {
        "syn_cookie" => "the server seems to have answered with a SYN cookie, keeping no state for the SYN (RFC 4987 §3.6)".into(),
        "scanner_hping3" => "the SYN looks made by hping3".into(),
        "scanner_nmap" => "the SYN looks like an nmap SYN-scan probe".into(),
        "isn_crafted" | "isn_shared" => "the ISN looks hand-made".into(),
        "isn_clock" => "the ISN follows the clock of RFC 6528, as Linux's does".into(),
        "isn_not_increasing" => "the ISN did not grow since the previous connection on these ports".into(),
        "syn_flood" => "this attempt is part of a SYN flood".into(),
        "port_scan" => "this attempt is part of a port scan".into(),
        other => other.replace('_', " "),
    }
}

fn heuristics(ctx: &Ctx<'_>) -> Vec<String> {
    let hs = &ctx.n.heuristics;
    if hs.is_empty() {
        return Vec::new();
    }
    let mut v = vec!["Heuristics, which are guesses with their evidence:".to_string()];
    for h in hs {
        let lead = heuristic_lead(h.name);
        let mut chars = lead.chars();
        let capital: String = chars
            .next()
            .map(|c| c.to_ascii_uppercase())
            .into_iter()
            .chain(chars)
            .collect();
        v.push(format!("{capital}; the evidence: {}.", h.evidence));
    }
    v
}

fn afterwards(ctx: &Ctx<'_>) -> Vec<String> {
    let a = ctx.a;
    let n = ctx.n;
    let mut v = Vec::new();
    let connected = matches!(
        n.verdict,
        Verdict::Established | Verdict::SimultaneousOpen | Verdict::Midstream | Verdict::Invalid
    );
    if connected {
        let by = n.closed_by.map_or("", |s| s.name());
        v.push(match n.close {
            Close::Fin => format!("Afterwards the connection was closed with FINs, the {by} first."),
            Close::Reset => format!("Afterwards the connection was reset by the {by}."),
            Close::Open => match a.end_reason {
                Some(EndReason::Timeout) => "The connection went quiet for longer than the idle timeout; it was still open then.".into(),
                _ => "The connection was still open at the end of the capture.".into(),
            },
        });
        v.push(format!(
            "Data: {} from the client, {} from the server.",
            plural(a.bytes[0].min(u64::from(u32::MAX)) as u32, "byte", "bytes"),
            plural(a.bytes[1].min(u64::from(u32::MAX)) as u32, "byte", "bytes")
        ));
    }
    if a.challenge_acks > 0 {
        v.push(format!(
            "A SYN inside the established connection drew {} (RFC 5961 §4.2); synack keeps one connection, as the endpoints did, where Wireshark and Zeek would split it.",
            plural(a.challenge_acks, "challenge ACK", "challenge ACKs")
        ));
    }
    for e in &a.events {
        if let EventKind::ContentGap { side, from, to } = e.kind {
            v.push(format!(
                "The capture misses data: the {} sent the bytes {from} up to {to}, which were acknowledged but never captured.",
                side.name()
            ));
        }
    }
    let bad = a.bad_checksums[0].saturating_add(a.bad_checksums[1]);
    if bad > 0 {
        v.push(format!(
            "{} had a bad TCP checksum.",
            plural(bad, "segment", "segments")
        ));
    }
    if a.events_dropped > 0 {
        v.push(format!(
            "{} more events were counted but not kept.",
            a.events_dropped
        ));
    }
    v
}

fn views(ctx: &Ctx<'_>) -> Vec<String> {
    let n = ctx.n;
    let c = n.wireshark_completeness;
    let bits: Vec<&str> = [
        (1, "SYN"),
        (2, "SYN-ACK"),
        (4, "ACK"),
        (8, "DATA"),
        (16, "FIN"),
        (32, "RST"),
    ]
    .into_iter()
    .filter(|(b, _)| c & b != 0)
    .map(|(_, w)| w)
    .collect();
    vec![format!(
        "For comparison: Zeek would log conn_state {} with history {}; Wireshark's tcp.completeness is {c}{}.",
        n.zeek_conn_state,
        if n.zeek_history.is_empty() { "(empty)" } else { &n.zeek_history },
        if bits.is_empty() { String::new() } else { format!(" ({})", bits.join(", ")) }
    )]
}
