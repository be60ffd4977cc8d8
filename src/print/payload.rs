//! What tcpdump prints after a segment's `length N`: the application layer.
//!
//! synack is about TCP, so it decodes only what tcpdump prints on the same line
//! for its most common non-verbose cases: the BGP marker and the Redis protocol
//! (RESP). tcpdump chooses the decoder by port in a fixed order; the same order
//! is kept here so that a port claimed by an earlier protocol (telnet, SMTP, ...)
//! prints nothing rather than the wrong decoding.

use super::out::Out;
use super::tcp::print_char;
use super::{Pkt, Printer, Trunc, R};

const BGP_PORT: u16 = 179;
const REDIS_PORT: u16 = 6379;

/// Ports that tcpdump hands to a decoder before (or instead of) the ones above,
/// in its order (`print-tcp.c`): telnet, smtp, whois, bgp, pptp, redis, ssh,
/// netbios-ssn, smb, beep, openflow, ftp, http, rtsp, domain, msdp, rpki-rtr,
/// ldp.
const DISPATCH_ORDER: &[u16] = &[
    23, 25, 43, 179, 1723, 6379, 22, 139, 445, 10288, 6633, 6653, 21, 80, 8080, 554, 8554, 53, 639,
    323, 646,
];

/// Print the application-layer suffix of a segment whose payload starts at `at`.
pub(super) fn print(
    _p: &Printer,
    k: &mut Pkt<'_>,
    at: usize,
    length: u32,
    sport: u16,
    dport: u16,
) -> R<()> {
    let Some(&port) = DISPATCH_ORDER
        .iter()
        .find(|&&port| port == sport || port == dport)
    else {
        return Ok(());
    };
    match port {
        BGP_PORT => {
            // Without -v tcpdump names the protocol and stops there; the -v
            // message decoding is beyond synack's scope.
            k.proto = "bgp";
            k.out.s(": BGP");
            Ok(())
        }
        REDIS_PORT => resp(k, at, length),
        _ => Ok(()),
    }
}

/// `resp_print`: every pipelined RESP element, or `[|resp]` where parsing stops.
fn resp(k: &mut Pkt<'_>, mut at: usize, length: u32) -> R<()> {
    k.proto = "resp";
    k.out.s(": RESP");
    let mut length = length as i64;
    while length > 0 {
        match resp_parse(k, at, length) {
            Ok(Some(n)) => {
                at += n as usize;
                length -= n;
            }
            Ok(None) => {
                k.print_trunc();
                return Ok(());
            }
            Err(Trunc) => return Err(Trunc),
        }
    }
    Ok(())
}

/// One element; `Ok(None)` is tcpdump's "give up" (`-1`), `Err` a read past the
/// capture (its longjmp).
fn resp_parse(k: &mut Pkt<'_>, at: usize, length: i64) -> R<Option<i64>> {
    if length < 1 {
        return Ok(None);
    }
    match k.s.u8(at)? {
        b'+' | b'-' | b':' => resp_line(k, at, length),
        b'$' => resp_bulk_string(k, at, length),
        b'*' => resp_array(k, at, length),
        _ => resp_inline(k, at, length),
    }
}

/// FIND_CRLF: advance to a `\r\n` within `len`; `None` when there is none.
fn find_crlf(k: &Pkt<'_>, mut p: usize, mut len: i64) -> R<Option<(usize, i64)>> {
    loop {
        if len < 2 || !k.s.ttest(p, 2) {
            return Ok(None);
        }
        if k.s.u8(p)? == b'\r' && k.s.u8(p + 1)? == b'\n' {
            return Ok(Some((p, len)));
        }
        p += 1;
        len -= 1;
    }
}

/// RESP_PRINT_SEGMENT: ` "text"`, escaped; `false` when the text was cut.
fn segment(k: &mut Pkt<'_>, at: usize, len: usize) -> R<bool> {
    k.out.s(" \"");
    let mut n = len;
    let mut p = at;
    while n > 0 && p < k.s.end {
        n -= 1;
        print_char(k.out, k.s.u8(p)?);
        p += 1;
    }
    if n != 0 {
        return Ok(false);
    }
    print_char(k.out, b'"');
    Ok(true)
}

fn resp_line(k: &mut Pkt<'_>, at: usize, length: i64) -> R<Option<i64>> {
    let bp = at + 1;
    let Some((end, _)) = find_crlf(k, bp, length - 1)? else {
        return Ok(None);
    };
    let len = end - bp;
    if !segment(k, bp, len)? {
        return Ok(None);
    }
    Ok(Some(1 + len as i64 + 2))
}

/// resp_get_length: the length after an opcode and the offset past its CRLF.
/// -1 null, -2 truncated, -3 too large, -4 negative and not -1, -5 invalid.
fn get_length(k: &Pkt<'_>, mut bp: usize, mut len: i64) -> R<(i64, usize)> {
    if len == 0 {
        return Ok((-2, bp));
    }
    let mut neg = false;
    if k.s.u8(bp)? == b'-' {
        neg = true;
        bp += 1;
        len -= 1;
    }
    let mut result: i64 = 0;
    let mut saw_digit = false;
    let mut too_large = false;
    loop {
        if len == 0 {
            return Ok((-2, bp));
        }
        let c = k.s.u8(bp)?;
        if !c.is_ascii_digit() {
            if !saw_digit {
                return Ok((-5, bp + 1));
            }
            break;
        }
        let d = (c - b'0') as i64;
        const MAX: i64 = i32::MAX as i64;
        if result > MAX / 10 {
            too_large = true;
        } else {
            result *= 10;
            if result == (MAX / 10) * 10 && d > MAX % 10 {
                too_large = true;
            } else {
                result += d;
            }
        }
        bp += 1;
        len -= 1;
        saw_digit = true;
    }
    if k.s.u8(bp)? != b'\r' {
        return Ok((-5, bp + 1));
    }
    bp += 1;
    len -= 1;
    if len == 0 {
        return Ok((-2, bp));
    }
    if k.s.u8(bp)? != b'\n' {
        return Ok((-5, bp + 1));
    }
    bp += 1;
    if neg {
        if too_large || result != 1 {
            return Ok((-4, bp));
        }
        return Ok((-1, bp));
    }
    Ok((if too_large { -3 } else { result }, bp))
}

fn print_special(k: &mut Pkt<'_>, n: i64, empty: bool) {
    k.out.s(match n {
        0 if empty => " empty",
        -1 => " null",
        -3 => " length too large",
        -4 => " length negative and not -1",
        _ => " invalid",
    });
}

fn resp_bulk_string(k: &mut Pkt<'_>, at: usize, length: i64) -> R<Option<i64>> {
    let mut cur = length - 1;
    let start = at + 1;
    let (n, mut bp) = get_length(k, start, cur)?;
    cur -= (bp - start) as i64;
    if n >= 0 {
        if n == 0 {
            k.out.s(" empty");
        } else {
            if cur < n || !k.s.ttest(bp, n as usize) {
                return Ok(None);
            }
            if !segment(k, bp, n as usize)? {
                return Ok(None);
            }
            bp += n as usize;
            cur -= n;
        }
        let Some((p, l)) = find_crlf(k, bp, cur)? else {
            return Ok(None);
        };
        cur = l - 2;
        let _ = p;
    } else if n == -2 {
        return Ok(None);
    } else {
        print_special(k, n, false);
    }
    Ok(Some(length - cur))
}

fn resp_array(k: &mut Pkt<'_>, at: usize, length: i64) -> R<Option<i64>> {
    // tcpdump keeps this count unsigned; it only shrinks by parsed elements.
    let mut cur = length - 1;
    let start = at + 1;
    let (n, mut bp) = get_length(k, start, cur)?;
    cur -= (bp - start) as i64;
    if n > 0 {
        for _ in 0..n {
            match resp_parse(k, bp, cur)? {
                Some(r) => {
                    bp += r as usize;
                    cur -= r;
                }
                None => return Ok(None),
            }
        }
    } else if n == -2 {
        return Ok(None);
    } else {
        print_special(k, n, true);
    }
    Ok(Some(length - cur))
}

/// CONSUME_CR_OR_LF: skip `\r`/`\n` bytes; `None` when the data ends before
/// any was seen.
fn consume_cr_or_lf(k: &Pkt<'_>, mut p: usize, mut len: i64) -> R<Option<(usize, i64)>> {
    let mut found = false;
    loop {
        if len == 0 || !k.s.ttest(p, 1) {
            if found {
                return Ok(Some((p, len)));
            }
            return Ok(None);
        }
        let c = k.s.u8(p)?;
        if c != b'\r' && c != b'\n' {
            return Ok(Some((p, len)));
        }
        found = true;
        p += 1;
        len -= 1;
    }
}

fn resp_inline(k: &mut Pkt<'_>, at: usize, length: i64) -> R<Option<i64>> {
    // Skip leading line ends (none is fine; no data at all is not).
    let Some((bp, mut cur)) = consume_cr_or_lf(k, at, length)? else {
        return Ok(None);
    };
    let mut ptr = bp;
    loop {
        if cur < 1 {
            return Ok(None);
        }
        let c = k.s.u8(ptr)?;
        if c == b'\r' || c == b'\n' {
            break;
        }
        ptr += 1;
        cur -= 1;
    }
    if !segment(k, bp, ptr - bp)? {
        return Ok(None);
    }
    match consume_cr_or_lf(k, ptr, cur)? {
        Some((_, l)) => cur = l,
        None => return Ok(None),
    }
    Ok(Some(length - cur))
}
