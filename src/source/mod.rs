//! Where frames come from: capture files (pcap, pcapng), live interfaces, and the
//! BPF filter that may sit in front of either.
//!
//! Every source hands out [`Frame`]s one at a time through [`FrameSource`]; the
//! frame borrows the source's buffer, so nothing is allocated per packet (a live
//! capture copies each packet once, out of libpcap's buffer into its own).
//! A live source also says when it is idle ([`Event::Idle`]), so that consumers
//! can flush output and fire timeouts while the wire is quiet.

pub mod devices;
pub mod file;
pub mod filter;
pub mod libpcap;
pub mod live;
mod pcapng_checks;
pub mod stop;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

pub use file::{open_path, CaptureFile};
pub use filter::BpfFilter;

/// A link-layer header type, as the `LINKTYPE_*` registry numbers it
/// (the values pcap and pcapng files store).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Linktype(pub u32);

impl Linktype {
    pub const NULL: Linktype = Linktype(0);
    pub const ETHERNET: Linktype = Linktype(1);
    pub const PPP: Linktype = Linktype(9);
    pub const RAW: Linktype = Linktype(101);
    pub const LOOP: Linktype = Linktype(108);
    pub const LINUX_SLL: Linktype = Linktype(113);
    pub const ARCNET_LINUX: Linktype = Linktype(129);
    pub const IPV4: Linktype = Linktype(228);
    pub const IPV6: Linktype = Linktype(229);
    pub const LINUX_SLL2: Linktype = Linktype(276);

    /// The link type of a libpcap DLT value (the inverse of [`Linktype::dlt`]).
    pub fn from_dlt(dlt: i32) -> Linktype {
        match dlt {
            12 | 14 => Linktype::RAW,
            v => Linktype(v as u32),
        }
    }

    /// The DLT value libpcap uses for this link type (they differ for a few
    /// historical types; BPF programs are compiled for the DLT).
    pub fn dlt(self) -> i32 {
        match self.0 {
            101 => 12, // LINKTYPE_RAW is DLT_RAW (12 on most systems, 14 on OpenBSD)
            v => v as i32,
        }
    }

    /// Link types synack can decode.
    pub fn is_supported(self) -> bool {
        matches!(
            self.0,
            0 | 1 | 9 | 12 | 14 | 101 | 108 | 113 | 129 | 228 | 229 | 276
        )
    }

    /// The name and description tcpdump prints in its "reading from file" line.
    pub fn name_and_description(self) -> (&'static str, &'static str) {
        match self.0 {
            0 => ("NULL", "BSD loopback"),
            1 => ("EN10MB", "Ethernet"),
            9 => ("PPP", "PPP"),
            101 => ("RAW", "Raw IP"),
            108 => ("LOOP", "OpenBSD loopback"),
            113 => ("LINUX_SLL", "Linux cooked v1"),
            129 => ("ARCNET_LINUX", "Linux ARCNET"),
            228 => ("IPV4", "Raw IPv4"),
            229 => ("IPV6", "Raw IPv6"),
            276 => ("LINUX_SLL2", "Linux cooked v2"),
            _ => ("UNKNOWN", "unknown link type"),
        }
    }
}

impl fmt::Display for Linktype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (name, _) = self.name_and_description();
        if name == "UNKNOWN" {
            write!(f, "LINKTYPE_{}", self.0)
        } else {
            f.write_str(name)
        }
    }
}

/// A packet time stamp as libpcap hands it to tcpdump.
///
/// `sec` is the seconds field exactly as stored (sign-extended from 32 bits in pcap
/// files, as libpcap does), and `nsec` the fraction in nanoseconds *without*
/// normalisation: captures in the wild hold fractions of a second or more, and
/// tcpdump prints those digits as they are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    pub sec: i64,
    pub nsec: i64,
}

impl Timestamp {
    pub const fn new(sec: i64, nsec: i64) -> Self {
        Timestamp { sec, nsec }
    }

    /// The microsecond fraction libpcap gives tcpdump by default: nanosecond
    /// captures are scaled down by truncating integer division.
    pub fn usec(self) -> i64 {
        self.nsec / 1000
    }

    /// Nanoseconds since the epoch (fractions out of range are carried as they are).
    pub fn as_nanos(self) -> i128 {
        self.sec as i128 * 1_000_000_000 + self.nsec as i128
    }

    /// Seconds since the epoch as a float.
    pub fn as_secs_f64(self) -> f64 {
        self.sec as f64 + self.nsec as f64 / 1e9
    }

    /// Microseconds from `earlier` to `self` (negative when out of order).
    pub fn micros_since(self, earlier: Timestamp) -> f64 {
        (self.as_nanos() - earlier.as_nanos()) as f64 / 1000.0
    }
}

/// How precise the capture's clock was, so that outputs print the digits it has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Precision {
    #[default]
    Micro,
    Nano,
}

/// Where some records of a capture file lie: the number and offset of a frame
/// about every [`FrameIndex::EVERY`] frames, noted on a first read so that a
/// second read of the same file can skip to the frames it wants
/// ([`CaptureFile::seek_record`]).
#[derive(Clone, Debug)]
pub struct FrameIndex {
    /// `(number, offset)`, both increasing.
    marks: Vec<(u64, u64)>,
    next: u64,
    /// pcapng: where the last section header or interface description read
    /// so far ends, kept by the file read (unknown, `u64::MAX`, until
    /// [`Input::note_index`](crate::input::Input::note_index)).
    settled: Arc<AtomicU64>,
}

impl Default for FrameIndex {
    fn default() -> Self {
        FrameIndex {
            marks: Vec::new(),
            next: 0,
            settled: Arc::new(AtomicU64::new(u64::MAX)),
        }
    }
}

impl FrameIndex {
    pub const EVERY: u64 = 4096;

    /// Where the last pcapng section header or interface description read
    /// so far ends: a second read skips only past it.
    pub fn settled(&self) -> u64 {
        self.settled.load(Ordering::Relaxed)
    }

    /// What the file read keeps at [`FrameIndex::settled`].
    pub fn settled_to(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.settled)
    }

    /// Note a frame read (every one, in order; a filter may leave gaps).
    #[inline]
    pub fn note(&mut self, f: &Frame<'_>) {
        if f.number >= self.next {
            self.mark(f);
        }
    }

    #[cold]
    fn mark(&mut self, f: &Frame<'_>) {
        self.next = f.number + Self::EVERY;
        // Records of a file lie after its header; a live frame has no offset.
        if f.offset > 0 && self.marks.last().map_or(true, |&(_, o)| f.offset > o) {
            self.marks.push((f.number, f.offset));
        }
    }

    /// The last mark at or before frame `number`: `(number, offset)`.
    pub fn at_or_before(&self, number: u64) -> Option<(u64, u64)> {
        let i = self.marks.partition_point(|&(n, _)| n <= number);
        i.checked_sub(1).map(|i| self.marks[i])
    }
}

/// One captured packet.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    /// 1-based number of the packet in its source.
    pub number: u64,
    pub ts: Timestamp,
    /// Length on the wire.
    pub len: u32,
    pub linktype: Linktype,
    /// The captured bytes (`data.len()` is the capture length).
    pub data: &'a [u8],
    /// Byte offset of the packet's record in the file (0 for live captures).
    pub offset: u64,
}

impl Frame<'_> {
    pub fn caplen(&self) -> u32 {
        self.data.len() as u32
    }
}

/// Why a source stopped early, with enough context to name the file and offset.
#[derive(Debug)]
pub struct SourceError {
    pub origin: String,
    pub offset: Option<u64>,
    pub message: String,
}

impl SourceError {
    pub fn new(origin: &str, offset: Option<u64>, message: impl Into<String>) -> Self {
        SourceError {
            origin: origin.to_string(),
            offset,
            message: message.into(),
        }
    }
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.offset {
            Some(off) => write!(
                f,
                "{}: {} (at byte offset {})",
                self.origin, self.message, off
            ),
            None => write!(f, "{}: {}", self.origin, self.message),
        }
    }
}

impl std::error::Error for SourceError {}

/// What a source has next.
#[derive(Clone, Copy, Debug)]
pub enum Event<'a> {
    Frame(Frame<'a>),
    /// A live source has no packet ready. `now` is the wall clock, on the same
    /// clock as the packets' time stamps, so timeouts can be judged against it.
    Idle {
        now: Timestamp,
    },
    /// The input ended: end of file, or a live capture was told to stop.
    End,
}

/// A live capture's counters, as `pcap_stats` gives them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CaptureStats {
    /// Packets that passed the kernel filter.
    pub received: u32,
    /// Packets the kernel dropped because the buffer was full.
    pub dropped: u32,
    /// Packets the interface or its driver dropped.
    pub interface_dropped: u32,
}

/// Something that yields frames one after another.
pub trait FrameSource {
    /// The next frame, `Ok(None)` at the end of the input.
    fn next_frame(&mut self) -> Result<Option<Frame<'_>>, SourceError>;
    /// The next frame, or word that the source is idle or has ended. Files are
    /// never idle; a live capture is idle whenever no packet is ready.
    fn next_event(&mut self) -> Result<Event<'_>, SourceError> {
        Ok(match self.next_frame()? {
            Some(frame) => Event::Frame(frame),
            None => Event::End,
        })
    }
    /// True for a capture from an interface (its filter runs in the kernel).
    fn is_live(&self) -> bool {
        false
    }
    /// The kernel's counters of a live capture; `None` for files.
    fn capture_stats(&mut self) -> Option<Result<CaptureStats, SourceError>> {
        None
    }
    /// The link type of the first interface (what tcpdump reports for the file).
    fn linktype(&self) -> Linktype;
    /// The snapshot length of the first interface.
    fn snaplen(&self) -> u32;
    /// The clock precision of the capture.
    fn precision(&self) -> Precision;
    /// A name for messages: the path, `-` for stdin, or the interface.
    fn origin(&self) -> &str;
    /// Bytes consumed so far, for progress reporting; `None` for live sources.
    fn position(&self) -> Option<u64> {
        None
    }
    /// Total size in bytes when known (regular files).
    fn total_size(&self) -> Option<u64> {
        None
    }
    /// The capture file this is, if it is one (to be read without dynamic
    /// dispatch).
    fn as_capture_file(&mut self) -> Option<&mut CaptureFile> {
        None
    }
}
