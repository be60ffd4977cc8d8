//! `handshakes --threads N`: the tracker on a thread of its own, fed with
//! decoded segments by the thread that reads the capture, which also reports
//! the records the tracker hands back.
//!
//! [`Tracking`] is used as a [`Tracker`] is (observe frames, take finished
//! records, finish); with more than one thread, frames are decoded here and
//! tracked there. The tracker sees exactly the segments, in exactly the
//! order, that it sees with one thread, so every record, every count and
//! the order of the output stay the same.
//!
//! The work is cut in stages, not by connection. The tracker's caps (the
//! longest-idle attempt evicted, the attempt that holds back in-order output
//! flushed) and its detectors act across all connections at a given packet,
//! and what they choose changes what later packets of a connection become:
//! trackers that each saw a share of the connections would choose otherwise.
//! Reading, decoding and verifying checksums, about half of the work, run
//! beside tracking, and so does reporting.
//!
//! Judging and formatting a record depend on that record only, so they can
//! run on either side; which side is faster depends on the capture and the
//! format (a JSON line costs more than a table row). Given a [`Reporting`],
//! the tracking thread judges, selects and formats the records it finished
//! while few batches wait for it; while more wait, it is behind, and hands
//! its records over raw, to be judged and formatted by the reading thread as
//! with one thread. A batch or two kept waiting are work for the tracking
//! thread while the reading thread formats what it was handed: were it to
//! format whenever none waits, each run of raw records would hold the
//! reading thread up while the tracking thread had nothing to do. At the
//! end of the input every attempt still open is judged at once (tens of
//! thousands in a large capture), and a sweep of timeouts can judge
//! thousands in one batch: records go back in short runs, each as soon as
//! it is ready, and once the reading side has sent its last batch they are
//! formatted on either side in turn, rather than all on one side while the
//! other waits.
//!
//! Ids are counted on the tracking thread for every record, so both sides
//! number alike, and what the reading side keeps across records (the
//! summary, a header before the first row) it keeps from each formatted
//! record's [`Kept`], in order.
//!
//! Batches of segments go to the tracker over a bounded channel, so memory
//! stays bounded whichever side is slower; records come back over an
//! unbounded one, so while the reader still sends batches the tracker never
//! waits for it and the two cannot wait for each other. Once the reader has
//! sent its last batch it only takes records, and the tracker formats a run
//! only while no more than [`AHEAD`] hand-overs wait to be taken: else the
//! rows of the last records would all be in memory at once (13 MB of JSON
//! lines on the benchmark capture). Emptied batches come back to be
//! refilled.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use crate::report::{Record, RowFormat, Selection};
use crate::source::{Frame, Precision, Timestamp};
use crate::track::heuristics::DetectorConfig;
pub use crate::track::Counted;
use crate::track::{
    analyze, Attempt, Endpoint, Packet, Tracker, TrackerConfig, TrackerStats, Verdict,
};
use crate::wire::segment::Skip;

/// Frames per batch: enough that handing a batch over costs little per
/// frame (a wake-up of the other thread is tens of microseconds).
const BATCH: usize = 4096;
/// Batches queued for the tracker at most.
const QUEUED: usize = 4;
/// With this many batches waiting (or more), the tracking thread is behind:
/// it hands its records over raw.
const BEHIND: usize = 2;
/// Records in each run handed over at the end, alternately formatted and
/// raw: a run is some hundreds of microseconds of formatting.
const END_RUN: usize = 128;
/// Emptied row buffers kept to be refilled, at most.
const SPARE_ROWS: usize = 16;
/// Reported records' boxes sent back with a batch, at most.
const RECYCLED: usize = 256;
/// At the end, hand-overs not yet taken by the reading side beyond which
/// the tracking thread waits before it formats another run: the formatted
/// rows in memory stay a few runs' worth, not the last records' all.
const AHEAD: usize = 2;

/// Frames for the tracker: decoded segments, and the frames that held none.
struct Batch {
    packets: Vec<Packet>,
    skipped: Vec<Skip>,
    /// After these frames, the clock of a quiet live source.
    advance: Option<Timestamp>,
    /// Formatted records written out, to be refilled.
    spare: Vec<Formatted>,
    /// Records reported, whose boxes can hold new attempts (see
    /// [`Tracker::recycle`]): else the tracking thread allocates every box
    /// and the reading side frees it, each free taking the allocator's lock
    /// of the other thread's arena.
    #[allow(clippy::vec_box)] // the boxes themselves are what goes back
    reported: Vec<Box<Attempt>>,
}

impl Batch {
    fn new() -> Batch {
        Batch {
            packets: Vec::with_capacity(BATCH),
            skipped: Vec::new(),
            advance: None,
            spare: Vec::new(),
            reported: Vec::new(),
        }
    }

    fn len(&self) -> usize {
        self.packets.len() + self.skipped.len()
    }
}

/// What the tracking thread hands back after each batch: the records it
/// finished, its counts, and the emptied batch (none at the end).
struct Back {
    records: Vec<Finished>,
    stats: TrackerStats,
    empty: Option<Batch>,
}

/// A finished record, as the reading side gets it.
pub enum Finished {
    /// To be judged and reported by the reading side.
    Attempt(Box<Attempt>),
    /// Consecutive records judged, selected and formatted by the tracking
    /// thread.
    Formatted(Formatted),
    /// Consecutive records judged by the tracking thread for a sink that
    /// only counts (`--summary`): what it counts of each, in order. The
    /// tracker keeps their boxes for new attempts (see [`Counted`]).
    Counted(Vec<Counted>),
    /// One such record, judged by a tracker on this thread.
    Count(Counted),
}

/// Records judged, selected and formatted on the tracking thread.
pub struct Formatted {
    /// Records finished, selected or not: each took an id.
    pub records: u64,
    /// The selected records' rows, in order.
    pub rows: Vec<u8>,
    /// One for each selected record, in order.
    pub kept: Vec<Kept>,
}

impl Formatted {
    fn new() -> Formatted {
        Formatted {
            records: 0,
            rows: Vec::new(),
            kept: Vec::new(),
        }
    }
}

/// What a sink keeps across records, of a record formatted on the tracking
/// thread: the summary's counts, and the times a header or trailer names.
#[derive(Clone, Copy, Debug)]
pub struct Kept {
    pub verdict: Verdict,
    pub handshake_us: Option<f64>,
    pub server: Endpoint,
    pub first_time: Timestamp,
    pub last_time: Timestamp,
}

impl Kept {
    pub fn of(r: &Record<'_>) -> Kept {
        Kept {
            verdict: r.analysis.verdict,
            handshake_us: r.analysis.rtt.handshake,
            server: r.attempt.server,
            first_time: r.attempt.first_time,
            last_time: r.attempt.last_time,
        }
    }
}

/// What the tracking thread needs to judge, number, select and format
/// records exactly as the reading side does.
pub struct Reporting {
    pub format: Box<dyn RowFormat>,
    pub detectors: DetectorConfig,
    pub selection: Selection,
    pub precision: Precision,
    /// The id of the last record reported before these.
    pub last_id: u64,
}

/// A tracker here, or on a thread of its own.
pub enum Tracking {
    Here(Box<Tracker>),
    Elsewhere(Box<Remote>),
}

/// The reading side of a tracker on another thread.
pub struct Remote {
    to_tracker: Option<SyncSender<Batch>>,
    /// Batches sent and not yet taken by the tracking thread.
    queued: Arc<AtomicUsize>,
    back: Receiver<Back>,
    worker: Option<JoinHandle<Tracker>>,
    batch: Batch,
    spare: Vec<Batch>,
    ready: VecDeque<Finished>,
    /// Formatted records written out, to go back with the next batch.
    written: Vec<Formatted>,
    /// Records reported, to go back with the next batch.
    #[allow(clippy::vec_box)] // the boxes themselves are what goes back
    reported: Vec<Box<Attempt>>,
    /// A batch was sent since the channel back was last read: records come
    /// back only after batches, so it is not polled after every frame.
    sent: bool,
    /// No more batches: records are waited for until the tracking thread
    /// is done.
    finishing: bool,
    /// As of the last batch tracked; final once finished.
    stats: TrackerStats,
    /// Verify TCP checksums (not when only verdicts are counted).
    verify: bool,
    /// Set when nothing more is wanted (the output was closed): the
    /// tracking thread stops without finishing its attempts.
    abandoned: Arc<AtomicBool>,
    /// Hand-overs sent by the tracking thread and not yet taken here.
    unread: Arc<AtomicUsize>,
    /// Set once the last batch is sent: from then on this side only takes
    /// records, and the tracking thread can wait for it.
    reading_done: Arc<AtomicBool>,
}

impl Tracking {
    /// A tracker; with `threads` above one, on a thread of its own, which
    /// also judges and formats records when it can, given `reporting`.
    pub fn new(cfg: TrackerConfig, threads: u16, reporting: Option<Reporting>) -> Tracking {
        let verify = cfg.checksums();
        let tracker = Tracker::new(cfg);
        if threads < 2 {
            return Tracking::Here(Box::new(tracker));
        }
        let (to_tracker, batches) = mpsc::sync_channel::<Batch>(QUEUED);
        let (to_reader, back) = mpsc::channel::<Back>();
        let queued = Arc::new(AtomicUsize::new(0));
        let abandoned = Arc::new(AtomicBool::new(false));
        let unread = Arc::new(AtomicUsize::new(0));
        let reading_done = Arc::new(AtomicBool::new(false));
        let hand = Hand {
            reporting,
            queued: Arc::clone(&queued),
            abandoned: Arc::clone(&abandoned),
            unread: Arc::clone(&unread),
            reading_done: Arc::clone(&reading_done),
            turn: false,
            spare: Vec::new(),
        };
        let worker = thread::spawn(move || track(tracker, batches, to_reader, hand));
        Tracking::Elsewhere(Box::new(Remote {
            to_tracker: Some(to_tracker),
            queued,
            back,
            worker: Some(worker),
            batch: Batch::new(),
            spare: Vec::new(),
            ready: VecDeque::new(),
            written: Vec::new(),
            reported: Vec::new(),
            sent: false,
            finishing: false,
            stats: TrackerStats::default(),
            verify,
            abandoned,
            unread,
            reading_done,
        }))
    }

    /// See [`Tracker::observe`].
    pub fn observe(&mut self, frame: &Frame<'_>) {
        match self {
            Tracking::Here(t) => t.observe(frame),
            Tracking::Elsewhere(r) => r.observe(frame),
        }
    }

    /// See [`Tracker::advance_to`]: with a tracking thread, the frames so
    /// far are sent with the clock, so that the tracker sees it after them.
    pub fn advance_to(&mut self, now: Timestamp) {
        match self {
            Tracking::Here(t) => t.advance_to(now),
            Tracking::Elsewhere(r) => {
                r.batch.advance = Some(now);
                r.send();
            }
        }
    }

    /// See [`Tracker::next_finished`]; with a tracking thread, some come
    /// formatted, and once finished, this waits for the next until the
    /// tracking thread is done.
    pub fn next_finished(&mut self) -> Option<Finished> {
        match self {
            Tracking::Here(t) => match t.next_finished() {
                Some(a) => Some(Finished::Attempt(a)),
                None => t.next_counted().map(Finished::Count),
            },
            Tracking::Elsewhere(r) => {
                if r.ready.is_empty() && r.finishing {
                    r.wait();
                } else if r.ready.is_empty() && r.sent {
                    r.sent = false;
                    while let Ok(back) = r.back.try_recv() {
                        r.take(back);
                    }
                }
                r.ready.pop_front()
            }
        }
    }

    /// Whether [`Tracking::next_finished`] may give a record: most packets
    /// finish none, and this answers without a call.
    #[inline]
    pub fn may_have_finished(&self) -> bool {
        match self {
            Tracking::Here(t) => t.has_finished(),
            // Records come back over a channel, looked at by `next_finished`.
            Tracking::Elsewhere(_) => true,
        }
    }

    /// A record reported: see [`Tracker::recycle`].
    pub fn recycle(&mut self, a: Box<Attempt>) {
        match self {
            Tracking::Here(t) => t.recycle(a),
            Tracking::Elsewhere(r) => {
                if !r.finishing && r.reported.len() < RECYCLED {
                    r.reported.push(a);
                }
            }
        }
    }

    /// Formatted records, written: their buffers go back to be refilled.
    pub fn written(&mut self, mut f: Formatted) {
        if let Tracking::Elsewhere(r) = self {
            // Once finished no batch takes them back: each would be kept to
            // the end, the last records' rows all in memory at once.
            if r.finishing || r.written.len() >= SPARE_ROWS {
                return;
            }
            f.records = 0;
            f.rows.clear();
            f.kept.clear();
            r.written.push(f);
        }
    }

    /// See [`Tracker::finish`]: the tracking thread finishes and hands back
    /// every record it still held, as [`Tracking::next_finished`] waits for
    /// them (the two sides share the formatting of the last ones).
    pub fn finish(&mut self) {
        match self {
            Tracking::Here(t) => t.finish(),
            Tracking::Elsewhere(r) => r.finish(),
        }
    }

    /// See [`Tracker::stats`]; with a tracking thread, as of the last batch
    /// it tracked until it finished and every record was taken.
    pub fn stats(&self) -> TrackerStats {
        match self {
            Tracking::Here(t) => t.stats(),
            Tracking::Elsewhere(r) => r.stats,
        }
    }
}

impl Remote {
    /// The frame decoded and pushed onto the batch (a 128-byte packet: see
    /// [`Packet`]); kept out of [`Tracking::observe`] so that a tracker here
    /// is called without this code in the way.
    #[inline(never)]
    fn observe(&mut self, frame: &Frame<'_>) {
        match Packet::decode_for(frame, self.verify) {
            Ok(p) => self.batch.packets.push(p),
            Err(skip) => self.batch.skipped.push(skip),
        }
        if self.batch.len() >= BATCH {
            self.send();
        }
    }

    fn send(&mut self) {
        let next = self.spare.pop().unwrap_or_else(Batch::new);
        let mut batch = std::mem::replace(&mut self.batch, next);
        batch.spare.append(&mut self.written);
        batch.reported.append(&mut self.reported);
        if let Some(to_tracker) = &self.to_tracker {
            self.queued.fetch_add(1, Ordering::Relaxed);
            // Fails only if the tracking thread is gone; `finish` says why.
            let _ = to_tracker.send(batch);
        }
        self.sent = true;
    }

    fn take(&mut self, back: Back) {
        self.ready.extend(back.records);
        self.stats = back.stats;
        self.spare.extend(back.empty);
        self.unread.fetch_sub(1, Ordering::Release);
        // Once reading is done the tracking thread may wait for this (see
        // `AHEAD`). Not before: it never waits for it then, and a wake-up
        // would only stir it from waiting for a batch.
        if self.finishing {
            if let Some(worker) = &self.worker {
                worker.thread().unpark();
            }
        }
    }

    fn finish(&mut self) {
        if self.batch.len() > 0 {
            self.send();
        }
        // Only now: while a send could still wait for room, the tracking
        // thread must not wait for this side.
        self.reading_done.store(true, Ordering::Release);
        // Closing the channel ends the tracking thread's loop.
        self.to_tracker = None;
        self.finishing = true;
    }

    /// Once finished: the next records, or the tracking thread's end and
    /// its final counts.
    fn wait(&mut self) {
        while let Ok(back) = self.back.recv() {
            self.take(back);
            if !self.ready.is_empty() {
                return;
            }
        }
        self.finishing = false;
        if let Some(worker) = self.worker.take() {
            match worker.join() {
                Ok(tracker) => self.stats = tracker.stats(),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        self.abandoned.store(true, Ordering::Relaxed);
        self.to_tracker = None;
        if let Some(worker) = self.worker.take() {
            // It may be waiting for records to be taken.
            worker.thread().unpark();
            // Unread records are dropped with the channel; the thread ends.
            let _ = worker.join();
        }
    }
}

/// Which records the tracking thread formats itself.
#[derive(Clone, Copy)]
enum Share {
    UnlessBehind,
    All,
    Nothing,
}

/// Where the tracking thread's records go: formatted there unless it is
/// behind, else raw.
struct Hand {
    reporting: Option<Reporting>,
    /// Batches waiting for the tracking thread.
    queued: Arc<AtomicUsize>,
    /// See [`Remote::abandoned`].
    abandoned: Arc<AtomicBool>,
    /// See [`Remote::unread`].
    unread: Arc<AtomicUsize>,
    /// See [`Remote::reading_done`].
    reading_done: Arc<AtomicBool>,
    /// Whose turn it is to format the next run once reading is done: here
    /// when true.
    turn: bool,
    spare: Vec<Formatted>,
}

impl Hand {
    /// The next batch to track; none once the reading side is done.
    fn next(&mut self, batches: &Receiver<Batch>) -> Option<Batch> {
        let mut batch = batches.recv().ok()?;
        if self.abandoned() {
            return None;
        }
        self.queued.fetch_sub(1, Ordering::Relaxed);
        self.spare.append(&mut batch.spare);
        Some(batch)
    }

    fn abandoned(&self) -> bool {
        self.abandoned.load(Ordering::Relaxed)
    }

    /// Does this side format records (rather than count them, or hand them
    /// over raw)?
    fn formats(&self) -> bool {
        self.reporting.is_some()
    }

    /// Hand the finished records over in runs of [`END_RUN`], each sent as
    /// soon as it is ready, the emptied batch (if any) with the first. A
    /// batch can finish thousands of records at once (a sweep of timeouts,
    /// the end of the input): sent whole, their rows would all be in memory
    /// at once, and the reading side would wait for all of them. Once that
    /// side has sent its last batch it has nothing else to do: the runs are
    /// then formatted here and there in turn, and one is formatted here
    /// only while that side keeps up (see [`AHEAD`]). False if the reading
    /// side wants nothing more.
    // The tracker hands out boxed records; passing the boxes on copies none.
    #[allow(clippy::vec_box)]
    fn hand_over(
        &mut self,
        records: &mut Vec<Box<Attempt>>,
        to_reader: &Sender<Back>,
        stats: TrackerStats,
        mut empty: Option<Batch>,
    ) -> bool {
        let mut rest = records.drain(..);
        loop {
            let mut run: Vec<_> = rest.by_ref().take(END_RUN).collect();
            if run.is_empty() && empty.is_none() {
                return true;
            }
            let share = if run.is_empty() {
                // Only the emptied batch goes back.
                Share::Nothing
            } else if self.reading_done.load(Ordering::Acquire) {
                self.turn = !self.turn;
                if self.turn {
                    Share::All
                } else {
                    Share::Nothing
                }
            } else {
                Share::UnlessBehind
            };
            if matches!(share, Share::All) && self.formats() && !self.wait_for_reader() {
                return false;
            }
            let records = self.pass(&mut run, share);
            self.send(
                to_reader,
                Back {
                    records,
                    stats,
                    empty: empty.take(),
                },
            );
        }
    }

    /// What is counted of the records the tracker finished, when only
    /// that is read: all of them then, and in order.
    fn send_counted(&self, tracker: &mut Tracker, to_reader: &Sender<Back>, stats: TrackerStats) {
        let mut counted = Vec::new();
        while let Some(c) = tracker.next_counted() {
            counted.push(c);
        }
        if !counted.is_empty() {
            let records = vec![Finished::Counted(counted)];
            self.send(
                to_reader,
                Back {
                    records,
                    stats,
                    empty: None,
                },
            );
        }
    }

    /// Hand records over to the reading side.
    fn send(&self, to_reader: &Sender<Back>, back: Back) {
        self.unread.fetch_add(1, Ordering::Release);
        // A send fails only once the reading side is gone: nothing is wanted.
        let _ = to_reader.send(back);
    }

    /// Wait until the reading side has taken all but [`AHEAD`] hand-overs;
    /// false if it no longer wants any.
    fn wait_for_reader(&self) -> bool {
        loop {
            if self.abandoned() {
                return false;
            }
            if self.unread.load(Ordering::Acquire) <= AHEAD {
                return true;
            }
            // Woken by each hand-over taken, and by the reading side's end;
            // a wake-up before this call is not lost.
            thread::park();
        }
    }

    /// The records finished, in order, as the reading side gets them: those
    /// the `share` gives this side are formatted here, unless there is
    /// nothing to format with; whether the tracking thread is behind is
    /// looked at before each.
    // The tracker hands out boxed records; passing the boxes on copies none.
    #[allow(clippy::vec_box)]
    fn pass(&mut self, records: &mut Vec<Box<Attempt>>, share: Share) -> Vec<Finished> {
        let Some(rep) = &mut self.reporting else {
            return records.drain(..).map(Finished::Attempt).collect();
        };
        let mut out = Vec::new();
        for a in records.drain(..) {
            rep.last_id += 1;
            let here = match share {
                Share::UnlessBehind => self.queued.load(Ordering::Relaxed) < BEHIND,
                Share::All => true,
                Share::Nothing => false,
            };
            if !here {
                out.push(Finished::Attempt(a));
                continue;
            }
            if !matches!(out.last(), Some(Finished::Formatted(_))) {
                let f = self.spare.pop().unwrap_or_else(Formatted::new);
                out.push(Finished::Formatted(f));
            }
            if let Some(Finished::Formatted(f)) = out.last_mut() {
                rep.format(&a, f);
            }
        }
        out
    }
}

impl Reporting {
    /// One record judged, numbered, selected and formatted as the reading
    /// side would.
    fn format(&mut self, a: &Attempt, f: &mut Formatted) {
        f.records += 1;
        let r = Record {
            id: self.last_id,
            attempt: a,
            analysis: analyze(a, &self.detectors),
            precision: self.precision,
            input: 0,
        };
        if !self.selection.matches(&r) {
            return;
        }
        self.format.row(&r, &mut f.rows);
        f.kept.push(Kept::of(&r));
    }
}

/// The tracking thread: every batch through the tracker, records back.
fn track(
    mut tracker: Tracker,
    batches: Receiver<Batch>,
    to_reader: Sender<Back>,
    mut hand: Hand,
) -> Tracker {
    let mut records = Vec::new();
    while let Some(mut batch) = hand.next(&batches) {
        for a in batch.reported.drain(..) {
            tracker.recycle(a);
        }
        for p in &batch.packets {
            tracker.observe_packet(p);
            while let Some(a) = tracker.next_finished() {
                records.push(a);
            }
        }
        for &skip in &batch.skipped {
            tracker.count_skipped(skip, 1);
        }
        if let Some(now) = batch.advance.take() {
            tracker.advance_to(now);
            while let Some(a) = tracker.next_finished() {
                records.push(a);
            }
        }
        batch.packets.clear();
        batch.skipped.clear();
        let stats = tracker.stats();
        hand.send_counted(&mut tracker, &to_reader, stats);
        if !hand.hand_over(&mut records, &to_reader, stats, Some(batch)) {
            return tracker;
        }
    }
    if hand.abandoned() {
        return tracker;
    }
    tracker.finish();
    while let Some(a) = tracker.next_finished() {
        records.push(a);
    }
    let stats = tracker.stats();
    hand.send_counted(&mut tracker, &to_reader, stats);
    hand.hand_over(&mut records, &to_reader, stats, None);
    tracker
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testing::{frames, judged, Seg};
    use std::time::Duration;

    /// Rows that show the id the tracking thread gave.
    struct Ids;

    impl RowFormat for Ids {
        fn row(&mut self, r: &Record<'_>, out: &mut Vec<u8>) {
            out.extend_from_slice(format!("{}\n", r.id).as_bytes());
        }
    }

    /// Unanswered SYNs, one per client port, and a refused one at `refused`.
    #[allow(clippy::vec_box)]
    fn attempts(n: u16, refused: Option<u16>) -> Vec<Box<Attempt>> {
        let mut segs = Vec::new();
        for i in 0..n {
            let mut syn = Seg::new(true, i64::from(i) * 10, 0x02, 1000, 0);
            syn.client_port = 40000 + i;
            segs.push(syn);
            if refused == Some(i) {
                let mut rst = Seg::new(false, i64::from(i) * 10 + 1, 0x14, 0, 1001);
                rst.client_port = 40000 + i;
                segs.push(rst);
            }
        }
        judged(&segs).into_iter().map(|(a, _)| a).collect()
    }

    fn reporting(selection: Selection) -> Reporting {
        Reporting {
            format: Box::new(Ids),
            detectors: DetectorConfig::default(),
            selection,
            precision: Precision::Micro,
            last_id: 10,
        }
    }

    fn hand(selection: Selection) -> Hand {
        Hand {
            queued: Arc::new(AtomicUsize::new(0)),
            abandoned: Arc::new(AtomicBool::new(false)),
            unread: Arc::new(AtomicUsize::new(0)),
            reading_done: Arc::new(AtomicBool::new(false)),
            turn: false,
            reporting: Some(reporting(selection)),
            spare: Vec::new(),
        }
    }

    /// A hand with nothing to format with: records go raw.
    fn hand_without_reporting() -> Hand {
        Hand {
            reporting: None,
            queued: Arc::new(AtomicUsize::new(0)),
            abandoned: Arc::new(AtomicBool::new(false)),
            unread: Arc::new(AtomicUsize::new(0)),
            reading_done: Arc::new(AtomicBool::new(false)),
            turn: false,
            spare: Vec::new(),
        }
    }

    fn shape(finished: &[Finished]) -> Vec<String> {
        finished
            .iter()
            .map(|f| match f {
                Finished::Attempt(_) => "raw".to_string(),
                Finished::Formatted(f) => format!(
                    "{} records: {}",
                    f.records,
                    String::from_utf8_lossy(&f.rows)
                        .trim_end()
                        .replace('\n', " ")
                ),
                Finished::Counted(c) => format!(
                    "counted: {}",
                    c.iter()
                        .map(|c| c.verdict.name())
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
                Finished::Count(c) => format!("counted: {}", c.verdict.name()),
            })
            .collect()
    }

    #[test]
    fn records_are_formatted_here_only_while_the_tracker_keeps_up() {
        let (to_tracker, batches) = mpsc::sync_channel(QUEUED);
        let mut hand = hand(Selection::default());
        let got = hand.pass(&mut attempts(3, None), Share::UnlessBehind);
        assert_eq!(shape(&got), ["3 records: 11 12 13"]);
        // Batches wait: the records go raw, and still take their ids.
        for _ in 0..BEHIND {
            hand.queued.fetch_add(1, Ordering::Relaxed);
            to_tracker.send(Batch::new()).unwrap();
        }
        let got = hand.pass(&mut attempts(2, None), Share::UnlessBehind);
        assert_eq!(shape(&got), ["raw", "raw"]);
        assert!(hand.next(&batches).is_some(), "a waiting batch");
        let got = hand.pass(&mut attempts(1, None), Share::UnlessBehind);
        assert_eq!(shape(&got), ["1 records: 16"]);
        // At the end, runs are shared out whether or not batches wait.
        hand.queued.fetch_add(BEHIND, Ordering::Relaxed);
        let got = hand.pass(&mut attempts(2, None), Share::All);
        assert_eq!(shape(&got), ["2 records: 17 18"]);
        hand.queued.store(0, Ordering::Relaxed);
        let got = hand.pass(&mut attempts(2, None), Share::Nothing);
        assert_eq!(shape(&got), ["raw", "raw"]);
        let got = hand.pass(&mut attempts(1, None), Share::All);
        assert_eq!(shape(&got), ["1 records: 21"]);
    }

    #[test]
    fn formatted_records_are_selected_and_kept_in_order() {
        let refused = Selection {
            verdicts: vec![Verdict::Refused],
            ..Selection::default()
        };
        let mut hand = hand(refused);
        let got = hand.pass(&mut attempts(4, Some(2)), Share::All);
        assert_eq!(shape(&got), ["4 records: 13"]);
        let Some(Finished::Formatted(f)) = got.first() else {
            panic!("formatted records");
        };
        assert_eq!(f.kept.len(), 1);
        assert_eq!(f.kept[0].verdict, Verdict::Refused);
        assert_eq!(f.kept[0].server.port, 80);
    }

    #[test]
    fn without_reporting_every_record_goes_raw() {
        let mut hand = hand_without_reporting();
        let got = hand.pass(&mut attempts(3, None), Share::All);
        assert_eq!(shape(&got), ["raw", "raw", "raw"]);
    }

    /// Unanswered SYNs from `n` client ports (from 1024 on), a microsecond
    /// apart.
    fn syns(n: u16) -> Vec<Seg> {
        (0..n)
            .map(|i| {
                let mut syn = Seg::new(true, i64::from(i), 0x02, 1000, 0);
                syn.client_port = 1024 + i;
                syn
            })
            .collect()
    }

    /// Tracking on a thread of its own, formatting, given these segments.
    fn tracking(segs: &[Seg]) -> Tracking {
        let mut t = Tracking::new(
            TrackerConfig::default(),
            2,
            Some(reporting(Selection::default())),
        );
        for f in frames(segs) {
            t.observe(&f.frame());
        }
        t
    }

    /// Tracking on a thread of its own, given unanswered SYNs from `n`
    /// client ports: all still open when the input ends.
    fn tracking_open_attempts(n: u16) -> Tracking {
        let mut t = tracking(&syns(n));
        assert!(t.next_finished().is_none(), "all open until the end");
        t.finish();
        t
    }

    fn unread(t: &Tracking) -> usize {
        let Tracking::Elsewhere(r) = t else {
            panic!("a tracking thread");
        };
        r.unread.load(Ordering::Acquire)
    }

    /// Wait (at most 20 s, for a loaded machine) until more than `AHEAD`
    /// hand-overs wait to be taken: the tracking thread has come to wait.
    fn until_it_waits(t: &Tracking) {
        let start = std::time::Instant::now();
        while unread(t) <= AHEAD {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "{} hand-overs waiting after 20 s",
                unread(t)
            );
            thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn at_the_end_the_tracking_thread_formats_only_as_fast_as_records_are_taken() {
        const RUNS: u16 = 40;
        let mut t = tracking_open_attempts(END_RUN as u16 * RUNS);
        until_it_waits(&t);
        // Time enough to format every run, were it not to wait.
        thread::sleep(Duration::from_millis(300));
        let ahead = unread(&t);
        assert!(
            ahead <= AHEAD + 2,
            "{ahead} hand-overs waiting of {RUNS} runs: the formatted rows pile up"
        );
        // Every record still comes, numbered in order, formatted on either side.
        let (mut ids, mut formatted, mut raw) = (Vec::new(), 0, 0);
        while let Some(f) = t.next_finished() {
            match f {
                Finished::Formatted(f) => {
                    formatted += f.records;
                    let rows = String::from_utf8(f.rows).unwrap();
                    ids.extend(rows.lines().map(|l| l.parse::<u64>().unwrap()));
                }
                Finished::Attempt(_) => {
                    raw += 1;
                    ids.push(0);
                }
                Finished::Counted(_) | Finished::Count(_) => panic!("nothing counted"),
            }
        }
        assert_eq!(formatted + raw, END_RUN as u64 * u64::from(RUNS));
        assert_eq!((formatted, raw), (raw, formatted), "runs in turn");
        // Raw records are numbered by the reading side: here, 0.
        let numbered: Vec<_> = ids.iter().copied().filter(|&i| i > 0).collect();
        assert!(numbered.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(unread(&t), 0);
    }

    #[test]
    fn a_sweep_of_timeouts_is_handed_over_in_runs() {
        const N: u16 = END_RUN as u16 * 20;
        let mut segs = syns(N);
        // A minute on, past the handshake timeout: every SYN before is judged
        // at this packet.
        let mut late = Seg::new(true, 61_000_000, 0x02, 1000, 0);
        late.client_port = 1024 + N;
        segs.push(late);
        let mut t = tracking(&segs);
        t.finish();
        let (mut records, mut ids) = (0, Vec::new());
        while let Some(f) = t.next_finished() {
            match f {
                Finished::Formatted(f) => {
                    assert!(
                        f.records <= END_RUN as u64,
                        "{} records formatted in one hand-over",
                        f.records
                    );
                    records += f.records;
                    let rows = String::from_utf8(f.rows).unwrap();
                    ids.extend(rows.lines().map(|l| l.parse::<u64>().unwrap()));
                }
                Finished::Attempt(_) => records += 1,
                Finished::Counted(_) | Finished::Count(_) => panic!("nothing counted"),
            }
        }
        assert_eq!(records, u64::from(N) + 1);
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "in order");
    }

    #[test]
    fn a_reading_side_that_stops_at_the_end_does_not_keep_the_tracking_thread_waiting() {
        let t = tracking_open_attempts(END_RUN as u16 * 20);
        until_it_waits(&t);
        let (done, dropped) = mpsc::channel();
        thread::spawn(move || {
            drop(t);
            done.send(()).unwrap();
        });
        assert!(
            dropped.recv_timeout(Duration::from_secs(20)).is_ok(),
            "dropping the reading side ends the tracking thread"
        );
    }
}
