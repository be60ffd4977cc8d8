use std::process::ExitCode;

use clap::Parser;
use synack::app;
use synack::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        _ if cli.input().list_interfaces => app::list_interfaces(),
        None => app::run_print(&cli.print),
        Some(Command::Print(args)) => app::run_print(args),
        Some(Command::Handshakes(args)) => app::run_handshakes(args),
        Some(Command::Explain(args)) => synack::explain::run_explain(args),
        Some(Command::Ladder(args)) => synack::explain::run_ladder(args),
        Some(Command::Report(args)) => synack::report::html::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("synack: {}", f.message);
            ExitCode::from(f.code.clamp(1, 255) as u8)
        }
    }
}
