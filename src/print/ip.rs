//! IPv4 and IPv6 printers, after tcpdump's `print-ip.c` and `print-ip6.c`.

use super::out::Out;
use super::tcp::{self, IpContext};
use super::{Pkt, Printer, Trunc, R};
use crate::wire::ipv6::{
    NH_DSTOPTS, NH_FRAGMENT, NH_HOPOPTS, NH_MOBILITY, NH_MOBILITY_OLD, NH_ROUTING,
};
use crate::wire::{checksum_should_be, internet_checksum, Addr, IPPROTO_TCP};

const IPPROTO_UDP: u8 = 17;
const IPPROTO_DCCP: u8 = 33;
const IPPROTO_SCTP: u8 = 132;

/// tcpdump's `ipproto_values`.
pub(super) fn ipproto_name(p: u8) -> Option<&'static str> {
    Some(match p {
        0 => "Options",
        1 => "ICMP",
        2 => "IGMP",
        4 => "IPIP",
        6 => "TCP",
        8 => "EGP",
        9 => "IGRP",
        17 => "UDP",
        33 => "DCCP",
        41 => "IPv6",
        43 => "Routing",
        44 => "Fragment",
        46 => "RSVP",
        47 => "GRE",
        50 => "ESP",
        51 => "AH",
        55 => "Mobile IP",
        58 => "ICMPv6",
        62 => "Mobile IP (old)",
        88 => "EIGRP",
        89 => "OSPF",
        103 => "PIM",
        108 => "Compressed IP",
        112 => "VRRP",
        113 => "PGM",
        132 => "SCTP",
        135 => "Mobility",
        143 => "Ethernet",
        _ => return None,
    })
}

/// The ECN codepoint of a TOS byte as tcpdump names it after the value (3.x
/// and 4.x alike).
pub(super) fn ecn_suffix(tos: u8) -> &'static str {
    match tos & 3 {
        1 => ",ECT(1)",
        2 => ",ECT(0)",
        3 => ",CE",
        _ => "",
    }
}

pub(super) fn addr_at(k: &Pkt<'_>, at: usize, len: usize) -> R<Addr> {
    Ok(Addr::from_slice(k.s.bytes(at, len)?).expect("4 or 16 bytes"))
}

/// `ipN_print`: raw IP of either version.
pub(super) fn ip_n(p: &mut Printer, k: &mut Pkt<'_>, at: usize, length: u32) -> R<()> {
    k.proto = "ipn";
    if length < 1 {
        k.out.s("truncated-ip ").u(length);
        return Ok(());
    }
    match k.s.u8(at)? & 0xf0 {
        0x40 => ip_print(p, k, at, length),
        0x60 => ip6_print(p, k, at, length),
        v => {
            k.out.s("unknown ip ").u(v >> 4);
            Ok(())
        }
    }
}

/// The checks `ip_print` begins with in tcpdump 3.x and 4.x alike: the fixed
/// header captured, the link's length, the header length, then a note when
/// the datagram is longer than the link delivered. `None` when a check ended
/// the line; otherwise the header length and the total length.
pub(super) fn header_checks(k: &mut Pkt<'_>, bp: usize, length: u32) -> R<Option<(u32, u32)>> {
    if !k.s.ttest(bp, 20) {
        k.print_trunc();
        return Ok(None);
    }
    if length < 20 {
        k.out.s("truncated-ip ").u(length);
        return Ok(None);
    }
    let hlen = ((k.s.u8(bp)? & 0x0f) as u32) * 4;
    if hlen < 20 {
        k.out.s("bad-hlen ").u(hlen);
        return Ok(None);
    }
    let ip_len = k.s.be16(bp + 2)? as u32;
    if length < ip_len {
        k.out
            .s("truncated-ip - ")
            .u(ip_len - length)
            .s(" bytes missing! ");
    }
    Ok(Some((hlen, ip_len)))
}

/// `ip_print`.
pub(super) fn ip_print(p: &mut Printer, k: &mut Pkt<'_>, bp: usize, length: u32) -> R<()> {
    k.proto = "ip";
    let v = k.s.u8(bp)? >> 4;
    if v != 4 {
        if v == 6 {
            k.out.s("IP6, wrong link-layer encapsulation");
        } else {
            k.out.s("IP").u(v);
        }
        k.out.s(" (invalid)");
        return Ok(());
    }
    if !p.opts.link {
        k.out.s("IP ");
    }
    let Some((hlen, ip_len)) = header_checks(k, bp, length)? else {
        return Ok(());
    };
    if ip_len < hlen {
        k.out.s("bad-len ").u(ip_len);
        return Ok(());
    }
    let saved = k.push_snaplen(bp, ip_len as usize);
    let r = ip_body(p, k, bp, hlen, ip_len - hlen);
    k.s.end = saved;
    r
}

fn ip_body(p: &mut Printer, k: &mut Pkt<'_>, bp: usize, hlen: u32, len: u32) -> R<()> {
    let off = k.s.be16(bp + 6)?;
    let proto = k.s.u8(bp + 9)?;
    if p.opts.verbose > 0 {
        let tos = k.s.u8(bp + 1)?;
        k.out.s("(tos 0x").x(tos as u64).s(ecn_suffix(tos));
        let ttl = k.s.u8(bp + 8)?;
        if ttl >= 1 {
            k.out.s(", ttl ").u(ttl);
        }
        k.out
            .s(", id ")
            .u(k.s.be16(bp + 4)?)
            .s(", offset ")
            .u((off & 0x1fff) as u32 * 8)
            .s(", flags [");
        let fl = off & 0xe000;
        if fl == 0 {
            k.out.s("none");
        } else {
            let mut sep = "";
            for (bit, name) in [(0x2000u16, "+"), (0x4000, "DF"), (0x8000, "rsvd")] {
                if fl & bit != 0 {
                    k.out.s(sep).s(name);
                    sep = ", ";
                }
            }
        }
        k.out
            .s("], proto ")
            .s(ipproto_name(proto).unwrap_or("unknown"))
            .s(" (")
            .u(proto)
            .s(")");
        k.out.s(", length ").u(k.s.be16(bp + 2)?);
        let mut truncated = false;
        if hlen > 20 {
            k.out.s(", options (");
            if ip_options(k, bp + 20, hlen - 20).is_err() {
                k.out.s(" [truncated-option]");
                truncated = true;
            }
            k.out.c(b')');
        }
        if k.s.ttest(bp, hlen as usize) {
            let sum = internet_checksum(&[&k.s.data[bp..bp + hlen as usize]]);
            if sum != 0 {
                let field = k.s.be16(bp + 10)?;
                k.out
                    .s(", bad cksum ")
                    .x(field as u64)
                    .s(" (->")
                    .x(checksum_should_be(field, sum) as u64)
                    .s(")!");
            }
        }
        k.out.s(")\n    ");
        if truncated {
            let (s, d) = (addr_at(k, bp + 12, 4)?, addr_at(k, bp + 16, 4)?);
            p.names.host(k.out, s);
            k.out.s(" > ");
            p.names.host(k.out, d);
            k.out.s(": ");
            k.print_trunc();
            return Ok(());
        }
    }
    let (src, dst) = (addr_at(k, bp + 12, 4)?, addr_at(k, bp + 16, 4)?);
    if off & 0x1fff == 0 {
        if !matches!(
            proto,
            IPPROTO_TCP | IPPROTO_UDP | IPPROTO_SCTP | IPPROTO_DCCP
        ) {
            p.names.host(k.out, src);
            k.out.s(" > ");
            p.names.host(k.out, dst);
            k.out.s(": ");
        }
        if !k.s.ttest(bp, hlen as usize) {
            k.out
                .s(" [remaining caplen(")
                .u(k.s.available(bp))
                .s(") < header length(")
                .u(hlen)
                .s(")]");
            return Err(Trunc);
        }
        let ctx = IpContext {
            ip: bp,
            version: 4,
            src,
            dst,
            first_is_tcp: true,
        };
        demux(p, k, bp + hlen as usize, len, ctx, off & 0x2000 != 0, proto)
    } else {
        if p.opts.quiet {
            // -qq would stop here; -q still names the protocol.
        }
        p.names.host(k.out, src);
        k.out.s(" > ");
        p.names.host(k.out, dst);
        k.out.c(b':');
        match (p.opts.numeric, proto) {
            (false, IPPROTO_TCP) => k.out.s(" tcp"),
            (false, IPPROTO_UDP) => k.out.s(" udp"),
            _ => k.out.s(" ip-proto-").u(proto),
        };
        Ok(())
    }
}

/// `ip_demux_print`, for the protocols synack prints.
fn demux(
    p: &mut Printer,
    k: &mut Pkt<'_>,
    at: usize,
    len: u32,
    ctx: IpContext,
    fragmented: bool,
    proto: u8,
) -> R<()> {
    if proto == IPPROTO_TCP {
        return tcp::tcp_print(p, k, at, len, ctx, fragmented);
    }
    // Not judged: a short line naming the protocol (only shown with --all).
    if matches!(proto, IPPROTO_UDP | IPPROTO_SCTP | IPPROTO_DCCP) {
        p.names.host(k.out, ctx.src);
        if let (Ok(sp), Ok(dp)) = (k.s.be16(at), k.s.be16(at + 2)) {
            k.out.c(b'.').u(sp).s(" > ");
            p.names.host(k.out, ctx.dst);
            k.out.c(b'.').u(dp).s(": ");
        } else {
            k.out.s(" > ");
            p.names.host(k.out, ctx.dst);
            k.out.s(": ");
        }
    }
    match ipproto_name(proto) {
        Some(name) => k.out.s(name),
        None => k.out.s("ip-proto-").u(proto),
    };
    k.out.s(", length ").u(len);
    Ok(())
}

/// `ip_optprint`: `Err` when an option runs past the capture.
fn ip_options(k: &mut Pkt<'_>, mut at: usize, mut length: u32) -> R<()> {
    let mut sep = "";
    while length > 0 {
        k.out.s(sep);
        sep = ",";
        let code = k.s.u8(at)?;
        let name = match code {
            0 => "EOL",
            1 => "NOP",
            68 => "timestamp",
            130 => "security",
            7 => "RR",
            137 => "SSRR",
            131 => "LSRR",
            148 => "RA",
            82 => "traceroute",
            _ => "",
        };
        if name.is_empty() {
            k.out.s("unknown ").u(code);
        } else {
            k.out.s(name);
        }
        let option_len = if code == 0 || code == 1 {
            1
        } else {
            let l = k.s.u8(at + 1)? as u32;
            if l < 2 {
                k.out.s(" [bad length ").u(l).c(b']');
                return Ok(());
            }
            l
        };
        if option_len > length {
            k.out.s(" [bad length ").u(option_len).c(b']');
            return Ok(());
        }
        if !k.s.ttest(at, option_len as usize) {
            return Err(Trunc);
        }
        match code {
            0 => return Ok(()),
            68 => ip_option_ts(k, at, option_len, false)?,
            7 | 137 | 131 => ip_option_route(k, at, option_len)?,
            148 => {
                if option_len < 4 {
                    k.out.s(" [bad length ").u(option_len).c(b']');
                } else {
                    let v = k.s.be16(at + 2)?;
                    if v != 0 {
                        k.out.s(" value ").u(v);
                    }
                }
            }
            _ => {}
        }
        at += option_len as usize;
        length -= option_len;
    }
    Ok(())
}

fn ip_option_route(k: &mut Pkt<'_>, at: usize, length: u32) -> R<()> {
    if length < 3 {
        k.out.s(" [bad length ").u(length).c(b']');
        return Ok(());
    }
    if (length + 1) & 3 != 0 {
        k.out.s(" [bad length ").u(length).c(b']');
    }
    let ptr = (k.s.u8(at + 2)? as u32).wrapping_sub(1);
    // A pointer of 0 wraps, as in C's unsigned arithmetic: a bad pointer.
    if ptr < 3 || ptr.wrapping_add(1) & 3 != 0 || ptr > length + 1 {
        k.out.s(" [bad ptr ").u(k.s.u8(at + 2)?).c(b']');
    }
    let mut len = 3;
    while len < length {
        let a = addr_at(k, at + len as usize, 4)?;
        k.out.c(b' ');
        a.write_to(k.out);
        if ptr > len {
            k.out.c(b',');
        }
        len += 4;
    }
    Ok(())
}

/// The timestamp option, ` TS{TSONLY 1@ ^ 2@}`: `ip_printts` of tcpdump 4.x,
/// or of 3.x (`classic`), which knew no length below 4, named type 2
/// `PRESPEC2.0` and printed the stamps as signed numbers.
pub(super) fn ip_option_ts(k: &mut Pkt<'_>, at: usize, length: u32, classic: bool) -> R<()> {
    if length < 4 && !classic {
        k.out.s("[bad length ").u(length).c(b']');
        return Ok(());
    }
    k.out.s(" TS{");
    let flag = k.s.u8(at + 3)?;
    let hoplen = if flag & 0xf != 0 { 8 } else { 4 };
    if length.wrapping_sub(4) & (hoplen - 1) != 0 {
        k.out.s("[bad length ").u(length).c(b']');
    }
    let ptr = (k.s.u8(at + 2)? as u32).wrapping_sub(1);
    let mut len = 0u32;
    if ptr < 4 || (ptr.wrapping_sub(4)) & (hoplen - 1) != 0 || ptr > length + 1 {
        k.out.s("[bad ptr ").u(k.s.u8(at + 2)?).c(b']');
    }
    let name = match flag & 0xf {
        0 => Some("TSONLY"),
        1 => Some("TS+ADDR"),
        2 if classic => Some("PRESPEC2.0"),
        3 => Some("PRESPEC"),
        _ => None,
    };
    match name {
        Some(name) => {
            k.out.s(name);
            let mut ty = " ";
            len = 4;
            while len < length {
                if ptr == len {
                    ty = " ^ ";
                }
                if !k.s.ttest(at + len as usize, hoplen as usize) {
                    return Err(Trunc);
                }
                let stamp = k.s.be32(at + (len + hoplen - 4) as usize)?;
                k.out.s(ty);
                if classic {
                    k.out.u(stamp as i32);
                } else {
                    k.out.u(stamp);
                }
                k.out.c(b'@');
                if hoplen == 8 {
                    addr_at(k, at + len as usize, 4)?.write_to(k.out);
                }
                ty = " ";
                len += hoplen;
            }
        }
        None => {
            k.out.s("[bad ts type ").u(flag & 0xf).c(b']');
        }
    }
    k.out.s(if ptr == len { " ^ " } else { "" });
    if flag >> 4 != 0 {
        k.out.s(" [").u(flag >> 4).s(" hops not recorded]} ");
    } else {
        k.out.c(b'}');
    }
    Ok(())
}

/// `ip6_print`.
pub(super) fn ip6_print(p: &mut Printer, k: &mut Pkt<'_>, bp: usize, length: u32) -> R<()> {
    k.proto = "ip6";
    if !k.s.ttest(bp, 40) {
        k.print_trunc();
        return Ok(());
    }
    if length < 40 {
        k.out.s("truncated-ip6 ").u(length);
        return Ok(());
    }
    if !p.opts.link {
        k.out.s("IP6 ");
    }
    let v = k.s.u8(bp)? >> 4;
    if v != 6 {
        k.out.s("version error: ").u(v).s(" != 6");
        return Ok(());
    }
    let mut payload_len = k.s.be16(bp + 4)? as u32;
    let mut len = if payload_len != 0 {
        let len = payload_len + 40;
        if length < len {
            k.out
                .s("truncated-ip6 - ")
                .u(len - length)
                .s(" bytes missing!");
        }
        len
    } else {
        length + 40
    };
    let first_nh = k.s.u8(bp + 6)?;
    let mut nh = first_nh;
    if p.opts.verbose > 0 {
        let flow = k.s.be32(bp)?;
        k.out.c(b'(');
        if flow & 0x0ff0_0000 != 0 {
            k.out
                .s("class 0x")
                .x0(((flow & 0x0ff0_0000) >> 20) as u64, 2)
                .s(", ");
        }
        if flow & 0x000f_ffff != 0 {
            k.out
                .s("flowlabel 0x")
                .x0((flow & 0x000f_ffff) as u64, 5)
                .s(", ");
        }
        k.out
            .s("hlim ")
            .u(k.s.u8(bp + 7)?)
            .s(", next-header ")
            .s(ipproto_name(nh).unwrap_or("unknown"))
            .s(" (")
            .u(nh)
            .s(") payload length: ")
            .u(payload_len)
            .s(") ");
    }
    let saved = k.push_snaplen(bp, len as usize);
    let src = addr_at(k, bp + 8, 16)?;
    let dst = addr_at(k, bp + 24, 16)?;
    let mut cp = bp;
    let mut advance: usize = 40;
    let mut total_advance: u32 = 0;
    let mut found_ext = false;
    let mut found_jumbo = false;
    let mut found_hbh = false;
    let mut fragmented = false;
    let mut ph: u16 = 255;
    let result = (|| -> R<()> {
        while cp < k.s.end && advance > 0 {
            if len < advance as u32 {
                k.print_trunc();
                return Ok(());
            }
            cp += advance;
            len -= advance as u32;
            total_advance += advance as u32;
            if cp == bp + 40
                && !matches!(nh, IPPROTO_TCP | IPPROTO_UDP | IPPROTO_DCCP | IPPROTO_SCTP)
            {
                p.names.host(k.out, src);
                k.out.s(" > ");
                p.names.host(k.out, dst);
                k.out.s(": ");
            }
            match nh {
                NH_HOPOPTS => {
                    if found_hbh {
                        k.out
                            .s("[The Hop-by-Hop Options header was already found] (invalid)");
                        return Ok(());
                    }
                    if ph != 255 {
                        k.out.s("[The Hop-by-Hop Options header don't follow the IPv6 header] (invalid)");
                        return Ok(());
                    }
                    k.proto = "hbhopt";
                    let hbhlen = (k.s.u8(cp + 1)? as usize + 1) << 3;
                    if !k.s.ttest(cp, hbhlen) {
                        k.print_trunc();
                        return Ok(());
                    }
                    k.out.s("HBH ");
                    match ip6_options(p, k, cp + 2, hbhlen - 2, Some(payload_len)) {
                        Ok(Some(j)) => {
                            found_jumbo = true;
                            payload_len = j;
                        }
                        Ok(None) => {}
                        Err(_) => {
                            k.print_trunc();
                            return Ok(());
                        }
                    }
                    if payload_len == 0 && !found_jumbo {
                        k.out
                            .s("[No valid Jumbo Payload Hop-by-Hop option found] (invalid)");
                        return Ok(());
                    }
                    advance = hbhlen;
                    found_ext = true;
                    found_hbh = true;
                    nh = k.s.u8(cp)?;
                }
                NH_DSTOPTS => {
                    k.proto = "dstopt";
                    let dlen = (k.s.u8(cp + 1)? as usize + 1) << 3;
                    if !k.s.ttest(cp, dlen) {
                        k.print_trunc();
                        return Ok(());
                    }
                    k.out.s("DSTOPT ");
                    if p.opts.verbose > 0 && ip6_options(p, k, cp + 2, dlen - 2, None).is_err() {
                        k.print_trunc();
                        return Ok(());
                    }
                    advance = dlen;
                    found_ext = true;
                    nh = k.s.u8(cp)?;
                }
                NH_FRAGMENT => {
                    k.proto = "frag6";
                    let offlg = k.s.be16(cp + 2)?;
                    let rest = 40 + k.s.be16(bp + 4)? as i64 - (cp - bp) as i64 - 8;
                    if p.opts.verbose > 0 {
                        k.out.s("frag (0x").x0(k.s.be32(cp + 4)? as u64, 8).c(b':');
                    } else {
                        k.out.s("frag (");
                    }
                    k.out.u(offlg & 0xfff8).c(b'|').u(rest as u64).c(b')');
                    if offlg & 0xfff8 != 0 {
                        return Ok(());
                    }
                    k.out.c(b' ');
                    advance = 8;
                    if k.s.end <= cp + advance {
                        return Ok(());
                    }
                    found_ext = true;
                    nh = k.s.u8(cp)?;
                    fragmented = true;
                }
                NH_ROUTING => {
                    k.proto = "rt6";
                    let _ = k.s.u8(cp)?;
                    let Some(n) = rt6_print(k, cp, p.opts.verbose > 0)? else {
                        return Ok(());
                    };
                    advance = n;
                    found_ext = true;
                    nh = k.s.u8(cp)?;
                }
                NH_MOBILITY | NH_MOBILITY_OLD => {
                    k.out.s("mobility");
                    return Ok(());
                }
                _ => {
                    if found_jumbo {
                        len = payload_len + 40;
                        if len < total_advance {
                            k.print_trunc();
                            return Ok(());
                        }
                        if length < len {
                            k.out
                                .s("truncated-ip6 - ")
                                .u(len - length)
                                .s(" bytes missing!");
                        }
                        k.s.end = saved.min(bp + len as usize);
                        len -= total_advance;
                    } else if payload_len == 0 {
                        if found_ext {
                            k.print_trunc();
                            return Ok(());
                        }
                        len = 40;
                        k.s.end = saved.min(bp + 40);
                        len -= total_advance;
                    }
                    let ctx = IpContext {
                        ip: bp,
                        version: 6,
                        src,
                        dst,
                        first_is_tcp: first_nh == IPPROTO_TCP,
                    };
                    return demux(p, k, cp, len, ctx, fragmented, nh);
                }
            }
            ph = nh as u16;
            k.proto = "ip6";
        }
        Ok(())
    })();
    k.s.end = saved;
    result
}

/// `ip6_opt_process`: returns the jumbo payload length when a valid Jumbo
/// Payload option was found.
fn ip6_options(
    p: &Printer,
    k: &mut Pkt<'_>,
    at: usize,
    len: usize,
    hbh_payload_len: Option<u32>,
) -> R<Option<u32>> {
    let v = p.opts.verbose > 0;
    let mut i = 0usize;
    let mut jumbo: Option<u32> = None;
    while i < len {
        let t = k.s.u8(at + i)?;
        let optlen = if t == 0 {
            1
        } else if i + 1 < len {
            k.s.u8(at + i + 1)? as usize + 2
        } else {
            return Err(Trunc);
        };
        if i + optlen > len {
            return Err(Trunc);
        }
        match t {
            0 => {
                if v {
                    k.out.s("(pad1)");
                }
            }
            1 => {
                if len - i < 2 {
                    k.out.s("(padn: trunc)");
                    return Err(Trunc);
                }
                if v {
                    k.out.s("(padn)");
                }
            }
            5 => {
                if len - i < 4 {
                    k.out.s("(rtalert: trunc)");
                    return Err(Trunc);
                }
                let l = k.s.u8(at + i + 1)?;
                if l != 2 {
                    k.out.s("(rtalert: invalid len ").u(l).c(b')');
                    return Err(Trunc);
                }
                if v {
                    k.out
                        .s("(rtalert: 0x")
                        .x0(k.s.be16(at + i + 2)? as u64, 4)
                        .s(") ");
                }
            }
            0xc2 => {
                if len - i < 6 {
                    k.out.s("(jumbo: trunc)");
                    return Err(Trunc);
                }
                let l = k.s.u8(at + i + 1)?;
                if l != 4 {
                    k.out.s("(jumbo: invalid len ").u(l).c(b')');
                    return Err(Trunc);
                }
                let jl = k.s.be32(at + i + 2)?;
                if jumbo.is_some() {
                    if v {
                        k.out.s("(jumbo: ").u(jl).s(" - already seen) ");
                    }
                } else {
                    match hbh_payload_len {
                        None => {
                            if v {
                                k.out.s("(jumbo: ").u(jl).s(" - not a hop-by-hop option) ");
                            }
                        }
                        Some(pl) if pl != 0 => {
                            if v {
                                k.out.s("(jumbo: ").u(jl).s(" - payload len != 0) ");
                            }
                        }
                        Some(_) => {
                            if jl < 65536 {
                                if v {
                                    k.out.s("(jumbo: ").u(jl).s(" - < 65536) ");
                                }
                            } else {
                                if v {
                                    k.out.s("(jumbo: ").u(jl).s(") ");
                                }
                                jumbo = Some(jl);
                            }
                        }
                    }
                }
            }
            0xc9 => {
                // Home address (RFC 6275), with sub-options after the address.
                if len - i < 18 {
                    k.out.s("(homeaddr: trunc)");
                    return Err(Trunc);
                }
                let l = k.s.u8(at + i + 1)?;
                if l < 16 {
                    k.out.s("(homeaddr: invalid len ").u(l).c(b')');
                    return Err(Trunc);
                }
                if v {
                    k.out.s("(homeaddr: ");
                    addr_at(k, at + i + 2, 16)?.write_to(k.out);
                    if l > 16 {
                        ip6_sub_options(k, at + i + 18, optlen - 18)?;
                    }
                    k.out.c(b')');
                }
            }
            _ => {
                if len - i < 2 {
                    k.out.s("(type ").u(t).s(": trunc)");
                    return Err(Trunc);
                }
                if v {
                    k.out
                        .s("(opt_type 0x")
                        .x0(t as u64, 2)
                        .s(": len=")
                        .u(k.s.u8(at + i + 1)?)
                        .c(b')');
                }
            }
        }
        i += optlen;
    }
    if v {
        k.out.c(b' ');
    }
    Ok(jumbo)
}

/// `ip6_sopt_print`: the sub-options of a home address option.
fn ip6_sub_options(k: &mut Pkt<'_>, at: usize, len: usize) -> R<()> {
    let mut i = 0usize;
    while i < len {
        let t = k.s.u8(at + i)?;
        let optlen = if t == 0 {
            1
        } else if i + 1 < len {
            k.s.u8(at + i + 1)? as usize + 2
        } else {
            return Err(Trunc);
        };
        if i + optlen > len {
            return Err(Trunc);
        }
        match t {
            0 => {
                k.out.s(", pad1");
            }
            1 => {
                if len - i < 2 {
                    k.out.s(", padn: trunc");
                    return Err(Trunc);
                }
                k.out.s(", padn");
            }
            _ => {
                if len - i < 2 {
                    k.out.s(", sopt_type ").u(t).s(": trunc)");
                    return Err(Trunc);
                }
                k.out
                    .s(", sopt_type 0x")
                    .x0(t as u64, 2)
                    .s(": len=")
                    .u(k.s.u8(at + i + 1)?);
            }
        }
        i += optlen;
    }
    Ok(())
}

/// `rt6_print` for the routing header types tcpdump knows; returns the header
/// length, or `None` when the header is invalid (tcpdump stops printing there).
fn rt6_print(k: &mut Pkt<'_>, cp: usize, verbose: bool) -> R<Option<usize>> {
    k.out.s("RT6");
    let len = k.s.u8(cp + 1)? as u32;
    let ty = k.s.u8(cp + 2)?;
    k.out.s(" (len=").u(len).s(", type=").u(ty);
    if ty == 0 {
        k.out.s(" [Deprecated]");
    }
    k.out.s(", segleft=").u(k.s.u8(cp + 3)?);
    let first_address = match ty {
        0 | 2 => {
            let rsv = k.s.be32(cp + 4)?;
            if rsv != 0 || verbose {
                k.out.s(", rsv=0x").x(rsv as u64);
            }
            cp + 8
        }
        4 => {
            k.out.s(", last-entry=").u(k.s.u8(cp + 4)?);
            let flags = k.s.u8(cp + 5)?;
            if flags != 0 || verbose {
                k.out.s(", flags=0x").x(flags as u64);
            }
            k.out.s(", tag=").x(k.s.be16(cp + 6)? as u64);
            cp + 8
        }
        _ => {
            k.out.s(" (unknown type) (invalid)");
            return Ok(None);
        }
    };
    if len % 2 == 1 {
        k.out.s(" (invalid length ").u(len).s(") (invalid)");
        return Ok(None);
    }
    let mut a = first_address;
    for i in 0..len / 2 {
        k.out.s(", [").u(i).s("]");
        addr_at(k, a, 16)?.write_to(k.out);
        a += 16;
    }
    k.out.s(") ");
    Ok(Some(((len + 1) << 3) as usize))
}

/// The final destination for the TCP pseudo-header of an IPv6 packet: the last
/// address of a type 0/2 routing header, or the first segment of a type 4 one.
pub(super) fn ip6_final_destination(k: &Pkt<'_>, bp: usize) -> [u8; 16] {
    let mut dst: [u8; 16] = k.s.data[bp + 24..bp + 40].try_into().unwrap();
    let mut cp = bp;
    let mut advance = 40usize;
    let Ok(mut nh) = k.s.u8(bp + 6) else {
        return dst;
    };
    while cp < k.s.end {
        cp += advance;
        match nh {
            NH_HOPOPTS | NH_DSTOPTS | NH_MOBILITY | NH_MOBILITY_OLD => {
                let (Ok(l), Ok(n)) = (k.s.u8(cp + 1), k.s.u8(cp)) else {
                    break;
                };
                advance = (l as usize + 1) << 3;
                nh = n;
            }
            NH_FRAGMENT => {
                let Ok(n) = k.s.u8(cp) else { break };
                advance = 8;
                nh = n;
            }
            NH_ROUTING => {
                let (Ok(len), Ok(ty)) = (k.s.u8(cp + 1), k.s.u8(cp + 2)) else {
                    break;
                };
                match ty {
                    0 | 2 if len % 2 == 0 => {
                        for i in 0..(len / 2) as usize {
                            if let Ok(a) = k.s.bytes(cp + 8 + 16 * i, 16) {
                                dst.copy_from_slice(a);
                            }
                        }
                    }
                    4 if len % 2 == 0 => {
                        if let Ok(a) = k.s.bytes(cp + 8, 16) {
                            dst.copy_from_slice(a);
                        }
                    }
                    _ => {}
                }
                break;
            }
            _ => break,
        }
    }
    dst
}
