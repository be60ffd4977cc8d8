//! `synack-gen`: write a deterministic TCP capture for benchmarks and tests.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use synack_gen::{generate, parse_size, Config, Format, Kind, Mix};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum FormatArg {
    Pcap,
    Pcapng,
}

/// Write a deterministic capture of interleaved TCP connection attempts.
#[derive(Parser, Debug)]
#[command(name = "synack-gen", version)]
struct Args {
    /// Number of connection attempts (default 10000 unless --target-size is given).
    #[arg(long, value_name = "N")]
    connections: Option<u64>,

    /// Stop starting attempts once the file has this size (e.g. 10M, 1.5G, 4GiB).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    target_size: Option<u64>,

    /// Weights of each kind: established, refused, unanswered, half_open, nmap,
    /// hping3, flood (e.g. `established=70,refused=10,flood=20`).
    #[arg(long, value_name = "KIND=W,...", value_parser = Mix::parse)]
    mix: Option<Mix>,

    /// Fraction of attempts over IPv6.
    #[arg(long, value_name = "F", default_value_t = 0.2)]
    ipv6_share: f64,

    #[arg(long, value_enum, default_value = "pcap")]
    format: FormatArg,

    /// Seed of the random numbers: the same seed and flags give the same file.
    #[arg(long, default_value_t = 1)]
    seed: u64,

    /// Output file (`-` for standard output).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: String,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if !(0.0..=1.0).contains(&args.ipv6_share) {
        eprintln!("synack-gen: --ipv6-share must be between 0 and 1");
        return ExitCode::from(2);
    }
    let cfg = Config {
        connections: args
            .connections
            .or(args.target_size.is_none().then_some(10_000)),
        target_size: args.target_size,
        mix: args.mix.unwrap_or_default(),
        ipv6_share: args.ipv6_share,
        format: match args.format {
            FormatArg::Pcap => Format::Pcap,
            FormatArg::Pcapng => Format::Pcapng,
        },
        seed: args.seed,
    };
    let sink: Box<dyn Write> = if args.output == "-" {
        Box::new(io::stdout().lock())
    } else {
        match File::create(&args.output) {
            Ok(f) => Box::new(f),
            Err(e) => {
                eprintln!("synack-gen: {}: {e}", args.output);
                return ExitCode::FAILURE;
            }
        }
    };
    let out = BufWriter::with_capacity(1 << 20, sink);
    match generate(&cfg, out) {
        Ok(s) => {
            let kinds: Vec<String> = Kind::ALL
                .iter()
                .zip(s.attempts)
                .filter(|(_, n)| *n > 0)
                .map(|(k, n)| format!("{}={n}", k.name()))
                .collect();
            eprintln!(
                "synack-gen: {}: {} packets, {} bytes, attempts {}",
                args.output,
                s.packets,
                s.bytes,
                kinds.join(",")
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("synack-gen: {}: {e}", args.output);
            ExitCode::FAILURE
        }
    }
}
