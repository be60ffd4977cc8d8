//! The classic TCP printer, after tcpdump 3.7.2's `tcp_print`.

use super::super::optwalk::{self, OptEnd};
use super::super::out::Out;
use super::super::tcp::{ack_win_urg, endpoints, rst_data};
use super::super::{rel_base, Pkt, Printer, SeqBase, R};
use super::safe_put;
use crate::wire::tcp::*;
use crate::wire::{tcp_checksum_v4, tcp_checksum_v6, Addr, IPPROTO_TCP};

/// The IP header below a segment as 3.7.2's `tcp_print` reads it (its
/// `bp2`): as IPv6 when the version nibble says 6, as IPv4 otherwise,
/// whichever printer led there.
#[derive(Clone, Copy)]
struct IpBelow {
    at: usize,
    v6: bool,
}

impl IpBelow {
    fn new(k: &Pkt<'_>, at: usize) -> R<IpBelow> {
        Ok(IpBelow {
            at,
            v6: k.s.u8(at)? >> 4 == 6,
        })
    }

    /// The header's own protocol field (IPv6: first next header) says TCP;
    /// otherwise 3.7.2 prints the ports without addresses.
    fn direct(&self, k: &Pkt<'_>) -> R<bool> {
        Ok(k.s.u8(self.at + if self.v6 { 6 } else { 9 })? == IPPROTO_TCP)
    }

    fn addrs(&self, k: &Pkt<'_>) -> R<(Addr, Addr)> {
        let (s, d, n) = if self.v6 {
            (self.at + 8, self.at + 24, 16)
        } else {
            (self.at + 12, self.at + 16, 4)
        };
        Ok((
            Addr::from_slice(k.s.bytes(s, n)?).expect("4 or 16 bytes"),
            Addr::from_slice(k.s.bytes(d, n)?).expect("4 or 16 bytes"),
        ))
    }

    /// The `-v` checksum is computed below IPv4, and below IPv6 unless its
    /// payload length is zero (jumbograms); below other versions never.
    fn checksummed(&self, k: &Pkt<'_>) -> R<bool> {
        Ok(match k.s.u8(self.at)? >> 4 {
            4 => true,
            6 => k.s.be16(self.at + 4)? != 0,
            _ => false,
        })
    }
}

/// Flag letters: `S F R P W E` in 3.7.2's order, or `.` when none of them is
/// set (ACK and URG are shown as ` ack N` and ` urg N` instead).
pub(crate) fn flag_letters(out: &mut Vec<u8>, flags: u8) {
    const LETTERS: [(u8, u8); 6] = [
        (SYN, b'S'),
        (FIN, b'F'),
        (RST, b'R'),
        (PSH, b'P'),
        (CWR, b'W'),
        (ECE, b'E'),
    ];
    if flags & (SYN | FIN | RST | PSH | ECE | CWR) == 0 {
        out.push(b'.');
        return;
    }
    for (bit, letter) in LETTERS {
        if flags & bit != 0 {
            out.push(letter);
        }
    }
}

/// 3.7.2's collating order for a conversation: reversed when the source port
/// is higher, or on equal ports when the source address is "greater". The
/// addresses were compared as 32-bit words in the reading machine's byte order
/// (little-endian here, as on the machine that printed the oracles); for
/// IPv6 the first word whose source is greater decides, a smaller one does not.
pub(super) fn reversed(sport: u16, dport: u16, src: &[u8], dst: &[u8]) -> bool {
    if sport != dport {
        return sport > dport;
    }
    let word = |a: &[u8], i: usize| u32::from_le_bytes([a[i], a[i + 1], a[i + 2], a[i + 3]]);
    (0..src.len() / 4).any(|i| word(src, 4 * i) > word(dst, 4 * i))
}

/// An address in 3.7.2's `struct tha` slot: IPv4 in the first four bytes of a
/// zeroed IPv6-sized field (so both versions share one table).
fn slot(a: &[u8]) -> [u8; 16] {
    let mut s = [0u8; 16];
    s[..a.len()].copy_from_slice(a);
    s
}

/// Relative numbers: look up or record the conversation of an ACK-bearing
/// segment. Returns the segment's printed seq and ack, the conversation's base
/// `(seq, ack)` and whether it is reversed (for the SACK blocks).
fn relative(
    p: &mut Printer,
    (src, dst): (&[u8], &[u8]),
    (sport, dport): (u16, u16),
    (seq, ack): (u32, u32),
    syn: bool,
) -> (u32, u32, SeqBase, bool) {
    let rev = reversed(sport, dport, src, dst);
    let (key, fresh) = if rev {
        (
            (slot(dst), slot(src), (dport as u32) << 16 | sport as u32),
            (ack.wrapping_sub(1), seq),
        )
    } else {
        (
            (slot(src), slot(dst), (sport as u32) << 16 | dport as u32),
            (seq, ack.wrapping_sub(1)),
        )
    };
    let (base, known) = rel_base(&mut p.seq.classic, key, syn, fresh);
    let (mut seq, mut ack) = (seq, ack);
    if known {
        let (own, other) = if rev { (base.1, base.0) } else { base };
        seq = seq.wrapping_sub(own);
        ack = ack.wrapping_sub(other);
    }
    (seq, ack, base, rev)
}

/// 3.7.2's `tcp_print`. `length` is the TCP length the IP layer computed
/// (wrapping as C's unsigned arithmetic did); `fragmented` is 3.7.2's
/// argument of that name, which only turns the `-v` checksum off.
pub(super) fn tcp_print(
    p: &mut Printer,
    k: &mut Pkt<'_>,
    bp: usize,
    length: u32,
    ip_at: usize,
    fragmented: bool,
) -> R<()> {
    k.proto = "tcp";
    let ip = IpBelow::new(k, ip_at)?;
    if !k.s.ttest(bp + 2, 2) {
        // 3.7.2 names the addresses through `struct ip` even below IPv6, so
        // an IPv6 segment shows bytes 12-19 of its header as two IPv4 addresses.
        let s = Addr::from_slice(k.s.bytes(ip.at + 12, 4)?).expect("4 bytes");
        let d = Addr::from_slice(k.s.bytes(ip.at + 16, 4)?).expect("4 bytes");
        p.names.host(k.out, s);
        k.out.s(" > ");
        p.names.host(k.out, d);
        k.out.s(": [|tcp]");
        return Ok(());
    }
    let sport = k.s.be16(bp)?;
    let dport = k.s.be16(bp + 2)?;
    // Below a header that is IPv4 to the link layer but says version 6,
    // 3.7.2 read IPv6 addresses past its end; missing ones end the line.
    let Ok((src, dst)) = ip.addrs(k) else {
        k.out.s("[|tcp]");
        return Ok(());
    };
    let addrs = ip.direct(k)?.then_some((src, dst));
    endpoints(p, k.out, addrs, (sport, dport));
    if !k.s.ttest(bp, HEADER_LEN) {
        k.out.s("[|tcp]");
        return Ok(());
    }
    let mut seq = k.s.be32(bp + 4)?;
    let mut ack = k.s.be32(bp + 8)?;
    let off = k.s.u8(bp + 12)? >> 4;
    let flags = k.s.u8(bp + 13)?;
    let win = k.s.be16(bp + 14)?;
    let urp = k.s.be16(bp + 18)?;
    let hlen = off as u32 * 4;
    if p.opts.quiet {
        // `printf("tcp %d", length - TH_OFF(tp) * 4)`.
        k.out.s("tcp ").u(length.wrapping_sub(hlen) as i32);
        return Ok(());
    }
    flag_letters(k.out, flags);

    let (mut base, mut rev) = ((0, 0), false);
    if !p.opts.absolute && flags & ACK != 0 {
        (seq, ack, base, rev) = relative(
            p,
            (src.octets(), dst.octets()),
            (sport, dport),
            (seq, ack),
            flags & SYN != 0,
        );
    }
    p.shown = Some((seq, ack));
    if hlen > length {
        k.out.s(" [bad hdr length]");
        return Ok(());
    }
    if p.opts.verbose > 0 && !fragmented && ip.checksummed(k)? && k.s.ttest(bp, length as usize) {
        // Below IPv6, 3.7.2 summed the length the IPv6 header gives (the
        // same as `length` unless the header was not really IPv6), even past
        // the capture; such a sum is not printed here.
        let summed = if ip.v6 {
            (k.s.be16(ip.at + 4)? as usize + 40).wrapping_sub(bp - ip.at)
        } else {
            length as usize
        };
        if let Ok(seg) = k.s.bytes(bp, summed) {
            // 3.7.2 summed 16-bit words in the reading machine's (little-endian)
            // order, so a bad sum shows with its bytes swapped.
            let sum = match (src, dst) {
                (Addr::V4(s), Addr::V4(d)) => tcp_checksum_v4(&s, &d, seg),
                (Addr::V6(s), Addr::V6(d)) => tcp_checksum_v6(&s, &d, seg),
                _ => unreachable!("both addresses come from one header"),
            };
            if sum != 0 {
                k.out
                    .s(" [bad tcp cksum ")
                    .x(sum.swap_bytes() as u64)
                    .s("!]");
            } else {
                k.out.s(" [tcp sum ok]");
            }
        }
    }
    let length = length - hlen;
    if p.opts.verbose > 1 || length > 0 || flags & (SYN | FIN | RST) != 0 {
        k.out
            .c(b' ')
            .u(seq)
            .c(b':')
            .u(seq.wrapping_add(length))
            .c(b'(')
            .u(length)
            .c(b')');
    }
    ack_win_urg(k.out, "", flags, (ack, win, urp));
    if hlen > HEADER_LEN as u32 {
        k.out.s(" <");
        let end = options(k, bp + HEADER_LEN, hlen - HEADER_LEN as u32, base, rev);
        match end {
            Ok(()) => {}
            Err(OptEnd::Bad) => {
                k.out.s("[bad opt]");
            }
            // (3.x checked every read here, so all truncation is local.)
            Err(OptEnd::Trunc | OptEnd::Jump) => {
                k.out.s("[|tcp]");
            }
        }
        k.out.c(b'>');
        if end.is_err() {
            return Ok(());
        }
    }
    if length > 0 && flags & RST != 0 && p.opts.verbose > 0 {
        rst_data(k, bp + hlen as usize, length, safe_put);
    }
    // 3.7.2 went on to decode telnet (-v), BGP, PPTP, BEEP, DNS and MSDP
    // payloads here; application decoding is not part of synack's lines.
    Ok(())
}

/// The options list after `<`, without the closing `>`, through the walk
/// both formats share, with 3.7.2's names and data.
fn options(
    k: &mut Pkt<'_>,
    cp: usize,
    hlen: u32,
    (thseq, thack): SeqBase,
    rev: bool,
) -> Result<(), OptEnd> {
    let mut printed = false;
    optwalk::walk(k, cp, hlen, OptEnd::Trunc, &mut printed, |k, o| {
        // Reads after a passed LENCHECK are captured; the one exception is
        // marked below.
        macro_rules! read {
            ($e:expr) => {
                $e.map_err(|_| OptEnd::Trunc)?
            };
        }
        let cp = o.at;
        Ok(match o.kind {
            OPT_MSS => {
                k.out.s("mss");
                o.check(k, 2)?;
                k.out.c(b' ').u(read!(k.s.be16(cp)));
                2
            }
            OPT_EOL => {
                k.out.s("eol");
                0
            }
            OPT_NOP => {
                k.out.s("nop");
                0
            }
            OPT_WSCALE => {
                k.out.s("wscale");
                o.check(k, 1)?;
                k.out.c(b' ').u(read!(k.s.u8(cp)));
                1
            }
            OPT_SACK_OK => {
                k.out.s("sackOK");
                0
            }
            OPT_SACK => {
                // Yes, "sack sack N {a:b} ": 3.7.2 names the option twice.
                k.out.s("sack");
                let datalen = o.len - 2;
                if datalen % 8 != 0 {
                    k.out.s(" malformed sack ");
                } else {
                    k.out.s(" sack ").u(datalen / 8).c(b' ');
                    let base = if rev { thseq } else { thack };
                    for i in (0..datalen).step_by(8) {
                        o.check(k, i + 4)?;
                        let s = read!(k.s.be32(cp + i as usize));
                        o.check(k, i + 8)?;
                        let e = read!(k.s.be32(cp + i as usize + 4));
                        k.out
                            .c(b'{')
                            .u(s.wrapping_sub(base))
                            .c(b':')
                            .u(e.wrapping_sub(base))
                            .c(b'}');
                    }
                    k.out.c(b' ');
                }
                datalen
            }
            OPT_ECHO | OPT_ECHOREPLY | OPT_CC | OPT_CCNEW | OPT_CCECHO => {
                k.out.s(match o.kind {
                    OPT_ECHO => "echo",
                    OPT_ECHOREPLY => "echoreply",
                    OPT_CC => "cc",
                    OPT_CCNEW => "ccnew",
                    _ => "ccecho",
                });
                o.check(k, 4)?;
                k.out.c(b' ').u(read!(k.s.be32(cp)));
                4
            }
            OPT_TIMESTAMP => {
                k.out.s("timestamp");
                o.check(k, 4)?;
                k.out.c(b' ').u(read!(k.s.be32(cp)));
                o.check(k, 8)?;
                k.out.c(b' ').u(read!(k.s.be32(cp + 4)));
                8
            }
            _ => {
                k.out.s("opt-").u(o.kind).c(b':');
                let datalen = o.len - 2;
                for i in 0..datalen {
                    // 3.7.2 checks `i` bytes, then reads byte `i`: one past
                    // what it checked. A byte beyond the capture is not
                    // invented; the walk ends as truncated there.
                    o.check(k, i)?;
                    k.out.x0(read!(k.s.u8(cp + i as usize)) as u64, 2);
                }
                datalen
            }
        })
    })
}
