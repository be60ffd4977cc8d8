//! `synack explain` and `synack ladder` from the command line. The seed
//! capture is the textbook telnet handshake (corpus README: client ISN
//! 4255483971, server ISN 4279842714, windows 65535 and 32120, MSS 1460,
//! port 23); every number the explanation must name follows from those by
//! RFC 9293's arithmetic, computed here.

mod common;

use std::collections::HashMap;

use common::{captures, corpus, handshakes_jsonl, run, synack, tcp_lines_alone};

const X: u64 = 4255483971;
const Y: u64 = 4279842714;

fn capture(name: &str) -> String {
    corpus()
        .join("captures")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

fn stdout(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "synack {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The explanation under each packet line (the line itself first), and the
/// closing paragraphs, with the wrapping undone.
fn packets_and_closing(text: &str) -> (Vec<String>, String) {
    let (packets, closing) = text.split_once("\nVerdict: ").expect("a verdict");
    let mut blocks: Vec<String> = Vec::new();
    for line in packets.lines().skip(1) {
        if !line.starts_with(' ') && !line.is_empty() {
            blocks.push(String::new());
        }
        if let Some(b) = blocks.last_mut() {
            b.push(' ');
            b.push_str(line.trim());
        }
    }
    let flat = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    (blocks.iter().map(|b| flat(b)).collect(), flat(closing))
}

fn has(block: &str, what: &str) {
    assert!(block.contains(what), "expected {what:?} in:\n{block}");
}

#[test]
fn seed_explanation_names_every_number_of_the_textbook_handshake() {
    let seed = capture("seed-telnet-handshake.pcap");
    for extra in [
        &[][..],
        &["-S"][..],
        &["--classic"][..],
        &["--classic", "-S", "-n"][..],
    ] {
        let mut args = vec!["explain", "-r", &seed];
        args.extend_from_slice(extra);
        let (p, closing) = packets_and_closing(&stdout(&args));
        assert_eq!(p.len(), 3, "{extra:?}: three packets");
        // The SYN: x, the window, the MSS, the service.
        has(&p[0], &X.to_string());
        has(&p[0], &format!("x+1 = {}", X + 1));
        has(&p[0], "65535");
        has(&p[0], "mss 1460");
        has(&p[0], "port 23 (telnet)");
        has(&p[0], "never scaled");
        // The SYN-ACK: y, and an ack of x+1.
        has(&p[1], &format!("y = {Y}"));
        has(&p[1], &format!("ack {} = x+1", X + 1));
        has(&p[1], "32120");
        has(&p[1], "mss 1460");
        // The third segment: ack y+1, and its own seq x+1.
        has(&p[2], &format!("ack {} = y+1", Y + 1));
        has(
            &p[2],
            &format!("Its own sequence number is x+1 = {}", X + 1),
        );
        has(&p[2], "65535");
        has(&closing, "established.");
    }
}

#[test]
fn seed_explanation_in_each_format_reads_its_own_notation() {
    let seed = capture("seed-telnet-handshake.pcap");
    let (p, _) = packets_and_closing(&stdout(&["explain", "-n", "--classic", "-r", &seed]));
    assert!(
        p[0].contains(&format!("S {X}:{X}(0) win 65535 <mss 1460> (DF)")),
        "{}",
        p[0]
    );
    has(
        &p[0],
        &format!("{X}:{X}(0) is tcpdump 3.x's first:last(nbytes)"),
    );
    has(&p[0], "the same number and nbytes is 0");
    has(&p[0], "(DF) is the IP header's Don't Fragment bit");
    // 3.x prints the third segment relative to the first numbers: ack 1.
    assert!(p[2].contains(". ack 1 win 65535 (DF)"), "{}", p[2]);
    has(&p[2], &format!("ack 1 is {}", Y + 1));
    has(&p[2], "the dot is not a flag");
    let (p, _) = packets_and_closing(&stdout(&["explain", "-n", "-r", &seed]));
    has(&p[1], "\".\" is ACK");
    has(&p[2], "Flags [.]: ACK alone is set.");
    has(&p[0], "tcpdump 4.x shows with -v");
}

#[test]
fn every_attempt_is_explained_in_handshakes_order() {
    let lab = capture("lab-client.pcap");
    let text = stdout(&["explain", "-n", "-q", "-r", &lab, "port 5001"]);
    let heads: Vec<&str> = text.lines().filter(|l| l.starts_with("Attempt ")).collect();
    let records = handshakes_jsonl(
        corpus().join("captures/lab-client.pcap").as_path(),
        &["port 5001"],
    );
    assert_eq!(heads.len(), records.len());
    for (head, r) in heads.iter().zip(&records) {
        let want = format!(
            "Attempt {}: 10.99.0.1 port {} → 10.99.0.2 port 5001,",
            r["id"], r["client_port"]
        );
        assert!(head.starts_with(&want), "{head} / {want}");
        assert!(head.ends_with(r["verdict"].as_str().unwrap()), "{head}");
    }
}

/// `args` with `-r -`, the capture on standard input: its output and status.
fn from_stdin(args: &[&str], path: &str) -> (String, String, Option<i32>) {
    let out = synack()
        .args(args)
        .args(["-r", "-"])
        .stdin(std::fs::File::open(path).unwrap())
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    (
        text,
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code(),
    )
}

#[test]
fn standard_input_is_explained_and_drawn_as_the_file_is() {
    for name in [
        "lab-client.pcap",
        "lab-server.pcap",
        "lab-extra.pcap",
        "lab-retrans.pcap",
        "lab-cookie-ts2.pcap",
        "lab-lost-segment.pcap",
        "lab-midstream.pcap",
    ] {
        let lab = capture(name);
        for args in [
            &["explain", "-n"][..],
            &["explain", "-n", "-v", "--classic", "--ladder", "--ascii"][..],
            &["explain", "-n", "--conn", "8"][..],
            &["ladder", "--ascii", "--conn", "2"][..],
        ] {
            let mut from_file = args.to_vec();
            from_file.extend(["-r", lab.as_str()]);
            let out = run(&from_file);
            let (text, err, code) = from_stdin(args, &lab);
            assert_eq!(code, out.status.code(), "{name} {args:?}: {err}");
            if out.status.success() {
                assert!(text.contains("client "), "{name} {args:?}: {text}");
            }
            let want = String::from_utf8(out.stdout).unwrap();
            if text != want {
                let (n, (got, want)) = text
                    .lines()
                    .chain(["(end)"])
                    .zip(want.lines().chain(["(end)"]))
                    .enumerate()
                    .find(|(_, (a, b))| a != b)
                    .expect("a differing line");
                panic!(
                    "{name} {args:?}: standard input and the file differ at line {}:\n  \
                     stdin: {got}\n  file:  {want}",
                    n + 1
                );
            }
        }
    }
}

#[test]
fn ladder_svg_goes_to_the_file_the_same_every_time() {
    let dir = std::env::temp_dir().join(format!("synack-ladder-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let lab = capture("lab-retrans.pcap");
    let mut svgs = Vec::new();
    for i in 0..2 {
        let path = dir.join(format!("r2-{i}.svg"));
        let out = run(&[
            "ladder",
            "-r",
            &lab,
            "--conn",
            "2",
            "-o",
            path.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stdout.is_empty());
        svgs.push(std::fs::read_to_string(&path).unwrap());
    }
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(svgs[0], svgs[1]);
    assert!(svgs[0].starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    // LAB.md R2: the capture shows SYN-ACKs the client never received.
    assert_eq!(svgs[0].matches(">lost after capture point<").count(), 3);
}

#[test]
fn ladder_text_follows_the_locale_unless_told() {
    let lab = capture("lab-client.pcap");
    let utf8 = synack()
        .env("LC_ALL", "C.UTF-8")
        .args(["ladder", "-r", &lab, "--conn", "1"])
        .output()
        .unwrap();
    let text = String::from_utf8(utf8.stdout).unwrap();
    assert!(text.contains('│') && text.contains('▶'), "{text}");
    let plain = synack()
        .env("LC_ALL", "C")
        .args(["ladder", "-r", &lab, "--conn", "1"])
        .output()
        .unwrap();
    assert!(plain.stdout.is_ascii() && !plain.stdout.is_empty());
    let forced = synack()
        .env("LC_ALL", "C.UTF-8")
        .args(["ladder", "--ascii", "-r", &lab, "--conn", "1"])
        .output()
        .unwrap();
    assert_eq!(forced.stdout, plain.stdout);
}

#[test]
fn inputs_it_cannot_explain_fail_with_a_message() {
    let seed = capture("seed-telnet-handshake.pcap");
    for (args, message) in [
        (
            vec!["explain", "-r", &seed, "--conn", "2"],
            "no attempt 2: the input holds 1",
        ),
        (vec!["ladder", "-r", &seed, "--conn", "0"], "no attempt 0"),
        (
            vec!["explain", "-r", &seed, "-r", &seed],
            "this command reads one file",
        ),
        (
            vec!["ladder", "-r", &seed, "-r", &seed, "--conn", "1"],
            "this command reads one file",
        ),
        (
            vec!["explain", "--count", "-r", &seed],
            "do not apply to explain",
        ),
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(message), "{args:?}: {err}");
    }
    let none = stdout(&["explain", "-q", "-r", &seed, "port 80"]);
    assert_eq!(none, "No TCP connection attempts in the input.\n");
}

#[test]
fn a_damaged_file_is_explained_as_far_as_it_reads() {
    let whole = std::fs::read(corpus().join("captures/lab-client.pcap")).unwrap();
    let path = std::env::temp_dir().join(format!("synack-cut-{}.pcap", std::process::id()));
    std::fs::write(&path, &whole[..3000]).unwrap();
    let out = run(&["explain", "-n", "-r", path.to_str().unwrap()]);
    std::fs::remove_file(&path).unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("Attempt 1: 10.99.0.1 port 40000"),
        "{text}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("truncated"));
}

#[test]
fn the_whole_corpus_is_explained_and_drawn_without_a_crash() {
    let dir = std::env::temp_dir().join(format!("synack-corpus-ladders-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let svg = dir.join("first.svg");
    let mut failures = Vec::new();
    for (stem, path) in common::captures() {
        let p = path.to_string_lossy().into_owned();
        for args in [
            vec!["explain", "-n", "-r", &p],
            vec![
                "explain",
                "-n",
                "-v",
                "--classic",
                "--ladder",
                "--ascii",
                "-r",
                &p,
            ],
            vec![
                "ladder",
                "-r",
                &p,
                "--conn",
                "1",
                "-o",
                svg.to_str().unwrap(),
            ],
        ] {
            let out = run(&args);
            let err = String::from_utf8_lossy(&out.stderr);
            // 0, or 1 with a message (a capture without TCP has no attempt 1).
            let ok = matches!(out.status.code(), Some(0 | 1)) && !err.contains("panicked");
            if !ok {
                failures.push(format!(
                    "{stem}: {}: {:?} {err}",
                    args[0],
                    out.status.code()
                ));
            }
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The two endpoints of a TCP line of tcpdump -n, in either order.
fn tuple(a: &str, b: &str) -> (String, String) {
    if a <= b {
        (a.to_string(), b.to_string())
    } else {
        (b.to_string(), a.to_string())
    }
}

/// A ladder marks a packet "bad checksum" exactly when tcpdump -v calls its
/// TCP checksum incorrect: every packet, not only the first each way that
/// the record's events keep. Compared for the attempts alone on their
/// 4-tuple in each corpus capture where tcpdump found a bad checksum.
#[test]
fn ladder_marks_each_packet_whose_checksum_tcpdump_calls_incorrect() {
    let line = regex::Regex::new(r"(\S+) > (\S+): Flags \[").unwrap();
    let (mut ladders, mut marked, mut clean) = (0, 0, 0);
    for (stem, path) in captures() {
        let out = corpus().join("expected").join(format!("{stem}.nStv.out"));
        let Ok(tcpdump) = std::fs::read_to_string(out) else {
            continue;
        };
        if !tcpdump.contains("(incorrect -> ") {
            continue;
        }
        let mut incorrect: HashMap<(String, String), Vec<bool>> = HashMap::new();
        for l in tcp_lines_alone(&tcpdump) {
            if let Some(c) = line.captures(&l) {
                let key = tuple(&c[1], &c[2]);
                incorrect
                    .entry(key)
                    .or_default()
                    .push(l.contains("(incorrect -> "));
            }
        }
        let records = handshakes_jsonl(&path, &[]);
        let key = |r: &serde_json::Value| {
            let end = |host: &str, port: &str| {
                format!(
                    "{}.{}",
                    r[host].as_str().unwrap(),
                    r[port].as_u64().unwrap()
                )
            };
            tuple(&end("client", "client_port"), &end("server", "server_port"))
        };
        let mut attempts: HashMap<(String, String), usize> = HashMap::new();
        for r in &records {
            *attempts.entry(key(r)).or_default() += 1;
        }
        let p = path.to_string_lossy();
        for r in records.iter().filter(|r| attempts[&key(r)] == 1).take(12) {
            let id = r["id"].to_string();
            let text = stdout(&["ladder", "--ascii", "-S", "-r", &p, "--conn", &id]);
            if text.contains("more packets not shown") {
                continue;
            }
            let rows: Vec<bool> = text
                .lines()
                .filter(|l| l.contains("->|") || l.contains("|<-"))
                .map(|l| l.contains("bad checksum"))
                .collect();
            let want = incorrect.get(&key(r)).cloned().unwrap_or_default();
            assert_eq!(rows, want, "{stem} attempt {id}:\n{text}");
            ladders += 1;
            marked += rows.iter().filter(|&&b| b).count();
            clean += rows.iter().filter(|&&b| !b).count();
        }
    }
    assert!(
        ladders >= 50 && marked >= 200 && clean >= 50,
        "{ladders} ladders, {marked} rows marked and {clean} not: too few to tell"
    );
}
