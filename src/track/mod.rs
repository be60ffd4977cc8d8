//! The connection tracker: follows every TCP connection attempt and keeps one
//! [`Attempt`] record per `(4-tuple, client ISN)` (handshakes.md §1–§3, §8).
//!
//! ```text
//! let mut t = Tracker::new(TrackerConfig::default());
//! while let Some(frame) = source.next_frame()? {
//!     t.observe(&frame);
//!     while let Some(record) = t.next_finished() { report(record) }
//! }
//! t.finish();
//! while let Some(record) = t.next_finished() { report(record) }
//! ```
//!
//! Records come out in the order of their first packet
//! ([`Emit::InOrder`], for files: a record is written once its connection is
//! over) or as soon as their verdict is final ([`Emit::WhenFinal`], for live
//! capture: established at the completing ACK, refused at the RST, unanswered
//! and half-open at the timeout). State is bounded: timeouts, a cap on live
//! attempts with the longest-idle evicted first, and a cap on records waiting
//! for their turn.

pub mod analysis;
pub mod attempt;
pub mod heuristics;
pub mod key;
mod machine;
pub mod options;
mod order;
pub mod packet;
mod release;
pub mod rtt;
pub mod seq;
mod slots;
mod table;
mod timeouts;
pub mod wireshark;
pub mod zeek;

pub use analysis::{analyze, Analysis, Verdict};
pub use attempt::{Attempt, EndReason, Event, EventKind, Origin};
pub use key::{Endpoint, FlowKey, Side};
pub use packet::Packet;
pub use release::Counted;
pub use table::Tracker;

use std::time::Duration;

/// When records leave the tracker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Emit {
    /// When the connection is over, in the order of first packets (files).
    InOrder,
    /// As soon as the handshake verdict is final (live capture).
    WhenFinal,
}

/// Limits and timeouts. Times are capture time, not wall-clock time.
#[derive(Clone, Debug)]
pub struct TrackerConfig {
    /// An attempt whose handshake is unfinished is judged after this long
    /// without a packet (SYN retries are at most 32 s apart on Linux).
    pub handshake_timeout: Duration,
    /// An open connection with no packet for this long is written as `open`
    /// (Zeek's `tcp_inactivity_timeout`).
    pub idle_timeout: Duration,
    /// A closed connection stays this long to absorb late segments and to
    /// recognise port reuse.
    pub linger: Duration,
    /// Most attempts held at once; beyond it the longest-idle one is evicted.
    pub max_live: usize,
    /// Most finished records held back to keep the output in order (or to
    /// let their detector window fill); beyond it a record held back only by
    /// its window leaves with the counts so far, else the attempt holding
    /// them back is written as it stands.
    pub max_waiting: usize,
    pub emit: Emit,
    pub detectors: heuristics::DetectorConfig,
    /// Only each record's verdict, handshake time and server are read (the
    /// summary): what cannot change them is not derived. Segments are not
    /// checksummed, Zeek's and Wireshark's views are not kept, and the
    /// detector windows are not counted. The table, its timeouts and its
    /// caps are kept as they are, so every verdict is the one a full run
    /// gives.
    pub counts_only: bool,
    /// Zeek's and Wireshark's views, the detector windows and the checksum
    /// counts are not read (the report): they are not kept, and segments
    /// are not checksummed (the report's ladders verify the checksums of
    /// the packets they draw). Every verdict is again the one a full run
    /// gives. Implied by `counts_only`.
    pub without_views: bool,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        TrackerConfig {
            handshake_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(300),
            linger: Duration::from_secs(10),
            max_live: 100_000,
            max_waiting: 25_000,
            emit: Emit::InOrder,
            detectors: heuristics::DetectorConfig::default(),
            counts_only: false,
            without_views: false,
        }
    }
}

impl TrackerConfig {
    /// Are TCP checksums verified? A bad checksum changes no verdict: only
    /// the counts of bad checksums, their events and Zeek's view.
    pub fn checksums(&self) -> bool {
        !(self.counts_only || self.without_views)
    }

    /// Are Zeek's and Wireshark's views and the detector windows kept?
    pub fn views(&self) -> bool {
        !(self.counts_only || self.without_views)
    }
}

/// What the tracker counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TrackerStats {
    pub frames: u64,
    pub tcp_segments: u64,
    /// Frames that are not IP, or IP but not TCP.
    pub not_tcp: u64,
    /// TCP segments cut before the end of their fixed header.
    pub truncated: u64,
    /// TCP segments with an impossible header length.
    pub malformed: u64,
    pub attempts: u64,
    pub evicted: u64,
    pub flushed: u64,
    pub peak_live: u64,
}

#[cfg(test)]
mod tests {
    #[test]
    fn record_size_stays_small() {
        // One live attempt costs this plus its table entry; the default cap
        // of 100 000 live attempts must stay far below 256 MB.
        let size = std::mem::size_of::<super::Attempt>();
        println!("Attempt: {size} bytes");
        assert!(size <= 896, "Attempt grew to {size} bytes");
    }
}
