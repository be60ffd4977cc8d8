//! Link-layer headers: where the network layer starts in a frame.
//!
//! Covered: Ethernet (with 802.1Q / 802.1ad / 0x9100 / 0x9200 tags and 802.2
//! LLC/SNAP), Linux cooked v1 and v2, BSD null/loopback, PPP, Linux ARCNET, and
//! raw IP (any version, IPv4 only, IPv6 only).

use super::be16;
use crate::source::Linktype;

pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const ETHERTYPE_ARP: u16 = 0x0806;
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
pub const ETHERTYPE_8021Q: u16 = 0x8100;
pub const ETHERTYPE_8021AD: u16 = 0x88a8;
pub const ETHERTYPE_8021Q9100: u16 = 0x9100;
pub const ETHERTYPE_8021Q9200: u16 = 0x9200;
/// Type/length values up to this are 802.3 lengths, not types.
pub const MAX_ETHERNET_LENGTH: u16 = 1500;

pub const ETHER_HEADER_LEN: usize = 14;
pub const SLL_HEADER_LEN: usize = 16;
pub const SLL2_HEADER_LEN: usize = 20;
pub const NULL_HEADER_LEN: usize = 4;

pub const PPP_IP: u16 = 0x0021;
pub const PPP_IPV6: u16 = 0x0057;
pub const PPP_VJNC: u16 = 0x002f;

pub const ARCTYPE_IP_OLD: u8 = 240;
pub const ARCTYPE_ARP_OLD: u8 = 241;
pub const ARCTYPE_IP: u8 = 212;
pub const ARCTYPE_INET6: u8 = 0xc4;
pub const ARCTYPE_DIAGNOSE: u8 = 0x80;
pub const ARC_LINUX_HEADER_LEN: usize = 5;
pub const ARC_LINUX_HEADER_NEW_LEN: usize = 8;

/// Is this type/length value a VLAN tag protocol identifier?
pub fn is_vlan_tpid(t: u16) -> bool {
    matches!(
        t,
        ETHERTYPE_8021Q | ETHERTYPE_8021AD | ETHERTYPE_8021Q9100 | ETHERTYPE_8021Q9200
    )
}

/// Which network protocol follows the link header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Network {
    Ipv4,
    Ipv6,
    /// Raw IP: the version nibble decides.
    AnyIp,
}

/// BSD address-family values for IPv4 and the IPv6 values of the BSDs.
pub fn null_family_network(family: u32) -> Option<Network> {
    match family {
        2 => Some(Network::Ipv4),
        24 | 28 | 30 => Some(Network::Ipv6),
        _ => None,
    }
}

/// The address family of a NULL/LOOP header: host byte order of the capturing
/// machine for NULL, network order for LOOP; swapped when the upper half is set.
pub fn null_family(linktype: Linktype, hdr: &[u8]) -> u32 {
    let raw = [hdr[0], hdr[1], hdr[2], hdr[3]];
    let fam = if linktype == Linktype::LOOP {
        u32::from_be_bytes(raw)
    } else {
        u32::from_ne_bytes(raw)
    };
    if fam & 0xffff_0000 != 0 {
        fam.swap_bytes()
    } else {
        fam
    }
}

fn ethertype_network(t: u16) -> Option<Network> {
    match t {
        ETHERTYPE_IPV4 => Some(Network::Ipv4),
        ETHERTYPE_IPV6 => Some(Network::Ipv6),
        _ => None,
    }
}

/// Skip VLAN tags after a type field at `at`; returns the final type and the
/// offset of what follows it. `None` when a tag is cut short.
pub fn skip_vlan_tags(data: &[u8], at: usize) -> Option<(u16, usize)> {
    let t = be16(data.get(at..at + 2)?, 0);
    skip_vlan_tags_after(data, t, at + 2)
}

/// Are the VLAN tags from the type field at `at` on (if any) all 802.1Q
/// (0x8100), the only kind tcpdump 3.x knew?
pub fn only_8021q_tags(data: &[u8], mut at: usize) -> bool {
    while let Some(t) = data.get(at..at + 2).map(|b| be16(b, 0)) {
        if !is_vlan_tpid(t) {
            return true;
        }
        if t != ETHERTYPE_8021Q {
            return false;
        }
        at += 4;
    }
    true
}

/// Skip VLAN tags when the first type `t` is already read and the tags (if any)
/// start at `at`.
pub fn skip_vlan_tags_after(data: &[u8], mut t: u16, mut at: usize) -> Option<(u16, usize)> {
    while is_vlan_tpid(t) {
        t = be16(data.get(at + 2..at + 4)?, 0);
        at += 4;
    }
    Some((t, at))
}

/// 802.2 LLC with a SNAP header carrying an EtherType (RFC 1042): the type and
/// the offset of the payload.
pub fn llc_snap(data: &[u8], at: usize) -> Option<(u16, usize)> {
    let llc = data.get(at..at + 8)?;
    (llc[0] == 0xaa && llc[1] == 0xaa && llc[2] == 0x03 && llc[3..6] == [0, 0, 0])
        .then(|| (be16(llc, 6), at + 8))
}

/// The PPP header (DLT_PPP): optional address/control (or pppd direction)
/// bytes, then a 1- or 2-byte protocol. Returns (protocol, header length).
pub fn ppp_header(data: &[u8]) -> Option<(u16, usize)> {
    let mut at = 0;
    let first = be16(data.get(0..2)?, 0);
    if matches!(first, 0xff03 | 0x0003 | 0x0103) {
        at = 2;
    }
    let b = *data.get(at)?;
    if b % 2 == 1 {
        Some((b as u16, at + 1))
    } else {
        Some((be16(data.get(at..at + 2)?, 0), at + 2))
    }
}

fn ppp_network(proto: u16) -> Option<Network> {
    match proto {
        PPP_IP | PPP_VJNC | ETHERTYPE_IPV4 => Some(Network::Ipv4),
        PPP_IPV6 | ETHERTYPE_IPV6 => Some(Network::Ipv6),
        _ => None,
    }
}

/// Length of the Linux ARCNET header for this frame type.
pub fn arcnet_linux_header_len(arc_type: u8) -> usize {
    match arc_type {
        ARCTYPE_IP_OLD | ARCTYPE_ARP_OLD | ARCTYPE_DIAGNOSE => ARC_LINUX_HEADER_LEN,
        _ => ARC_LINUX_HEADER_NEW_LEN,
    }
}

/// Find the network layer of a frame: its protocol and offset.
pub fn locate(linktype: Linktype, data: &[u8]) -> Option<(Network, usize)> {
    // Nearly every frame is Ethernet II with IPv4 or IPv6 and no VLAN tag:
    // decided with one look before the general walk (this runs for every
    // frame tracked).
    if linktype == Linktype::ETHERNET && data.len() >= ETHER_HEADER_LEN {
        match be16(data, 12) {
            ETHERTYPE_IPV4 => return Some((Network::Ipv4, ETHER_HEADER_LEN)),
            ETHERTYPE_IPV6 => return Some((Network::Ipv6, ETHER_HEADER_LEN)),
            _ => {}
        }
    }
    match linktype {
        Linktype::ETHERNET => {
            if data.len() < ETHER_HEADER_LEN {
                return None;
            }
            let (t, at) = skip_vlan_tags(data, 12)?;
            if t <= MAX_ETHERNET_LENGTH {
                let (t, at) = llc_snap(data, at)?;
                return Some((ethertype_network(t)?, at));
            }
            Some((ethertype_network(t)?, at))
        }
        Linktype::LINUX_SLL => {
            if data.len() < SLL_HEADER_LEN {
                return None;
            }
            let (t, at) = skip_vlan_tags(data, 14)?;
            Some((ethertype_network(t)?, at))
        }
        Linktype::LINUX_SLL2 => {
            if data.len() < SLL2_HEADER_LEN {
                return None;
            }
            let (t, at) = skip_vlan_tags_after(data, be16(data, 0), SLL2_HEADER_LEN)?;
            Some((ethertype_network(t)?, at))
        }
        Linktype::NULL | Linktype::LOOP => {
            if data.len() < NULL_HEADER_LEN {
                return None;
            }
            Some((
                null_family_network(null_family(linktype, data))?,
                NULL_HEADER_LEN,
            ))
        }
        Linktype::PPP => {
            let (proto, at) = ppp_header(data)?;
            Some((ppp_network(proto)?, at))
        }
        Linktype::ARCNET_LINUX => {
            let t = *data.get(4)?;
            let at = arcnet_linux_header_len(t);
            if data.len() < at {
                return None;
            }
            match t {
                ARCTYPE_IP | ARCTYPE_IP_OLD => Some((Network::Ipv4, at)),
                ARCTYPE_INET6 => Some((Network::Ipv6, at)),
                _ => None,
            }
        }
        Linktype::RAW | Linktype(12) | Linktype(14) => Some((Network::AnyIp, 0)),
        Linktype::IPV4 => Some((Network::Ipv4, 0)),
        Linktype::IPV6 => Some((Network::Ipv6, 0)),
        _ => None,
    }
}
