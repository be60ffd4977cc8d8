//! Reports on attempt records: the table for people, JSON Lines, CSV, the
//! summary, Zeek's conn.log, Parquet and the HTML report, which consume the
//! same [`Record`]s and read no packets; and the
//! explanation and ladder diagram of single attempts, which also take the
//! attempt's packets, from a second read of the capture or held while it is
//! read once ([`packets`]).

pub mod aggregate;
pub mod charts;
pub mod conn_log;
pub mod csv;
pub mod explain;
pub mod html;
pub mod jsonl;
pub mod ladder;
pub mod packets;
#[cfg(feature = "parquet")]
pub mod parquet;
pub mod summary;
pub mod table;
#[cfg(test)]
pub(crate) mod testing;
mod text;

pub use summary::Summary;
pub use text::{event_detail, event_name, time_text};

use crate::source::Precision;
use crate::track::heuristics::DetectorConfig;
use crate::track::{analyze, Analysis, Attempt, Verdict};

/// One attempt ready to be reported: the record, what was derived from it,
/// and its number in the output.
pub struct Record<'a> {
    pub id: u64,
    pub attempt: &'a Attempt,
    pub analysis: Analysis,
    pub precision: Precision,
    /// Which input it came from: the index into the expanded `-r` list (0
    /// for a single input).
    pub input: usize,
}

impl<'a> Record<'a> {
    pub fn new(
        id: u64,
        attempt: &'a Attempt,
        precision: Precision,
        cfg: &DetectorConfig,
    ) -> Record<'a> {
        Record {
            id,
            attempt,
            analysis: analyze(attempt, cfg),
            precision,
            input: 0,
        }
    }
}

/// Formats one record by itself into the bytes its sink writes for it, so
/// that records can be formatted on another thread than the one that writes
/// them ([`crate::pipeline`]): what the sink writes across records (a
/// header, a trailer) it writes itself.
pub trait RowFormat: Send {
    fn row(&mut self, r: &Record<'_>, out: &mut Vec<u8>);
}

/// Which records to show.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// Only these verdicts (empty: all).
    pub verdicts: Vec<Verdict>,
    /// Only attempts whose verdict is not `established`.
    pub failed: bool,
    /// Only attempts whose handshake took at least this many milliseconds.
    pub slow_ms: Option<f64>,
}

impl Selection {
    pub fn matches(&self, r: &Record<'_>) -> bool {
        self.matches_verdict(r.analysis.verdict, r.analysis.rtt.handshake)
    }

    /// [`Selection::matches`] from the two things it reads: the verdict and
    /// the handshake time in microseconds.
    pub fn matches_verdict(&self, v: Verdict, handshake_us: Option<f64>) -> bool {
        if !self.verdicts.is_empty() && !self.verdicts.contains(&v) {
            return false;
        }
        if self.failed && v == Verdict::Established {
            return false;
        }
        if let Some(ms) = self.slow_ms {
            match handshake_us {
                Some(us) if us >= ms * 1000.0 => {}
                _ => return false,
            }
        }
        true
    }
}
