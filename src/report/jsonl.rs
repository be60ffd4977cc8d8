//! `--format jsonl`: one JSON object per attempt, the schema of handshakes.md §9.
//! Field names are an interface: add fields, never rename.

use serde::Serialize;
use serde_json::value::RawValue;

use super::text::{event_detail, event_name, time_text, transmission_times};
use super::Record;
use crate::track::analysis::Value;
use crate::track::options::Offer;
use crate::track::Side;

/// A time written with exactly the capture's digits (a float would lose them).
fn time(r: &Record<'_>, t: Option<crate::source::Timestamp>) -> Option<Box<RawValue>> {
    // SAFETY: `time_text` writes a JSON number and nothing else: an optional
    // minus, decimal digits, a point and six or nine digits. Not parsing it
    // again saves a tenth of a JSON Lines run (a record has several times).
    t.map(|t| unsafe { RawValue::from_string_unchecked(time_text(t, r.precision)) })
}

#[derive(Serialize)]
struct Rtt {
    syn_to_synack: Option<f64>,
    synack_to_ack: Option<f64>,
    handshake: Option<f64>,
    irtt: Option<f64>,
}

#[derive(Serialize)]
struct SideOptions<'a> {
    mss: Option<u16>,
    wscale: Option<u8>,
    sack_ok: bool,
    timestamps: bool,
    tfo: Option<&'a str>,
    mptcp: Option<&'a str>,
    md5: bool,
    tcp_ao: bool,
}

impl<'a> From<&'a Offer> for SideOptions<'a> {
    fn from(o: &'a Offer) -> Self {
        SideOptions {
            mss: o.mss,
            wscale: o.wscale,
            sack_ok: o.sack_ok,
            timestamps: o.timestamps,
            tfo: o.tfo.as_deref(),
            mptcp: o.mptcp.as_deref(),
            md5: o.md5,
            tcp_ao: o.tcp_ao,
        }
    }
}

#[derive(Serialize)]
struct Agreed {
    mss: u16,
    wscale: Option<[u8; 2]>,
    sack_ok: bool,
    timestamps: bool,
}

#[derive(Serialize)]
struct Options<'a> {
    client: Option<SideOptions<'a>>,
    server: Option<SideOptions<'a>>,
    agreed: Option<Agreed>,
}

#[derive(Serialize)]
struct Tfo<'a> {
    cookie_requested: bool,
    cookie: Option<&'a str>,
    syn_data_bytes: u32,
    syn_data_accepted: bool,
}

#[derive(Serialize)]
#[serde(untagged)]
enum CheckValue<'a> {
    Num(u64),
    Text(&'a str),
}

impl<'a> From<&'a Value> for CheckValue<'a> {
    fn from(v: &'a Value) -> Self {
        match v {
            Value::Num(n) => CheckValue::Num(*n),
            Value::Text(t) => CheckValue::Text(t),
        }
    }
}

#[derive(Serialize)]
struct Check<'a> {
    step: &'a str,
    check: &'a str,
    expected: CheckValue<'a>,
    actual: CheckValue<'a>,
    ok: bool,
}

#[derive(Serialize)]
struct Event {
    time: Option<Box<RawValue>>,
    frame: u64,
    kind: &'static str,
    detail: String,
}

#[derive(Serialize)]
struct Heuristic<'a> {
    name: &'a str,
    evidence: &'a str,
}

#[derive(Serialize)]
struct Zeek<'a> {
    conn_state: &'a str,
    history: &'a str,
}

#[derive(Serialize)]
struct Json<'a> {
    id: u64,
    ip_version: u8,
    client: String,
    client_port: u16,
    server: String,
    server_port: u16,
    verdict: &'a str,
    client_isn: Option<u32>,
    server_isn: Option<u32>,
    syn_count: u32,
    synack_count: u32,
    first_syn_time: Option<Box<RawValue>>,
    synack_time: Option<Box<RawValue>>,
    ack_time: Option<Box<RawValue>>,
    end_time: Option<Box<RawValue>>,
    rtt_us: Rtt,
    rtt_note: Option<String>,
    capture_point: &'a str,
    options: Options<'a>,
    ecn: &'a str,
    tfo: Option<Tfo<'a>>,
    checks: Vec<Check<'a>>,
    events: Vec<Event>,
    close: &'a str,
    closed_by: Option<&'a str>,
    bytes_client_to_server: u64,
    bytes_server_to_client: u64,
    heuristics: Vec<Heuristic<'a>>,
    zeek: Zeek<'a>,
    wireshark_completeness: u8,
    // Beyond §9.
    first_frame: u64,
    first_time: Option<Box<RawValue>>,
    packets: u64,
    syn_times: Vec<Box<RawValue>>,
    synack_times: Vec<Box<RawValue>>,
    ack_payload_bytes: Option<u32>,
    ack_mptcp: Option<String>,
    ignored_rsts: u32,
    challenge_acks: u32,
    events_dropped: u32,
    end_reason: Option<&'static str>,
}

pub(crate) fn end_reason(r: crate::track::EndReason) -> &'static str {
    use crate::track::EndReason as E;
    match r {
        E::Closed => "closed",
        E::Timeout => "timeout",
        E::Evicted => "evicted",
        E::Flushed => "flushed",
        E::Replaced => "replaced",
        E::EndOfInput => "end_of_input",
    }
}

/// Append one record as a JSON line.
pub fn write(r: &Record<'_>, out: &mut Vec<u8>) {
    let a = r.attempt;
    let n = &r.analysis;
    let times = |synack: bool| {
        transmission_times(a, synack)
            .into_iter()
            .filter_map(|t| time(r, Some(t)))
            .collect::<Vec<_>>()
    };
    let j = Json {
        id: r.id,
        ip_version: a.ip_version,
        client: a.client.addr.to_string(),
        client_port: a.client.port,
        server: a.server.addr.to_string(),
        server_port: a.server.port,
        verdict: n.verdict.name(),
        client_isn: a.client_isn,
        server_isn: a.server_isn,
        syn_count: a.syn_count,
        synack_count: a.synack_count,
        first_syn_time: time(r, a.syn.map(|s| s.time)),
        synack_time: time(r, a.synack.map(|s| s.time)),
        ack_time: time(r, a.completing.map(|c| c.time)),
        end_time: time(r, Some(a.last_time)),
        rtt_us: Rtt {
            syn_to_synack: n.rtt.syn_to_synack,
            synack_to_ack: n.rtt.synack_to_ack,
            handshake: n.rtt.handshake,
            irtt: n.rtt.irtt,
        },
        rtt_note: n.rtt_note(),
        capture_point: n.capture_point.name(),
        options: Options {
            client: n.negotiation.client.as_ref().map(SideOptions::from),
            server: n.negotiation.server.as_ref().map(SideOptions::from),
            agreed: n.negotiation.agreed.as_ref().map(|g| Agreed {
                mss: g.mss,
                wscale: g.wscale,
                sack_ok: g.sack_ok,
                timestamps: g.timestamps,
            }),
        },
        ecn: n.ecn.name(),
        tfo: n.tfo.as_ref().map(|t| Tfo {
            cookie_requested: t.cookie_requested,
            cookie: t.cookie.as_deref(),
            syn_data_bytes: t.syn_data_bytes,
            syn_data_accepted: t.syn_data_accepted,
        }),
        checks: n
            .checks
            .iter()
            .map(|c| Check {
                step: c.step,
                check: c.check,
                expected: (&c.expected).into(),
                actual: (&c.actual).into(),
                ok: c.ok,
            })
            .collect(),
        events: a
            .events
            .iter()
            .map(|e| Event {
                time: time(r, Some(e.time)),
                frame: e.frame,
                kind: event_name(&e.kind),
                detail: event_detail(e, r.precision),
            })
            .collect(),
        close: n.close.name(),
        closed_by: n.closed_by.map(Side::name),
        bytes_client_to_server: a.bytes[0],
        bytes_server_to_client: a.bytes[1],
        heuristics: n
            .heuristics
            .iter()
            .map(|h| Heuristic {
                name: h.name,
                evidence: &h.evidence,
            })
            .collect(),
        zeek: Zeek {
            conn_state: n.zeek_conn_state,
            history: &n.zeek_history,
        },
        wireshark_completeness: n.wireshark_completeness,
        first_frame: a.first_frame,
        first_time: time(r, Some(a.first_time)),
        packets: a.packets,
        syn_times: times(false),
        synack_times: times(true),
        ack_payload_bytes: a.completing.map(|c| c.payload_len),
        ack_mptcp: a
            .completing
            .and_then(|c| c.mptcp)
            .map(crate::track::options::mptcp_name),
        ignored_rsts: a.ignored_rsts,
        challenge_acks: a.challenge_acks,
        events_dropped: a.events_dropped,
        end_reason: a.end_reason.map(end_reason),
    };
    // Serialising plain structs into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, &j);
    out.push(b'\n');
}
