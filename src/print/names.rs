//! Names instead of numbers (tcpdump without `-n`): TCP ports from the services
//! database, hosts by reverse lookup (cached, as tcpdump caches), and the
//! OUI vendor note tcpdump adds to MAC addresses.

use std::collections::HashMap;
use std::ffi::CStr;

use super::out::Out;
use crate::wire::Addr;

/// tcpdump's `oui_values` table (`oui.c`), first match wins.
const OUI_NAMES: &[(u32, &str)] = &[
    (0x000000, "Ethernet"),
    (0x00000c, "Cisco"),
    (0x00005e, "IANA"),
    (0x000081, "Nortel Networks SONMP"),
    (0x0000f8, "Cisco bridged"),
    (0x0080c2, "Ethernet bridged"),
    (0x00a03e, "ATM Forum"),
    (0x00e02f, "DOCSIS Spanning Tree"),
    (0x080007, "Appletalk"),
    (0x009069, "Juniper"),
    (0x080009, "Hewlett-Packard"),
    (0x00120f, "IEEE 802.3 Private"),
    (0x0012bb, "ANSI/TIA"),
    (0x001b21, "DCBX"),
    (0x002320, "Nicira Networks"),
    (0x5c16c7, "Big Switch Networks"),
    (0xb0d2f5, "Vello Systems"),
    (0x002481, "HP"),
    (0x0004ea, "HP-Labs"),
    (0x748771, "Infoblox Inc"),
    (0xa42305, "Open Networking Lab"),
    (0x00049f, "Freescale"),
    (0x0015ad, "Netronome"),
    (0x001018, "Broadcom"),
    (0x00e004, "PMC-Sierra"),
    (0xd0f0db, "Ericsson"),
];

/// tcpdump's `ethertype_values` names.
pub(super) fn ethertype_name(t: u16) -> &'static str {
    match t {
        0x0800 => "IPv4",
        0x8847 => "MPLS unicast",
        0x8848 => "MPLS multicast",
        0x86dd => "IPv6",
        0x8100 => "802.1Q",
        0x9100 => "802.1Q-9100",
        0x88a8 => "802.1Q-QinQ",
        0x9200 => "802.1Q-9200",
        0x88e5 => "802.1AE MACsec",
        0x0200 => "PUP",
        0x0806 => "ARP",
        0x8035 => "Reverse ARP",
        0x0600 => "NS",
        0x0500 => "Sprite",
        0x1000 => "Trail",
        0x6001 => "MOP DL",
        0x6002 => "MOP RC",
        0x6003 => "DN",
        0x6004 => "LAT",
        0x6007 => "SCA",
        0x6558 => "TEB",
        0x8038 => "Lanbridge",
        0x803c => "DEC DNS",
        0x803e => "DEC DTS",
        0x805b => "VEXP",
        0x805c => "VPROD",
        0x809b => "Appletalk",
        0x80f3 => "Appletalk ARP",
        0x8137 => "IPX",
        0x880b => "PPP",
        0x8808 => "MPCP",
        0x8809 => "Slow Protocols",
        0x8863 => "PPPoE D",
        0x8864 => "PPPoE S",
        0x888e => "EAPOL",
        0x8899 => "Realtek protocols",
        0x886f => "MS NLB heartbeat",
        0x8870 => "Jumbo",
        0x894f => "NSH",
        0x9000 => "Loopback",
        0xfefe => "OSI",
        0x00fe => "GRE-OSI",
        0xabcd => "CFM (old)",
        0x8902 => "CFM",
        0x893a => "IEEE1905.1",
        0x88cc => "LLDP",
        0x88ca => "TIPC",
        0x0707 => "GeoNet (old)",
        0x8947 => "GeoNet",
        0x1111 => "CALM FAST",
        0x88a2 => "AoE",
        0x88f7 => "PTP",
        0xd28b => "Arista Vendor Specific Protocol",
        _ => "Unknown",
    }
}

/// Name lookups with their caches. With `numeric`, nothing is looked up.
pub struct Names {
    numeric: bool,
    tcp_ports: HashMap<u16, String>,
    hosts: HashMap<Addr, String>,
}

/// Parse a services file (`name port/proto aliases...`): the first TCP entry
/// for a port wins, as with tcpdump's table built from `getservent`.
pub fn parse_services(text: &str) -> HashMap<u16, String> {
    let mut map = HashMap::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut words = line.split_whitespace();
        let (Some(name), Some(port_proto)) = (words.next(), words.next()) else {
            continue;
        };
        let Some((port, proto)) = port_proto.split_once('/') else {
            continue;
        };
        if proto != "tcp" {
            continue;
        }
        if let Ok(port) = port.parse::<u16>() {
            map.entry(port).or_insert_with(|| name.to_string());
        }
    }
    map
}

/// The system's services database, or nothing if it cannot be read.
fn read_services() -> HashMap<u16, String> {
    std::fs::read_to_string("/etc/services")
        .map(|t| parse_services(&t))
        .unwrap_or_default()
}

/// The services database's name for a TCP port, whatever `-n` says: the
/// explanations name the service a port is registered for. Read once.
pub fn service_name(port: u16) -> Option<&'static str> {
    static SERVICES: std::sync::OnceLock<HashMap<u16, String>> = std::sync::OnceLock::new();
    SERVICES
        .get_or_init(read_services)
        .get(&port)
        .map(String::as_str)
}

impl Names {
    pub fn new(numeric: bool) -> Names {
        let tcp_ports = if numeric {
            HashMap::new()
        } else {
            read_services()
        };
        Names {
            numeric,
            tcp_ports,
            hosts: HashMap::new(),
        }
    }

    /// The services database's name for a TCP port, if any (ignores `-n`).
    pub fn service(&self, port: u16) -> Option<&str> {
        self.tcp_ports.get(&port).map(String::as_str)
    }

    /// A TCP port as tcpdump prints it.
    pub fn tcp_port(&self, out: &mut Vec<u8>, port: u16) {
        match self.tcp_ports.get(&port) {
            Some(name) if !self.numeric => {
                out.s(name);
            }
            _ => {
                out.u(port);
            }
        }
    }

    /// A host address as tcpdump prints it.
    pub fn host(&mut self, out: &mut Vec<u8>, addr: Addr) {
        if self.numeric {
            addr.write_to(out);
            return;
        }
        let name = self
            .hosts
            .entry(addr)
            .or_insert_with(|| reverse_lookup(addr).unwrap_or_else(|| addr.to_string()));
        out.s(name);
    }

    /// A MAC address as tcpdump prints it.
    pub fn ether(&self, out: &mut Vec<u8>, mac: &[u8]) {
        for (i, b) in mac.iter().enumerate() {
            if i > 0 {
                out.push(b':');
            }
            out.x0(*b as u64, 2);
        }
        if !self.numeric && mac.len() == 6 {
            let oui = u32::from_be_bytes([0, mac[0], mac[1], mac[2]]);
            let name = OUI_NAMES
                .iter()
                .find(|(o, _)| *o == oui)
                .map_or("Unknown", |(_, n)| n);
            out.s(" (oui ").s(name).c(b')');
        }
    }
}

/// Reverse DNS (or /etc/hosts) for an address, as gethostbyaddr gives tcpdump.
fn reverse_lookup(addr: Addr) -> Option<String> {
    let std_addr = std::net::SocketAddr::new(addr.to_std(), 0);
    // SAFETY: the sockaddr is built in a properly sized, zeroed storage of the
    // right family; getnameinfo writes at most `host.len()` bytes into `host`
    // and NUL-terminates it on success.
    unsafe {
        let mut storage: libc::sockaddr_storage = std::mem::zeroed();
        let len = match std_addr {
            std::net::SocketAddr::V4(a) => {
                let sin = &mut storage as *mut _ as *mut libc::sockaddr_in;
                (*sin).sin_family = libc::AF_INET as libc::sa_family_t;
                (*sin).sin_addr.s_addr = u32::from_ne_bytes(a.ip().octets());
                std::mem::size_of::<libc::sockaddr_in>()
            }
            std::net::SocketAddr::V6(a) => {
                let sin6 = &mut storage as *mut _ as *mut libc::sockaddr_in6;
                (*sin6).sin6_family = libc::AF_INET6 as libc::sa_family_t;
                (*sin6).sin6_addr.s6_addr = a.ip().octets();
                std::mem::size_of::<libc::sockaddr_in6>()
            }
        };
        let mut host = [0 as libc::c_char; 1025];
        let rc = libc::getnameinfo(
            &storage as *const _ as *const libc::sockaddr,
            len as libc::socklen_t,
            host.as_mut_ptr(),
            host.len() as libc::socklen_t,
            std::ptr::null_mut(),
            0,
            libc::NI_NAMEREQD,
        );
        if rc != 0 {
            return None;
        }
        Some(CStr::from_ptr(host.as_ptr()).to_string_lossy().into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_first_tcp_entry_wins() {
        let text = "telnet 23/tcp\nfoo 23/tcp # dup\nbar 23/udp\nhttp 80/tcp www # WorldWideWeb\n";
        let m = parse_services(text);
        assert_eq!(m.get(&23).map(String::as_str), Some("telnet"));
        assert_eq!(m.get(&80).map(String::as_str), Some("http"));
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn numeric_mac_has_no_oui_note() {
        let n = Names::new(true);
        let mut v = Vec::new();
        n.ether(&mut v, &[0, 0xa0, 0xc9, 0x11, 0x22, 0x33]);
        assert_eq!(v, b"00:a0:c9:11:22:33");
    }
}
