//! Classic IPv4, after tcpdump 3.7.2's `ip_print`, `ip_optprint` and
//! `ipN_print`: the segment first, then what the IP header adds after it.

use super::super::ip::{addr_at, ecn_suffix, header_checks, ip_option_ts};
use super::super::out::Out;
use super::super::{Pkt, Printer, R};
use super::tcp::tcp_print;
use super::{ip6_print, protocol_name, udp_line};
use crate::wire::ipv4::{FLAG_DF, FLAG_MF, OFFSET_MASK};
use crate::wire::{internet_checksum, Addr, IPPROTO_TCP};

const IPPROTO_UDP: u8 = 17;
const IPPROTO_SCTP: u8 = 132;

/// 3.7.2's `ipN_print` (raw IP links): the version nibble decides.
pub(in crate::print) fn ip_n(p: &mut Printer, k: &mut Pkt<'_>, at: usize, length: u32) -> R<()> {
    k.proto = "ip";
    if length < 4 {
        k.out.s("truncated-ip ").u(length);
        return Ok(());
    }
    let Ok(first) = k.s.u8(at) else {
        k.out.s("[|ip]");
        return Ok(());
    };
    match first >> 4 {
        4 => ip_print(p, k, at, length),
        6 => ip6_print(p, k, at, length),
        v => {
            k.out.s("unknown ip ").u(v);
            Ok(())
        }
    }
}

/// 3.7.2's `ip_print` for a datagram at `bp` of `length` bytes on the link.
pub(in crate::print) fn ip_print(
    p: &mut Printer,
    k: &mut Pkt<'_>,
    bp: usize,
    length: u32,
) -> R<()> {
    k.proto = "ip";
    // (3.x looked at no version nibble: whatever the link calls IPv4 is.)
    let Some((hlen, ip_len)) = header_checks(k, bp, length)? else {
        return Ok(());
    };
    // 3.7.2 does not check the total length against the header length: the
    // payload length wraps as C's unsigned arithmetic did.
    let len = ip_len.wrapping_sub(hlen);
    let off = k.s.be16(bp + 6)?;
    let proto = k.s.u8(bp + 9)?;
    let addrs = (addr_at(k, bp + 12, 4)?, addr_at(k, bp + 16, 4)?);
    if off & OFFSET_MASK == 0 {
        let cp = bp + hlen as usize;
        let addressed = !matches!(proto, IPPROTO_TCP | IPPROTO_UDP | IPPROTO_SCTP);
        if addressed {
            host_pair(p, k, addrs);
            k.out.s(": ");
        }
        if proto == IPPROTO_TCP {
            // 3.7.2 passes `off & ~0x6000` as "fragmented": only the reserved
            // flag can be left in a first fragment, and it turns the -v
            // checksum off; MF does not.
            tcp_print(p, k, cp, len, bp, off & !0x6000 != 0)?;
        } else if proto == IPPROTO_UDP {
            udp_line(p, k, cp, addrs);
        } else {
            if !addressed {
                host_pair(p, k, addrs);
                k.out.s(": ");
            }
            // 3.7.2's fallback: the protocol's name (or number) and length.
            match protocol_name(proto) {
                Some(name) => k.out.c(b' ').s(name),
                None => k.out.s(" ip-proto-").u(proto),
            };
            k.out.c(b' ').u(len as i32);
        }
    }
    if off & (OFFSET_MASK | FLAG_MF) != 0 {
        if off & OFFSET_MASK != 0 {
            // A later fragment: no transport header to print.
            host_pair(p, k, addrs);
            k.out.c(b':');
            match protocol_name(proto) {
                Some(name) => k.out.c(b' ').s(name),
                None => k.out.s(" ip-proto-").u(proto),
            };
        }
        k.out
            .s(" (frag ")
            .u(k.s.be16(bp + 4)?)
            .c(b':')
            .u(len)
            .c(b'@')
            .u((off & OFFSET_MASK) as u32 * 8)
            .s(if off & FLAG_MF != 0 { "+)" } else { ")" });
    } else if off & FLAG_DF != 0 {
        k.out.s(" (DF)");
    }
    let tos = k.s.u8(bp + 1)?;
    if tos != 0 {
        // The closing "] " keeps its trailing space, as 3.7.2 printed it.
        k.out.s(" [tos 0x").x(tos as u64).s(ecn_suffix(tos)).s("] ");
    }
    let ttl = k.s.u8(bp + 8)?;
    if ttl <= 1 {
        k.out.s(" [ttl ").u(ttl).c(b']');
    }
    if p.opts.verbose > 0 {
        verbose_suffix(k, bp, hlen, off, ttl)?;
    }
    Ok(())
}

fn host_pair(p: &mut Printer, k: &mut Pkt<'_>, (src, dst): (Addr, Addr)) {
    p.names.host(k.out, src);
    k.out.s(" > ");
    p.names.host(k.out, dst);
}

/// ` (ttl N, id N, len N[, bad cksum X!][, optlen=N OPTIONS])` with `-v`.
fn verbose_suffix(k: &mut Pkt<'_>, bp: usize, hlen: u32, off: u16, ttl: u8) -> R<()> {
    let mut sep = "";
    k.out.s(" (");
    if ttl > 1 {
        k.out.s("ttl ").u(ttl);
        sep = ", ";
    }
    if off & (OFFSET_MASK | FLAG_MF) == 0 {
        k.out.s(sep).s("id ").u(k.s.be16(bp + 4)?);
        sep = ", ";
    }
    k.out.s(sep).s("len ").u(k.s.be16(bp + 2)?);
    sep = ", ";
    if k.s.ttest(bp, hlen as usize) {
        let header = &k.s.data[bp..bp + hlen as usize];
        if internet_checksum(&[header]) != 0 {
            let field = k.s.be16(bp + 10)?;
            k.out.s(sep).s("bad cksum ").x(field as u64).c(b'!');
            sep = ", ";
        }
    }
    if hlen > 20 {
        k.out.s(sep).s("optlen=").u(hlen - 20);
        if ip_options(k, bp + 20, hlen - 20).is_err() {
            k.out.s("[|ip]");
        }
    }
    k.out.c(b')');
    Ok(())
}

/// 3.7.2's `ip_optprint`. `Err` where it read option bytes it had not
/// checked and they are not there.
fn ip_options(k: &mut Pkt<'_>, mut cp: usize, mut length: u32) -> R<()> {
    while length > 0 {
        let tt = k.s.u8(cp)?;
        let len: u32 = if tt == 1 || tt == 0 {
            1
        } else {
            if cp + 1 >= k.s.end {
                k.out.s("[|ip]");
                return Ok(());
            }
            k.s.u8(cp + 1)? as u32
        };
        if len == 0 {
            k.out.s("[|ip op len 0]");
            return Ok(());
        }
        if cp + 1 >= k.s.end || cp + len as usize > k.s.end {
            k.out.s("[|ip]");
            return Ok(());
        }
        match tt {
            0 => {
                k.out.s(" EOL");
                if length > 1 {
                    // `%d` of the unsigned count, which may have wrapped.
                    k.out.c(b'-').u(length.wrapping_sub(1) as i32);
                }
                return Ok(());
            }
            1 => {
                k.out.s(" NOP");
            }
            68 => ip_option_ts(k, cp, len, true)?,
            130 => {
                k.out.s(" SECURITY{").u(len).c(b'}');
            }
            7 => route_option(k, "RR", cp, len)?,
            137 => route_option(k, "SSRR", cp, len)?,
            131 => route_option(k, "LSRR", cp, len)?,
            148 => {
                k.out.s(" RA");
                if len != 4 {
                    k.out.c(b'{').u(len).c(b'}');
                } else {
                    let (a, b) = (k.s.u8(cp + 2)?, k.s.u8(cp + 3)?);
                    if a != 0 || b != 0 {
                        k.out.u(a).c(b'.').u(b);
                    }
                }
            }
            _ => {
                k.out.s(" IPOPT-").u(tt).c(b'{').u(len).c(b'}');
            }
        }
        cp += len as usize;
        // An option longer than what is left makes C's unsigned count wrap;
        // the walk then ends at the capture's end.
        length = length.wrapping_sub(len);
    }
    Ok(())
}

/// 3.7.2's `ip_printroute`: ` RR{a.b.c.d #e.f.g.h}`, `#` at the pointer.
fn route_option(k: &mut Pkt<'_>, name: &str, cp: usize, length: u32) -> R<()> {
    let ptr_byte = k.s.u8(cp + 2)?;
    let ptr = (ptr_byte as u32).wrapping_sub(1);
    k.out.c(b' ').s(name).c(b'{');
    if (length + 1) & 3 != 0 {
        k.out.s(" [bad length ").u(length).c(b']');
    }
    if ptr < 3 || ptr.wrapping_add(1) & 3 != 0 || ptr > length + 1 {
        k.out.s(" [bad ptr ").u(ptr_byte).c(b']');
    }
    let mut mark = "";
    let mut len = 3;
    while len < length {
        if ptr == len {
            mark = "#";
        }
        k.out.s(mark);
        addr_at(k, cp + len as usize, 4)?.write_to(k.out);
        mark = " ";
        len += 4;
    }
    k.out.s(if ptr == len { "#}" } else { "}" });
    Ok(())
}
