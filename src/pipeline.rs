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
//! Batches of segments go to the tracker over a bounded channel, so memory
//! stays bounded whichever side is slower; records come back over an
//! unbounded one, so the tracker never waits for the reader and the two
//! cannot wait for each other. Emptied batches come back to be refilled.

use std::collections::VecDeque;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::thread::{self, JoinHandle};

use crate::source::{Frame, Timestamp};
use crate::track::{Attempt, Packet, Tracker, TrackerConfig, TrackerStats};
use crate::wire::segment::Skip;

/// Frames per batch: enough that handing a batch over costs little per
/// frame (a wake-up of the other thread is tens of microseconds).
const BATCH: usize = 4096;
/// Batches queued for the tracker at most.
const QUEUED: usize = 4;

/// Frames for the tracker: decoded segments, and the frames that held none.
struct Batch {
    packets: Vec<Packet>,
    skipped: Vec<Skip>,
    /// After these frames, the clock of a quiet live source.
    advance: Option<Timestamp>,
}

impl Batch {
    fn new() -> Batch {
        Batch {
            packets: Vec::with_capacity(BATCH),
            skipped: Vec::new(),
            advance: None,
        }
    }

    fn len(&self) -> usize {
        self.packets.len() + self.skipped.len()
    }
}

/// What the tracking thread hands back after each batch: the records it
/// finished, its counts, and the emptied batch (none at the end).
struct Back {
    // The tracker hands out boxed records; passing the boxes on copies none.
    #[allow(clippy::vec_box)]
    records: Vec<Box<Attempt>>,
    stats: TrackerStats,
    empty: Option<Batch>,
}

/// A tracker here, or on a thread of its own.
pub enum Tracking {
    Here(Box<Tracker>),
    Elsewhere(Box<Remote>),
}

/// The reading side of a tracker on another thread.
pub struct Remote {
    to_tracker: Option<SyncSender<Batch>>,
    back: Receiver<Back>,
    worker: Option<JoinHandle<Tracker>>,
    batch: Batch,
    spare: Vec<Batch>,
    ready: VecDeque<Box<Attempt>>,
    /// A batch was sent since the channel back was last read: records come
    /// back only after batches, so it is not polled after every frame.
    sent: bool,
    /// As of the last batch tracked; final once finished.
    stats: TrackerStats,
    /// Verify TCP checksums (not when only verdicts are counted).
    verify: bool,
}

impl Tracking {
    /// A tracker; with `threads` above one, on a thread of its own.
    pub fn new(cfg: TrackerConfig, threads: u16) -> Tracking {
        let verify = !cfg.counts_only;
        let tracker = Tracker::new(cfg);
        if threads < 2 {
            return Tracking::Here(Box::new(tracker));
        }
        let (to_tracker, batches) = mpsc::sync_channel::<Batch>(QUEUED);
        let (to_reader, back) = mpsc::channel::<Back>();
        let worker = thread::spawn(move || track(tracker, batches, to_reader));
        Tracking::Elsewhere(Box::new(Remote {
            to_tracker: Some(to_tracker),
            back,
            worker: Some(worker),
            batch: Batch::new(),
            spare: Vec::new(),
            ready: VecDeque::new(),
            sent: false,
            stats: TrackerStats::default(),
            verify,
        }))
    }

    /// See [`Tracker::observe`].
    pub fn observe(&mut self, frame: &Frame<'_>) {
        match self {
            Tracking::Here(t) => t.observe(frame),
            Tracking::Elsewhere(r) => {
                match Packet::decode_for(frame, r.verify) {
                    Ok(p) => r.batch.packets.push(p),
                    Err(skip) => r.batch.skipped.push(skip),
                }
                if r.batch.len() >= BATCH {
                    r.send();
                }
            }
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

    /// See [`Tracker::next_finished`].
    pub fn next_finished(&mut self) -> Option<Box<Attempt>> {
        match self {
            Tracking::Here(t) => t.next_finished(),
            Tracking::Elsewhere(r) => {
                if r.ready.is_empty() && r.sent {
                    r.sent = false;
                    while let Ok(back) = r.back.try_recv() {
                        r.take(back);
                    }
                }
                r.ready.pop_front()
            }
        }
    }

    /// See [`Tracker::finish`]: the tracking thread finishes and hands back
    /// every record it still held.
    pub fn finish(&mut self) {
        match self {
            Tracking::Here(t) => t.finish(),
            Tracking::Elsewhere(r) => r.finish(),
        }
    }

    /// See [`Tracker::stats`]; with a tracking thread, as of the last batch
    /// it tracked until it finished.
    pub fn stats(&self) -> TrackerStats {
        match self {
            Tracking::Here(t) => t.stats(),
            Tracking::Elsewhere(r) => r.stats,
        }
    }
}

impl Remote {
    fn send(&mut self) {
        let next = self.spare.pop().unwrap_or_else(Batch::new);
        let batch = std::mem::replace(&mut self.batch, next);
        if let Some(to_tracker) = &self.to_tracker {
            // Fails only if the tracking thread is gone; `finish` says why.
            let _ = to_tracker.send(batch);
        }
        self.sent = true;
    }

    fn take(&mut self, back: Back) {
        self.ready.extend(back.records);
        self.stats = back.stats;
        self.spare.extend(back.empty);
    }

    fn finish(&mut self) {
        if self.batch.len() > 0 {
            self.send();
        }
        // Closing the channel ends the tracking thread's loop.
        self.to_tracker = None;
        let Some(worker) = self.worker.take() else {
            return;
        };
        while let Ok(back) = self.back.recv() {
            self.take(back);
        }
        match worker.join() {
            Ok(tracker) => self.stats = tracker.stats(),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        self.to_tracker = None;
        if let Some(worker) = self.worker.take() {
            // Unread records are dropped with the channel; the thread ends.
            let _ = worker.join();
        }
    }
}

/// The tracking thread: every batch through the tracker, records back.
fn track(mut tracker: Tracker, batches: Receiver<Batch>, to_reader: Sender<Back>) -> Tracker {
    let mut records = Vec::new();
    for mut batch in batches.iter() {
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
        // A send fails only once the reading side is gone: nothing is wanted.
        let _ = to_reader.send(Back {
            records: std::mem::take(&mut records),
            stats: tracker.stats(),
            empty: Some(batch),
        });
    }
    tracker.finish();
    while let Some(a) = tracker.next_finished() {
        records.push(a);
    }
    let stats = tracker.stats();
    let _ = to_reader.send(Back {
        records,
        stats,
        empty: None,
    });
    tracker
}
