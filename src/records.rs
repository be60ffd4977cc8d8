//! Attempt records from the inputs of `handshakes` and `report`.
//!
//! One input is read in the calling thread (a file, standard input or a live
//! source), exactly as before. Several capture files are read in parallel:
//! each file gets its own thread, filter and tracker, and its records (already
//! judged) come back through a bounded channel; the calling thread merges the
//! files' streams by time of first packet, so the output is in time order and
//! memory stays bounded by the channels and the trackers' own caps. Attempts
//! are independent per file: a connection whose packets span two files is two
//! records (docs/exports.md says so too).
//!
//! `id`s are given here, in output order, so every report numbers the same
//! attempt the same way.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::app::{announce, Failure};
use crate::cli::{InputArgs, RecordArgs, SelectArgs, TrackerArgs};
use crate::input::{Flow, Input};
use crate::pipeline::{Counted, Finished, Formatted, Kept, Reporting, Tracking};
use crate::report::{Record, RowFormat, Selection};
use crate::source::{Event, FrameIndex, Precision};
use crate::track::heuristics::DetectorConfig;
use crate::track::{
    analyze, Analysis, Attempt, Emit, Endpoint, Tracker, TrackerConfig, TrackerStats, Verdict,
};

/// Records in flight per input file: enough to keep a worker busy while the
/// merge waits on a slower file, small enough not to matter for memory.
const CHANNEL_RECORDS: usize = 1024;

fn seconds(name: &str, v: f64) -> Result<Duration, Failure> {
    Duration::try_from_secs_f64(v)
        .map_err(|_| Failure::new(format!("--{name}: not a duration: {v}")))
}

/// The tracker configuration the arguments ask for.
pub fn tracker_config(args: &TrackerArgs, emit: Emit) -> Result<TrackerConfig, Failure> {
    Ok(TrackerConfig {
        handshake_timeout: seconds("handshake-timeout", args.handshake_timeout)?,
        idle_timeout: seconds("idle-timeout", args.idle_timeout)?,
        linger: seconds("linger", args.linger)?,
        max_live: args.max_live.max(1),
        max_waiting: (args.max_live / 4).max(1),
        emit,
        detectors: DetectorConfig::default(),
        counts_only: false,
        without_views: false,
    })
}

impl From<&SelectArgs> for Selection {
    fn from(a: &SelectArgs) -> Selection {
        Selection {
            verdicts: a.verdict.clone(),
            failed: a.failed,
            slow_ms: a.slow,
        }
    }
}

/// What reading produced: the tracker counts of all inputs, added up, and why
/// reading stopped early, if it did (records before that were delivered).
pub struct Outcome {
    pub stats: TrackerStats,
    pub error: Option<Failure>,
    /// Where the frames of a single file lie, for a second read of it (when
    /// the sink [reads again](RecordSink::reads_again); none with several
    /// inputs).
    pub index: Option<FrameIndex>,
}

impl Outcome {
    pub fn into_result(self) -> Result<(), Failure> {
        self.error.map_or(Ok(()), Err)
    }
}

/// Where judged records go.
pub trait RecordSink {
    /// The inputs are open: write any header.
    fn begin(&mut self) -> Result<(), Failure>;
    /// One selected record, in output order.
    fn record(&mut self, r: &Record<'_>) -> Result<(), Failure>;
    /// After each frame: `streaming` is true for a live source, whose records
    /// should reach the reader at once.
    fn after_frame(&mut self, streaming: bool) -> Result<(), Failure>;
    /// The reader went away (`| head`): stop reading.
    fn stopped(&self) -> bool;
    /// Only counts are wanted (`handshakes --summary`): each selected
    /// attempt goes to [`RecordSink::count`], and no record is derived.
    fn counts_only(&self) -> bool {
        false
    }
    /// The records' Zeek and Wireshark fields and heuristics are not read
    /// (the report): the tracker does not keep what they come from.
    fn views_unread(&self) -> bool {
        false
    }
    /// The chosen records' packets are read again afterwards (the report's
    /// ladders): the read notes where frames lie, for that read to skip to
    /// them ([`Outcome::index`]).
    fn reads_again(&self) -> bool {
        false
    }
    /// One selected attempt, by its verdict, handshake time in microseconds
    /// and server (when [`RecordSink::counts_only`]).
    fn count(&mut self, _verdict: Verdict, _handshake_us: Option<f64>, _server: Endpoint) {}
    /// A formatter that writes for each record what [`RecordSink::record`]
    /// writes, to run on the tracking thread (`--threads`); none when the
    /// sink must see each record itself.
    fn row_format(&self) -> Option<Box<dyn RowFormat>> {
        None
    }
    /// Selected records formatted with [`RecordSink::row_format`]: their
    /// rows (which may be left emptied) and what is kept of each, in output
    /// order, in place of [`RecordSink::record`] for each.
    fn formatted(&mut self, _rows: &mut Vec<u8>, _kept: &[Kept]) -> Result<(), Failure> {
        Ok(())
    }
}

/// Expand the `-r` arguments: a path that does not exist but holds glob
/// characters is a pattern (quoted so the shell left it alone), expanded here
/// in sorted order; one that matches nothing is an error.
pub fn expand_inputs(read: &[String]) -> Result<Vec<String>, Failure> {
    let mut out = Vec::new();
    for arg in read {
        let pattern = arg.contains(['*', '?', '[']) && !std::path::Path::new(arg).exists();
        if !pattern {
            out.push(arg.clone());
            continue;
        }
        let paths = glob::glob(arg).map_err(|e| Failure::new(format!("-r {arg}: {e}")))?;
        let mut found: Vec<String> = paths
            .filter_map(Result::ok)
            .filter(|p| p.is_file())
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        if found.is_empty() {
            return Err(Failure::new(format!("-r {arg}: no file matches")));
        }
        found.sort();
        out.extend(found);
    }
    if out.len() > 1 && out.iter().any(|p| p == "-") {
        return Err(Failure::new("standard input (-r -) can only be read alone"));
    }
    Ok(out)
}

fn progress_bar(total: Option<u64>, wanted: bool) -> Option<ProgressBar> {
    let total = total?;
    if !wanted || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({eta}) {msg}",
        )
        .ok()?,
    );
    Some(bar)
}

/// Numbers records in output order and applies the selection.
struct Numbering<'s, S: RecordSink> {
    sink: &'s mut S,
    selection: Selection,
    next_id: u64,
}

impl<S: RecordSink> Numbering<'_, S> {
    /// A finished attempt: judged in full, or only counted.
    fn deliver_attempt(
        &mut self,
        attempt: &Attempt,
        detectors: &DetectorConfig,
        precision: Precision,
        input: usize,
    ) -> Result<(), Failure> {
        if self.sink.counts_only() {
            // The summary reads three things: no need to derive the rest.
            self.deliver_counted(&[Counted::of(attempt)]);
            return Ok(());
        }
        self.deliver(attempt, analyze(attempt, detectors), precision, input)
    }

    /// Records judged for a sink that only counts, on this thread or on the
    /// tracking thread.
    fn deliver_counted(&mut self, counted: &[Counted]) {
        for c in counted {
            self.next_id += 1;
            if self.selection.matches_verdict(c.verdict, c.handshake_us) {
                self.sink.count(c.verdict, c.handshake_us, c.server);
            }
        }
    }

    /// Records judged and formatted on the tracking thread, which numbered
    /// them the same way.
    fn deliver_formatted(&mut self, f: &mut Formatted) -> Result<(), Failure> {
        self.next_id += f.records;
        if f.kept.is_empty() {
            return Ok(());
        }
        self.sink.formatted(&mut f.rows, &f.kept)
    }

    fn deliver(
        &mut self,
        attempt: &Attempt,
        analysis: Analysis,
        precision: Precision,
        input: usize,
    ) -> Result<(), Failure> {
        self.next_id += 1;
        let r = Record {
            id: self.next_id,
            attempt,
            analysis,
            precision,
            input,
        };
        if self.selection.matches(&r) {
            self.sink.record(&r)?;
        }
        Ok(())
    }
}

/// Read every input, judge every attempt, hand the selected records to `sink`
/// in output order. An error is a failure before any reading (no input, a
/// file that cannot be opened, a bad filter).
pub fn run<S: RecordSink>(
    input: &InputArgs,
    args: &RecordArgs,
    sink: &mut S,
) -> Result<Outcome, Failure> {
    let paths = expand_inputs(&input.read)?;
    let mut numbering = Numbering {
        sink,
        selection: (&args.select).into(),
        next_id: 0,
    };
    if paths.len() <= 1 {
        let one = InputArgs {
            read: paths,
            ..input.clone()
        };
        return run_one(&one, args, &mut numbering);
    }
    if input.save.write.is_some() {
        return Err(Failure::new("-w saves one input: give -r once"));
    }
    run_many(
        &paths,
        input,
        &args.tracker,
        !args.no_progress,
        &mut numbering,
    )
}

/// One input in this thread: a file (tracked here, or with `--threads` on a
/// thread of its own) or a live source, which streams each record as soon as
/// its verdict is final and is advanced to the wall clock while idle.
fn run_one<S: RecordSink>(
    input: &InputArgs,
    args: &RecordArgs,
    out: &mut Numbering<'_, S>,
) -> Result<Outcome, Failure> {
    let mut opened = Input::open(input)?;
    let source = opened.source();
    if source.is_live() {
        announce(source);
    }
    out.sink.begin()?;
    let emit = if source.position().is_some() {
        Emit::InOrder
    } else {
        Emit::WhenFinal
    };
    let mut cfg = tracker_config(&args.tracker, emit)?;
    cfg.counts_only = out.sink.counts_only();
    cfg.without_views = out.sink.views_unread();
    let detectors = cfg.detectors.clone();
    let precision = source.precision();
    // Tracking on a thread of its own pays off for files, read as fast as
    // they can be; a live source streams each record at once.
    let threads = if emit == Emit::InOrder {
        args.threads
    } else {
        1
    };
    // The tracking thread judges and formats records too when it has time.
    let reporting = if threads > 1 && !out.sink.counts_only() {
        out.sink.row_format().map(|format| Reporting {
            format,
            detectors: detectors.clone(),
            selection: out.selection.clone(),
            precision,
            last_id: out.next_id,
        })
    } else {
        None
    };
    let mut tracker = Tracking::new(cfg, threads, reporting);
    let bar = progress_bar(source.total_size(), !args.no_progress);
    let limit = input.count.unwrap_or(u64::MAX);
    let mut taken: u64 = 0;
    let mut index = out.sink.reads_again().then(FrameIndex::default);
    if let Some(index) = &index {
        opened.note_index(index);
    }
    // Each call answers whether to go on, so only the first event needs a
    // check before it is taken.
    let result = if limit == 0 || out.sink.stopped() {
        Ok(())
    } else {
        opened.run(|event| {
            match event {
                Event::Frame(frame) => {
                    taken += 1;
                    if let Some(index) = &mut index {
                        index.note(&frame);
                    }
                    tracker.observe(&frame);
                    if taken % 8192 == 0 {
                        if let Some(bar) = &bar {
                            bar.set_position(frame.offset);
                            bar.set_message(format!("{} attempts", tracker.stats().attempts));
                        }
                    }
                }
                // The wire is quiet: attempts whose timeout passed are judged now.
                Event::Idle { now } => tracker.advance_to(now),
                Event::End => return Ok(Flow::Stop),
            }
            if tracker.may_have_finished() {
                deliver_finished(&mut tracker, out, &detectors, precision)?;
            }
            out.sink.after_frame(emit == Emit::WhenFinal)?;
            Ok(if taken >= limit || out.sink.stopped() {
                Flow::Stop
            } else {
                Flow::Continue
            })
        })
    };
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    // Once the output is closed (`| head`), the attempts still held are
    // left unjudged: nobody would read them.
    if !out.sink.stopped() {
        tracker.finish();
        deliver_finished(&mut tracker, out, &detectors, precision)?;
    }
    // The `-w` file's rest and a live capture's statistics lines.
    let finished = opened.finish();
    Ok(Outcome {
        stats: tracker.stats(),
        error: result.err().or(finished.err()),
        index,
    })
}

/// Every record the tracker has finished, in order.
fn deliver_finished<S: RecordSink>(
    tracker: &mut Tracking,
    out: &mut Numbering<'_, S>,
    detectors: &DetectorConfig,
    precision: Precision,
) -> Result<(), Failure> {
    while let Some(f) = tracker.next_finished() {
        match f {
            Finished::Attempt(a) => {
                out.deliver_attempt(&a, detectors, precision, 0)?;
                tracker.recycle(a);
            }
            Finished::Formatted(mut f) => {
                out.deliver_formatted(&mut f)?;
                tracker.written(f);
            }
            Finished::Counted(c) => out.deliver_counted(&c),
            Finished::Count(c) => out.deliver_counted(std::slice::from_ref(&c)),
        }
    }
    Ok(())
}

/// What a file's thread sends. Records are nearly every message, so they are
/// not boxed a second time to shrink the rare `Done`.
#[allow(clippy::large_enum_variant)]
enum Message {
    Record(Box<Attempt>, Analysis, Precision),
    /// The file is done: its counts, and why it stopped early if it did.
    Done(TrackerStats, Option<Failure>),
}

/// One file on its own thread: frames through the filter into a tracker, each
/// finished record judged here (the analysis runs in parallel too).
fn read_file(
    path: &str,
    input: &InputArgs,
    cfg: TrackerConfig,
    position: &AtomicU64,
    tx: &SyncSender<Message>,
) {
    let detectors = cfg.detectors.clone();
    let mut tracker = Tracker::new(cfg);
    let one = InputArgs {
        read: vec![path.to_string()],
        ..input.clone()
    };
    let mut opened = match Input::open(&one) {
        Ok(o) => o,
        Err(f) => {
            let _ = tx.send(Message::Done(tracker.stats(), Some(f)));
            return;
        }
    };
    let precision = opened.source().precision();
    let limit = input.count.unwrap_or(u64::MAX);
    let mut taken: u64 = 0;
    // A send fails only when the reader stopped (closed output): stop too.
    let send = |a: Box<Attempt>| {
        let analysis = analyze(&a, &detectors);
        tx.send(Message::Record(a, analysis, precision)).is_ok()
    };
    let result = opened.run(|event| {
        let Event::Frame(frame) = event else {
            return Ok(Flow::Continue);
        };
        if taken >= limit {
            return Ok(Flow::Stop);
        }
        taken += 1;
        tracker.observe(&frame);
        while let Some(a) = tracker.next_finished() {
            if !send(a) {
                return Ok(Flow::Stop);
            }
        }
        if taken % 8192 == 0 {
            position.store(frame.offset, Ordering::Relaxed);
        }
        Ok(Flow::Continue)
    });
    tracker.finish();
    while let Some(a) = tracker.next_finished() {
        if !send(a) {
            break;
        }
    }
    let _ = tx.send(Message::Done(tracker.stats(), result.err()));
}

fn add_stats(total: &mut TrackerStats, s: &TrackerStats) {
    total.frames += s.frames;
    total.tcp_segments += s.tcp_segments;
    total.not_tcp += s.not_tcp;
    total.truncated += s.truncated;
    total.malformed += s.malformed;
    total.attempts += s.attempts;
    total.evicted += s.evicted;
    total.flushed += s.flushed;
    total.peak_live += s.peak_live;
}

/// One file's stream as the merge sees it.
struct Stream {
    rx: Receiver<Message>,
    head: Option<(Box<Attempt>, Analysis, Precision)>,
    done: bool,
}

fn run_many<S: RecordSink>(
    paths: &[String],
    input: &InputArgs,
    args: &TrackerArgs,
    progress: bool,
    out: &mut Numbering<'_, S>,
) -> Result<Outcome, Failure> {
    if input.interface.is_some() {
        return Err(Failure::new("give either -r FILE or -i IFACE, not both"));
    }
    let cfg = tracker_config(args, Emit::InOrder)?;
    out.sink.begin()?;
    let total: Option<u64> = paths
        .iter()
        .map(|p| std::fs::metadata(p).ok().map(|m| m.len()))
        .sum();
    let bar = progress_bar(total, progress);
    let positions: Vec<AtomicU64> = paths.iter().map(|_| AtomicU64::new(0)).collect();
    let mut stats = TrackerStats::default();
    let mut failure: Option<Failure> = None;
    let merge = std::thread::scope(|scope| -> Result<(), Failure> {
        let mut streams = Vec::with_capacity(paths.len());
        for (path, position) in paths.iter().zip(&positions) {
            let (tx, rx) = sync_channel(CHANNEL_RECORDS);
            let cfg = cfg.clone();
            scope.spawn(move || read_file(path, input, cfg, position, &tx));
            streams.push(Stream {
                rx,
                head: None,
                done: false,
            });
        }
        let mut merged: u64 = 0;
        loop {
            for s in streams.iter_mut().filter(|s| s.head.is_none() && !s.done) {
                match s.rx.recv() {
                    Ok(Message::Record(a, n, p)) => s.head = Some((a, n, p)),
                    Ok(Message::Done(st, err)) => {
                        s.done = true;
                        add_stats(&mut stats, &st);
                        if failure.is_none() {
                            failure = err;
                        }
                    }
                    Err(_) => s.done = true,
                }
            }
            // The earliest first packet; ties go to the file given first.
            let next = streams
                .iter()
                .enumerate()
                .filter_map(|(i, s)| s.head.as_ref().map(|h| (h.0.first_time, i)))
                .min();
            let Some((_, i)) = next else { break };
            let (a, n, p) = streams[i].head.take().expect("head chosen");
            out.deliver(&a, n, p, i)?;
            if out.sink.stopped() {
                // Dropping the receivers ends every file's thread at its next send.
                break;
            }
            merged += 1;
            if merged % 4096 == 0 {
                if let Some(bar) = &bar {
                    let at: u64 = positions.iter().map(|p| p.load(Ordering::Relaxed)).sum();
                    bar.set_position(at);
                    bar.set_message(format!("{merged} attempts"));
                }
            }
        }
        Ok(())
    });
    if let Err(f) = merge {
        failure.get_or_insert(f);
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(Outcome {
        stats,
        error: failure,
        index: None,
    })
}
