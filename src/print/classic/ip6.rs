//! Classic IPv6, after tcpdump 3.7.2's `ip6_print` and the extension-header
//! printers it calls (`hbhopt_print`, `dstopt_print`, `frag6_print`,
//! `rt6_print`, `ip6_opt_print`).

use super::super::ip::addr_at;
use super::super::out::Out;
use super::super::{Pkt, Printer, R};
use super::tcp::tcp_print;
use super::udp_line;
use crate::wire::ipv6::{NH_DSTOPTS, NH_FRAGMENT, NH_HOPOPTS, NH_ROUTING};
use crate::wire::IPPROTO_TCP;

const IPPROTO_UDP: u8 = 17;
const IPPROTO_NONE: u8 = 59;
/// What 3.7.2's extension printers return when they give up: far enough to
/// leave the captured bytes.
const GIVE_UP: usize = 65535;

/// 3.7.2's `ip6_print`: the headers in order, then ` [class 0xN]`,
/// ` [flowlabel 0xN]`, ` [hlim N]` and, with `-v`, ` (len N, hlim N)`.
pub(in crate::print) fn ip6_print(
    p: &mut Printer,
    k: &mut Pkt<'_>,
    bp: usize,
    length: u32,
) -> R<()> {
    k.proto = "ip6";
    if !k.s.ttest(bp, 40) {
        k.out.s("[|ip6]");
        return Ok(());
    }
    if length < 40 {
        k.out.s("truncated-ip6 ").u(length);
        return Ok(());
    }
    let len = k.s.be16(bp + 4)? as u32;
    if length < len + 40 {
        k.out
            .s("truncated-ip6 - ")
            .u(len + 40 - length)
            .s(" bytes missing!");
    }
    let first_nh = k.s.u8(bp + 6)?;
    let addrs = (addr_at(k, bp + 8, 16)?, addr_at(k, bp + 24, 16)?);
    let mut nh = first_nh;
    let mut cp = bp;
    let mut advance = 40usize;
    let mut fragmented = false;
    // 3.7.2 walks while the header it is at was captured; a printer that
    // gives up returns a length that takes the walk past the capture.
    while cp < k.s.end {
        cp += advance;
        if cp == bp + 40 && nh != IPPROTO_TCP && nh != IPPROTO_UDP {
            p.names.host(k.out, addrs.0);
            k.out.s(" > ");
            p.names.host(k.out, addrs.1);
            k.out.s(": ");
        }
        match nh {
            NH_HOPOPTS => advance = options_header(p, k, cp, "HBH"),
            NH_DSTOPTS => advance = options_header(p, k, cp, "DSTOPT"),
            NH_FRAGMENT => {
                advance = frag6(p, k, cp, bp)?;
                if k.s.end <= cp + advance {
                    break;
                }
                fragmented = true;
            }
            NH_ROUTING => advance = rt6(p, k, cp),
            IPPROTO_TCP => {
                let tcp_len = (len + 40).wrapping_sub((cp - bp) as u32);
                tcp_print(p, k, cp, tcp_len, bp, fragmented)?;
                break;
            }
            IPPROTO_UDP => {
                udp_line(p, k, cp, addrs);
                break;
            }
            IPPROTO_NONE => {
                k.out.s("no next header");
                break;
            }
            _ => {
                // 3.7.2's fallback names the first next header, whatever
                // the chain led to.
                k.out.s("ip-proto-").u(first_nh).c(b' ').u(len);
                break;
            }
        }
        // `nh = *cp`: 3.7.2 read the next header even past the capture, but
        // then the walk ends anyway.
        match k.s.u8(cp) {
            Ok(n) => nh = n,
            Err(_) => break,
        }
        // A header cut before its length byte gives 0; 3.7.2 would print it
        // forever.
        if advance == 0 {
            break;
        }
    }
    let flow = k.s.be32(bp)?;
    if flow & 0x0ff0_0000 != 0 {
        k.out
            .s(" [class 0x")
            .x(((flow & 0x0ff0_0000) >> 20) as u64)
            .c(b']');
    }
    if flow & 0x000f_ffff != 0 {
        k.out
            .s(" [flowlabel 0x")
            .x((flow & 0x000f_ffff) as u64)
            .c(b']');
    }
    let hlim = k.s.u8(bp + 7)?;
    if hlim <= 1 {
        k.out.s(" [hlim ").u(hlim).c(b']');
    }
    if p.opts.verbose > 0 {
        k.out.s(" (len ").u(len);
        if hlim > 1 {
            k.out.s(", hlim ").u(hlim);
        }
        k.out.c(b')');
    }
    Ok(())
}

/// `hbhopt_print` / `dstopt_print`: `HBH ` (options with `-v`); returns the
/// header length, 0 when even its length byte is missing.
fn options_header(p: &Printer, k: &mut Pkt<'_>, cp: usize, name: &str) -> usize {
    let Ok(l) = k.s.u8(cp + 1) else {
        k.out.s("[|").s(name).c(b']');
        return 0;
    };
    let hlen = (l as usize + 1) << 3;
    if !k.s.ttest(cp, hlen) {
        k.out.s("[|").s(name).c(b']');
        return hlen;
    }
    k.out.s(name).c(b' ');
    if p.opts.verbose > 0 {
        let opts = &k.s.data[cp + 2..cp + hlen];
        options(k.out, opts, false);
    }
    hlen
}

/// `frag6_print`: `frag (OFFSET|LEN) `; gives up after a later fragment.
fn frag6(p: &Printer, k: &mut Pkt<'_>, cp: usize, ip6: usize) -> R<usize> {
    let Ok(offlg) = k.s.be16(cp + 2) else {
        k.out.s("[|frag]");
        return Ok(GIVE_UP);
    };
    let plen = k.s.be16(ip6 + 4)? as i64;
    let rest = 40 + plen - (cp - ip6) as i64 - 8;
    k.out.s("frag (");
    if p.opts.verbose > 0 {
        // The identification is read without a check in 3.7.2.
        let Ok(ident) = k.s.be32(cp + 4) else {
            k.out.s("[|frag]");
            return Ok(GIVE_UP);
        };
        k.out.s("0x").x0(ident as u64, 8).c(b':');
    }
    k.out.u(offlg & 0xfff8).c(b'|').u(rest).c(b')');
    if offlg & 0xfff8 != 0 {
        return Ok(GIVE_UP);
    }
    k.out.c(b' ');
    Ok(8)
}

/// `rt6_print`: `srcrt (len=N, type=N, segleft=N, [0]ADDR...) `; only type 0
/// was known, anything else ends as `[|srcrt]`.
fn rt6(p: &Printer, k: &mut Pkt<'_>, cp: usize) -> usize {
    let (Ok(len), Ok(ty), Ok(segleft)) = (k.s.u8(cp + 1), k.s.u8(cp + 2), k.s.u8(cp + 3)) else {
        k.out.s("[|srcrt]");
        return GIVE_UP;
    };
    k.out
        .s("srcrt (len=")
        .u(len)
        .s(", type=")
        .u(ty)
        .s(", segleft=")
        .u(segleft);
    if ty != 0 {
        k.out.s("[|srcrt]");
        return GIVE_UP;
    }
    let Ok(reserved) = k.s.u8(cp + 4) else {
        k.out.s("[|srcrt]");
        return GIVE_UP;
    };
    if reserved != 0 || p.opts.verbose > 0 {
        // 3.7.2's header declares this field one byte wide and prints it
        // through ntohl, so the byte lands in the top eight bits.
        k.out.s(", rsv=0x").x((reserved as u32).swap_bytes() as u64);
    }
    if len % 2 == 1 {
        k.out.s("[|srcrt]");
        return GIVE_UP;
    }
    for i in 0..(len / 2) as usize {
        let at = cp + 8 + 16 * i;
        let Ok(a) = addr_at(k, at, 16) else {
            k.out.s("[|srcrt]");
            return GIVE_UP;
        };
        k.out.s(", [").u(i).c(b']');
        a.write_to(k.out);
    }
    k.out.s(") ");
    (len as usize + 1) << 3
}

/// `ip6_opt_print` (`sub` false) and `ip6_sopt_print` (`sub` true, the
/// sub-options of the Mobile IPv6 draft options). The options lie wholly in
/// captured bytes: the header was checked before.
fn options(out: &mut Vec<u8>, b: &[u8], sub: bool) {
    let len = b.len();
    let mut i = 0;
    let be16 = |at: usize| u16::from_be_bytes([b[at], b[at + 1]]);
    let trunc = |out: &mut Vec<u8>| {
        out.s("[trunc] ");
    };
    while i < len {
        let t = b[i];
        let optlen = if t == 0 {
            1
        } else if i + 1 < len {
            b[i + 1] as usize + 2
        } else {
            return trunc(out);
        };
        if i + optlen > len {
            return trunc(out);
        }
        let left = len - i;
        // (minimum length, what to print when shorter)
        let need = |min: usize, what: &str, out: &mut Vec<u8>| {
            if left < min {
                out.s(what);
                false
            } else {
                true
            }
        };
        if sub {
            match t {
                0 => {
                    out.s(", pad1");
                }
                1 => {
                    if !need(2, ", padn: trunc", out) {
                        return trunc(out);
                    }
                    out.s(", padn");
                }
                4 => {
                    if !need(18, ", altcoa: trunc", out) {
                        return trunc(out);
                    }
                    out.s(", alt-CoA: ");
                    addr16(out, &b[i + 2..i + 18]);
                }
                2 => {
                    if !need(4, ", ui: trunc", out) {
                        return trunc(out);
                    }
                    out.s("(ui: 0x").x0(be16(i + 2) as u64, 4).s(") ");
                }
                _ => {
                    if left < 2 {
                        out.s(", sopt_type ").u(t).s(": trunc)");
                        return trunc(out);
                    }
                    out.s(", sopt_type 0x")
                        .x0(t as u64, 2)
                        .s(": len=")
                        .u(b[i + 1]);
                }
            }
            i += optlen;
            continue;
        }
        match t {
            0x00 => {
                out.s("(pad1)");
            }
            0x01 => {
                if !need(2, "(padn: trunc)", out) {
                    return trunc(out);
                }
                out.s("(padn)");
            }
            0x05 => {
                if !need(4, "(rtalert: trunc)", out) {
                    return trunc(out);
                }
                if b[i + 1] != 2 {
                    out.s("(rtalert: invalid len ").u(b[i + 1]).c(b')');
                    return trunc(out);
                }
                out.s("(rtalert: 0x").x0(be16(i + 2) as u64, 4).s(") ");
            }
            0xc2 => {
                if !need(6, "(jumbo: trunc)", out) {
                    return trunc(out);
                }
                if b[i + 1] != 4 {
                    out.s("(jumbo: invalid len ").u(b[i + 1]).c(b')');
                    return trunc(out);
                }
                let v = u32::from_be_bytes([b[i + 2], b[i + 3], b[i + 4], b[i + 5]]);
                out.s("(jumbo: ").u(v).s(") ");
            }
            0xc9 => {
                if !need(18, "(homeaddr: trunc)", out) {
                    return trunc(out);
                }
                if b[i + 1] < 16 {
                    out.s("(homeaddr: invalid len ").u(b[i + 1]).c(b')');
                    return trunc(out);
                }
                out.s("(homeaddr: ");
                addr16(out, &b[i + 2..i + 18]);
                if b[i + 1] > 16 {
                    options(out, &b[i + 18..i + optlen], true);
                }
                out.c(b')');
            }
            0xc6 => {
                if !need(10, "(bu: trunc)", out) {
                    return trunc(out);
                }
                if b[i + 1] < 8 {
                    out.s("(bu: invalid len ").u(b[i + 1]).c(b')');
                    return trunc(out);
                }
                let f = b[i + 2];
                out.s("(bu: ");
                for (bit, name) in [(0x80, "A"), (0x40, "H"), (0x20, "R"), (0x10, "D")] {
                    if f & bit != 0 {
                        out.s(name);
                    }
                }
                if f & 0x0f != 0 {
                    out.s("res");
                }
                // 3.7.2 read the lifetime through ntohs of a 32-bit load: the
                // first two bytes.
                out.s(", prefixlen: ")
                    .u(b[i + 3])
                    .s(", sequence: ")
                    .u(be16(i + 4))
                    .s(", lifetime: ")
                    .u(be16(i + 8));
                if b[i + 1] > 8 {
                    options(out, &b[i + 10..i + optlen], true);
                }
                out.c(b')');
            }
            0x07 => {
                if !need(13, "(ba: trunc)", out) {
                    return trunc(out);
                }
                if b[i + 1] < 11 {
                    out.s("(ba: invalid len ").u(b[i + 1]).c(b')');
                    return trunc(out);
                }
                out.s("(ba: status: ")
                    .u(b[i + 2])
                    .s(", sequence: ")
                    .u(be16(i + 3))
                    .s(", lifetime: ")
                    .u(be16(i + 7))
                    .s(", refresh: ")
                    .u(be16(i + 11));
                if b[i + 1] > 11 {
                    options(out, &b[i + 13..i + optlen], true);
                }
                out.c(b')');
            }
            0x08 => {
                if !need(2, "(br: trunc)", out) {
                    return trunc(out);
                }
                out.s("(br");
                if b[i + 1] > 0 {
                    options(out, &b[i + 2..i + optlen], true);
                }
                out.c(b')');
            }
            _ => {
                if left < 2 {
                    out.s("(type ").u(t).s(": trunc)");
                    return trunc(out);
                }
                out.s("(opt_type 0x")
                    .x0(t as u64, 2)
                    .s(": len=")
                    .u(b[i + 1])
                    .s(") ");
            }
        }
        i += optlen;
    }
}

fn addr16(out: &mut Vec<u8>, b: &[u8]) {
    crate::wire::Addr::from_slice(b)
        .expect("16 bytes")
        .write_to(out);
}
