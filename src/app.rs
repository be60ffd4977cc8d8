//! Running a command: open the input, build the pieces, drive frames through
//! them, and turn failures into one-line messages and exit codes.

use std::io::{self, IsTerminal, Write};

use crate::cli::{InputArgs, PrintArgs};
use crate::input::{Flow, Input};
use crate::print::{PrintOptions, Printed, Printer, TimeFormat};
use crate::savefile;
use crate::source::filter::join_expression;
use crate::source::live::{LiveCapture, LiveOptions};
use crate::source::{devices, open_path, BpfFilter, Event, FrameSource, SourceError};

/// A failure to report: one line on stderr and an exit code.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub code: i32,
}

impl Failure {
    pub fn new(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            code: 1,
        }
    }
}

impl From<SourceError> for Failure {
    fn from(e: SourceError) -> Failure {
        Failure::new(e.to_string())
    }
}

/// Output that ends quietly when the reader goes away (`| head`).
pub struct Output {
    out: Box<dyn Write>,
    pub closed: bool,
    /// Standard output, which `-w -` may have taken for the capture.
    stdout: bool,
}

impl Output {
    pub fn stdout() -> Output {
        Output {
            out: Box::new(io::stdout().lock()),
            closed: false,
            stdout: true,
        }
    }

    /// A file, created or truncated.
    pub fn file(path: &str) -> Result<Output, Failure> {
        let file = std::fs::File::create(path)
            .map_err(|e| Failure::new(format!("{path}: cannot write: {e}")))?;
        Ok(Output {
            out: Box::new(file),
            closed: false,
            stdout: false,
        })
    }

    /// `-o FILE`, or standard output.
    pub fn to(path: Option<&str>) -> Result<Output, Failure> {
        match path {
            Some(p) if p != "-" => Output::file(p),
            _ => Ok(Output::stdout()),
        }
    }

    /// Write and clear `buf`; a broken pipe marks the output closed.
    pub fn write(&mut self, buf: &mut Vec<u8>) -> Result<(), Failure> {
        if self.closed {
            buf.clear();
            return Ok(());
        }
        if self.stdout && !buf.is_empty() && savefile::stdout_taken() {
            return Err(Failure::new(
                "standard output carries the capture written with -w -: \
                 send this output to a file (-o FILE) or leave out --print",
            ));
        }
        let r = self.out.write_all(buf);
        buf.clear();
        match r {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(())
            }
            Err(e) => Err(Failure::new(format!("error writing output: {e}"))),
        }
    }

    pub fn flush(&mut self) -> Result<(), Failure> {
        if self.closed {
            return Ok(());
        }
        match self.out.flush() {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(())
            }
            Err(e) => Err(Failure::new(format!("error writing output: {e}"))),
        }
    }
}

/// Open one capture file (`-` for standard input).
pub fn open_path_source(path: &str) -> Result<Box<dyn FrameSource>, Failure> {
    let source = open_path(path)?;
    let lt = source.linktype();
    if !lt.is_supported() {
        return Err(Failure::new(format!(
            "{path}: unsupported data link type {} ({lt})",
            lt.0
        )));
    }
    Ok(Box::new(source))
}

/// Open what the input arguments name.
pub fn open_input(input: &InputArgs) -> Result<Box<dyn FrameSource>, Failure> {
    let source: Box<dyn FrameSource> =
        match (input.read.as_slice(), &input.interface) {
            ([path], None) => return open_path_source(path),
            ([], Some(interface)) => Box::new(LiveCapture::open(&live_options(input, interface))?),
            ([_, ..], Some(_)) => {
                return Err(Failure::new("give either -r FILE or -i IFACE, not both"))
            }
            ([], None) => {
                return Err(Failure::new(
                    "no input: give -r FILE (or -r - for standard input)",
                ))
            }
            ([_, _, ..], None) => return Err(Failure::new(
                "this command reads one file: give -r once (handshakes and report take several)",
            )),
        };
    let lt = source.linktype();
    if !lt.is_supported() {
        return Err(Failure::new(format!(
            "{}: unsupported data link type {} ({lt})",
            source.origin(),
            lt.0
        )));
    }
    Ok(source)
}

/// tcpdump's capture settings from the command line. Immediate mode is on
/// when asked for, or when packets are printed to a terminal (someone is
/// watching).
pub fn live_options(input: &InputArgs, interface: &str) -> LiveOptions {
    let printing = input.save.write.is_none() || input.save.print;
    let live = &input.live;
    LiveOptions {
        snaplen: live.snaplen,
        buffer_kib: live.buffer_kib,
        immediate: live.immediate || (printing && io::stdout().is_terminal()),
        promiscuous: !live.no_promiscuous,
        direction: live.direction,
        filter: join_expression(&input.filter),
        ..LiveOptions::new(interface)
    }
}

/// `synack -D`: the interfaces, numbered as `-i N` takes them.
pub fn list_interfaces() -> Result<(), Failure> {
    let listing = devices::listing()?;
    let mut out = Output::stdout();
    out.write(&mut listing.into_bytes())?;
    out.flush()
}

/// Compile the filter words for the source's link type (a live capture's
/// filter is already compiled and set in the kernel).
pub fn open_filter(
    input: &InputArgs,
    source: &dyn FrameSource,
) -> Result<Option<BpfFilter>, Failure> {
    if source.is_live() {
        return Ok(None);
    }
    match join_expression(&input.filter) {
        None => Ok(None),
        Some(expr) => BpfFilter::new(&expr, source.linktype())
            .map(Some)
            .map_err(|e| Failure::new(e.0)),
    }
}

/// tcpdump's "reading from file" (or "listening on") line on stderr.
pub fn announce(source: &dyn FrameSource) {
    let lt = source.linktype();
    let link = match lt.name_and_description() {
        ("UNKNOWN", _) => lt.0.to_string(),
        (name, desc) => format!("{name} ({desc})"),
    };
    if source.is_live() {
        eprintln!(
            "listening on {}, link-type {link}, snapshot length {} bytes",
            source.origin(),
            source.snaplen()
        );
        return;
    }
    eprintln!(
        "reading from file {}, link-type {link}, snapshot length {}",
        source.origin(),
        source.snaplen()
    );
}

pub fn print_options(args: &PrintArgs) -> PrintOptions {
    PrintOptions {
        numeric: args.numeric,
        absolute: args.absolute,
        time: TimeFormat::from_count(args.time),
        verbose: args.verbose,
        link: args.link,
        quiet: args.quiet,
        all: args.all,
        classic: args.classic,
    }
}

/// `synack print`.
pub fn run_print(args: &PrintArgs) -> Result<(), Failure> {
    let mut input = Input::open(&args.input)?;
    if !args.quiet {
        announce(input.source());
    }
    let mut printer = Printer::new(print_options(args));
    let mut out = Output::stdout();
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 17);
    let mut shown: u64 = 0;
    let limit = args.input.count.unwrap_or(u64::MAX);
    let result = if limit == 0 {
        Ok(())
    } else {
        input.run(|event| {
            match event {
                Event::Frame(frame) if args.count_only => {
                    if args.all || printer.carries_tcp(&frame) {
                        shown += 1;
                    }
                }
                Event::Frame(frame) => {
                    if printer.print(&frame, &mut buf) != Printed::Skipped {
                        shown += 1;
                    }
                    if buf.len() >= 1 << 16 {
                        out.write(&mut buf)?;
                    }
                }
                // Nothing more is ready: show what was printed before waiting.
                Event::Idle { .. } => {
                    out.write(&mut buf)?;
                    out.flush()?;
                }
                Event::End => return Ok(Flow::Stop),
            }
            Ok(if shown >= limit || out.closed {
                Flow::Stop
            } else {
                Flow::Continue
            })
        })
    };
    if args.count_only {
        buf.extend_from_slice(format!("{shown} packets\n").as_bytes());
    }
    out.write(&mut buf)?;
    out.flush()?;
    input.finish()?;
    result
}

/// `synack handshakes`.
pub fn run_handshakes(args: &crate::cli::HandshakeArgs) -> Result<(), Failure> {
    crate::handshakes::run(args)
}
