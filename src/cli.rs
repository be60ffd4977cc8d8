//! The command line: tcpdump's short flags with tcpdump's meanings, in one place.

use clap::{ArgAction, Args, Parser, Subcommand};

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
}

/// Where packets come from, and which of them to take.
#[derive(Args, Debug, Clone, Default)]
pub struct InputArgs {
    /// Read packets from a pcap or pcapng file (`-` for standard input).
    #[arg(short = 'r', value_name = "FILE")]
    pub read: Option<String>,

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
