//! `--format parquet`: the attempt records as Apache Parquet, for engines that
//! query many files at once (DuckDB, DataFusion, Spark).
//!
//! The schema is [`SCHEMA`], the JSON Lines record of handshakes.md §9 with
//! its nested objects as groups and its arrays as Parquet LISTs (field names
//! and meanings as in the JSONL; docs/exports.md lists every column). Written
//! with the parquet crate's column writers, without Arrow (which would more
//! than double the compile time for no gain here): each record is split into
//! its leaf columns with their definition and repetition levels (Dremel
//! encoding, as the Parquet format specifies), a row group at a time, so
//! memory stays bounded whatever the number of records.

use std::sync::Arc;

use parquet::basic::Compression;
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, Int32Type, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;

use super::text::{event_detail, event_name, transmission_times};
use super::Record;
use crate::app::Failure;
use crate::source::Timestamp;
use crate::track::analysis::Value as CheckValue;
use crate::track::options::Offer;
use crate::track::Side;

/// The record's Parquet schema. Times are `TIMESTAMP(NANOS)` in UTC (null when
/// a time is outside the 64-bit nanosecond range, years 1677 to 2262);
/// durations are microseconds as in the JSONL; numbers that are unsigned in the
/// JSONL are signed columns wide enough to hold them (Spark has no unsigned
/// types). `options.agreed.wscale` is a group `{client, server}` where the
/// JSONL has the pair `[client, server]`; a check's `expected` and `actual`
/// are text (a number in decimal).
pub const SCHEMA: &str = "
message synack_attempt {
  required int64 id;
  required int32 ip_version;
  required binary client (STRING);
  required int32 client_port;
  required binary server (STRING);
  required int32 server_port;
  required binary verdict (STRING);
  optional int64 client_isn;
  optional int64 server_isn;
  required int64 syn_count;
  required int64 synack_count;
  optional int64 first_syn_time (TIMESTAMP(NANOS,true));
  optional int64 synack_time (TIMESTAMP(NANOS,true));
  optional int64 ack_time (TIMESTAMP(NANOS,true));
  optional int64 end_time (TIMESTAMP(NANOS,true));
  required group rtt_us {
    optional double syn_to_synack;
    optional double synack_to_ack;
    optional double handshake;
    optional double irtt;
  }
  optional binary rtt_note (STRING);
  required binary capture_point (STRING);
  required group options {
    optional group client {
      optional int32 mss;
      optional int32 wscale;
      required boolean sack_ok;
      required boolean timestamps;
      optional binary tfo (STRING);
      optional binary mptcp (STRING);
      required boolean md5;
      required boolean tcp_ao;
    }
    optional group server {
      optional int32 mss;
      optional int32 wscale;
      required boolean sack_ok;
      required boolean timestamps;
      optional binary tfo (STRING);
      optional binary mptcp (STRING);
      required boolean md5;
      required boolean tcp_ao;
    }
    optional group agreed {
      required int32 mss;
      optional group wscale {
        required int32 client;
        required int32 server;
      }
      required boolean sack_ok;
      required boolean timestamps;
    }
  }
  required binary ecn (STRING);
  optional group tfo {
    required boolean cookie_requested;
    optional binary cookie (STRING);
    required int64 syn_data_bytes;
    required boolean syn_data_accepted;
  }
  required group checks (LIST) {
    repeated group list {
      required group element {
        required binary step (STRING);
        required binary check (STRING);
        required binary expected (STRING);
        required binary actual (STRING);
        required boolean ok;
      }
    }
  }
  required group events (LIST) {
    repeated group list {
      required group element {
        optional int64 time (TIMESTAMP(NANOS,true));
        required int64 frame;
        required binary kind (STRING);
        required binary detail (STRING);
      }
    }
  }
  required binary close (STRING);
  optional binary closed_by (STRING);
  required int64 bytes_client_to_server;
  required int64 bytes_server_to_client;
  required group heuristics (LIST) {
    repeated group list {
      required group element {
        required binary name (STRING);
        required binary evidence (STRING);
      }
    }
  }
  required group zeek {
    required binary conn_state (STRING);
    required binary history (STRING);
  }
  required int32 wireshark_completeness;
  required int64 first_frame;
  optional int64 first_time (TIMESTAMP(NANOS,true));
  required int64 packets;
  required group syn_times (LIST) {
    repeated group list {
      optional int64 element (TIMESTAMP(NANOS,true));
    }
  }
  required group synack_times (LIST) {
    repeated group list {
      optional int64 element (TIMESTAMP(NANOS,true));
    }
  }
  optional int64 ack_payload_bytes;
  optional binary ack_mptcp (STRING);
  required int64 ignored_rsts;
  required int64 challenge_acks;
  required int64 events_dropped;
  optional binary end_reason (STRING);
}
";

/// Rows per row group: large enough for good compression, small enough that
/// the buffered columns stay a few tens of megabytes.
const ROWS_PER_GROUP: usize = 32_768;

/// One value of a leaf column.
enum Value {
    Bool(bool),
    I32(i32),
    I64(i64),
    F64(f64),
    Text(ByteArray),
}

impl From<bool> for Value {
    fn from(v: bool) -> Value {
        Value::Bool(v)
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Value {
        Value::I32(v)
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::I64(v)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Value {
        Value::F64(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Text(ByteArray::from(v))
    }
}
impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Text(ByteArray::from(v.into_bytes()))
    }
}

fn u64_value(v: u64) -> Value {
    Value::I64(i64::try_from(v).unwrap_or(i64::MAX))
}

fn time(t: Timestamp) -> Option<Value> {
    i64::try_from(t.as_nanos()).ok().map(Value::I64)
}

/// The buffered values and levels of one leaf column.
#[derive(Default)]
struct Leaf {
    bools: Vec<bool>,
    i32s: Vec<i32>,
    i64s: Vec<i64>,
    f64s: Vec<f64>,
    texts: Vec<ByteArray>,
    def: Vec<i16>,
    rep: Vec<i16>,
}

/// The leaf columns of the row group being filled, in schema order; a row is
/// written leaf by leaf through `at`.
struct Columns {
    leaves: Vec<Leaf>,
    at: usize,
}

impl Columns {
    /// The next leaf: its value (or null) with its levels.
    fn push(&mut self, v: Option<Value>, def: i16, rep: i16) {
        self.entry(v, def, rep);
        self.at += 1;
    }

    /// One more entry in the current leaf (a list's leaf takes one per
    /// element).
    fn entry(&mut self, v: Option<Value>, def: i16, rep: i16) {
        let leaf = &mut self.leaves[self.at];
        leaf.def.push(def);
        leaf.rep.push(rep);
        match v {
            None => {}
            Some(Value::Bool(b)) => leaf.bools.push(b),
            Some(Value::I32(n)) => leaf.i32s.push(n),
            Some(Value::I64(n)) => leaf.i64s.push(n),
            Some(Value::F64(n)) => leaf.f64s.push(n),
            Some(Value::Text(t)) => leaf.texts.push(t),
        }
    }

    /// A leaf whose parents are all present: defined up to `max_def` when it
    /// has a value, one less when it is null.
    fn put(&mut self, v: impl Into<Value>, max_def: i16) {
        self.push(Some(v.into()), max_def, 0);
    }

    fn opt<V: Into<Value>>(&mut self, v: Option<V>, max_def: i16) {
        match v {
            Some(v) => self.push(Some(v.into()), max_def, 0),
            None => self.push(None, max_def - 1, 0),
        }
    }

    /// `n` leaves inside an optional group that is absent (defined up to
    /// `def`).
    fn absent(&mut self, n: usize, def: i16) {
        for _ in 0..n {
            self.push(None, def, 0);
        }
    }

    /// One leaf of a top-level LIST of `items`: `field` gives each element's
    /// value (None for a null element field, where `element_def` says how
    /// deep a present value is defined).
    fn list<T>(&mut self, items: &[T], element_def: i16, field: impl Fn(&T) -> Option<Value>) {
        if items.is_empty() {
            self.push(None, 0, 0);
            return;
        }
        for (k, item) in items.iter().enumerate() {
            let rep = i16::from(k > 0);
            match field(item) {
                Some(v) => self.entry(Some(v), element_def, rep),
                None => self.entry(None, element_def - 1, rep),
            }
        }
        self.at += 1;
    }
}

/// Writes records into Parquet bytes; the caller takes the bytes written
/// after each row group, so nothing grows with the number of records.
pub struct ParquetWriter {
    file: SerializedFileWriter<Vec<u8>>,
    columns: Columns,
    rows: usize,
    /// A row group was written since the bytes were last taken.
    written: bool,
}

fn failure(e: parquet::errors::ParquetError) -> Failure {
    Failure::new(format!("writing Parquet: {e}"))
}

impl ParquetWriter {
    pub fn new() -> Result<ParquetWriter, Failure> {
        let schema = Arc::new(parse_message_type(SCHEMA).map_err(failure)?);
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_created_by(format!("synack {}", env!("CARGO_PKG_VERSION")))
            .build();
        let file =
            SerializedFileWriter::new(Vec::new(), schema, Arc::new(props)).map_err(failure)?;
        let count = file.schema_descr().num_columns();
        Ok(ParquetWriter {
            file,
            columns: Columns {
                leaves: (0..count).map(|_| Leaf::default()).collect(),
                at: 0,
            },
            rows: 0,
            written: false,
        })
    }

    /// Buffer one record; a full row group is written out.
    pub fn row(&mut self, r: &Record<'_>) -> Result<(), Failure> {
        self.columns.at = 0;
        fill(&mut self.columns, r);
        debug_assert_eq!(self.columns.at, self.columns.leaves.len());
        self.rows += 1;
        if self.rows >= ROWS_PER_GROUP {
            self.write_group()?;
        }
        Ok(())
    }

    /// The bytes written since the last call, if any.
    pub fn take_written(&mut self) -> Option<Vec<u8>> {
        if !std::mem::take(&mut self.written) {
            return None;
        }
        // The writer counts the bytes it wrote itself (for the footer's
        // offsets); taking them out of the vector it writes into is safe.
        let _ = self.file.flush();
        let bytes = std::mem::take(self.file.inner_mut());
        (!bytes.is_empty()).then_some(bytes)
    }

    fn write_group(&mut self) -> Result<(), Failure> {
        if self.rows == 0 {
            return Ok(());
        }
        let mut group = self.file.next_row_group().map_err(failure)?;
        for leaf in &mut self.columns.leaves {
            let Some(mut col) = group.next_column().map_err(failure)? else {
                break;
            };
            let (def, rep) = (Some(&leaf.def[..]), Some(&leaf.rep[..]));
            let written = match col.untyped() {
                parquet::column::writer::ColumnWriter::BoolColumnWriter(_) => {
                    col.typed::<BoolType>().write_batch(&leaf.bools, def, rep)
                }
                parquet::column::writer::ColumnWriter::Int32ColumnWriter(_) => {
                    col.typed::<Int32Type>().write_batch(&leaf.i32s, def, rep)
                }
                parquet::column::writer::ColumnWriter::Int64ColumnWriter(_) => {
                    col.typed::<Int64Type>().write_batch(&leaf.i64s, def, rep)
                }
                parquet::column::writer::ColumnWriter::DoubleColumnWriter(_) => {
                    col.typed::<DoubleType>().write_batch(&leaf.f64s, def, rep)
                }
                _ => col
                    .typed::<ByteArrayType>()
                    .write_batch(&leaf.texts, def, rep),
            };
            written.map_err(failure)?;
            col.close().map_err(failure)?;
            *leaf = Leaf::default();
        }
        group.close().map_err(failure)?;
        self.rows = 0;
        self.written = true;
        Ok(())
    }

    /// Write the last row group and the footer; the remaining bytes.
    pub fn finish(mut self) -> Result<Vec<u8>, Failure> {
        self.write_group()?;
        self.file.into_inner().map_err(failure)
    }
}

fn side_options(c: &mut Columns, o: Option<&Offer>) {
    // options (required) > client/server (optional, def 1) > leaf.
    let Some(o) = o else {
        c.absent(8, 0);
        return;
    };
    c.opt(o.mss.map(i32::from), 2);
    c.opt(o.wscale.map(i32::from), 2);
    c.put(o.sack_ok, 1);
    c.put(o.timestamps, 1);
    c.opt(o.tfo.as_deref(), 2);
    c.opt(o.mptcp.as_deref(), 2);
    c.put(o.md5, 1);
    c.put(o.tcp_ao, 1);
}

fn check_text(v: &CheckValue) -> String {
    match v {
        CheckValue::Num(n) => n.to_string(),
        CheckValue::Text(t) => t.clone(),
    }
}

/// One record, leaf by leaf in schema order.
fn fill(c: &mut Columns, r: &Record<'_>) {
    let a = r.attempt;
    let n = &r.analysis;
    c.put(u64_value(r.id), 0);
    c.put(i32::from(a.ip_version), 0);
    c.put(a.client.addr.to_string(), 0);
    c.put(i32::from(a.client.port), 0);
    c.put(a.server.addr.to_string(), 0);
    c.put(i32::from(a.server.port), 0);
    c.put(n.verdict.name(), 0);
    c.opt(a.client_isn.map(i64::from), 1);
    c.opt(a.server_isn.map(i64::from), 1);
    c.put(i64::from(a.syn_count), 0);
    c.put(i64::from(a.synack_count), 0);
    for t in [
        a.syn.map(|s| s.time),
        a.synack.map(|s| s.time),
        a.completing.map(|s| s.time),
        Some(a.last_time),
    ] {
        c.opt(t.and_then(time), 1);
    }
    for us in [
        n.rtt.syn_to_synack,
        n.rtt.synack_to_ack,
        n.rtt.handshake,
        n.rtt.irtt,
    ] {
        c.opt(us, 1);
    }
    c.opt(n.rtt_note(), 1);
    c.put(n.capture_point.name(), 0);
    side_options(c, n.negotiation.client.as_ref());
    side_options(c, n.negotiation.server.as_ref());
    match n.negotiation.agreed.as_ref() {
        None => c.absent(5, 0),
        Some(g) => {
            c.put(i32::from(g.mss), 1);
            match g.wscale {
                Some([cs, ss]) => {
                    c.put(i32::from(cs), 2);
                    c.put(i32::from(ss), 2);
                }
                None => c.absent(2, 1),
            }
            c.put(g.sack_ok, 1);
            c.put(g.timestamps, 1);
        }
    }
    c.put(n.ecn.name(), 0);
    match n.tfo.as_ref() {
        None => c.absent(4, 0),
        Some(t) => {
            c.put(t.cookie_requested, 1);
            c.opt(t.cookie.as_deref(), 2);
            c.put(i64::from(t.syn_data_bytes), 1);
            c.put(t.syn_data_accepted, 1);
        }
    }
    let checks = &n.checks;
    c.list(checks, 1, |k| Some(k.step.into()));
    c.list(checks, 1, |k| Some(k.check.into()));
    c.list(checks, 1, |k| Some(check_text(&k.expected).into()));
    c.list(checks, 1, |k| Some(check_text(&k.actual).into()));
    c.list(checks, 1, |k| Some(k.ok.into()));
    let events = &a.events;
    c.list(events, 2, |e| time(e.time));
    c.list(events, 1, |e| Some(u64_value(e.frame)));
    c.list(events, 1, |e| Some(event_name(&e.kind).into()));
    c.list(events, 1, |e| Some(event_detail(e, r.precision).into()));
    c.put(n.close.name(), 0);
    c.opt(n.closed_by.map(Side::name), 1);
    c.put(u64_value(a.bytes[0]), 0);
    c.put(u64_value(a.bytes[1]), 0);
    let heuristics = &n.heuristics;
    c.list(heuristics, 1, |h| Some(h.name.into()));
    c.list(heuristics, 1, |h| Some(h.evidence.as_str().into()));
    c.put(n.zeek_conn_state, 0);
    c.put(n.zeek_history.as_str(), 0);
    c.put(i32::from(n.wireshark_completeness), 0);
    c.put(u64_value(a.first_frame), 0);
    c.opt(time(a.first_time), 1);
    c.put(u64_value(a.packets), 0);
    let syn_times = transmission_times(a, false);
    let synack_times = transmission_times(a, true);
    c.list(&syn_times, 2, |t| time(*t));
    c.list(&synack_times, 2, |t| time(*t));
    c.opt(a.completing.map(|k| i64::from(k.payload_len)), 1);
    c.opt(
        a.completing
            .and_then(|k| k.mptcp)
            .map(crate::track::options::mptcp_name),
        1,
    );
    c.put(i64::from(a.ignored_rsts), 0);
    c.put(i64::from(a.challenge_acks), 0);
    c.put(i64::from(a.events_dropped), 0);
    c.opt(a.end_reason.map(super::jsonl::end_reason), 1);
}
