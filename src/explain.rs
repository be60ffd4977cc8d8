//! `synack explain` and `synack ladder`: a tracker pass over the capture
//! judges every attempt and keeps the chosen ones (all, or the one `--conn`
//! names); a packet pass reads the capture again for their packets; then each
//! is explained packet by packet, or drawn as a ladder.
//!
//! Reading twice keeps memory to the chosen attempts: the tracker holds
//! numbers, not packets. Attempts are taken in batches of [`BATCH`], each with
//! its own packet pass, so explaining every attempt of a large capture stays
//! bounded in memory (at the price of a read per batch; `--conn` or a filter
//! avoids it). Standard input cannot be read twice, and live capture (`-i`)
//! is refused by [`open_input`] until this build has it.

use std::io::Write;

use crate::app::{announce, print_options, Failure, Output};
use crate::cli::{ExplainArgs, InputArgs, LadderArgs, SaveArgs};
use crate::input::{Flow, Input};
use crate::print::Printer;
use crate::report::explain::{explain, ExplainStyle};
use crate::report::ladder::{self, locale_is_utf8, Ladder, TextStyle};
use crate::report::packets::{AttemptPackets, PacketCollector};
use crate::report::Record;
use crate::source::{Event, Precision};
use crate::track::heuristics::DetectorConfig;
use crate::track::{Attempt, Tracker, TrackerConfig};

/// Attempts explained per packet pass.
pub const BATCH: usize = 256;

/// Which attempts to take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Choice {
    All,
    /// The attempt with this id (1-based, in `synack handshakes` order).
    One(u64),
}

/// Chosen attempts with their ids.
type Batch = Vec<(u64, Box<Attempt>)>;

fn rereadable(input: &InputArgs) -> Result<(), Failure> {
    if input.read.as_deref() == Some("-") {
        return Err(Failure::new(
            "explain and ladder read the capture twice (to judge the attempts, then for their packets): give a file, not standard input",
        ));
    }
    if input.interface.is_some() {
        return Err(Failure::new(
            "live capture (-i) is not available to explain and ladder in this build",
        ));
    }
    Ok(())
}

/// The packet pass: read the input again (same filter, same `-c` limit) and
/// keep the packets of `attempts`, in their order. A damaged file ends the
/// pass where it is damaged (the tracker pass reports it).
pub fn collect_packets(
    input: &InputArgs,
    attempts: &[&Attempt],
) -> Result<Vec<AttemptPackets>, Failure> {
    // The first read wrote the `-w` copy; this one only reads.
    let again = InputArgs {
        save: SaveArgs::default(),
        ..input.clone()
    };
    let mut again = Input::open(&again)?;
    let mut collector = PacketCollector::for_attempts(attempts, again.source().precision());
    let limit = input.count.unwrap_or(u64::MAX);
    let mut taken = 0u64;
    let _ = again.run(|event| {
        let Event::Frame(frame) = event else {
            return Ok(Flow::Continue);
        };
        if taken >= limit {
            return Ok(Flow::Stop);
        }
        taken += 1;
        collector.offer(&frame);
        Ok(if collector.complete(frame.ts) {
            Flow::Stop
        } else {
            Flow::Continue
        })
    });
    Ok(collector.finish())
}

/// The tracker pass, calling `use_batch` with each batch of chosen attempts
/// and their packets; it answers `false` to stop. Returns how many attempts
/// the input held (as far as it was read).
fn chosen_attempts(
    input: &InputArgs,
    choice: Choice,
    announce_source: bool,
    mut use_batch: impl FnMut(&Batch, Vec<AttemptPackets>, Precision) -> Result<bool, Failure>,
) -> Result<u64, Failure> {
    rereadable(input)?;
    let mut source = Input::open(input)?;
    if announce_source {
        announce(source.source());
    }
    let precision = source.source().precision();
    let mut tracker = Tracker::new(TrackerConfig::default());
    let limit = input.count.unwrap_or(u64::MAX);
    let (mut taken, mut next_id) = (0u64, 0u64);
    let mut batch: Batch = Vec::new();
    let mut done = false;
    let mut flush = |batch: &mut Batch| -> Result<bool, Failure> {
        if batch.is_empty() {
            return Ok(true);
        }
        let attempts: Vec<&Attempt> = batch.iter().map(|(_, a)| a.as_ref()).collect();
        let packets = collect_packets(input, &attempts)?;
        let go_on = use_batch(batch, packets, precision)?;
        batch.clear();
        Ok(go_on)
    };
    let mut take = |a: Box<Attempt>, batch: &mut Batch| {
        next_id += 1;
        let wanted = match choice {
            Choice::All => true,
            Choice::One(n) => n == next_id,
        };
        if wanted {
            batch.push((next_id, a));
        }
        wanted && choice != Choice::All
    };
    let read = source.run(|event| {
        let Event::Frame(frame) = event else {
            return Ok(Flow::Continue);
        };
        if taken >= limit || done {
            return Ok(Flow::Stop);
        }
        taken += 1;
        tracker.observe(&frame);
        while let Some(a) = tracker.next_finished() {
            done |= take(a, &mut batch);
        }
        if batch.len() >= BATCH && !flush(&mut batch)? {
            done = true;
        }
        Ok(if done { Flow::Stop } else { Flow::Continue })
    });
    if !done {
        tracker.finish();
        while let Some(a) = tracker.next_finished() {
            if take(a, &mut batch) {
                break;
            }
            if batch.len() >= BATCH && !flush(&mut batch)? {
                break;
            }
        }
    }
    flush(&mut batch)?;
    source.finish()?;
    read?;
    Ok(next_id)
}

fn not_found(n: u64, count: u64) -> Failure {
    Failure::new(format!(
        "no attempt {n}: the input holds {count} (numbered from 1 as `synack handshakes` numbers them)"
    ))
}

/// `synack explain`.
pub fn run_explain(args: &ExplainArgs) -> Result<(), Failure> {
    let p = &args.print;
    if p.count_only || p.all {
        return Err(Failure::new(
            "--count and --all do not apply to explain: it explains TCP connection attempts",
        ));
    }
    let choice = args.conn.map_or(Choice::All, Choice::One);
    let style = ExplainStyle {
        classic: p.classic,
        absolute: p.absolute,
        verbose: p.verbose,
        ladder: args.ladder.then(|| TextStyle {
            ascii: args.ascii || !locale_is_utf8(),
            absolute: p.absolute,
        }),
    };
    let mut printer = Printer::new(print_options(p));
    let detectors = DetectorConfig::default();
    let mut out = Output::stdout();
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 16);
    let mut explained = 0u64;
    let count = chosen_attempts(&p.input, choice, !p.quiet, |batch, packets, precision| {
        for ((id, a), packets) in batch.iter().zip(&packets) {
            if explained > 0 {
                buf.push(b'\n');
            }
            explained += 1;
            let record = Record::new(*id, a, precision, &detectors);
            explain(&mut buf, &mut printer, &record, packets, style);
            out.write(&mut buf)?;
            if out.closed {
                return Ok(false);
            }
        }
        Ok(true)
    })?;
    if choice == Choice::All && explained == 0 {
        buf.extend_from_slice(b"No TCP connection attempts in the input.\n");
        out.write(&mut buf)?;
    }
    out.flush()?;
    match choice {
        Choice::One(n) if explained == 0 => Err(not_found(n, count)),
        _ => Ok(()),
    }
}

/// `synack ladder`: one attempt's ladder, as SVG into a file or as text.
pub fn run_ladder(args: &LadderArgs) -> Result<(), Failure> {
    let mut drawing: Option<String> = None;
    let count = chosen_attempts(
        &args.input,
        Choice::One(args.conn),
        false,
        |batch, packets, precision| {
            if let (Some((id, a)), Some(packets)) = (batch.first(), packets.first()) {
                let record = Record::new(*id, a, precision, &DetectorConfig::default());
                let l = Ladder::build(packets, a, &record.analysis);
                drawing = Some(match &args.output {
                    Some(_) => ladder::render_svg(&l),
                    None => ladder::render_text(
                        &l,
                        TextStyle {
                            ascii: args.ascii || !locale_is_utf8(),
                            absolute: args.absolute,
                        },
                    ),
                });
            }
            Ok(false)
        },
    )?;
    let Some(drawing) = drawing else {
        return Err(not_found(args.conn, count));
    };
    match &args.output {
        Some(path) => std::fs::write(path, drawing)
            .map_err(|e| Failure::new(format!("{}: {e}", path.display()))),
        None => {
            let mut out = std::io::stdout().lock();
            match out.write_all(drawing.as_bytes()).and_then(|()| out.flush()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    Err(Failure::new(format!("error writing output: {e}")))
                }
                _ => Ok(()),
            }
        }
    }
}
