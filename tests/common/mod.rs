//! Shared helpers for the integration tests: the corpus, running the binary,
//! and the rule by which TCP lines are compared with tcpdump's.
#![allow(dead_code)]

pub mod live;
pub mod netns;
pub mod packets;
pub mod pcapng;
pub mod traffic;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use regex::Regex;
use synack_gen::{generate, Config, Format, Mix};

/// `../shared/corpus`, next to the repository.
pub fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus")
}

/// Every capture of the corpus, sorted, with its stem.
pub fn captures() -> Vec<(String, PathBuf)> {
    let mut v: Vec<_> = std::fs::read_dir(corpus().join("captures"))
        .expect("corpus captures directory")
        .map(|e| e.unwrap().path())
        .map(|p| {
            let stem = p.file_stem().unwrap().to_string_lossy().into_owned();
            (stem, p)
        })
        .collect();
    v.sort();
    v
}

pub fn synack() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_synack"));
    c.env("TZ", "UTC");
    c
}

pub fn run(args: &[&str]) -> Output {
    synack().args(args).output().expect("run synack")
}

fn tcp_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| Regex::new(r"\S > \S+: Flags \[").unwrap())
}

fn cut_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| Regex::new(r"^(.*?\blength \d+)").unwrap())
}

fn classic_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| {
        Regex::new(
            r"^(\S+ )?(802\.1Q vlan#\d+ P\d )?\S+\.\w+ > \S+\.\w+: ([SFRPWE]+ |\. |\[\|tcp\])",
        )
        .unwrap()
    })
}

/// The TCP lines of tcpdump-style output, cut as the conformance rule says: up
/// to and including the first `length N` after the flags (what follows is
/// application decoding), with the IP line above an indented `-v` TCP line.
pub fn tcp_lines(text: &str) -> Vec<String> {
    tcp_lines_with(text, true)
}

/// The TCP lines alone, without the line above an indented one (for time
/// formats whose lines all start with a space).
pub fn tcp_lines_alone(text: &str) -> Vec<String> {
    tcp_lines_with(text, false)
}

fn tcp_lines_with(text: &str, join_indented: bool) -> Vec<String> {
    let lines: Vec<&str> = text.split('\n').collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let t = tcp_re().find(line);
        if t.is_none() && !line.contains("[|tcp]") {
            continue;
        }
        let mut key = match t {
            Some(m) => match cut_re().captures(&line[m.end()..]) {
                Some(c) => format!("{}{}", &line[..m.end()], &c[1]),
                None => line.to_string(),
            },
            None => line.to_string(),
        };
        if join_indented && line.starts_with(' ') && i > 0 {
            key = format!("{}\n{}", lines[i - 1], key);
        }
        out.push(key);
    }
    out
}

/// The TCP lines of classic (3.x) output: whole lines.
pub fn classic_lines(text: &str) -> Vec<String> {
    text.split('\n')
        .filter(|l| classic_re().is_match(l))
        .map(str::to_string)
        .collect()
}

/// Lines matched in order: (passed, failed, first differences).
pub fn compare(expected: &[String], actual: &[String]) -> (usize, usize, Vec<String>) {
    let passed = expected.iter().zip(actual).filter(|(a, b)| a == b).count();
    let failed = expected.len().max(actual.len()) - passed;
    let diffs = expected
        .iter()
        .zip(actual)
        .enumerate()
        .filter(|(_, (a, b))| a != b)
        .take(3)
        .map(|(n, (a, b))| format!("line {}:\n  tcpdump: {a}\n  synack:  {b}", n + 1))
        .collect();
    (passed, failed, diffs)
}

/// `synack handshakes --format jsonl` on a capture, with more arguments, as
/// parsed JSON records.
pub fn handshakes_jsonl(path: &Path, extra: &[&str]) -> Vec<serde_json::Value> {
    let mut args = vec![
        "handshakes",
        "-r",
        path.to_str().unwrap(),
        "--format",
        "jsonl",
    ];
    args.extend_from_slice(extra);
    let out = run(&args);
    assert!(
        out.status.success(),
        "synack {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// Write a `synack-gen` capture of `connections` attempts in the verdict
/// `mix`, 30% of them over IPv6.
pub fn generated_capture(path: &Path, connections: u64, mix: &str, format: Format, seed: u64) {
    let cfg = Config {
        connections: Some(connections),
        mix: Mix::parse(mix).unwrap(),
        ipv6_share: 0.3,
        format,
        seed,
        ..Config::default()
    };
    let file = std::fs::File::create(path).expect("create capture");
    generate(&cfg, std::io::BufWriter::new(file)).expect("write capture");
}
