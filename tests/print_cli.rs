//! `synack print` as a command: flags, filters, inputs and failures, each
//! checked against tcpdump run on the same input in the same test.

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{compare, corpus, run, synack, tcp_lines, tcp_lines_alone};

fn capture(name: &str) -> PathBuf {
    corpus().join("captures").join(name)
}

/// tcpdump on the same input; the test needs it (CI installs it).
fn tcpdump(args: &[&str], tz: &str) -> (String, String, i32) {
    let out = Command::new("tcpdump")
        .args(args)
        .env("TZ", tz)
        .output()
        .expect("tcpdump must be installed for these tests (apt-get install tcpdump)");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

/// synack's stdout, stderr and exit code (-1 when killed), run with `env`.
fn synack_env(args: &[&str], env: &[(&str, &str)]) -> (String, String, i32) {
    let out = synack()
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

fn synack_tz(args: &[&str], tz: &str) -> (String, String, i32) {
    synack_env(args, &[("TZ", tz)])
}

/// Same TCP lines as tcpdump with these flags, on these captures, in this zone.
fn assert_same_as_tcpdump(flags: &[&str], files: &[&str], tz: &str) {
    for f in files {
        let path = capture(f);
        let p = path.to_str().unwrap();
        let mut args = flags.to_vec();
        args.extend(["-r", p]);
        let (expected, _, _) = tcpdump(&args, tz);
        let (actual, _, code) = synack_tz(&args, tz);
        assert_eq!(code, 0, "synack {args:?} failed");
        // Delta time stamps start every line with a space: compare the TCP
        // lines themselves (the line above may be one synack does not print).
        let delta = flags.iter().any(|f| *f == "-ttt" || *f == "-ttttt");
        let lines = if delta { tcp_lines_alone } else { tcp_lines };
        let (pass, fail, diffs) = compare(&lines(&expected), &lines(&actual));
        assert!(
            fail == 0 && pass > 0,
            "{f} with {flags:?} TZ={tz}: {pass} same, {fail} different\n{}",
            diffs.join("\n")
        );
    }
}

const SAMPLES: &[&str] = &[
    "lab-client.pcap",
    "seed-telnet-handshake.pcap",
    "mptcp-v1.pcap",
    "bgp-4byte-asn.pcap",
    "wireshark-http2_follow_multistream.pcapng",
    "tcp-handshake-nano.pcap",
];

#[test]
fn every_time_stamp_format_matches_tcpdump_in_local_time() {
    for tz in ["UTC", "America/New_York", "Asia/Kolkata"] {
        for t in [&[][..], &["-tt"], &["-ttt"], &["-tttt"], &["-ttttt"]] {
            let mut flags = vec!["-n"];
            flags.extend_from_slice(t);
            assert_same_as_tcpdump(&flags, SAMPLES, tz);
        }
    }
}

#[test]
fn names_without_n_match_tcpdump() {
    // Ports from the services database; host lookups as tcpdump does them.
    assert_same_as_tcpdump(&["-S", "-t"], SAMPLES, "UTC");
    assert_same_as_tcpdump(&["-t", "-e"], SAMPLES, "UTC");
}

#[test]
fn quiet_and_very_verbose_match_tcpdump() {
    // -q prints `tcp N` instead of the flags; compare the whole lines.
    for f in SAMPLES {
        let p = capture(f);
        let args = ["-q", "-n", "-t", "-r", p.to_str().unwrap()];
        let (expected, _, _) = tcpdump(&args, "UTC");
        let (actual, _, _) = synack_tz(&args, "UTC");
        let exp: Vec<&str> = expected.lines().filter(|l| l.contains(": tcp ")).collect();
        let act: Vec<&str> = actual.lines().collect();
        assert!(!exp.is_empty());
        assert_eq!(exp, act, "{f} with -q");
    }
    assert_same_as_tcpdump(&["-n", "-vv", "-S"], SAMPLES, "UTC");
}

#[test]
fn filter_expressions_select_what_tcpdump_selects() {
    for filter in [
        "tcp port 5000 and host 10.99.0.2",
        "tcp[tcpflags] & tcp-syn != 0",
        "dst port 5002 or src port 40031",
        "not tcp",
    ] {
        for f in [
            "lab-client.pcap",
            "lab-extra.pcap",
            "seed-telnet-handshake.pcap",
        ] {
            let path = capture(f);
            let args = ["-n", "-S", "-t", "-r", path.to_str().unwrap(), filter];
            let (expected, _, _) = tcpdump(&args, "UTC");
            let (actual, _, code) = synack_tz(&args, "UTC");
            assert_eq!(code, 0);
            let (_, fail, diffs) = compare(&tcp_lines(&expected), &tcp_lines(&actual));
            assert_eq!(fail, 0, "{f} '{filter}':\n{}", diffs.join("\n"));
        }
    }
}

#[test]
fn count_flag_counts_what_would_be_printed() {
    let path = capture("lab-client.pcap");
    let p = path.to_str().unwrap();
    let (tcpdump_out, _, _) = tcpdump(&["--count", "-r", p, "tcp"], "UTC");
    let (ours, _, code) = synack_tz(&["--count", "-r", p], "UTC");
    assert_eq!(code, 0);
    assert_eq!(ours.trim(), tcpdump_out.trim());
    assert!(ours.trim().ends_with(" packets"));
    // -c stops after N printed segments.
    let (five, _, _) = synack_tz(&["-n", "-c", "5", "-r", p], "UTC");
    let (all, _, _) = synack_tz(&["-n", "-r", p], "UTC");
    assert_eq!(five.lines().count(), 5);
    assert_eq!(
        five.lines().collect::<Vec<_>>(),
        all.lines().take(5).collect::<Vec<_>>()
    );
}

#[test]
fn print_is_the_default_command_and_an_explicit_one() {
    let path = capture("seed-telnet-handshake.pcap");
    let p = path.to_str().unwrap();
    let a = run(&["-n", "-S", "-t", "-r", p]);
    let b = run(&["print", "-n", "-S", "-t", "-r", p]);
    assert!(a.status.success() && b.status.success());
    assert_eq!(a.stdout, b.stdout);
    let expected =
        std::fs::read_to_string(corpus().join("expected/seed-telnet-handshake.nSt.out")).unwrap();
    assert_eq!(String::from_utf8_lossy(&a.stdout), expected);
}

#[test]
fn standard_input_is_read_with_dash() {
    let path = capture("lab-client.pcap");
    let mut child = synack()
        .args(["-n", "-S", "-t", "-r", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&bytes));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success());
    let from_file = run(&["-n", "-S", "-t", "-r", path.to_str().unwrap()]);
    assert_eq!(out.stdout, from_file.stdout);
}

#[test]
fn a_bad_filter_gets_libpcaps_message_and_exit_code_1() {
    let path = capture("seed-telnet-handshake.pcap");
    let p = path.to_str().unwrap();
    for filter in [
        "tcp port",
        "tcp port 23 and hostx 1",
        "ether proto \\nosuch",
    ] {
        let (_, terr, tcode) = tcpdump(&["-n", "-r", p, filter], "UTC");
        let (out, err, code) = synack_tz(&["-n", "-r", p, filter], "UTC");
        assert_eq!((code, tcode), (1, 1), "'{filter}'");
        assert!(out.is_empty());
        let tmsg = terr.lines().last().unwrap().trim_start_matches("tcpdump: ");
        let msg = err.lines().last().unwrap();
        assert_eq!(msg, format!("synack: {tmsg}"), "'{filter}'");
    }
}

/// Reading a capture file does not need libpcap. With `SYNACK_LIBPCAP` naming
/// a library that does not exist, a capture still prints exactly as tcpdump
/// prints it. What needs libpcap (a filter, `-D`, an interface) fails with exit
/// code 1 and one line that names the library. Nor is libpcap among the
/// libraries the program needs at start (readelf, from the binutils that link
/// it).
#[test]
fn a_capture_file_reads_without_libpcap() {
    let path = capture("seed-telnet-handshake.pcap");
    let p = path.to_str().unwrap();
    let missing = "/nonexistent/libpcap.so.1";
    let unloadable =
        |args: &[&str]| synack_env(args, &[("SYNACK_LIBPCAP", missing), ("TZ", "UTC")]);

    let (out, _, code) = unloadable(&["-n", "-S", "-t", "-r", p]);
    let (expected, _, _) = tcpdump(&["-n", "-S", "-t", "-r", p], "UTC");
    assert_eq!(code, 0);
    assert_eq!(tcp_lines(&out).len(), 3);
    assert_eq!(tcp_lines(&out), tcp_lines(&expected));
    let (out, _, code) = unloadable(&["handshakes", "-r", p, "--format", "jsonl"]);
    assert_eq!(code, 0);
    assert!(out.contains(r#""verdict":"established""#), "{out}");

    for args in [
        &["-n", "-r", p, "tcp"][..],
        &["handshakes", "-r", p, "port 23"],
        &["-D"],
        &["-i", "lo", "-c", "1"],
    ] {
        let (out, err, code) = unloadable(args);
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?}: {out}");
        let last = err.lines().last().unwrap_or_default();
        assert!(
            last.starts_with("synack: ")
                && last.contains(&format!("cannot load libpcap: {missing}: "))
                && err.lines().filter(|l| l.contains("libpcap")).count() == 1,
            "{args:?}: {err}"
        );
    }

    let elf = Command::new("readelf")
        .args(["-d", env!("CARGO_BIN_EXE_synack")])
        .output()
        .expect("readelf (binutils) must be installed");
    let needed: Vec<String> = String::from_utf8_lossy(&elf.stdout)
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .map(str::to_string)
        .collect();
    assert!(needed.iter().any(|l| l.contains("libc.so")), "{needed:?}");
    assert!(!needed.iter().any(|l| l.contains("libpcap")), "{needed:?}");
}

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("synack-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A pcap of the seed handshake's three packets repeated `times` times.
fn repeated_seed(path: &Path, times: usize) {
    let seed = std::fs::read(capture("seed-telnet-handshake.pcap")).unwrap();
    let mut out = seed[..24].to_vec();
    for _ in 0..times {
        out.extend_from_slice(&seed[24..]);
    }
    std::fs::write(path, out).unwrap();
}

/// Run synack with `args` on a capture that gives far more output than a pipe
/// holds, read 64 bytes and close the pipe: the writer meets the closed end,
/// and must end at once, with success and no complaint.
fn assert_quiet_after_reader_stops(tag: &str, args: &[&str]) {
    let dir = temp_dir(tag);
    let path = dir.join("big.pcap");
    repeated_seed(&path, 20_000);
    let mut child = synack()
        .args(["-r", path.to_str().unwrap()])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 64];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{args:?}: status {:?}", out.status);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.lines().all(|l| l.starts_with("reading from file")),
        "{args:?}: no complaint on stderr: {err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_closed_pipe_ends_the_program_quietly() {
    assert_quiet_after_reader_stops("pipe", &["-n"]);
}

/// `-w -` writes the capture to standard output, as tcpdump does: the same
/// bytes `-w FILE` writes, which tcpdump reads back as it reads the original,
/// and no file named `-`. Nothing else may go there: `--print`'s lines, or a
/// table, end the run with one line and exit code 1 (tcpdump would mix them
/// into the capture); a table sent to `-o FILE` is the one `handshakes`
/// prints. A reader that stops early ends the run quietly.
#[test]
fn dash_w_writes_the_capture_to_standard_output() {
    let dir = temp_dir("write-stdout");
    let original = capture("lab-client.pcap");
    let orig = original.to_str().unwrap();
    let file = dir.join("saved.pcap");
    let out = synack()
        .args(["-r", orig, "-w", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success());
    let out = synack()
        .args(["-r", orig, "-w", "-"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(out.stdout, std::fs::read(&file).unwrap());
    assert!(!dir.join("-").exists());

    let mut reader = Command::new("tcpdump")
        .args(["-n", "-S", "-t", "-r", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("tcpdump must be installed for these tests (apt-get install tcpdump)");
    reader.stdin.take().unwrap().write_all(&out.stdout).unwrap();
    let read_back = reader.wait_with_output().unwrap();
    let (expected, _, _) = tcpdump(&["-n", "-S", "-t", "-r", orig], "UTC");
    let read_back = String::from_utf8_lossy(&read_back.stdout);
    assert!(read_back.lines().count() > 100);
    assert_eq!(read_back, expected);

    for args in [
        &["-r", orig, "-w", "-", "--print"][..],
        &["handshakes", "-r", orig, "-w", "-"],
    ] {
        let out = synack().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        let complaints: Vec<&str> = err
            .lines()
            .filter(|l| !l.starts_with("reading from file"))
            .collect();
        assert_eq!(
            complaints,
            [
                "synack: standard output carries the capture written with -w -: \
              send this output to a file (-o FILE) or leave out --print"
            ],
            "{args:?}"
        );
    }
    let table = dir.join("table.txt");
    let t = table.to_str().unwrap();
    let out = synack()
        .args(["handshakes", "-r", orig, "-w", "-", "--print", "-o", t])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(out.stdout, std::fs::read(&file).unwrap());
    let alone = run(&["handshakes", "-r", orig]);
    assert_eq!(std::fs::read(&table).unwrap(), alone.stdout);
    std::fs::remove_dir_all(&dir).unwrap();

    assert_quiet_after_reader_stops("write-stdout-pipe", &["-w", "-"]);
}
