//! Link-layer printers (`-e`), after tcpdump's `print-ether.c`, `print-sll.c`,
//! `print-null.c`, `print-ppp.c`, `print-arcnet.c` and `print-raw.c`.

use super::names::ethertype_name;
use super::out::Out;
use super::{classic, ip};
use super::{Pkt, Printer, R};
use crate::source::{Frame, Linktype};
use crate::wire::link::{self as wl, Network};
use crate::wire::{ipv6, IPPROTO_TCP};

/// Does this frame carry TCP (possibly truncated or malformed)? Decides what
/// `print` shows without `--all`.
pub fn carries_tcp_frame(frame: &Frame<'_>) -> bool {
    carries_tcp(frame, false)
}

/// As [`carries_tcp_frame`], or as tcpdump 3.x decided (`classic`): it knew
/// only 802.1Q tags, and took the link layer's word for the IP version (its
/// IPv4 and IPv6 printers never looked at the version nibble).
pub(super) fn carries_tcp(frame: &Frame<'_>, classic: bool) -> bool {
    if classic && frame.linktype == Linktype::ETHERNET && !wl::only_8021q_tags(frame.data, 12) {
        return false;
    }
    let Some((net, off)) = wl::locate(frame.linktype, frame.data) else {
        return false;
    };
    let ip = &frame.data[off..];
    let v = match (net, ip.first()) {
        (Network::Ipv4, Some(_)) if classic => Some(4),
        (Network::Ipv6, Some(_)) if classic => Some(6),
        (_, b) => b.map(|b| b >> 4),
    };
    match (net, v) {
        (Network::Ipv4, Some(4)) | (Network::AnyIp, Some(4)) => ip.get(9) == Some(&IPPROTO_TCP),
        (Network::Ipv6, Some(6)) | (Network::AnyIp, Some(6)) => match ipv6::Ipv6::new_checked(ip) {
            Some(h) => match ipv6::upper_layer(&h) {
                Some(u) => u.protocol == IPPROTO_TCP,
                None => h.next_header() == IPPROTO_TCP,
            },
            None => false,
        },
        _ => false,
    }
}

fn ether_type_print(k: &mut Pkt<'_>, t: u16) {
    k.out
        .s("ethertype ")
        .s(ethertype_name(t))
        .s(" (0x")
        .x0(t as u64, 4)
        .c(b')');
}

fn tci_print(k: &mut Pkt<'_>, tci: u16) {
    k.out
        .s("vlan ")
        .u(tci & 0xfff)
        .s(", p ")
        .u(tci >> 13)
        .s(if tci & 0x1000 != 0 { ", DEI" } else { "" });
}

/// Print one frame from its link layer down.
pub(super) fn print(p: &mut Printer, k: &mut Pkt<'_>, frame: &Frame<'_>) -> R<()> {
    let length = frame.len;
    match frame.linktype {
        Linktype::ETHERNET => ether(p, k, length),
        Linktype::LINUX_SLL => sll(p, k, length),
        Linktype::LINUX_SLL2 => sll2(p, k, length),
        Linktype::NULL | Linktype::LOOP => null(p, k, frame.linktype, length),
        Linktype::PPP => ppp(p, k, length),
        Linktype::ARCNET_LINUX => arcnet_linux(p, k, length),
        Linktype::RAW | Linktype::IPV4 | Linktype::IPV6 | Linktype(12) | Linktype(14) => {
            k.proto = "raw";
            if p.opts.link {
                k.out.s("ip: ");
            }
            if p.opts.classic {
                classic::ip_n(p, k, 0, length)
            } else {
                ip::ip_n(p, k, 0, length)
            }
        }
        other => {
            k.out.s("[unsupported link type ").u(other.0).s("]");
            Ok(())
        }
    }
}

/// Hand a network-layer payload to its printer; `false` for protocols synack
/// does not print.
fn ethertype(p: &mut Printer, k: &mut Pkt<'_>, t: u16, at: usize, length: u32) -> R<bool> {
    match t {
        wl::ETHERTYPE_IPV4 => ipv4(p, k, at, length).map(|_| true),
        wl::ETHERTYPE_IPV6 => ipv6(p, k, at, length).map(|_| true),
        _ => Ok(false),
    }
}

/// IPv4 after a link header, in the chosen format.
fn ipv4(p: &mut Printer, k: &mut Pkt<'_>, at: usize, length: u32) -> R<()> {
    if p.opts.classic {
        classic::ip_print(p, k, at, length)
    } else {
        ip::ip_print(p, k, at, length)
    }
}

/// IPv6 after a link header, in the chosen format.
fn ipv6(p: &mut Printer, k: &mut Pkt<'_>, at: usize, length: u32) -> R<()> {
    if p.opts.classic {
        classic::ip6_print(p, k, at, length)
    } else {
        ip::ip6_print(p, k, at, length)
    }
}

/// Is `t` a VLAN tag for this printer? tcpdump 3.x knew only 802.1Q's
/// 0x8100; the other tag types were unknown EtherTypes to it.
fn is_tag(p: &Printer, t: u16) -> bool {
    if p.opts.classic {
        t == wl::ETHERTYPE_8021Q
    } else {
        wl::is_vlan_tpid(t)
    }
}

fn ether(p: &mut Printer, k: &mut Pkt<'_>, length: u32) -> R<()> {
    k.proto = "ether";
    let caplen = k.s.end as u32;
    if caplen < wl::ETHER_HEADER_LEN as u32 {
        k.print_trunc();
        return Ok(());
    }
    let orig_length = length;
    // (3.x prints frames whose length is below the capture length, so the
    // lengths may wrap as they did in C.)
    let mut length = length.wrapping_sub(12);
    let mut caplen = caplen - 12;
    let mut at = 12usize;
    if p.opts.link {
        let (src, dst) = (&k.s.data[6..12], &k.s.data[0..6]);
        p.names.ether(k.out, src);
        k.out.s(" > ");
        p.names.ether(k.out, dst);
        k.out.s(", ");
    }
    let mut t = k.s.be16(at)?;
    length = length.wrapping_sub(2);
    caplen = caplen.wrapping_sub(2);
    at += 2;
    let mut printed_length = false;
    let mut tags = 0;
    while is_tag(p, t) {
        if caplen < 4 || length < 4 {
            k.proto = "vlan";
            k.print_trunc();
            return Ok(());
        }
        if p.opts.link {
            let tci = k.s.be16(at)?;
            ether_type_print(k, t);
            if !printed_length {
                k.out.s(", length ").u(orig_length).s(": ");
                printed_length = true;
            } else {
                k.out.s(", ");
            }
            tci_print(k, tci);
            k.out.s(", ");
        }
        t = k.s.be16(at + 2)?;
        at += 4;
        length -= 4;
        caplen -= 4;
        tags += 1;
    }
    let classic_tags = if p.opts.classic { tags } else { 0 };
    if t <= wl::MAX_ETHERNET_LENGTH {
        // 802.3 length field, then 802.2 LLC.
        if (t as u32) < length {
            length = t as u32;
        }
        let saved = k.push_snaplen(at, length as usize);
        if p.opts.link {
            k.out.s("802.3");
            if !printed_length {
                k.out.s(", length ").u(length).s(": ");
            }
        }
        let r = classic::vlan_prefixes(k, at - 4 * classic_tags, classic_tags)
            .and_then(|_| llc(p, k, at, length));
        k.s.end = saved;
        return r;
    }
    if p.opts.link {
        ether_type_print(k, t);
        if !printed_length {
            k.out.s(", length ").u(orig_length).s(": ");
        } else {
            k.out.s(", ");
        }
    }
    classic::vlan_prefixes(k, at - 4 * classic_tags, classic_tags)?;
    if !ethertype(p, k, t, at, length)? && !p.opts.link {
        let (src, dst) = (&k.s.data[6..12], &k.s.data[0..6]);
        p.names.ether(k.out, src);
        k.out.s(" > ");
        p.names.ether(k.out, dst);
        k.out.s(", ");
        ether_type_print(k, t);
        k.out.s(", length ").u(orig_length).s(": ");
    }
    Ok(())
}

/// 802.2 LLC: only SNAP-encapsulated IP is followed (RFC 1042), as
/// `print-llc.c` prints it.
fn llc(p: &mut Printer, k: &mut Pkt<'_>, at: usize, length: u32) -> R<()> {
    k.proto = "llc";
    if length < 3 || !k.s.ttest(at, 3) {
        k.print_trunc();
        return Ok(());
    }
    let (dsap, ssap, ctrl) = (k.s.u8(at)?, k.s.u8(at + 1)?, k.s.u8(at + 2)?);
    if dsap == 0xaa && ssap == 0xaa && ctrl == 0x03 && length >= 8 {
        if p.opts.link {
            k.out
                .s("LLC, dsap SNAP (0xaa) Individual, ssap SNAP (0xaa) Command, ctrl 0x03: ");
        }
        let oui = ((k.s.u8(at + 3)? as u32) << 16) | (k.s.be16(at + 4)? as u32);
        let t = k.s.be16(at + 6)?;
        if oui == 0 {
            if p.opts.link {
                k.out
                    .s("oui Ethernet (0x000000), ethertype ")
                    .s(ethertype_name(t))
                    .s(" (0x")
                    .x0(t as u64, 4)
                    .s("), length ")
                    .u(length - 8)
                    .s(": ");
            }
            if ethertype(p, k, t, at + 8, length - 8)? {
                return Ok(());
            }
        }
    }
    k.out
        .s("LLC, dsap 0x")
        .x0(dsap as u64, 2)
        .s(", ssap 0x")
        .x0(ssap as u64, 2);
    Ok(())
}

const SLL_PKTTYPES: [&str; 5] = ["In", "B", "M", "P", "Out"];

fn pkttype_name(t: u16) -> &'static str {
    SLL_PKTTYPES.get(t as usize).copied().unwrap_or("?")
}

fn sll_protocol_print(k: &mut Pkt<'_>, t: u16, length: u32) {
    if t <= wl::MAX_ETHERNET_LENGTH {
        match t {
            1 => k.out.s("802.3"),
            4 => k.out.s("802.2"),
            _ => k.out.s("ethertype Unknown (0x").x0(t as u64, 4).s(")"),
        };
    } else {
        ether_type_print(k, t);
    }
    k.out.s(", length ").u(length).s(": ");
}

/// The VLAN tags and final protocol after a cooked header (SLL and SLL2 follow
/// only 802.1Q, and print the inner type even without `-e`).
fn cooked_payload(
    p: &mut Printer,
    k: &mut Pkt<'_>,
    mut t: u16,
    mut at: usize,
    mut length: u32,
) -> R<bool> {
    loop {
        if t == wl::ETHERTYPE_8021Q {
            if k.s.available(at) < 4 {
                k.proto = "vlan";
                k.print_trunc();
                return Ok(true);
            }
            let tci = k.s.be16(at)?;
            if p.opts.link {
                tci_print(k, tci);
                k.out.s(", ");
            }
            t = k.s.be16(at + 2)?;
            if t <= wl::MAX_ETHERNET_LENGTH {
                t = 4;
            }
            // Without -e the classic line shows only 3.x's own tag prefix.
            if !p.opts.quiet && (p.opts.link || !p.opts.classic) {
                k.out.s("ethertype ").s(ethertype_name(t)).s(", ");
            }
            if p.opts.classic {
                classic::vlan_prefix(k.out, tci);
            }
            at += 4;
            length = length.wrapping_sub(4);
            continue;
        }
        if t <= wl::MAX_ETHERNET_LENGTH {
            return Ok(false);
        }
        return ethertype(p, k, t, at, length);
    }
}

fn sll(p: &mut Printer, k: &mut Pkt<'_>, length: u32) -> R<()> {
    k.proto = "sll";
    if !k.s.ttest(0, wl::SLL_HEADER_LEN) {
        return Err(super::Trunc);
    }
    let pkttype = k.s.be16(0)?;
    let halen = k.s.be16(4)?;
    let proto = k.s.be16(14)?;
    let header = |p: &Printer, k: &mut Pkt<'_>, length: u32| {
        // `%3s `: the names are at most three letters.
        let name = pkttype_name(pkttype);
        for _ in name.len()..3 {
            k.out.c(b' ');
        }
        k.out.s(name).c(b' ');
        if halen == 6 {
            p.names.ether(k.out, &k.s.data[6..12]);
            k.out.c(b' ');
        }
        if !p.opts.quiet {
            sll_protocol_print(k, proto, length);
        }
    };
    if p.opts.link {
        header(p, k, length);
    }
    let hatype = k.s.be16(2)?;
    if hatype == 803 {
        k.out.s("[radiotap]");
        return Ok(());
    }
    if !cooked_payload(
        p,
        k,
        proto,
        wl::SLL_HEADER_LEN,
        length.wrapping_sub(wl::SLL_HEADER_LEN as u32),
    )? && !p.opts.link
    {
        header(p, k, length);
    }
    Ok(())
}

fn sll2(p: &mut Printer, k: &mut Pkt<'_>, length: u32) -> R<()> {
    k.proto = "sll2";
    if !k.s.ttest(0, wl::SLL2_HEADER_LEN) {
        return Err(super::Trunc);
    }
    let proto = k.s.be16(0)?;
    let ifindex = k.s.be32(4)?;
    let pkttype = k.s.u8(10)? as u16;
    let halen = k.s.u8(11)?;
    // tcpdump 3.x predates this header; its classic line shows it only with -e.
    if !p.opts.classic || p.opts.link {
        // `%-5s %-3s `, without a formatter or an allocation per packet.
        let name = p.interface_names.name(ifindex);
        k.out.s(name);
        for _ in name.len()..5 {
            k.out.c(b' ');
        }
        let kind = pkttype_name(pkttype);
        k.out.c(b' ').s(kind);
        for _ in kind.len()..3 {
            k.out.c(b' ');
        }
        k.out.c(b' ');
    }
    if p.opts.link {
        k.out.s("ifindex ").u(ifindex).c(b' ');
        if halen == 6 {
            p.names.ether(k.out, &k.s.data[12..18]);
            k.out.c(b' ');
        }
        if !p.opts.quiet {
            sll_protocol_print(k, proto, length);
        }
    }
    let hatype = k.s.be16(8)?;
    if hatype == 803 {
        k.out.s("[radiotap]");
        return Ok(());
    }
    cooked_payload(
        p,
        k,
        proto,
        wl::SLL2_HEADER_LEN,
        length.wrapping_sub(wl::SLL2_HEADER_LEN as u32),
    )?;
    Ok(())
}

/// Names of local interface indexes, looked up once each: SLL2 frames name
/// their interface in every packet, and the lookup is a system call.
#[derive(Default)]
pub(crate) struct InterfaceNames(foldhash::HashMap<u32, String>);

impl InterfaceNames {
    fn name(&mut self, index: u32) -> &str {
        self.0.entry(index).or_insert_with(|| interface_name(index))
    }
}

/// The name of a local interface index, `?` when there is none (tcpdump's
/// `if_indextoname` on the reading machine).
fn interface_name(index: u32) -> String {
    let mut buf = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: the buffer is IF_NAMESIZE bytes, as if_indextoname requires; on
    // success it holds a NUL-terminated name.
    unsafe {
        if libc::if_indextoname(index, buf.as_mut_ptr()).is_null() {
            return "?".to_string();
        }
        std::ffi::CStr::from_ptr(buf.as_ptr())
            .to_string_lossy()
            .into_owned()
    }
}

fn null(p: &mut Printer, k: &mut Pkt<'_>, linktype: Linktype, length: u32) -> R<()> {
    k.proto = "null";
    if !k.s.ttest(0, wl::NULL_HEADER_LEN) {
        return Err(super::Trunc);
    }
    let family = wl::null_family(linktype, k.s.data);
    let header = |k: &mut Pkt<'_>, length: u32| {
        let name = match family {
            2 => "IPv4",
            6 => "NS",
            7 => "ISO",
            16 => "Appletalk",
            23 => "IPX",
            24 | 28 | 30 => "IPv6",
            _ => "Unknown",
        };
        k.out
            .s("AF ")
            .s(name)
            .s(" (")
            .u(family)
            .s("), length ")
            .u(length)
            .s(": ");
    };
    if p.opts.link {
        header(k, length);
    }
    let length = length.wrapping_sub(4);
    match wl::null_family_network(family) {
        Some(Network::Ipv4) => ipv4(p, k, 4, length),
        Some(_) => ipv6(p, k, 4, length),
        None => {
            if !p.opts.link {
                header(k, length.wrapping_add(4));
            }
            Ok(())
        }
    }
}

fn ppp_type_name(proto: u16) -> &'static str {
    match proto {
        0x0021 | 0x0800 => "IP",
        0x0057 | 0x86dd => "IPV6",
        0x002f => "VJNC",
        0x002d => "VJC",
        0xc021 => "LCP",
        0x8021 => "IPCP",
        0x8057 => "IP6CP",
        0xc023 => "PAP",
        0xc223 => "CHAP",
        _ => "unknown",
    }
}

fn ppp(p: &mut Printer, k: &mut Pkt<'_>, length: u32) -> R<()> {
    k.proto = "ppp";
    if k.s.end < 4 {
        k.print_trunc();
        return Ok(());
    }
    let olen = length;
    let mut length = length;
    let mut at = 0usize;
    if length < 2 {
        k.print_trunc();
        return Ok(());
    }
    match k.s.be16(0)? {
        0x0003 => {
            if p.opts.link {
                k.out.s("In  ");
            }
            at = 2;
            length -= 2;
        }
        0x0103 => {
            if p.opts.link {
                k.out.s("Out ");
            }
            at = 2;
            length -= 2;
        }
        0xff03 => {
            at = 2;
            length -= 2;
        }
        _ => {}
    }
    if length < 2 {
        k.print_trunc();
        return Ok(());
    }
    let proto;
    if k.s.u8(at)? % 2 == 1 {
        proto = k.s.u8(at)? as u16;
        at += 1;
        length -= 1;
    } else {
        proto = k.s.be16(at)?;
        at += 2;
        length -= 2;
    }
    if p.opts.link {
        let name = ppp_type_name(proto);
        k.out
            .s(name)
            .s(" (0x")
            .x0(proto as u64, 4)
            .s("), length ")
            .u(olen);
        if name == "unknown" {
            return Ok(());
        }
        k.out.s(": ");
    }
    match proto {
        0x0021 | 0x002f | 0x0800 => ipv4(p, k, at, length),
        0x0057 | 0x86dd => ipv6(p, k, at, length),
        _ => {
            k.out.s(ppp_type_name(proto)).c(b' ');
            Ok(())
        }
    }
}

fn arcnet_type_name(t: u8) -> Option<&'static str> {
    Some(match t {
        240 => "oldip",
        241 => "oldarp",
        212 => "ip",
        213 => "arp",
        214 => "rarp",
        221 => "atalk",
        247 => "banyan",
        250 => "ipx",
        0xc4 => "ipv6",
        0x80 => "diag",
        _ => return None,
    })
}

fn arcnet_linux(p: &mut Printer, k: &mut Pkt<'_>, length: u32) -> R<()> {
    k.proto = "arcnet_linux";
    if k.s.end < wl::ARC_LINUX_HEADER_LEN {
        return Err(super::Trunc);
    }
    let arc_type = k.s.u8(4)?;
    let hdr = wl::arcnet_linux_header_len(arc_type);
    if k.s.end < hdr {
        return Err(super::Trunc);
    }
    if p.opts.link {
        k.proto = "arcnet";
        let (s, d) = (k.s.u8(0)?, k.s.u8(1)?);
        k.out.x0(s as u64, 2).c(b' ').x0(d as u64, 2).c(b' ');
        // tcpdump reads the Linux header through the BSD layout, so the "type" it
        // names is the first byte of the Linux offset field.
        let shown_type = k.s.u8(2)?;
        match arcnet_type_name(shown_type) {
            Some(n) => k.out.s(n),
            None => k.out.x0(shown_type as u64, 2),
        };
        k.out.c(b' ').u(length).s(": ");
    }
    let length = length.wrapping_sub(hdr as u32);
    match arc_type {
        wl::ARCTYPE_IP | wl::ARCTYPE_IP_OLD => ipv4(p, k, hdr, length),
        wl::ARCTYPE_INET6 => ipv6(p, k, hdr, length),
        _ => Ok(()),
    }
}
