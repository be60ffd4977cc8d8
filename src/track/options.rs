//! Options negotiation (handshakes.md §5): per side from the SYN and the
//! SYN-ACK, and what both agreed.

use super::attempt::{Attempt, OptionFacts, SegmentFacts};
use crate::wire::tcp;

/// What one side offered in its SYN (or SYN-ACK).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Offer {
    pub mss: Option<u16>,
    pub wscale: Option<u8>,
    pub sack_ok: bool,
    pub timestamps: bool,
    /// `request`, or the cookie in hex.
    pub tfo: Option<String>,
    /// `mp_capable`, `mp_join`, or `subtype N`.
    pub mptcp: Option<String>,
    pub md5: bool,
    pub tcp_ao: bool,
}

impl Offer {
    fn from(o: &OptionFacts) -> Offer {
        Offer {
            mss: o.mss,
            wscale: o.wscale,
            sack_ok: o.sack_ok,
            timestamps: o.timestamps.is_some(),
            tfo: o.tfo.map(|t| {
                if t.is_request() {
                    "request".to_string()
                } else {
                    hex(t.cookie())
                }
            }),
            mptcp: o.mptcp.map(mptcp_name),
            md5: o.md5,
            tcp_ao: o.tcp_ao,
        }
    }
}

pub fn mptcp_name(subtype: u8) -> String {
    match subtype {
        0 => "mp_capable".to_string(),
        1 => "mp_join".to_string(),
        n => format!("subtype {n}"),
    }
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// What both sides agreed on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Agreed {
    /// The smaller advertised MSS; an absent option counts as 536 (IPv4) or
    /// 1220 (IPv6) (RFC 9293 §3.7.1, RFC 8200 §5).
    pub mss: u16,
    /// Shifts `[client, server]`, each capped at 14 (RFC 7323 §2.3); only
    /// when both sides sent the option.
    pub wscale: Option<[u8; 2]>,
    pub sack_ok: bool,
    pub timestamps: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Negotiation {
    pub client: Option<Offer>,
    pub server: Option<Offer>,
    pub agreed: Option<Agreed>,
}

/// The client's opening segment and the server's answer (for a simultaneous
/// open: each side's SYN).
fn opening(a: &Attempt) -> (Option<&SegmentFacts>, Option<&SegmentFacts>) {
    let server = a
        .synack
        .as_ref()
        .or_else(|| a.simultaneous.as_ref().and_then(|s| s.server_syn.as_ref()));
    (a.syn.as_ref(), server)
}

pub fn negotiate(a: &Attempt) -> Negotiation {
    let (c, s) = opening(a);
    let client = c.map(|f| Offer::from(&f.options));
    let server = s.map(|f| Offer::from(&f.options));
    let agreed = match (c, s) {
        (Some(c), Some(s)) => {
            let default = if a.ip_version == 6 { 1220 } else { 536 };
            let cm = c.options.mss.unwrap_or(default);
            let sm = s.options.mss.unwrap_or(default);
            Some(Agreed {
                mss: cm.min(sm),
                wscale: match (c.options.wscale, s.options.wscale) {
                    (Some(x), Some(y)) => Some([x.min(14), y.min(14)]),
                    _ => None,
                },
                sack_ok: c.options.sack_ok && s.options.sack_ok,
                timestamps: c.options.timestamps.is_some() && s.options.timestamps.is_some(),
            })
        }
        _ => None,
    };
    Negotiation {
        client,
        server,
        agreed,
    }
}

/// ECN negotiation (RFC 3168 §6.1.1; AccECN, RFC 9768 §3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ecn {
    Negotiated,
    Requested,
    AccEcn,
    Off,
}

impl Ecn {
    pub fn name(self) -> &'static str {
        match self {
            Ecn::Negotiated => "negotiated",
            Ecn::Requested => "requested",
            Ecn::AccEcn => "accecn",
            Ecn::Off => "off",
        }
    }
}

pub fn ecn(a: &Attempt) -> Ecn {
    let Some(syn) = a.syn.as_ref() else {
        return Ecn::Off;
    };
    let ece_cwr = tcp::ECE | tcp::CWR;
    if syn.flags & ece_cwr != ece_cwr {
        return Ecn::Off;
    }
    let accecn_asked = syn.ae;
    let Some(sa) = a.synack.as_ref() else {
        return Ecn::Requested;
    };
    let ae = sa.ae;
    let cwr = sa.flags & tcp::CWR != 0;
    let ece = sa.flags & tcp::ECE != 0;
    match (ae, cwr, ece) {
        (false, false, true) => Ecn::Negotiated,
        (false, false, false) => Ecn::Requested,
        // Any other combination answers an AccECN request (RFC 9768 table 2);
        // to a classic request it is a broken answer.
        _ if accecn_asked => Ecn::AccEcn,
        _ => Ecn::Requested,
    }
}

/// TCP Fast Open as seen in the handshake (RFC 7413).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tfo {
    pub cookie_requested: bool,
    /// The cookie the server granted, else the one the client sent (hex).
    pub cookie: Option<String>,
    pub syn_data_bytes: u32,
    pub syn_data_accepted: bool,
}

pub fn tfo(a: &Attempt) -> Option<Tfo> {
    let syn = a.syn.as_ref()?;
    let client = syn.options.tfo;
    let server = a.synack.as_ref().and_then(|s| s.options.tfo);
    if client.is_none() && server.is_none() && a.syn_data_max == 0 {
        return None;
    }
    let granted = server.filter(|t| !t.is_request()).map(|t| hex(t.cookie()));
    let sent = client.filter(|t| !t.is_request()).map(|t| hex(t.cookie()));
    let x = syn.seq;
    let accepted = a
        .synack
        .as_ref()
        .is_some_and(|s| s.ack.wrapping_sub(x.wrapping_add(1)) as i32 > 0);
    Some(Tfo {
        cookie_requested: client.is_some_and(|t| t.is_request()),
        cookie: granted.or(sent),
        syn_data_bytes: a.syn_data_max,
        syn_data_accepted: accepted,
    })
}
