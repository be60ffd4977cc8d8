//! `synack handshakes`: frames from the source go through the filter into the
//! tracker; finished records go to the chosen report.
//!
//! A capture file is read with [`Emit::InOrder`] (records in the order of their
//! first packet, each once its connection is over); a live source (one without
//! a file position) gets [`Emit::WhenFinal`]: each record is written and
//! flushed as soon as its verdict is final. While a live source is idle the
//! tracker is advanced to the wall clock ([`Tracker::advance_to`]), so that
//! unanswered attempts are judged while the wire is quiet; an interrupt ends
//! the input, and every attempt still open is judged as of then.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::app::{announce, Failure, Output};
use crate::cli::{HandshakeArgs, HandshakeFormat};
use crate::input::{Flow, Input};
use crate::pipeline::Tracking;
use crate::report::csv::CsvWriter;
use crate::report::table::TableWriter;
use crate::report::{jsonl, Record, Selection, Summary};
use crate::source::{Event, Precision};
use crate::track::heuristics::DetectorConfig;
use crate::track::{Attempt, Emit, TrackerConfig, TrackerStats};

fn seconds(name: &str, v: f64) -> Result<Duration, Failure> {
    Duration::try_from_secs_f64(v)
        .map_err(|_| Failure::new(format!("--{name}: not a duration: {v}")))
}

/// The tracker configuration the arguments ask for.
pub fn tracker_config(args: &HandshakeArgs, emit: Emit) -> Result<TrackerConfig, Failure> {
    Ok(TrackerConfig {
        handshake_timeout: seconds("handshake-timeout", args.handshake_timeout)?,
        idle_timeout: seconds("idle-timeout", args.idle_timeout)?,
        linger: seconds("linger", args.linger)?,
        max_live: args.max_live.max(1),
        max_waiting: (args.max_live / 4).max(1),
        emit,
        detectors: DetectorConfig::default(),
    })
}

/// Where records go: the chosen format, the selection, the summary.
struct Sink {
    format: HandshakeFormat,
    summary_only: bool,
    selection: Selection,
    precision: Precision,
    detectors: DetectorConfig,
    table: TableWriter,
    csv: CsvWriter,
    summary: Summary,
    next_id: u64,
}

impl Sink {
    fn start(&mut self, buf: &mut Vec<u8>) {
        if self.summary_only {
            return;
        }
        match self.format {
            HandshakeFormat::Table => self.table.header(buf),
            HandshakeFormat::Csv => self.csv.header(buf),
            HandshakeFormat::Jsonl => {}
        }
    }

    fn record(&mut self, a: &Attempt, buf: &mut Vec<u8>) {
        self.next_id += 1;
        if self.summary_only {
            // The summary reads three things: no need to derive the rest.
            let verdict = crate::track::analysis::verdict(a);
            let handshake = crate::track::rtt::handshake_time(a);
            if self.selection.matches_verdict(verdict, handshake) {
                self.summary.add_verdict(verdict, handshake, a.server);
            }
            return;
        }
        let r = Record::new(self.next_id, a, self.precision, &self.detectors);
        if !self.selection.matches(&r) {
            return;
        }
        self.summary.add(&r);
        if self.summary_only {
            return;
        }
        match self.format {
            HandshakeFormat::Table => self.table.row(&r, buf),
            HandshakeFormat::Jsonl => jsonl::write(&r, buf),
            HandshakeFormat::Csv => self.csv.row(&r, buf),
        }
    }

    fn end(&mut self, stats: &TrackerStats, buf: &mut Vec<u8>) {
        if self.summary_only || self.format == HandshakeFormat::Table {
            if !self.summary_only {
                buf.push(b'\n');
            }
            self.summary.write_text(stats, buf);
        }
    }
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

pub fn run(args: &HandshakeArgs) -> Result<(), Failure> {
    let mut input = Input::open(&args.input)?;
    let source = input.source();
    if source.is_live() {
        announce(source);
    }
    // A file has a position; a live source streams each record when final.
    let emit = if source.position().is_some() {
        Emit::InOrder
    } else {
        Emit::WhenFinal
    };
    let cfg = tracker_config(args, emit)?;
    let detectors = cfg.detectors.clone();
    // Tracking on a thread of its own pays off for files, read as fast as
    // they can be; a live source streams each record at once.
    let threads = if emit == Emit::InOrder {
        args.threads
    } else {
        1
    };
    let mut tracker = Tracking::new(cfg, threads);
    let colour = std::io::stdout().is_terminal()
        && !std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let mut sink = Sink {
        format: args.format,
        summary_only: args.summary,
        selection: Selection {
            verdicts: args.verdict.clone(),
            failed: args.failed,
            slow_ms: args.slow,
        },
        precision: source.precision(),
        detectors,
        table: TableWriter::new(colour),
        csv: CsvWriter::new(),
        summary: Summary::new(),
        next_id: 0,
    };
    let bar = progress_bar(source.total_size(), !args.no_progress);
    let mut out = Output::stdout();
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 17);
    sink.start(&mut buf);
    let limit = args.input.count.unwrap_or(u64::MAX);
    let mut taken: u64 = 0;
    let result = input.run(|event| {
        if taken >= limit || out.closed {
            return Ok(Flow::Stop);
        }
        match event {
            Event::Frame(frame) => {
                taken += 1;
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
        while let Some(a) = tracker.next_finished() {
            sink.record(&a, &mut buf);
        }
        // Streamed records are written at once; a file's in large writes.
        if buf.len() >= 1 << 16 || (emit == Emit::WhenFinal && !buf.is_empty()) {
            out.write(&mut buf)?;
            if emit == Emit::WhenFinal {
                out.flush()?;
            }
        }
        Ok(if taken >= limit || out.closed {
            Flow::Stop
        } else {
            Flow::Continue
        })
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    tracker.finish();
    while let Some(a) = tracker.next_finished() {
        sink.record(&a, &mut buf);
        if buf.len() >= 1 << 16 {
            out.write(&mut buf)?;
        }
    }
    sink.end(&tracker.stats(), &mut buf);
    out.write(&mut buf)?;
    out.flush()?;
    input.finish()?;
    result
}
