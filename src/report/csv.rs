//! `--format csv`: one row per attempt under a header row.

use super::Record;
use crate::track::Side;

pub const HEADER: [&str; 36] = [
    "id",
    "first_time",
    "ip_version",
    "client",
    "client_port",
    "server",
    "server_port",
    "verdict",
    "client_isn",
    "server_isn",
    "syn_count",
    "synack_count",
    "syn_to_synack_us",
    "synack_to_ack_us",
    "handshake_us",
    "irtt_us",
    "capture_point",
    "mss",
    "wscale_client",
    "wscale_server",
    "sack_ok",
    "timestamps",
    "ecn",
    "tfo_syn_data_bytes",
    "tfo_syn_data_accepted",
    "close",
    "closed_by",
    "bytes_client_to_server",
    "bytes_server_to_client",
    "ignored_rsts",
    "challenge_acks",
    "failed_checks",
    "heuristics",
    "zeek_conn_state",
    "zeek_history",
    "wireshark_completeness",
];

/// Writes rows through the `csv` crate (quoting, escaping) into the caller's
/// buffer.
#[derive(Default)]
pub struct CsvWriter;

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

impl CsvWriter {
    pub fn new() -> CsvWriter {
        CsvWriter
    }

    fn put<I, T>(out: &mut Vec<u8>, fields: I)
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        let mut w = csv::WriterBuilder::new().from_writer(out);
        // Writing into memory cannot fail.
        let _ = w.write_record(fields);
        let _ = w.flush();
    }

    pub fn header(&self, out: &mut Vec<u8>) {
        Self::put(out, HEADER);
    }

    pub fn row(&self, r: &Record<'_>, out: &mut Vec<u8>) {
        let a = r.attempt;
        let n = &r.analysis;
        let agreed = n.negotiation.agreed.as_ref();
        let wscale = agreed.and_then(|g| g.wscale);
        let failed: Vec<String> = n
            .checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| format!("{}.{}", c.step, c.check))
            .collect();
        let heur: Vec<&str> = n.heuristics.iter().map(|h| h.name).collect();
        let row = [
            r.id.to_string(),
            super::time_text(a.first_time, r.precision),
            a.ip_version.to_string(),
            a.client.addr.to_string(),
            a.client.port.to_string(),
            a.server.addr.to_string(),
            a.server.port.to_string(),
            n.verdict.name().to_string(),
            opt(a.client_isn),
            opt(a.server_isn),
            a.syn_count.to_string(),
            a.synack_count.to_string(),
            opt(n.rtt.syn_to_synack),
            opt(n.rtt.synack_to_ack),
            opt(n.rtt.handshake),
            opt(n.rtt.irtt),
            n.capture_point.name().to_string(),
            opt(agreed.map(|g| g.mss)),
            opt(wscale.map(|w| w[0])),
            opt(wscale.map(|w| w[1])),
            opt(agreed.map(|g| g.sack_ok)),
            opt(agreed.map(|g| g.timestamps)),
            n.ecn.name().to_string(),
            opt(n.tfo.as_ref().map(|t| t.syn_data_bytes)),
            opt(n.tfo.as_ref().map(|t| t.syn_data_accepted)),
            n.close.name().to_string(),
            n.closed_by.map(Side::name).unwrap_or_default().to_string(),
            a.bytes[0].to_string(),
            a.bytes[1].to_string(),
            a.ignored_rsts.to_string(),
            a.challenge_acks.to_string(),
            failed.join(" "),
            heur.join(" "),
            n.zeek_conn_state.to_string(),
            n.zeek_history.clone(),
            n.wireshark_completeness.to_string(),
        ];
        Self::put(out, &row);
    }
}
