//! The command line: tcpdump's short flags with tcpdump's meanings, in one place.

use clap::{value_parser, ArgAction, Args, Parser, Subcommand};

use crate::source::live::Direction;

#[derive(Parser, Debug)]
#[command(
    name = "synack",
    version,
    about = "Shows and judges TCP three-way handshakes in packet captures and on live interfaces",
    long_about = "Shows and judges TCP three-way handshakes in packet captures and on live interfaces.\n\n\
                  Without a subcommand, synack prints TCP segments as tcpdump does: \
                  `synack -n -r FILE` is `synack print -n -r FILE`.",
    args_conflicts_with_subcommands = true,
    disable_help_subcommand = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub print: PrintArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print TCP segments exactly as tcpdump 4.99 does (or as tcpdump 3.x with --classic).
    Print(PrintArgs),
    /// Follow every TCP connection attempt and judge its three-way handshake.
    Handshakes(HandshakeArgs),
    /// Explain each connection attempt packet by packet, in words.
    Explain(ExplainArgs),
    /// Draw one connection attempt as a ladder diagram (SVG or text).
    Ladder(LadderArgs),
    /// Judge every handshake and write one self-contained HTML page of charts.
    Report(ReportArgs),
}

impl Cli {
    /// The input arguments of whichever command was given.
    pub fn input(&self) -> &InputArgs {
        match &self.command {
            None => &self.print.input,
            Some(Command::Print(args)) => &args.input,
            Some(Command::Handshakes(args)) => &args.input,
            Some(Command::Explain(args)) => &args.print.input,
            Some(Command::Ladder(args)) => &args.input,
            Some(Command::Report(args)) => &args.input,
        }
    }
}

/// Where packets come from, and which of them to take.
#[derive(Args, Debug, Clone, Default)]
pub struct InputArgs {
    /// Read packets from a pcap or pcapng file (`-` for standard input).
    /// `handshakes` and `report` take several: `-r` again, or a quoted glob.
    #[arg(short = 'r', value_name = "FILE", action = ArgAction::Append)]
    pub read: Vec<String>,

    /// Capture live from this interface (`any` for all).
    #[arg(short = 'i', value_name = "IFACE")]
    pub interface: Option<String>,

    /// Stop after this many packets (that pass the filter and are shown).
    #[arg(short = 'c', value_name = "N")]
    pub count: Option<u64>,

    /// A tcpdump filter expression, compiled by libpcap (e.g. `tcp port 80 and host 10.0.0.1`).
    #[arg(
        value_name = "FILTER",
        trailing_var_arg = true,
        allow_hyphen_values = false
    )]
    pub filter: Vec<String>,

    /// List the interfaces synack can capture on (as tcpdump -D does), then exit.
    #[arg(short = 'D', long = "list-interfaces")]
    pub list_interfaces: bool,

    #[command(flatten)]
    pub live: LiveArgs,

    #[command(flatten)]
    pub save: SaveArgs,
}

/// How to capture from an interface (`-i`), with tcpdump's flags.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Live capture (-i)")]
pub struct LiveArgs {
    /// Bytes to capture of each packet (0 or none: 262144, as tcpdump).
    #[arg(short = 's', long = "snapshot-length", value_name = "SNAPLEN", default_value_t = 0,
          value_parser = value_parser!(u32).range(0..=262_144))]
    pub snaplen: u32,

    /// Kernel capture buffer size in KiB (default: libpcap's, 2 MiB on Linux).
    #[arg(short = 'B', long = "buffer-size", value_name = "KiB",
          value_parser = value_parser!(u32).range(1..=2_097_151))]
    pub buffer_kib: Option<u32>,

    /// Hand each packet over as it arrives rather than a kernel buffer block at
    /// a time (always on when printing to a terminal).
    #[arg(long = "immediate-mode")]
    pub immediate: bool,

    /// Don't put the interface into promiscuous mode.
    #[arg(short = 'p', long = "no-promiscuous-mode")]
    pub no_promiscuous: bool,

    /// Capture only packets received (in), sent (out), or both (inout).
    #[arg(short = 'Q', long = "direction", value_name = "in|out|inout")]
    pub direction: Option<Direction>,

    /// When run as root, become this user once the interface and -w file are
    /// open (default: nobody; `-Z root` stays root).
    #[arg(short = 'Z', long = "relinquish-privileges", value_name = "USER")]
    pub user: Option<String>,
}

/// Saving what was captured (`-w`).
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Saving packets (-w)")]
pub struct SaveArgs {
    /// Write the packets to a pcap file instead of printing them.
    #[arg(short = 'w', value_name = "FILE")]
    pub write: Option<String>,

    /// Write pcapng rather than pcap.
    #[arg(long, requires = "write")]
    pub pcapng: bool,

    /// With -w, also print the packets.
    #[arg(long, requires = "write")]
    pub print: bool,

    /// With -w, write each packet to the file as soon as it is captured.
    #[arg(short = 'U', long = "packet-buffered", requires = "write")]
    pub packet_buffered: bool,
}

/// How `print` renders packets.
#[derive(Args, Debug, Clone, Default)]
pub struct PrintArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Don't convert addresses and ports to names.
    #[arg(short = 'n')]
    pub numeric: bool,

    /// Print absolute, not relative, TCP sequence numbers.
    #[arg(short = 'S', long = "absolute-tcp-sequence-numbers")]
    pub absolute: bool,

    /// Time stamp format: -t none, -tt epoch, -ttt delta, -tttt date, -ttttt since first.
    #[arg(short = 't', action = ArgAction::Count)]
    pub time: u8,

    /// More detail: IP header fields and checksums (-v), sequence numbers always (-vv).
    #[arg(short = 'v', action = ArgAction::Count)]
    pub verbose: u8,

    /// Print the link-level header.
    #[arg(short = 'e')]
    pub link: bool,

    /// Quick output: less protocol information.
    #[arg(short = 'q')]
    pub quiet: bool,

    /// Also print a short line for packets that are not TCP.
    #[arg(long)]
    pub all: bool,

    /// Print in the tcpdump 3.x format that textbooks show.
    #[arg(long)]
    pub classic: bool,

    /// Only print the number of packets that would be shown.
    #[arg(long = "count")]
    pub count_only: bool,
}

/// Output formats of `handshakes`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HandshakeFormat {
    /// One line per attempt for people, then a summary.
    #[default]
    Table,
    /// One JSON object per attempt (the schema of handshakes.md §9).
    Jsonl,
    /// One row per attempt under a header row.
    Csv,
    /// A Zeek conn.log (tab-separated, with Zeek's header), plus synack's fields.
    Zeek,
    /// Apache Parquet, the schema of docs/exports.md (needs the `parquet` feature).
    Parquet,
}

/// How `handshakes` reads, judges and reports.
#[derive(Args, Debug, Clone)]
pub struct HandshakeArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t = HandshakeFormat::Table)]
    pub format: HandshakeFormat,

    /// Write to this file instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<String>,

    /// Print only the summary: attempts per verdict, handshake times, failing servers.
    #[arg(long)]
    pub summary: bool,

    #[command(flatten)]
    pub records: RecordArgs,
}

/// How attempts are judged and which are reported (`handshakes`, `report`).
#[derive(Args, Debug, Clone)]
pub struct RecordArgs {
    #[command(flatten)]
    pub select: SelectArgs,

    #[command(flatten)]
    pub tracker: TrackerArgs,

    /// No progress bar (it is shown only when stderr is a terminal).
    #[arg(long)]
    pub no_progress: bool,

    /// Track on a thread of its own while this one reads and decodes (2 or
    /// more); `handshakes` judges and formats records on whichever thread
    /// has time. The output is the same as with one thread.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: u16,
}

/// Which attempts to report.
#[derive(Args, Debug, Clone, Default)]
pub struct SelectArgs {
    /// Only attempts with these verdicts (comma-separated: established, refused,
    /// unanswered, half_open, aborted, simultaneous_open, invalid, midstream).
    #[arg(long, value_delimiter = ',', value_name = "VERDICTS", value_parser = crate::cli::parse_verdict)]
    pub verdict: Vec<crate::track::Verdict>,

    /// Only attempts whose verdict is not `established`.
    #[arg(long)]
    pub failed: bool,

    /// Only attempts whose handshake took at least MS milliseconds.
    #[arg(long, value_name = "MS")]
    pub slow: Option<f64>,
}

/// The tracker's timeouts and caps.
#[derive(Args, Debug, Clone)]
pub struct TrackerArgs {
    /// Judge an unfinished handshake after this many seconds without a packet.
    #[arg(long, value_name = "SECS", default_value_t = 60.0)]
    pub handshake_timeout: f64,

    /// Write an open connection after this many idle seconds.
    #[arg(long, value_name = "SECS", default_value_t = 300.0)]
    pub idle_timeout: f64,

    /// Keep a closed connection this many seconds for late segments and port reuse.
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub linger: f64,

    /// Most attempts held at once (per input file); beyond it the longest-idle
    /// one is evicted.
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    pub max_live: usize,
}

/// How `report` reads, judges and draws.
#[derive(Args, Debug, Clone)]
pub struct ReportArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// The HTML file to write.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: String,

    /// The page's title (default: the input file names).
    #[arg(long, value_name = "TEXT")]
    pub title: Option<String>,

    #[command(flatten)]
    pub records: RecordArgs,
}

/// How `explain` chooses, prints and explains attempts. The printing flags
/// are `print`'s (`-n`, `-S`, `-t`, `-v`, `-e`, `--classic`).
#[derive(Args, Debug, Clone)]
pub struct ExplainArgs {
    #[command(flatten)]
    pub print: PrintArgs,

    /// Only the attempt with this id (1, 2, ... as `synack handshakes` numbers them).
    #[arg(long, value_name = "N")]
    pub conn: Option<u64>,

    /// Draw each attempt as a ladder diagram instead of explaining each packet.
    #[arg(long)]
    pub ladder: bool,

    /// Draw the ladder with ASCII characters (the default follows the locale).
    #[arg(long)]
    pub ascii: bool,
}

/// How `ladder` draws one attempt.
#[derive(Args, Debug, Clone)]
pub struct LadderArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// The attempt's id (1, 2, ... as `synack handshakes` numbers them).
    #[arg(long, value_name = "N")]
    pub conn: u64,

    /// Write the ladder as SVG to this file (without it: text on standard output).
    #[arg(short = 'o', value_name = "FILE.svg")]
    pub output: Option<std::path::PathBuf>,

    /// Text with ASCII characters (the default follows the locale).
    #[arg(long)]
    pub ascii: bool,

    /// Absolute sequence numbers in the text (the SVG shows both).
    #[arg(short = 'S')]
    pub absolute: bool,
}

pub fn parse_verdict(s: &str) -> Result<crate::track::Verdict, String> {
    crate::track::Verdict::from_name(s).ok_or_else(|| {
        let names: Vec<&str> = crate::track::Verdict::ALL
            .iter()
            .map(|v| v.name())
            .collect();
        format!("unknown verdict `{s}` (one of: {})", names.join(", "))
    })
}
