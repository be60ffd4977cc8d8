//! `--format zeek`: a Zeek `conn.log` in Zeek's ASCII (TSV) format, so that
//! tools that read Zeek logs read synack's records.
//!
//! The columns are those of Zeek's `Conn::Info` (base/protocols/conn/main.zeek)
//! in Zeek's order, filled as Zeek's `set_conn` fills them: `duration`,
//! `orig_bytes` and `resp_bytes` only when the duration is above zero,
//! `history` only when not empty, `local_orig`/`local_resp` unset (no
//! `Site::local_nets`), `service` and `tunnel_parents` unset. The originator
//! is Zeek's (the record's `zeek_orig`), which is the client except when Zeek
//! would flip the direction. synack's own fields follow Zeek's, named in
//! docs/exports.md; intervals are seconds, as Zeek writes them.
//!
//! Unlike Zeek, `#open` and `#close` name the capture's time (the first
//! record's start and the latest record's end, UTC), not the wall clock: the
//! same capture gives the same bytes on every machine.

use std::fmt::Write;

use super::Record;
use crate::print::time::utc_parts;
use crate::source::{Precision, Timestamp};
use crate::track::{Attempt, Endpoint, Side};

/// Zeek's `conn.log` columns, then synack's, with their Zeek types.
pub const FIELDS: [(&str, &str); 43] = [
    ("ts", "time"),
    ("uid", "string"),
    ("id.orig_h", "addr"),
    ("id.orig_p", "port"),
    ("id.resp_h", "addr"),
    ("id.resp_p", "port"),
    ("proto", "enum"),
    ("service", "string"),
    ("duration", "interval"),
    ("orig_bytes", "count"),
    ("resp_bytes", "count"),
    ("conn_state", "string"),
    ("local_orig", "bool"),
    ("local_resp", "bool"),
    ("missed_bytes", "count"),
    ("history", "string"),
    ("orig_pkts", "count"),
    ("orig_ip_bytes", "count"),
    ("resp_pkts", "count"),
    ("resp_ip_bytes", "count"),
    ("tunnel_parents", "set[string]"),
    // synack's fields.
    ("synack_id", "count"),
    ("verdict", "string"),
    ("client_is_orig", "bool"),
    ("client_isn", "count"),
    ("server_isn", "count"),
    ("syn_count", "count"),
    ("synack_count", "count"),
    ("rtt_syn_to_synack", "interval"),
    ("rtt_synack_to_ack", "interval"),
    ("rtt_handshake", "interval"),
    ("rtt_irtt", "interval"),
    ("capture_point", "string"),
    ("mss", "count"),
    ("wscale", "vector[count]"),
    ("sack_ok", "bool"),
    ("timestamps", "bool"),
    ("ecn", "string"),
    ("tfo_syn_data_accepted", "bool"),
    ("close", "string"),
    ("closed_by", "string"),
    ("failed_checks", "vector[string]"),
    ("heuristics", "vector[string]"),
];

const UNSET: &str = "-";
const EMPTY: &str = "(empty)";

#[derive(Default)]
pub struct ConnLogWriter {
    opened: bool,
    latest_end: Option<Timestamp>,
}

/// Zeek's `%Y-%m-%d-%H-%M-%S` for `#open` and `#close`.
fn log_date(t: Option<Timestamp>) -> String {
    let sec = t.map_or(0, |t| t.sec);
    match utc_parts(sec) {
        Some([y, mo, d, h, mi, s]) => format!("{y:04}-{mo:02}-{d:02}-{h:02}-{mi:02}-{s:02}"),
        None => "1970-01-01-00-00-00".to_string(),
    }
}

/// Zeek writes times and intervals with six decimals.
fn seconds(t: Timestamp) -> String {
    super::time_text(t, Precision::Micro)
}

fn interval_us(us: Option<f64>) -> String {
    us.map_or(UNSET.to_string(), |us| format!("{:.6}", us / 1e6))
}

fn count<T: ToString>(v: Option<T>) -> String {
    v.map_or(UNSET.to_string(), |v| v.to_string())
}

fn boolean(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "T",
        Some(false) => "F",
        None => UNSET,
    }
}

fn vector<T: AsRef<str>>(items: &[T]) -> String {
    if items.is_empty() {
        return EMPTY.to_string();
    }
    let v: Vec<&str> = items.iter().map(AsRef::as_ref).collect();
    v.join(",")
}

/// A Zeek-like connection id: `C` and 17 base-62 digits of a hash of the
/// attempt's start, endpoints and client ISN. Hand-written so that it is the
/// same on every machine and in every build (the standard library's hasher
/// promises no stable output, and the tables' hasher is seeded per process);
/// the same attempt seen in two runs gets the same uid, which lets per-file
/// runs on a cluster be joined.
pub fn uid(a: &Attempt) -> String {
    fn mix(mut z: u64) -> u64 {
        // splitmix64's finaliser.
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    let mut words: Vec<u64> = vec![a.first_time.sec as u64, a.first_time.nsec as u64];
    for e in [a.client, a.server] {
        let text = e.to_string();
        for chunk in text.as_bytes().chunks(8) {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            words.push(u64::from_le_bytes(w));
        }
    }
    words.push(u64::from(a.client_isn.unwrap_or(0)));
    let (mut h1, mut h2) = (0x243f_6a88_85a3_08d3_u64, 0x1319_8a2e_0370_7344_u64);
    for w in words {
        h1 = mix(h1 ^ w);
        h2 = mix(h2.wrapping_add(w).rotate_left(17));
    }
    const DIGITS: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut n = (u128::from(h1) << 64) | u128::from(h2);
    let mut s = String::with_capacity(18);
    s.push('C');
    for _ in 0..17 {
        s.push(DIGITS[(n % 62) as usize] as char);
        n /= 62;
    }
    s
}

impl ConnLogWriter {
    pub fn new() -> ConnLogWriter {
        ConnLogWriter::default()
    }

    fn header(&mut self, open: Option<Timestamp>, out: &mut Vec<u8>) {
        let mut s = String::new();
        s.push_str("#separator \\x09\n#set_separator\t,\n");
        let _ = writeln!(
            s,
            "#empty_field\t{EMPTY}\n#unset_field\t{UNSET}\n#path\tconn"
        );
        let _ = writeln!(s, "#open\t{}", log_date(open));
        let names: Vec<&str> = FIELDS.iter().map(|f| f.0).collect();
        let types: Vec<&str> = FIELDS.iter().map(|f| f.1).collect();
        let _ = writeln!(s, "#fields\t{}", names.join("\t"));
        let _ = writeln!(s, "#types\t{}", types.join("\t"));
        out.extend_from_slice(s.as_bytes());
        self.opened = true;
    }

    /// The `#close` line (and the header, when there were no records).
    pub fn close(&mut self, out: &mut Vec<u8>) {
        if !self.opened {
            self.header(None, out);
        }
        out.extend_from_slice(format!("#close\t{}\n", log_date(self.latest_end)).as_bytes());
    }

    pub fn row(&mut self, r: &Record<'_>, out: &mut Vec<u8>) {
        self.before_row(r.attempt.first_time, r.attempt.last_time, out);
        row_fields(r, out);
    }

    /// What the log keeps of a record before its row: the header before the
    /// first, the latest end for `#close`.
    pub fn before_row(&mut self, first_time: Timestamp, last_time: Timestamp, out: &mut Vec<u8>) {
        if !self.opened {
            self.header(Some(first_time), out);
        }
        if self.latest_end.map_or(true, |t| last_time > t) {
            self.latest_end = Some(last_time);
        }
    }
}

/// One record's row alone: [`ConnLogWriter::row`] without the header.
pub fn row_fields(r: &Record<'_>, out: &mut Vec<u8>) {
    let a = r.attempt;
    let n = &r.analysis;
    let (o, resp): (Endpoint, Endpoint) = match a.zeek_orig {
        Side::Client => (a.client, a.server),
        Side::Server => (a.server, a.client),
    };
    let oi = a.zeek_orig.idx();
    let ri = 1 - oi;
    let duration = a.last_time.micros_since(a.first_time);
    let timed = duration > 0.0;
    let agreed = n.negotiation.agreed.as_ref();
    let wscale: Vec<String> = agreed
        .and_then(|g| g.wscale)
        .map(|w| w.iter().map(u8::to_string).collect())
        .unwrap_or_default();
    let failed: Vec<String> = n
        .checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| format!("{}.{}", c.step, c.check))
        .collect();
    let heuristics: Vec<&str> = n.heuristics.iter().map(|h| h.name).collect();
    let fields: [String; 43] = [
        seconds(a.first_time),
        uid(a),
        o.addr.to_string(),
        o.port.to_string(),
        resp.addr.to_string(),
        resp.port.to_string(),
        "tcp".into(),
        UNSET.into(),
        if timed {
            format!("{:.6}", duration / 1e6)
        } else {
            UNSET.into()
        },
        count(timed.then_some(a.bytes[oi])),
        count(timed.then_some(a.bytes[ri])),
        n.zeek_conn_state.into(),
        UNSET.into(),
        UNSET.into(),
        a.gap_bytes.to_string(),
        if n.zeek_history.is_empty() {
            UNSET.into()
        } else {
            n.zeek_history.clone()
        },
        a.side_packets[oi].to_string(),
        a.ip_bytes[oi].to_string(),
        a.side_packets[ri].to_string(),
        a.ip_bytes[ri].to_string(),
        UNSET.into(),
        r.id.to_string(),
        n.verdict.name().into(),
        boolean(Some(a.zeek_orig == Side::Client)).into(),
        count(a.client_isn),
        count(a.server_isn),
        a.syn_count.to_string(),
        a.synack_count.to_string(),
        interval_us(n.rtt.syn_to_synack),
        interval_us(n.rtt.synack_to_ack),
        interval_us(n.rtt.handshake),
        interval_us(n.rtt.irtt),
        n.capture_point.name().into(),
        count(agreed.map(|g| g.mss)),
        if agreed.is_some() {
            vector(&wscale)
        } else {
            UNSET.into()
        },
        boolean(agreed.map(|g| g.sack_ok)).into(),
        boolean(agreed.map(|g| g.timestamps)).into(),
        n.ecn.name().into(),
        boolean(n.tfo.as_ref().map(|t| t.syn_data_accepted)).into(),
        n.close.name().into(),
        n.closed_by.map_or(UNSET, Side::name).into(),
        vector(&failed),
        vector(&heuristics),
    ];
    out.extend_from_slice(fields.join("\t").as_bytes());
    out.push(b'\n');
}
