//! An input as every command reads it: the source (a file with `-r`, an
//! interface with `-i`), its filter, the copy written with `-w`, root given up
//! after a live capture is open, and tcpdump's closing statistics.
//!
//! Commands consume it through [`Input::run`], which calls them back with each
//! [`Event`]: frames that passed the filter, and, for live captures, idle
//! moments (to flush output and fire timeouts). The run ends at the end of the
//! file, on SIGINT/SIGTERM, after `-c` packets when saving, or when the
//! consumer answers [`Flow::Stop`].

use crate::app::{self, Failure};
use crate::cli::InputArgs;
use crate::privileges;
use crate::savefile::{SaveFormat, SaveOptions, Savefile};
use crate::source::{BpfFilter, CaptureStats, Event, FrameIndex, FrameSource};

/// A consumer's answer: go on, or stop reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Stop,
}

/// An open input.
pub struct Input {
    source: Box<dyn FrameSource>,
    filter: Option<BpfFilter>,
    savefile: Option<Savefile>,
    /// Frames go to the consumer (not with `-w` alone, which only saves).
    deliver: bool,
    /// With `-w`, `-c` counts the packets captured, as tcpdump counts them.
    limit: u64,
    /// Packets that passed the filter (tcpdump's "packets captured").
    captured: u64,
}

impl Input {
    /// Open the source, compile its filter, create the `-w` file, then give up
    /// root if this is a live capture.
    pub fn open(args: &InputArgs) -> Result<Input, Failure> {
        let source = app::open_input(args)?;
        let filter = app::open_filter(args, source.as_ref())?;
        let savefile = match &args.save.write {
            Some(path) => {
                let opts = SaveOptions {
                    path: path.clone(),
                    format: if args.save.pcapng {
                        SaveFormat::Pcapng
                    } else {
                        SaveFormat::Pcap
                    },
                    packet_buffered: args.save.packet_buffered,
                };
                Some(Savefile::create(&opts, source.as_ref())?)
            }
            None => None,
        };
        if source.is_live() {
            privileges::drop_root(args.live.user.as_deref()).map_err(Failure::new)?;
        }
        let saving = savefile.is_some();
        Ok(Input {
            source,
            filter,
            savefile,
            deliver: !saving || args.save.print,
            limit: match (saving, args.count) {
                (true, Some(n)) => n,
                _ => u64::MAX,
            },
            captured: 0,
        })
    }

    pub fn source(&self) -> &dyn FrameSource {
        self.source.as_ref()
    }

    /// Packets that passed the filter so far.
    pub fn captured(&self) -> u64 {
        self.captured
    }

    /// Read until the input ends or the consumer stops, calling `consume` with
    /// each frame that passed the filter and each idle moment (never with
    /// [`Event::End`]: the run returning is the end).
    pub fn run(
        &mut self,
        consume: impl FnMut(Event<'_>) -> Result<Flow, Failure>,
    ) -> Result<(), Failure> {
        let mut state = Loop {
            filter: &mut self.filter,
            savefile: &mut self.savefile,
            deliver: self.deliver,
            limit: self.limit,
            captured: &mut self.captured,
        };
        // A capture file, read as fast as it can be, gets a loop of its own
        // in which reading the next frame is a direct call that the compiler
        // can inline (through the trait object, each frame was copied
        // between stack slots three times on its way to the consumer).
        match self.source.as_capture_file() {
            Some(file) => state.run(file, consume),
            None => state.run(self.source.as_mut(), consume),
        }
    }

    /// Can [`Input::seek_record`] skip ahead in this input (a capture file
    /// opened by path)?
    pub fn seekable(&mut self) -> bool {
        self.source.as_capture_file().is_some_and(|f| f.seekable())
    }

    /// This read is the first of a file that will be read again with
    /// `index`: the file keeps the index told where its pcapng section
    /// headers and interface descriptions end, as it reads them.
    pub fn note_index(&mut self, index: &FrameIndex) {
        if let Some(file) = self.source.as_capture_file() {
            file.report_settled(index.settled_to());
        }
    }

    /// Read on from the record at byte `offset`, the `number`th of the file,
    /// with the first read's `index` (see
    /// [`CaptureFile::seek_record`](crate::source::CaptureFile::seek_record));
    /// `false` if this input cannot.
    pub fn seek_record(
        &mut self,
        offset: u64,
        number: u64,
        index: &FrameIndex,
    ) -> Result<bool, Failure> {
        match self.source.as_capture_file() {
            Some(file) => Ok(file.seek_record(offset, number, index.settled())?),
            None => Ok(false),
        }
    }

    /// Finish: write out the rest of the `-w` file and, for a live capture,
    /// print tcpdump's three statistics lines on standard error.
    pub fn finish(&mut self) -> Result<(), Failure> {
        let saved = match &mut self.savefile {
            Some(savefile) => savefile.flush(),
            None => Ok(()),
        };
        if let Some(stats) = self.source.capture_stats() {
            match stats {
                Ok(stats) => eprint!("{}", statistics(self.captured, stats)),
                Err(e) => eprintln!("synack: cannot read capture statistics: {e}"),
            }
        }
        saved.map_err(Failure::from)
    }
}

/// tcpdump's closing lines (its `info(1)`).
pub fn statistics(captured: u64, stats: CaptureStats) -> String {
    fn line(n: u64, what: &str) -> String {
        format!("{n} packet{} {what}\n", if n == 1 { "" } else { "s" })
    }
    let mut text = line(captured, "captured");
    text += &line(stats.received.into(), "received by filter");
    text += &line(stats.dropped.into(), "dropped by kernel");
    if stats.interface_dropped != 0 {
        text += &line(stats.interface_dropped.into(), "dropped by interface");
    }
    text
}

/// What the reading loop needs of an [`Input`] besides its source.
struct Loop<'a> {
    filter: &'a mut Option<BpfFilter>,
    savefile: &'a mut Option<Savefile>,
    deliver: bool,
    limit: u64,
    captured: &'a mut u64,
}

impl Loop<'_> {
    #[inline]
    fn run<S: FrameSource + ?Sized>(
        &mut self,
        source: &mut S,
        mut consume: impl FnMut(Event<'_>) -> Result<Flow, Failure>,
    ) -> Result<(), Failure> {
        while *self.captured < self.limit {
            match source.next_event()? {
                Event::End => break,
                Event::Idle { now } => {
                    if let Some(savefile) = self.savefile {
                        savefile.flush()?;
                        if savefile.closed() {
                            break;
                        }
                    }
                    if consume(Event::Idle { now })? == Flow::Stop {
                        break;
                    }
                }
                Event::Frame(frame) => {
                    if let Some(filter) = self.filter {
                        if !filter.matches(&frame) {
                            continue;
                        }
                    }
                    *self.captured += 1;
                    if let Some(savefile) = self.savefile {
                        savefile.write(&frame)?;
                        if savefile.closed() {
                            break;
                        }
                    }
                    if self.deliver && consume(Event::Frame(frame))? == Flow::Stop {
                        break;
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_read_like_tcpdump() {
        let stats = CaptureStats {
            received: 1,
            dropped: 0,
            interface_dropped: 0,
        };
        assert_eq!(
            statistics(1, stats),
            "1 packet captured\n1 packet received by filter\n0 packets dropped by kernel\n"
        );
        let stats = CaptureStats {
            received: 12,
            dropped: 3,
            interface_dropped: 2,
        };
        assert_eq!(
            statistics(7, stats),
            "7 packets captured\n12 packets received by filter\n3 packets dropped by kernel\n\
             2 packets dropped by interface\n"
        );
    }
}
