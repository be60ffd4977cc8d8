//! The TCP printer, after tcpdump 4.99's `print-tcp.c` and `print-mptcp.c`.

use super::ip::ip6_final_destination;
use super::optwalk::{self, OptEnd};
use super::out::Out;
use super::{payload, rel_base, tcp_flag_letters, Pkt, Printer, Trunc, R};
use crate::wire::ipv4::Ipv4;
use crate::wire::tcp::*;
use crate::wire::{checksum_should_be, tcp_checksum_v4, tcp_checksum_v6, Addr};

/// What the TCP printer needs to know of the IP layer below it.
#[derive(Clone, Copy)]
pub(super) struct IpContext {
    /// Offset of the IP header in the packet.
    pub ip: usize,
    pub version: u8,
    pub src: Addr,
    pub dst: Addr,
    /// The IP header's own protocol field says TCP (false when IPv6 extension
    /// headers come first: tcpdump then prints ports without addresses).
    pub first_is_tcp: bool,
}

pub(super) fn tcp_print(
    p: &mut Printer,
    k: &mut Pkt<'_>,
    bp: usize,
    length: u32,
    ip: IpContext,
    fragmented: bool,
) -> R<()> {
    k.proto = "tcp";
    if !k.s.ttest(bp + 2, 2) {
        p.names.host(k.out, ip.src);
        k.out.s(" > ");
        p.names.host(k.out, ip.dst);
        k.out.c(b':');
        k.print_trunc();
        return Ok(());
    }
    let sport = k.s.be16(bp)?;
    let dport = k.s.be16(bp + 2)?;
    let addrs = ip.first_is_tcp.then_some((ip.src, ip.dst));
    endpoints(p, k.out, addrs, (sport, dport));
    if !k.s.ttest(bp, HEADER_LEN) {
        k.print_trunc();
        return Ok(());
    }
    let mut hlen = ((k.s.u8(bp + 12)? >> 4) as u32) * 4;
    if hlen < HEADER_LEN as u32 {
        k.out
            .s(" tcp ")
            .u(length.wrapping_sub(hlen))
            .s(" [bad hdr length ")
            .u(hlen)
            .s(" - too short, < 20]");
        return Ok(());
    }
    let mut seq = k.s.be32(bp + 4)?;
    let mut ack = k.s.be32(bp + 8)?;
    let win = k.s.be16(bp + 14)?;
    let urp = k.s.be16(bp + 18)?;
    if p.opts.quiet {
        k.out.s("tcp ").u(length.wrapping_sub(hlen));
        if hlen > length {
            k.out
                .s(" [bad hdr length ")
                .u(hlen)
                .s(" - too long, > ")
                .u(length)
                .c(b']');
        }
        return Ok(());
    }
    let flags = k.s.u8(bp + 13)?;
    k.out.s("Flags [");
    tcp_flag_letters(k.out, flags);
    k.out.c(b']');

    let (mut thseq, mut thack, mut rev) = (0u32, 0u32, false);
    if !p.opts.absolute && flags & ACK != 0 {
        // tcpdump records base numbers per conversation under a canonical
        // direction (lower port first, then lower address) and never forgets.
        let (src, dst) = (ip.src.octets(), ip.dst.octets());
        rev = sport > dport || (sport == dport && src > dst);
        let port = if rev {
            ((dport as u32) << 16) | sport as u32
        } else {
            ((sport as u32) << 16) | dport as u32
        };
        let syn = flags & SYN != 0;
        // (base seq, base ack) of the canonical direction, as a new entry holds them.
        let fresh = if rev {
            (ack.wrapping_sub(1), seq)
        } else {
            (seq, ack.wrapping_sub(1))
        };
        let (base, known) = match (ip.src, ip.dst) {
            (Addr::V4(s), Addr::V4(d)) => {
                let key = if rev { (d, s, port) } else { (s, d, port) };
                rel_base(&mut p.seq.v4, key, syn, fresh)
            }
            (Addr::V6(s), Addr::V6(d)) => {
                let key = if rev { (d, s, port) } else { (s, d, port) };
                rel_base(&mut p.seq.v6, key, syn, fresh)
            }
            _ => (fresh, false),
        };
        (thseq, thack) = base;
        if known {
            if rev {
                seq = seq.wrapping_sub(thack);
                ack = ack.wrapping_sub(thseq);
            } else {
                seq = seq.wrapping_sub(thseq);
                ack = ack.wrapping_sub(thack);
            }
        }
    }
    p.shown = Some((seq, ack));
    if hlen > length {
        k.out
            .s(" [bad hdr length ")
            .u(hlen)
            .s(" - too long, > ")
            .u(length)
            .c(b']');
        return Ok(());
    }
    if p.opts.verbose > 0 && !fragmented && k.s.ttest(bp, length as usize) {
        let seg = &k.s.data[bp..bp + length as usize];
        let sum = if ip.version == 4 {
            let iph = Ipv4::new_checked(&k.s.data[ip.ip..]).expect("IPv4 header was checked");
            let d = if iph.header_len() == 20 {
                *iph.dst_bytes()
            } else {
                iph.final_destination()
            };
            tcp_checksum_v4(iph.src_bytes(), &d, seg)
        } else {
            let s: [u8; 16] = k.s.data[ip.ip + 8..ip.ip + 24].try_into().unwrap();
            tcp_checksum_v6(&s, &ip6_final_destination(k, ip.ip), seg)
        };
        let field = k.s.be16(bp + 16)?;
        k.out.s(", cksum 0x").x0(field as u64, 4);
        if sum != 0 {
            k.out
                .s(" (incorrect -> 0x")
                .x0(checksum_should_be(field, sum) as u64, 4)
                .c(b')');
        } else {
            k.out.s(" (correct)");
        }
    }
    let length = length - hlen;
    if p.opts.verbose > 1 || length > 0 || flags & (SYN | FIN | RST) != 0 {
        k.out.s(", seq ").u(seq);
        if length > 0 {
            k.out.c(b':').u(seq.wrapping_add(length));
        }
    }
    ack_win_urg(k.out, ",", flags, (ack, win, urp));
    if hlen > HEADER_LEN as u32 {
        hlen -= HEADER_LEN as u32;
        k.out.s(", options [");
        let mut ch = false;
        let payload = (bp + ((k.s.u8(bp + 12)? >> 4) as usize) * 4, length);
        let r = options(
            k,
            bp + HEADER_LEN,
            hlen,
            flags,
            payload,
            rev,
            (thseq, thack),
            &mut ch,
        );
        match r {
            Ok(()) => {
                k.out.c(b']');
            }
            Err(OptEnd::Bad) => {
                k.out.s("[bad opt]");
                if ch {
                    k.out.c(b']');
                }
                return Ok(());
            }
            Err(OptEnd::Trunc) => {
                k.print_trunc();
                if ch {
                    k.out.c(b'>');
                }
                return Ok(());
            }
            Err(OptEnd::Jump) => return Err(Trunc),
        }
    }
    k.out.s(", length ").u(length);
    if length == 0 {
        return Ok(());
    }
    let header_len = ((k.s.u8(bp + 12)? >> 4) as usize) * 4;
    if !k.s.ttest(bp, header_len) {
        k.out
            .s(" [remaining caplen(")
            .u(k.s.available(bp))
            .s(") < header length(")
            .u(header_len)
            .s(")]");
        return Err(Trunc);
    }
    if flags & RST != 0 && p.opts.verbose > 0 {
        rst_data(k, bp + header_len, length, print_char);
        return Ok(());
    }
    payload::print(p, k, bp + header_len, length, sport, dport)
}

/// `SRC.SPORT > DST.DPORT: `, or `SPORT > DPORT: ` when the IP header does
/// not lead straight to TCP (3.x and 4.x alike).
pub(super) fn endpoints(
    p: &mut Printer,
    out: &mut Vec<u8>,
    addrs: Option<(Addr, Addr)>,
    (sport, dport): (u16, u16),
) {
    match addrs {
        Some((src, dst)) => {
            p.names.host(out, src);
            out.c(b'.');
            p.names.tcp_port(out, sport);
            out.s(" > ");
            p.names.host(out, dst);
            out.c(b'.');
            p.names.tcp_port(out, dport);
        }
        None => {
            p.names.tcp_port(out, sport);
            out.s(" > ");
            p.names.tcp_port(out, dport);
        }
    }
    out.s(": ");
}

/// ` ack N` when ACK is set, ` win N`, ` urg N` when URG is set, each after
/// `sep` (`,` in 4.x lines, nothing in 3.x lines).
pub(super) fn ack_win_urg(
    out: &mut Vec<u8>,
    sep: &str,
    flags: u8,
    (ack, win, urp): (u32, u16, u16),
) {
    if flags & ACK != 0 {
        out.s(sep).s(" ack ").u(ack);
    }
    out.s(sep).s(" win ").u(win);
    if flags & URG != 0 {
        out.s(sep).s(" urg ").u(urp);
    }
}

/// `print_tcp_rst_data`: up to 30 bytes of RST payload, each through `put`
/// (4.x's `fn_print_char`, 3.x's `safeputchar`), so raw packet bytes never
/// reach the terminal. (3.x's loop also read the byte just past the
/// capture; that byte is not printed.)
pub(super) fn rst_data(k: &mut Pkt<'_>, at: usize, length: u32, put: fn(&mut Vec<u8>, u8)) {
    k.out.s(if k.s.ttest(at, length as usize) {
        " [RST"
    } else {
        " [!RST"
    });
    let mut n = length as usize;
    if n > 30 {
        n = 30;
        k.out.c(b'+');
    }
    k.out.c(b' ');
    let end = at.saturating_add(n).min(k.s.end);
    for i in at..end {
        put(k.out, k.s.data[i]);
    }
    k.out.c(b']');
}

/// tcpdump's `fn_print_char`: printable ASCII as is, the rest escaped, so raw
/// packet bytes never reach the terminal.
pub(crate) fn print_char(out: &mut Vec<u8>, mut c: u8) {
    if !c.is_ascii() {
        c &= 0x7f;
        out.s("M-");
    }
    if !(c == b' ' || c.is_ascii_graphic()) {
        c ^= 0x40;
        out.c(b'^');
    }
    out.c(c);
}

/// tcpdump's option names (`tcp_option_values`); `CCECHO` is empty there.
fn option_name(out: &mut Vec<u8>, opt: u8) {
    let name = match opt {
        OPT_EOL => "eol",
        OPT_NOP => "nop",
        OPT_MSS => "mss",
        OPT_WSCALE => "wscale",
        OPT_SACK_OK => "sackOK",
        OPT_SACK => "sack",
        OPT_ECHO => "echo",
        OPT_ECHOREPLY => "echoreply",
        OPT_TIMESTAMP => "TS",
        OPT_CC => "cc",
        OPT_CCNEW => "ccnew",
        OPT_CCECHO => "",
        OPT_MD5 => "md5",
        OPT_SCPS => "scps",
        OPT_UTO => "uto",
        OPT_TCP_AO => "tcp-ao",
        OPT_MPTCP => "mptcp",
        OPT_FASTOPEN => "tfo",
        OPT_EXPERIMENT2 => "exp",
        _ => {
            out.s("unknown-").u(opt);
            return;
        }
    };
    out.s(name);
}

#[allow(clippy::too_many_arguments)]
fn options(
    k: &mut Pkt<'_>,
    cp: usize,
    hlen: u32,
    flags: u8,
    payload: (usize, u32),
    rev: bool,
    (thseq, thack): (u32, u32),
    ch: &mut bool,
) -> Result<(), OptEnd> {
    optwalk::walk(k, cp, hlen, OptEnd::Jump, ch, |k, o| {
        let (cp, len) = (o.at, o.len);
        let mut datalen: u32 = 0;
        option_name(k.out, o.kind);
        match o.kind {
            OPT_MSS => {
                datalen = 2;
                o.check(k, datalen)?;
                k.out.c(b' ').u(k.s.be16(cp)?);
            }
            OPT_WSCALE => {
                datalen = 1;
                o.check(k, datalen)?;
                k.out.c(b' ').u(k.s.u8(cp)?);
            }
            OPT_SACK => {
                datalen = len - 2;
                if datalen % 8 != 0 {
                    k.out.s(" invalid sack");
                } else {
                    k.out.c(b' ').u(datalen / 8).c(b' ');
                    let mut i = 0;
                    while i < datalen {
                        o.check(k, i + 4)?;
                        let mut s = k.s.be32(cp + i as usize)?;
                        o.check(k, i + 8)?;
                        let mut e = k.s.be32(cp + i as usize + 4)?;
                        if rev {
                            s = s.wrapping_sub(thseq);
                            e = e.wrapping_sub(thseq);
                        } else {
                            s = s.wrapping_sub(thack);
                            e = e.wrapping_sub(thack);
                        }
                        k.out.c(b'{').u(s).c(b':').u(e).c(b'}');
                        i += 8;
                    }
                }
            }
            OPT_CC | OPT_CCNEW | OPT_CCECHO | OPT_ECHO | OPT_ECHOREPLY => {
                datalen = 4;
                o.check(k, datalen)?;
                k.out.c(b' ').u(k.s.be32(cp)?);
            }
            OPT_TIMESTAMP => {
                datalen = 8;
                o.check(k, datalen)?;
                k.out
                    .s(" val ")
                    .u(k.s.be32(cp)?)
                    .s(" ecr ")
                    .u(k.s.be32(cp + 4)?);
            }
            OPT_MD5 => {
                datalen = 16;
                o.check(k, datalen)?;
                k.out.c(b' ');
                // tcpdump built with libcrypto cannot check without -M's secret.
                if !k.s.ttest(payload.0, payload.1 as usize) {
                    k.out.s("snaplen too short, ");
                } else {
                    k.out.s("shared secret not supplied with -M, ");
                }
                k.out.s("can't check - ");
                for i in 0..16 {
                    k.out.x0(k.s.u8(cp + i)? as u64, 2);
                }
            }
            OPT_SCPS => {
                datalen = 2;
                o.check(k, datalen)?;
                k.out
                    .s(" cap ")
                    .x0(k.s.u8(cp)? as u64, 2)
                    .s(" id ")
                    .u(k.s.u8(cp + 1)?);
            }
            OPT_TCP_AO => {
                datalen = len - 2;
                if datalen < 2 {
                    k.out.s(" (invalid)");
                } else {
                    o.check(k, 1)?;
                    k.out.s(" keyid ").u(k.s.u8(cp)?);
                    o.check(k, 2)?;
                    k.out.s(" rnextkeyid ").u(k.s.u8(cp + 1)?);
                    if datalen > 2 {
                        k.out.s(" mac 0x");
                        for i in 2..datalen {
                            o.check(k, i + 1)?;
                            k.out.x0(k.s.u8(cp + i as usize)? as u64, 2);
                        }
                    }
                }
            }
            OPT_EOL | OPT_NOP | OPT_SACK_OK => {}
            OPT_UTO => {
                datalen = 2;
                o.check(k, datalen)?;
                let mut uto = k.s.be16(cp)? as u32;
                k.out.s(" 0x").x(uto as u64);
                if uto & 1 != 0 {
                    uto = (uto >> 1) * 60;
                } else {
                    uto >>= 1;
                }
                k.out.c(b' ').u(uto);
            }
            OPT_MPTCP => {
                datalen = len - 2;
                o.check(k, datalen)?;
                let saved = k.s.end;
                k.s.end = k.s.end.min(cp - 2 + len as usize);
                let r = mptcp_print(k, cp - 2, len, flags);
                k.s.end = saved;
                if !r? {
                    return Err(OptEnd::Bad);
                }
            }
            OPT_FASTOPEN => {
                datalen = len - 2;
                o.check(k, datalen)?;
                k.out.c(b' ');
                fastopen(k, cp, datalen, false)?;
            }
            OPT_EXPERIMENT2 => {
                datalen = len - 2;
                o.check(k, datalen)?;
                if datalen < 2 {
                    return Err(OptEnd::Bad);
                }
                let magic = k.s.be16(cp)?;
                k.out.c(b'-');
                if magic == TFO_MAGIC {
                    fastopen(k, cp + 2, datalen - 2, true)?;
                } else {
                    k.out.x0(magic as u64, 4);
                }
            }
            _ => {
                datalen = len - 2;
                if datalen > 0 {
                    k.out.s(" 0x");
                }
                for i in 0..datalen {
                    o.check(k, i + 1)?;
                    k.out.x0(k.s.u8(cp + i as usize)? as u64, 2);
                }
            }
        }
        Ok(datalen)
    })
}

fn fastopen(k: &mut Pkt<'_>, cp: usize, datalen: u32, exp: bool) -> R<()> {
    if exp {
        k.out.s("tfo");
    }
    if datalen == 0 {
        k.out.s(" cookiereq");
    } else if datalen % 2 != 0 || !(4..=16).contains(&datalen) {
        k.out.s(" (invalid)");
    } else {
        k.out.s(" cookie ");
        for i in 0..datalen as usize {
            k.out.x0(k.s.u8(cp + i)? as u64, 2);
        }
    }
    Ok(())
}

/// `mptcp_print`: false when the option does not fit its subtype (`[bad opt]`).
fn mptcp_print(k: &mut Pkt<'_>, cp: usize, len: u32, flags: u8) -> R<bool> {
    k.proto = "mptcp";
    if len < 3 {
        return Ok(false);
    }
    let subtype = ((k.s.u8(cp + 2)? >> 4) & 0xf).min(8);
    k.out.c(b' ').u(len);
    const NAMES: [&str; 9] = [
        "capable",
        "join",
        "dss",
        "add-addr",
        "rem-addr",
        "prio",
        "fail",
        "fast-close",
        "unknown",
    ];
    k.out.c(b' ').s(NAMES[subtype as usize]);
    match subtype {
        0 => mp_capable(k, cp, len, flags),
        1 => mp_join(k, cp, len, flags),
        2 => mp_dss(k, cp, len, flags),
        3 => mp_add_addr(k, cp, len),
        4 => {
            if len < 4 {
                return Ok(false);
            }
            k.out.s(" id");
            for i in 0..len - 3 {
                k.out.c(b' ').u(k.s.u8(cp + 3 + i as usize)?);
            }
            Ok(true)
        }
        5 => {
            if len != 3 && len != 4 {
                return Ok(false);
            }
            if k.s.u8(cp + 2)? & 1 != 0 {
                k.out.s(" backup");
            } else {
                k.out.s(" non-backup");
            }
            if len == 4 {
                k.out.s(" id ").u(k.s.u8(cp + 3)?);
            }
            Ok(true)
        }
        6 => {
            if len != 12 {
                return Ok(false);
            }
            k.out.s(" seq ").u(k.s.be64(cp + 4)?);
            Ok(true)
        }
        7 => {
            if len != 12 {
                return Ok(false);
            }
            k.out.s(" key 0x").x(k.s.be64(cp + 4)?);
            Ok(true)
        }
        _ => Ok(true),
    }
}

fn mp_capable(k: &mut Pkt<'_>, cp: usize, len: u32, flags: u8) -> R<bool> {
    if !((len == 12 || len == 4) && flags & SYN != 0)
        && !((len == 20 || len == 22) && flags & (SYN | ACK) == ACK)
    {
        return Ok(false);
    }
    let version = k.s.u8(cp + 2)? & 0xf;
    match version {
        0 | 1 => {
            k.out.s(" v").u(version);
        }
        v => {
            k.out.s(" Unknown Version (").u(v).c(b')');
            return Ok(true);
        }
    }
    if k.s.u8(cp + 3)? & 0x80 != 0 {
        k.out.s(" csum");
    }
    if len == 12 || len >= 20 {
        k.out.s(" {0x").x(k.s.be64(cp + 4)?);
        if len >= 20 {
            k.out.s(",0x").x(k.s.be64(cp + 12)?);
        }
        k.out.c(b'}');
    }
    Ok(true)
}

fn mp_join(k: &mut Pkt<'_>, cp: usize, len: u32, flags: u8) -> R<bool> {
    let fits = (len == 12 && flags & SYN != 0)
        || (len == 16 && flags & (SYN | ACK) == (SYN | ACK))
        || (len == 24 && flags & ACK != 0);
    if !fits {
        return Ok(false);
    }
    if len != 24 {
        if k.s.u8(cp + 2)? & 1 != 0 {
            k.out.s(" backup");
        }
        k.out.s(" id ").u(k.s.u8(cp + 3)?);
    }
    match len {
        12 => {
            k.out
                .s(" token 0x")
                .x(k.s.be32(cp + 4)? as u64)
                .s(" nonce 0x")
                .x(k.s.be32(cp + 8)? as u64);
        }
        16 => {
            k.out
                .s(" hmac 0x")
                .x(k.s.be64(cp + 4)?)
                .s(" nonce 0x")
                .x(k.s.be32(cp + 12)? as u64);
        }
        24 => {
            // tcpdump reads these 20 bytes without a bounds check.
            k.out.s(" hmac 0x");
            for i in 0..20 {
                let b = k.s.data.get(cp + 4 + i).copied().unwrap_or(0);
                k.out.x0(b as u64, 2);
            }
        }
        _ => {}
    }
    Ok(true)
}

fn mp_dss(k: &mut Pkt<'_>, cp: usize, len: u32, flags: u8) -> R<bool> {
    if len < 4 || flags & SYN != 0 {
        return Ok(false);
    }
    let f = k.s.u8(cp + 3)?;
    if f & 0x10 != 0 {
        k.out.s(" fin");
    }
    let mut at = cp + 4;
    let mut left = len - 4;
    if f & 0x01 != 0 {
        k.out.s(" ack ");
        if !dss_number(k, &mut at, &mut left, f & 0x02 != 0)? {
            return Ok(false);
        }
    }
    if f & 0x04 != 0 {
        k.out.s(" seq ");
        if !dss_number(k, &mut at, &mut left, f & 0x08 != 0)? {
            return Ok(false);
        }
        if left < 4 {
            return Ok(false);
        }
        k.out.s(" subseq ").u(k.s.be32(at)?);
        at += 4;
        left -= 4;
        if left < 2 {
            return Ok(false);
        }
        k.out.s(" len ").u(k.s.be16(at)?);
        at += 2;
        left -= 2;
        if left >= 2 {
            k.out.s(" csum 0x").x(k.s.be16(at)? as u64);
            left -= 2;
        }
    }
    Ok(left == 0)
}

/// A DSS data-level number: 8 bytes when `wide`, else 4; false when it does
/// not fit in what is left of the option.
fn dss_number(k: &mut Pkt<'_>, at: &mut usize, left: &mut u32, wide: bool) -> R<bool> {
    let n = if wide { 8 } else { 4 };
    if *left < n {
        return Ok(false);
    }
    if wide {
        k.out.u(k.s.be64(*at)?);
    } else {
        k.out.u(k.s.be32(*at)?);
    }
    *at += n as usize;
    *left -= n;
    Ok(true)
}

fn mp_add_addr(k: &mut Pkt<'_>, cp: usize, len: u32) -> R<bool> {
    if !matches!(len, 8 | 10 | 16 | 18 | 20 | 22 | 28 | 30) {
        return Ok(false);
    }
    let name = match k.s.u8(cp + 2)? & 0xf {
        6 => "v0-ip6",
        4 => "v0-ip4",
        1 => "v1-echo",
        0 => "v1",
        _ => "[bad version/echo]",
    };
    k.out.c(b' ').s(name).s(" id ").u(k.s.u8(cp + 3)?);
    if matches!(len, 8 | 10 | 16 | 18) {
        k.out.c(b' ');
        Addr::from_slice(k.s.bytes(cp + 4, 4)?)
            .unwrap()
            .write_to(k.out);
        if len == 10 || len == 18 {
            k.out.c(b':').u(k.s.be16(cp + 8)?);
        }
        if len == 16 {
            k.out.s(" hmac 0x").x(k.s.be64(cp + 8)?);
        }
        if len == 18 {
            k.out.s(" hmac 0x").x(k.s.be64(cp + 10)?);
        }
    } else {
        k.out.c(b' ');
        Addr::from_slice(k.s.bytes(cp + 4, 16)?)
            .unwrap()
            .write_to(k.out);
        if len == 22 || len == 30 {
            k.out.c(b':').u(k.s.be16(cp + 20)?);
        }
        if len == 28 {
            k.out.s(" hmac 0x").x(k.s.be64(cp + 20)?);
        }
        if len == 30 {
            k.out.s(" hmac 0x").x(k.s.be64(cp + 22)?);
        }
    }
    Ok(true)
}
