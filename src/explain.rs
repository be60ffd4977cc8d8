//! `synack explain` and `synack ladder`: the tracker judges every attempt,
//! and the chosen ones (all, or the one `--conn` names) are explained packet
//! by packet or drawn as a ladder. An attempt's packets come one of two ways.
//!
//! A capture file is read twice: a tracker pass keeps the chosen attempts, a
//! packet pass reads the file again for their packets. The tracker holds
//! numbers, not packets, so memory stays with the chosen attempts. Attempts
//! are taken in batches of [`BATCH`], each with its own packet pass, so that
//! explaining every attempt of a large capture stays bounded in memory (at
//! the price of a read per batch; `--conn` or a filter avoids it).
//!
//! Standard input, a pipe and a live capture (`-i`) cannot be read again:
//! they are read once, the frames of the attempts not yet handed out held
//! beside the tracker ([`HeldFrames`], bounded), and each attempt is
//! explained as soon as the tracker hands it out. A live capture hands each
//! out when its verdict is final ([`Emit::WhenFinal`]) and every explanation
//! is flushed at once; while the wire is quiet the tracker is advanced to the
//! wall clock, so that unanswered attempts are judged; an interrupt ends the
//! capture, explains the attempts still open as of then, and prints the
//! capture statistics. Standard input and pipes hand them out in a file's
//! order ([`Emit::InOrder`]), so their explanations are the file's.

use std::io::Write;

use crate::app::{announce, print_options, Failure, Output};
use crate::cli::{ExplainArgs, InputArgs, LadderArgs, SaveArgs};
use crate::input::{Flow, Input};
use crate::print::Printer;
use crate::report::explain::{explain, ExplainStyle};
use crate::report::ladder::{self, locale_is_utf8, Ladder, TextStyle};
use crate::report::packets::{AttemptPackets, HeldFrames, PacketCollector};
use crate::report::Record;
use crate::source::{Event, FrameIndex, Precision};
use crate::track::heuristics::DetectorConfig;
use crate::track::{Attempt, Emit, Tracker, TrackerConfig};

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

/// Numbers the attempts as the tracker hands them out and picks the chosen.
struct Chooser {
    choice: Choice,
    /// Attempts handed out so far.
    count: u64,
    /// The one wanted attempt was taken, or the consumer asked to stop.
    done: bool,
}

impl Chooser {
    /// The id of the attempt just handed out, if it is chosen.
    fn next(&mut self) -> Option<u64> {
        self.count += 1;
        match self.choice {
            Choice::All => Some(self.count),
            Choice::One(n) if n == self.count => {
                self.done = true;
                Some(n)
            }
            Choice::One(_) => None,
        }
    }
}

/// Is the input a regular file (which can be read twice)?
fn rereadable(input: &Input) -> bool {
    input.source().total_size().is_some()
}

/// The packet pass: read the input again (same filter, same `-c` limit) and
/// keep the packets of `attempts`, in their order. A damaged file ends the
/// pass where it is damaged (the tracker pass reports it).
///
/// With the first read's `index` of a pcap or pcapng file (and no `-c`,
/// which counts the frames read), the stretches where no wanted attempt can
/// have a frame are skipped: from where every attempt begun has all its
/// frames to the index's mark before the next one's first frame.
pub fn collect_packets(
    input: &InputArgs,
    attempts: &[&Attempt],
    index: Option<&FrameIndex>,
) -> Result<Vec<AttemptPackets>, Failure> {
    // The first read wrote the `-w` copy; this one only reads.
    let again = InputArgs {
        save: SaveArgs::default(),
        ..input.clone()
    };
    let mut again = Input::open(&again)?;
    let mut collector = PacketCollector::for_attempts(attempts, again.source().precision());
    let limit = input.count.unwrap_or(u64::MAX);
    let index = index.filter(|_| input.count.is_none() && again.seekable());
    let mut taken = 0u64;
    let mut skip = None;
    loop {
        let _ = again.run(|event| {
            let Event::Frame(frame) = event else {
                return Ok(Flow::Continue);
            };
            if taken >= limit {
                return Ok(Flow::Stop);
            }
            taken += 1;
            collector.offer(&frame);
            if collector.complete(frame.ts) {
                return Ok(Flow::Stop);
            }
            skip = index.and_then(|index| skip_from(index, &collector, frame.number));
            Ok(if skip.is_some() {
                Flow::Stop
            } else {
                Flow::Continue
            })
        });
        match skip.take() {
            Some((number, offset))
                if again.seek_record(offset, number, index.expect("an index"))? => {}
            _ => break,
        }
    }
    Ok(collector.finish())
}

/// Where to read on after frame `now`, if a stretch of frames worth skipping
/// can hold none of the collector's: `(number, offset)` of a mark.
fn skip_from(index: &FrameIndex, collector: &PacketCollector, now: u64) -> Option<(u64, u64)> {
    let next = collector.wanted_next()?;
    if next <= now.saturating_add(FrameIndex::EVERY) {
        return None;
    }
    index.at_or_before(next).filter(|&(n, _)| n > now + 1)
}

/// What is done with chosen attempts and their packets: answers `false` to
/// stop.
type UseBatch<'a> = dyn FnMut(&Batch, Vec<AttemptPackets>, Precision) -> Result<bool, Failure> + 'a;

/// Read the input, calling `use_batch` with the chosen attempts and their
/// packets. Returns how many attempts the input held (as far as it was read).
fn chosen_attempts(
    args: &InputArgs,
    choice: Choice,
    announce_source: bool,
    mut use_batch: impl FnMut(&Batch, Vec<AttemptPackets>, Precision) -> Result<bool, Failure>,
) -> Result<u64, Failure> {
    let mut input = Input::open(args)?;
    if announce_source {
        announce(input.source());
    }
    let mut chooser = Chooser {
        choice,
        count: 0,
        done: false,
    };
    let read = if rereadable(&input) {
        read_twice(&mut input, args, &mut chooser, &mut use_batch)
    } else {
        read_once(&mut input, args, &mut chooser, &mut use_batch)
    };
    input.finish()?;
    read?;
    Ok(chooser.count)
}

/// A file: the tracker pass here, a packet pass per batch of chosen attempts.
fn read_twice(
    input: &mut Input,
    args: &InputArgs,
    chooser: &mut Chooser,
    use_batch: &mut UseBatch<'_>,
) -> Result<(), Failure> {
    let precision = input.source().precision();
    let mut tracker = Tracker::new(TrackerConfig::default());
    let limit = args.count.unwrap_or(u64::MAX);
    let mut taken = 0u64;
    let mut batch: Batch = Vec::new();
    let mut index = FrameIndex::default();
    input.note_index(&index);
    let mut flush =
        |batch: &mut Batch, chooser: &mut Chooser, index: &FrameIndex| -> Result<(), Failure> {
            if batch.is_empty() {
                return Ok(());
            }
            let attempts: Vec<&Attempt> = batch.iter().map(|(_, a)| a.as_ref()).collect();
            let packets = collect_packets(args, &attempts, Some(index))?;
            chooser.done |= !use_batch(batch, packets, precision)?;
            batch.clear();
            Ok(())
        };
    let mut hand_out =
        |tracker: &mut Tracker, batch: &mut Batch, chooser: &mut Chooser, index: &FrameIndex| {
            while !chooser.done {
                let Some(a) = tracker.next_finished() else {
                    break;
                };
                if let Some(id) = chooser.next() {
                    batch.push((id, a));
                }
                if batch.len() >= BATCH {
                    flush(batch, chooser, index)?;
                }
            }
            Ok::<(), Failure>(())
        };
    let read = input.run(|event| {
        let Event::Frame(frame) = event else {
            return Ok(Flow::Continue);
        };
        if taken >= limit || chooser.done {
            return Ok(Flow::Stop);
        }
        taken += 1;
        index.note(&frame);
        tracker.observe(&frame);
        hand_out(&mut tracker, &mut batch, chooser, &index)?;
        Ok(if chooser.done {
            Flow::Stop
        } else {
            Flow::Continue
        })
    });
    if !chooser.done {
        tracker.finish();
        hand_out(&mut tracker, &mut batch, chooser, &index)?;
    }
    flush(&mut batch, chooser, &index)?;
    read
}

/// Standard input, a pipe or a live capture: one read, the frames held until
/// their attempt is handed out, each chosen attempt used at once.
fn read_once(
    input: &mut Input,
    args: &InputArgs,
    chooser: &mut Chooser,
    use_batch: &mut UseBatch<'_>,
) -> Result<(), Failure> {
    let source = input.source();
    let precision = source.precision();
    // As `synack handshakes` does: a file's order, or each attempt as soon
    // as its verdict is final.
    let emit = if source.position().is_some() {
        Emit::InOrder
    } else {
        Emit::WhenFinal
    };
    let mut tracker = Tracker::new(TrackerConfig {
        emit,
        ..TrackerConfig::default()
    });
    let mut held = HeldFrames::new(precision);
    let limit = args.count.unwrap_or(u64::MAX);
    let mut taken = 0u64;
    let mut hand_out = |tracker: &mut Tracker, held: &mut HeldFrames, chooser: &mut Chooser| {
        while !chooser.done {
            let Some(a) = tracker.next_finished() else {
                break;
            };
            let packets = held.take(&a);
            if let Some(id) = chooser.next() {
                chooser.done |= !use_batch(&vec![(id, a)], vec![packets], precision)?;
            }
        }
        Ok::<(), Failure>(())
    };
    let read = input.run(|event| {
        if taken >= limit || chooser.done {
            return Ok(Flow::Stop);
        }
        match event {
            Event::Frame(frame) => {
                taken += 1;
                held.track(&mut tracker, &frame);
            }
            // The wire is quiet: attempts whose timeout passed are judged now.
            Event::Idle { now } => tracker.advance_to(now),
            Event::End => return Ok(Flow::Stop),
        }
        hand_out(&mut tracker, &mut held, chooser)?;
        Ok(if taken >= limit || chooser.done {
            Flow::Stop
        } else {
            Flow::Continue
        })
    });
    // The end of the input or an interrupt: what is still open is judged as
    // of now.
    if !chooser.done {
        tracker.finish();
        hand_out(&mut tracker, &mut held, chooser)?;
    }
    read
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
            // Read once (live), an explanation is shown as soon as it is made.
            out.write(&mut buf)?;
            out.flush()?;
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
        // The text goes to standard output: only a capture says where it
        // listens.
        args.input.interface.is_some(),
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
