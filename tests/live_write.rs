//! `synack -i ... -w FILE`: the files hold what tcpdump, capturing on the same
//! interface at the same time, saw; they read back the same with tcpdump and
//! synack; and a writer killed mid-capture leaves a file that reads cleanly up
//! to its last packet. Needs root.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::thread;
use std::time::Duration;

use common::live::{assert_same_packets, packet_lines, statistics, Lab, Line, Running, LIMIT};
use common::traffic::{connect_to_server, hping3, listen, CLOSED_PORT, OPEN_PORT};
use nix::sys::signal::Signal;

const FLOOD_PORT: u16 = 7009;

/// A scratch directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("synack-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
    fn path(&self, file: &str) -> String {
        self.0.join(file).to_string_lossy().into_owned()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// tcpdump saving the server's TCP packets to `path` (as root: it would give
/// root up before creating the file, in a directory only root may write).
fn tcpdump_writing(lab: &Lab, path: &str) -> Running {
    let iface = lab.server_iface.as_str();
    lab.capture("tcpdump", &["-Z", "root", "-i", iface, "-w", path, "tcp"])
}

/// Read a capture file back with `program -n -tt -r`; it must read cleanly.
fn read_back(program: &str, path: &str) -> Vec<Line> {
    let program = if program == "synack" {
        env!("CARGO_BIN_EXE_synack")
    } else {
        program
    };
    let out = Command::new(program)
        .args(["-n", "-tt", "-r", path])
        .env("TZ", "UTC")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{program} -r {path}: {err}");
    assert!(
        err.lines().all(|l| l.starts_with("reading from file")),
        "{program} -r {path} complained: {err}"
    );
    packet_lines(&String::from_utf8_lossy(&out.stdout))
}

fn stop(running: Running, signal: Signal) -> (String, String) {
    running.signal(signal);
    let (status, out, err) = running.finish(LIMIT);
    assert!(status.success(), "ended with {status}: {err}");
    (out, err)
}

#[test]
fn written_files_hold_what_tcpdump_saw_and_read_back_alike() {
    let lab = Lab::new();
    let iface = lab.server_iface.as_str();
    let scratch = Scratch::new("write");
    let (pcap, pcapng, theirs) = (
        scratch.path("synack.pcap"),
        scratch.path("synack.pcapng"),
        scratch.path("tcpdump.pcap"),
    );
    let _server = listen(&lab, OPEN_PORT);
    let printing = lab.capture(
        "synack",
        &["-n", "-tt", "-i", iface, "-w", &pcap, "--print", "tcp"],
    );
    let ng = lab.capture("synack", &["-i", iface, "--pcapng", "-w", &pcapng, "tcp"]);
    let tcpdump = tcpdump_writing(&lab, &theirs);
    connect_to_server(
        &lab,
        &[
            (OPEN_PORT, Duration::from_secs(2)),
            (CLOSED_PORT, Duration::from_secs(2)),
            (OPEN_PORT, Duration::from_secs(2)),
        ],
    );
    thread::sleep(Duration::from_millis(300));
    let (printed, err) = stop(printing, Signal::SIGTERM);
    let (_, ng_err) = stop(ng, Signal::SIGTERM);
    stop(tcpdump, Signal::SIGINT);

    let expected = read_back("tcpdump", &theirs);
    // The three attempts the test made.
    let syns = expected.iter().filter(|l| l.text.contains("Flags [S],"));
    assert_eq!(syns.count(), 3, "{expected:?}");
    for file in [&pcap, &pcapng] {
        let by_tcpdump = read_back("tcpdump", file);
        assert_same_packets(&expected, &by_tcpdump);
        // Same file, two readers: identical lines, time stamps included.
        assert_eq!(read_back("synack", file), by_tcpdump, "{file}");
    }
    assert_same_packets(&expected, &packet_lines(&printed));
    assert_eq!(statistics(&err).0, expected.len() as u64);
    assert_eq!(statistics(&ng_err).0, expected.len() as u64);
    let magic = std::fs::read(&pcapng).unwrap()[..4].to_vec();
    assert_eq!(magic, [0x0a, 0x0d, 0x0d, 0x0a], "pcapng section header");
}

#[test]
fn killed_writer_leaves_a_file_readable_up_to_its_last_packet() {
    let lab = Lab::new();
    let iface = lab.server_iface.as_str();
    let scratch = Scratch::new("killed");
    let (ours, theirs) = (scratch.path("synack.pcap"), scratch.path("tcpdump.pcap"));
    let _server = listen(&lab, OPEN_PORT);
    let writer = lab.capture("synack", &["-i", iface, "-w", &ours, "tcp"]);
    let tcpdump = tcpdump_writing(&lab, &theirs);
    // Connections, then a quiet moment: by then everything must be on disk,
    // with the writer still running.
    for _ in 0..3 {
        connect_to_server(&lab, &[(OPEN_PORT, Duration::from_secs(2))]);
    }
    thread::sleep(Duration::from_millis(1500));
    let quiet = read_back("tcpdump", &ours);
    // Then a flood, and the writer killed in the middle of it.
    let port = FLOOD_PORT.to_string();
    let hping = hping3(&lab, &["-S", "-p", &port, "-i", "u500", "-c", "10000"]);
    let flood = Running::start(hping);
    thread::sleep(Duration::from_millis(1500));
    writer.signal(Signal::SIGKILL);
    let (status, _, _) = writer.finish(LIMIT);
    assert_eq!(status.code(), None, "the writer was killed");
    drop(flood);
    thread::sleep(Duration::from_millis(300));
    let (_, tcpdump_err) = stop(tcpdump, Signal::SIGINT);
    assert_eq!(
        statistics(&tcpdump_err).2,
        0,
        "tcpdump, the oracle, dropped packets"
    );

    let saved = read_back("tcpdump", &ours);
    assert_eq!(read_back("synack", &ours), saved);
    let all = read_back("tcpdump", &theirs);
    let is_flood = |l: &Line| l.text.contains(&format!(".{FLOOD_PORT}"));
    let before: Vec<Line> = all.iter().filter(|l| !is_flood(l)).cloned().collect();
    assert_same_packets(&before, &quiet);
    assert!(saved.starts_with(&quiet), "the file grew by appending");
    let flood_saved = saved.iter().filter(|l| is_flood(l)).count();
    let flood_seen = all.iter().filter(|l| is_flood(l)).count();
    assert!(
        flood_saved > 0,
        "nothing of the flood was written before the kill"
    );
    assert!(
        flood_saved < flood_seen,
        "the writer saved the whole flood ({flood_saved}): it was not killed mid-capture"
    );
    // Every packet saved is one tcpdump saw.
    let mut seen: Vec<&str> = all.iter().map(|l| l.text.as_str()).collect();
    for line in &saved {
        let i = seen
            .iter()
            .position(|t| *t == line.text)
            .unwrap_or_else(|| panic!("saved a packet tcpdump did not see: {line:?}"));
        seen.swap_remove(i);
    }
}

#[test]
fn count_with_write_stops_after_n_packets_saved() {
    let lab = Lab::new();
    let iface = lab.server_iface.as_str();
    let scratch = Scratch::new("count");
    let file = scratch.path("five.pcap");
    let _server = listen(&lab, OPEN_PORT);
    let writer = lab.capture("synack", &["-c", "5", "-i", iface, "-w", &file]);
    connect_to_server(
        &lab,
        &[
            (OPEN_PORT, Duration::from_secs(2)),
            (OPEN_PORT, Duration::from_secs(2)),
        ],
    );
    let (status, out, err) = writer.finish(LIMIT);
    assert!(status.success(), "{err}");
    assert_eq!(out, "", "-w alone prints no packets");
    assert_eq!(read_back("tcpdump", &file).len(), 5);
    assert_eq!(statistics(&err).0, 5);
}
