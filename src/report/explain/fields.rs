//! Sentences about the fields of one segment as the line shows them: the
//! flag letters, the sequence-number notation, relative numbers, the window,
//! the options and the IP header's Don't Fragment and ECN bits. Each idea is
//! explained in full the first time it comes up in an attempt.

use super::{Ctx, Seen, Taught};
use crate::report::ladder::Role;
use crate::track::Side;
use crate::wire::tcp::{self, TcpOption};

pub(super) fn side(s: Side) -> &'static str {
    s.name()
}

/// `2^10 = 1024`.
fn power(shift: u8) -> u64 {
    1u64 << shift.min(30)
}

/// The flags set, as words in tcpdump 4.x's order.
fn flag_words(flags: u8) -> Vec<&'static str> {
    [
        (tcp::FIN, "FIN"),
        (tcp::SYN, "SYN"),
        (tcp::RST, "RST"),
        (tcp::PSH, "PSH"),
        (tcp::ACK, "ACK"),
        (tcp::URG, "URG"),
        (tcp::ECE, "ECE"),
        (tcp::CWR, "CWR"),
    ]
    .into_iter()
    .filter(|(bit, _)| flags & bit != 0)
    .map(|(_, w)| w)
    .collect()
}

fn and_list(words: &[&str]) -> String {
    match words {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The meaning of one flag in this segment, for the first time it is met.
fn flag_meaning(ctx: &Ctx<'_>, s: &Seen<'_>, word: &str) -> String {
    let syn = s.row.has(tcp::SYN);
    let ack = s.row.has(tcp::ACK);
    match word {
        "SYN" => "SYN (synchronize sequence numbers) opens a connection: it carries the sender's initial sequence number.".into(),
        "FIN" => "FIN (finish) says the sender has no more data to send; the other direction may still carry data.".into(),
        "RST" => "RST (reset) aborts a connection, or refuses one, at once.".into(),
        "PSH" => "PSH (push) asks the receiver to hand the data to the application now rather than wait for more.".into(),
        "ACK" if ctx.style.classic => "tcpdump 3.x prints no letter for ACK: the \"ack N\" field shows that it is set.".into(),
        "ACK" => "\".\" is ACK: the acknowledgment number is valid, as it is in every segment but the very first SYN.".into(),
        "URG" => "URG says the urgent pointer is valid.".into(),
        "ECE" if syn && !ack => "ECE and CWR together on a SYN ask for Explicit Congestion Notification (ECN, RFC 3168 §6.1.1).".into(),
        "CWR" if syn && !ack => String::new(),
        "ECE" if syn => "ECE without CWR on a SYN-ACK accepts the client's ECN request (RFC 3168 §6.1.1).".into(),
        "ECE" => "ECE (ECN-Echo) tells the sender that a packet of its arrived marked Congestion Experienced.".into(),
        "CWR" => "CWR (Congestion Window Reduced) says the sender has slowed down in answer to an ECE.".into(),
        _ => String::new(),
    }
}

/// What the flag letters of the line mean.
pub(super) fn flags(ctx: &Ctx<'_>, s: &Seen<'_>, t: &mut Taught) -> Vec<String> {
    let r = s.row;
    let words = flag_words(r.flags);
    let mut out = Vec::new();
    // 3.x has no letter for ACK (or URG): its fields show them.
    let lettered: Vec<&str> = words
        .iter()
        .copied()
        .filter(|w| !ctx.style.classic || !matches!(*w, "ACK" | "URG"))
        .collect();
    let verb = if lettered.len() == 1 { "is" } else { "are" };
    if ctx.style.classic {
        let mut letters = Vec::new();
        crate::print::classic::flag_letters(&mut letters, r.flags);
        let letters = String::from_utf8_lossy(&letters).into_owned();
        if lettered.is_empty() {
            out.push("\".\": none of SYN, FIN, RST and PSH is set.".to_string());
            if t.first("dot3") {
                out.push("In tcpdump 3.x the dot is not a flag: it stands in for the letters when none of S, F, R, P, W and E is set, and the ACK flag shows only as \"ack N\".".into());
            }
        } else {
            out.push(format!(
                "\"{letters}\": {} {verb} set.",
                and_list(&lettered)
            ));
        }
    } else if words.is_empty() {
        out.push(
            "Flags [none]: no flag at all is set, which no TCP sends: a probe or damage.".into(),
        );
    } else if words == ["ACK"] {
        out.push("Flags [.]: ACK alone is set.".into());
    } else {
        out.push(format!(
            "Flags [{}]: {} {verb} set.",
            r.flag_letters(),
            and_list(&words)
        ));
    }
    for w in words {
        // ECE and CWR mean one thing on a SYN, another on a SYN-ACK, a third later.
        let place = match (w, r.has(tcp::SYN), r.has(tcp::ACK)) {
            ("ECE" | "CWR", true, false) => "syn",
            ("ECE" | "CWR", true, true) => "synack",
            _ => "any",
        };
        let key = format!("flag:{w}:{place}");
        if t.first(&key) {
            let m = flag_meaning(ctx, s, w);
            if !m.is_empty() {
                out.push(m);
            }
        }
    }
    if s.ae && t.first("flag:AE") {
        out.push(if r.has(tcp::SYN) && !r.has(tcp::ACK) {
            "The AE bit is set as well (tcpdump does not show it): with CWR and ECE it asks for Accurate ECN (RFC 9768).".into()
        } else {
            "The AE bit (Accurate ECN, RFC 9768) is set as well; tcpdump does not show it.".into()
        });
    }
    out
}

/// Does the line show the sequence number (tcpdump prints it for data,
/// SYN, FIN and RST, and always with -vv)?
pub(super) fn seq_printed(ctx: &Ctx<'_>, s: &Seen<'_>) -> bool {
    s.row.payload_len > 0 || s.row.has(tcp::SYN | tcp::FIN | tcp::RST) || ctx.style.verbose > 1
}

/// How the line writes the sequence numbers.
pub(super) fn notation(ctx: &Ctx<'_>, s: &Seen<'_>, t: &mut Taught) -> Option<String> {
    let r = s.row;
    // Data in a SYN starts one number after the SYN's own: the payload
    // sentence says how tcpdump's range reads then.
    if !seq_printed(ctx, s) || (!ctx.style.classic && r.has(tcp::SYN) && r.payload_len > 0) {
        return None;
    }
    let first = s.shown.map_or(r.seq, |v| v.0);
    let n = r.payload_len;
    let last = first.wrapping_add(n);
    if ctx.style.classic {
        if !t.first("range3") {
            return None;
        }
        let mut text = format!(
            "{first}:{last}({n}) is tcpdump 3.x's first:last(nbytes): the sequence numbers from first up to but not including last, and the number of data bytes."
        );
        if n == 0 {
            text.push_str(" With no data, first and last are the same number and nbytes is 0: a SYN or a FIN uses up one sequence number, but the notation counts only data bytes.");
        }
        Some(text)
    } else if n > 0 && t.first("range4") {
        Some(format!(
            "seq {first}:{last} means the data's sequence numbers from {first} up to but not including {last}: {n} bytes."
        ))
    } else {
        None
    }
}

/// When the line shows relative numbers: which absolute numbers they are.
pub(super) fn relative(ctx: &Ctx<'_>, s: &Seen<'_>, t: &mut Taught) -> Option<String> {
    let r = s.row;
    let (seq, ack) = s.shown?;
    if ctx.style.absolute || !r.has(tcp::ACK) {
        return None;
    }
    let mut pairs = Vec::new();
    if seq_printed(ctx, s) && seq != r.seq {
        pairs.push(format!("seq {seq} is {}", r.seq));
    }
    if ack != r.ack_field {
        pairs.push(format!("ack {ack} is {}", r.ack_field));
    }
    if pairs.is_empty() {
        return None;
    }
    Some(if t.first("relative") {
        format!(
            "The line shows relative numbers: without -S, tcpdump subtracts the first sequence numbers it saw in each direction, so {}.",
            and_list(&pairs.iter().map(String::as_str).collect::<Vec<_>>())
        )
    } else {
        format!(
            "In absolute numbers, {}.",
            and_list(&pairs.iter().map(String::as_str).collect::<Vec<_>>())
        )
    })
}

/// What the window field says.
pub(super) fn window(ctx: &Ctx<'_>, s: &Seen<'_>, t: &mut Taught) -> Option<String> {
    let r = s.row;
    let who = side(r.from);
    let w = r.window;
    if r.has(tcp::RST) {
        return (w == 0 && t.first("win:rst"))
            .then(|| "win 0: a reset offers no window.".to_string());
    }
    if r.has(tcp::SYN) {
        let offers_scale = s
            .options
            .iter()
            .any(|o| matches!(o, TcpOption::WindowScale(_)));
        return Some(if t.first("win:syn") {
            format!(
                "win {w} is the {who}'s receive window: how many bytes it can take beyond what it acknowledges. The window of a segment with SYN is never scaled (RFC 7323 §2.2), so this means {w} bytes{}.",
                if offers_scale {
                    ", whatever the wscale option says"
                } else {
                    ""
                }
            )
        } else {
            format!("win {w}: the {who}'s receive window, {w} bytes, not scaled in a SYN either.")
        });
    }
    if w == 0 {
        return Some(format!(
            "win 0: the {who}'s receive buffer is full, and the other side must wait (a zero window)."
        ));
    }
    if ctx.a.syn.is_none() {
        return t.first("win:unknown").then(|| {
            format!("win {w}: without the SYNs, whether this window is scaled, and by how much, cannot be known.")
        });
    }
    match ctx.shift(r.from) {
        Some(shift) if shift > 0 => {
            let bytes = u64::from(w) * power(shift);
            Some(if t.first(&format!("win:scaled:{who}")) {
                format!(
                    "win {w} is scaled now that the handshake is over: the {who} announced a shift of {shift}, so its window is {w} × {} = {bytes} bytes (RFC 7323 §2.3).",
                    power(shift)
                )
            } else {
                format!("win {w} = {bytes} bytes.")
            })
        }
        _ => t.first("win:unscaled").then(|| {
            format!("win {w}: {w} bytes; no window scaling was agreed, so a window can never exceed 65535 bytes.")
        }),
    }
}

/// The 4-byte SACK blocks of an option body.
fn sack_blocks(b: &[u8]) -> Vec<(u32, u32)> {
    b.chunks_exact(8)
        .map(|c| {
            (
                u32::from_be_bytes([c[0], c[1], c[2], c[3]]),
                u32::from_be_bytes([c[4], c[5], c[6], c[7]]),
            )
        })
        .collect()
}

/// The options of the SYN that a SYN-ACK from `side` answers: the client's
/// SYN, or in a simultaneous open the server's own SYN.
fn peer_syn<'a>(ctx: &'a Ctx<'_>, side: Side) -> Option<&'a crate::track::attempt::OptionFacts> {
    match side {
        Side::Server => ctx.a.syn.as_ref().map(|s| &s.options),
        Side::Client => ctx
            .a
            .simultaneous
            .as_ref()
            .and_then(|s| s.server_syn.as_ref())
            .map(|s| &s.options),
    }
}

fn mss_sentence(ctx: &Ctx<'_>, s: &Seen<'_>, v: u16, t: &mut Taught) -> String {
    let r = s.row;
    let who = side(r.from);
    let eth = match (v, s.ipv6) {
        (1460, false) => {
            ", 1500 bytes of Ethernet payload less 20 for the IPv4 header and 20 for the TCP header"
        }
        (1440, true) => {
            ", 1500 bytes of Ethernet payload less 40 for the IPv6 header and 20 for the TCP header"
        }
        _ => "",
    };
    let mut text = if t.first("opt:mss") {
        format!("mss {v} is the {who}'s maximum segment size: the most data it wants to receive in one segment{eth}.")
    } else {
        format!("mss {v}: the {who}'s maximum segment size{eth}.")
    };
    if r.has(tcp::SYN) && v > 0 {
        let w = u32::from(r.window);
        let v32 = u32::from(v);
        let (k, rest) = (w / v32, w % v32);
        text.push_str(&match (k, rest) {
            (0, _) => format!(" Its window, {w} bytes, is less than one full segment."),
            (k, 0) => format!(
                " Its window of {w} bytes holds exactly {k} full-sized segments ({k} × {v})."
            ),
            (k, rest) => format!(
                " Its window of {w} bytes holds {k} full-sized segments and {rest} bytes more."
            ),
        });
    }
    if r.role == Role::SynAck {
        let default = if ctx.a.ip_version == 6 { 1220 } else { 536 };
        let client = ctx.a.syn.and_then(|x| x.options.mss);
        let client_text = client.map_or(
            format!("{default} (the default, as the client's SYN gave no MSS)"),
            |m| m.to_string(),
        );
        text.push_str(&format!(
            " Each side sends segments no larger than the MSS the other announced (RFC 9293 §3.7.1): the client at most {v} bytes of data, the server at most {client_text}."
        ));
    }
    text
}

fn option_sentence(
    ctx: &Ctx<'_>,
    s: &Seen<'_>,
    opt: &TcpOption<'_>,
    t: &mut Taught,
) -> Option<String> {
    let r = s.row;
    let who = side(r.from);
    let syn = r.has(tcp::SYN);
    let synack = syn && r.has(tcp::ACK);
    let classic = ctx.style.classic;
    match *opt {
        TcpOption::Mss(v) => Some(mss_sentence(ctx, s, v, t)),
        TcpOption::Nop => t.first("opt:nop").then(|| {
            "nop is a one-byte no-operation option: padding that aligns the next option on a 4-byte boundary.".into()
        }),
        TcpOption::Eol => t.first("opt:eol").then(|| "eol marks the end of the option list.".into()),
        TcpOption::WindowScale(n) => {
            let cap = if n > 14 { format!(" ({n} is more than the largest shift, 14, and counts as 14: RFC 7323 §2.3)") } else { String::new() };
            Some(if !syn {
                format!("wscale {n} in a segment without SYN has no effect (RFC 7323 §2.2).")
            } else if synack {
                if peer_syn(ctx, r.from).is_some_and(|o| o.wscale.is_some()) {
                    format!("wscale {n}: the {who} agrees to window scaling with a shift of its own, {n} (× {}){cap}; from the next segment on, both sides' windows are scaled.", power(n))
                } else {
                    format!("wscale {n}, although the SYN it answers did not offer window scaling: a SYN-ACK may carry it only if that SYN did (RFC 7323 §2.2).")
                }
            } else {
                format!("wscale {n} offers window scaling (RFC 7323 §2): if the other side agrees, the windows the {who} advertises after the handshake are to be multiplied by 2^{n} = {}{cap}. It never applies to the SYN's own window.", power(n))
            })
        }
        TcpOption::SackPermitted => Some(if synack {
            format!("sackOK: the {who} permits SACK as well, so both sides may use it.")
        } else if t.first("opt:sackok") {
            format!("sackOK permits selective acknowledgments (SACK, RFC 2018): the {who} can take reports of blocks received beyond a gap, so that only the missing data is sent again.")
        } else {
            format!("sackOK: the {who} permits SACK.")
        }),
        TcpOption::Sack(b) => {
            let blocks = sack_blocks(b);
            let list: Vec<String> = blocks.iter().map(|(a, e)| format!("{a} up to {e}")).collect();
            let mut text = format!(
                "The sack option (RFC 2018) says that, beyond the cumulative acknowledgment, the {who} holds the bytes {}.",
                list.join("; ")
            );
            if let Some(ack) = r.ack() {
                if let Some(&(a, e)) = blocks.iter().find(|(_, e)| !crate::track::seq::gt(*e, ack)) {
                    let what = if ctx.a.isn(r.from.other()) == Some(a) && e == a.wrapping_add(1) {
                        " — here the sequence number of the other side's SYN, which arrived twice"
                    } else {
                        ""
                    };
                    text.push_str(&format!(" The block {a}:{e} lies at or below the ack, {ack}: a D-SACK (RFC 2883), reporting a segment received twice{what}."));
                }
            }
            Some(text)
        }
        TcpOption::Timestamps { val, ecr } => {
            let token = if classic { format!("timestamp {val} {ecr}") } else { format!("TS val {val} ecr {ecr}") };
            if t.first("opt:ts") {
                let echo = if ecr == 0 && syn && !synack {
                    " — 0 here, as a SYN has nothing to echo yet"
                } else {
                    ""
                };
                Some(format!("{token} is the timestamps option (RFC 7323 §3): TSval is the {who}'s timestamp clock, and TSecr echoes the latest TSval received from the other side{echo}. Timestamps measure round trips and protect against wrapped sequence numbers."))
            } else {
                None
            }
        }
        TcpOption::FastOpen(cookie) => {
            let hex = crate::track::options::hex(cookie);
            Some(match (r.from, cookie.is_empty()) {
                (Side::Client, true) => "The TCP Fast Open option without a cookie is a cookie request (RFC 7413 §4.1.1): the client asks the server for a cookie, so that a later connection can carry data in its SYN.".to_string(),
                (Side::Client, false) => format!("The TCP Fast Open option carries the cookie {hex}, which the server gave this client earlier (RFC 7413 §4.1.2): with it the server may accept the data in this SYN at once."),
                (Side::Server, _) => format!("The TCP Fast Open option grants the cookie {hex} (RFC 7413 §4.1.1): the client keeps it for its later connections to this server."),
            })
        }
        TcpOption::Mptcp(d) => {
            let subtype = d.first().map_or(0, |b| b >> 4);
            let token = if classic { "opt-30" } else { "mptcp" };
            let kind = match (syn, synack) {
                (true, false) => "syn",
                (true, true) => "synack",
                _ => "other",
            };
            t.first(&format!("opt:mptcp:{subtype}:{kind}")).then(|| match subtype {
                0 if syn && !synack => format!("{token} is Multipath TCP's MP_CAPABLE (RFC 8684 §3.1): the client proposes Multipath TCP, which can spread one connection over several paths."),
                0 if synack => format!("{token} MP_CAPABLE: the server accepts Multipath TCP and sends its key (RFC 8684 §3.1)."),
                0 => format!("{token} MP_CAPABLE again, with both keys: the third segment confirms Multipath TCP (RFC 8684 §3.1)."),
                1 => format!("{token} MP_JOIN (RFC 8684 §3.2) adds this connection as a subflow of an existing Multipath TCP connection."),
                2 => format!("{token} DSS (RFC 8684 §3.3) maps this subflow's bytes to the Multipath TCP connection's own sequence numbers."),
                n => format!("{token} carries Multipath TCP subtype {n} (RFC 8684)."),
            })
        }
        TcpOption::Md5(_) => t.first("opt:md5").then(|| "The MD5 signature option (RFC 2385) authenticates each segment, mostly for BGP sessions.".into()),
        TcpOption::TcpAo(_) => t.first("opt:ao").then(|| "The TCP Authentication Option (RFC 5925) authenticates each segment.".into()),
        TcpOption::Unknown { kind, data } => t.first(&format!("opt:{kind}")).then(|| match kind {
            tcp::OPT_UTO => "The user timeout option (RFC 5482) says how long the sender waits for acknowledgments before giving up.".to_string(),
            k => format!("Option kind {k} ({} bytes of data) is one synack does not interpret.", data.len()),
        }),
        TcpOption::Malformed { kind } => Some(format!("The option list is malformed at kind {kind}: its length is below 2 or runs past the header, so the rest cannot be read.")),
    }
}

/// What the options say.
pub(super) fn options(ctx: &Ctx<'_>, s: &Seen<'_>, t: &mut Taught) -> Vec<String> {
    s.options
        .iter()
        .filter_map(|o| option_sentence(ctx, s, o, t))
        .collect()
}

/// The IP header's Don't Fragment and ECN bits.
pub(super) fn ip(ctx: &Ctx<'_>, s: &Seen<'_>, t: &mut Taught) -> Vec<String> {
    let mut out = Vec::new();
    if s.dont_fragment && t.first("ip:df") {
        let shown = if ctx.style.classic {
            "(DF) is the IP header's Don't Fragment bit"
        } else if ctx.style.verbose > 0 {
            "flags [DF] in the IP header line is the Don't Fragment bit"
        } else {
            "The IP header has the Don't Fragment bit (DF) set, which tcpdump 4.x shows with -v"
        };
        out.push(format!("{shown}: no router may split this datagram; one too big for the next link is dropped and answered with an ICMP \"fragmentation needed\" message, which is how Path MTU Discovery (RFC 1191) finds the largest size that fits the path."));
    }
    let ecn = match s.ip_ecn {
        1 => Some("ECT(1)"),
        2 => Some("ECT(0)"),
        3 => Some("CE"),
        _ => None,
    };
    if let Some(code) = ecn {
        if t.first(&format!("ip:ecn:{code}")) {
            out.push(if code == "CE" {
                "The IP header is marked CE, Congestion Experienced: a router on the way signalled congestion instead of dropping the packet, and the receiver will echo it with ECE (RFC 3168).".to_string()
            } else {
                format!("The IP header marks the packet ECN-capable, {code}: a congested router may mark it Congestion Experienced instead of dropping it (RFC 3168).")
            });
        }
    }
    out
}
