//! The classic tcpdump 3.x line format (`--classic`), after tcpdump 3.7.2's
//! `print-ip.c`, `print-ip6.c`, `print-frag6.c`, `print-rt6.c`,
//! `print-ip6opts.c`, `print-tcp.c` and `ether_encap_print`:
//!
//! ```text
//! 192.168.1.12.1051 > 192.168.1.11.23: S 4255483971:4255483971(0) win 65535 <mss 1460> (DF)
//! ```
//!
//! It is a second consumer of the 4.x printer's machinery: the link-layer walk
//! hands it the network layer, and it reads through the same bounds-checked
//! [`Snap`](super::Snap), names and output helpers; time stamps come from the
//! shared clock in its 3.x mode. The text is written field by field because it
//! must be byte-identical to 3.7.2's `printf`s.
//!
//! Two ways in which 3.7.2 read packets differently from 4.x show in its
//! output, and are kept: the snapshot end is the capture length, never
//! narrowed to the IP length (bytes after the datagram count as captured); and
//! truncation is checked where 3.7.2 checked it, with its own marks
//! (`[|tcp]`, `[|ip]`, `[|ip6]` ..., printed without a leading space). A few
//! reads 3.7.2 made without any check can fall past the captured bytes; it then
//! printed whatever followed in memory. Those bytes are not invented here: the
//! layer ends with its truncation mark instead.

mod ip;
mod ip6;
mod tcp;
#[cfg(test)]
mod tests;

pub(super) use ip::{ip_n, ip_print};
pub(super) use ip6::ip6_print;
pub(crate) use tcp::flag_letters;

use super::out::Out;
use super::{Pkt, Printer, R};
use crate::wire::Addr;

/// `802.1Q vlan#N PN ` (` CFI` before the space when the DEI bit is set), as
/// 3.7.2's `ether_encap_print` prints each 802.1Q tag, with or without `-e`.
pub(super) fn vlan_prefix(out: &mut Vec<u8>, tci: u16) {
    out.s("802.1Q vlan#")
        .u(tci & 0xfff)
        .s(" P")
        .u(tci >> 13)
        .s(if tci & 0x1000 != 0 { " CFI " } else { " " });
}

/// The 3.x prefix of each of `tags` tags whose TCIs start at `at`, printed
/// (with or without `-e`) just before the network layer.
pub(super) fn vlan_prefixes(k: &mut Pkt<'_>, at: usize, tags: usize) -> R<()> {
    for i in 0..tags {
        let tci = k.s.be16(at + 4 * i)?;
        vlan_prefix(k.out, tci);
    }
    Ok(())
}

/// 3.7.2's `safeputchar`: printable ASCII as is, anything else as `\ooo`.
fn safe_put(out: &mut Vec<u8>, c: u8) {
    if (0x20..0x7f).contains(&c) {
        out.c(c);
    } else {
        out.c(b'\\').u(c >> 6).u((c >> 3) & 7).u(c & 7);
    }
}

/// The names 3.7.2 got from `getprotobynumber` (Debian's `/etc/protocols`)
/// for the protocols a classic line may name.
fn protocol_name(proto: u8) -> Option<&'static str> {
    Some(match proto {
        1 => "icmp",
        2 => "igmp",
        4 => "ipencap",
        6 => "tcp",
        17 => "udp",
        41 => "ipv6",
        43 => "ipv6-route",
        44 => "ipv6-frag",
        47 => "gre",
        50 => "esp",
        51 => "ah",
        58 => "ipv6-icmp",
        59 => "ipv6-nonxt",
        60 => "ipv6-opts",
        132 => "sctp",
        _ => return None,
    })
}

/// Packets that are not TCP reach this printer only with `--all`, and get a
/// short line: for UDP `SRC.SPORT > DST.DPORT: udp N` (as 3.7.2's
/// `udp_print` begins), otherwise the IP layer's fallback text. 3.7.2's own
/// UDP, ICMP, AH, ESP, ... decoders are not reproduced.
fn udp_line(p: &mut Printer, k: &mut Pkt<'_>, at: usize, (src, dst): (Addr, Addr)) {
    let (Ok(sp), Ok(dp), Ok(ulen)) = (k.s.be16(at), k.s.be16(at + 2), k.s.be16(at + 4)) else {
        k.out.s("[|udp]");
        return;
    };
    p.names.host(k.out, src);
    k.out.c(b'.').u(sp).s(" > ");
    p.names.host(k.out, dst);
    k.out
        .c(b'.')
        .u(dp)
        .s(": udp ")
        .u((ulen as u32).wrapping_sub(8) as i32);
}
