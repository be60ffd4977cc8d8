//! `synack explain -i`: a live capture is read once; each attempt is explained
//! as soon as its verdict is final, from the packets and ports the test
//! caused; an interrupt explains the attempts still open as of then, and
//! tcpdump's statistics follow. Needs root.

mod common;

use std::thread;
use std::time::{Duration, Instant};

use common::live::{statistics, Lab, Running, LIMIT};
use common::traffic::{connect_from_ports, listen, CLOSED_PORT, DROPPED_PORT, OPEN_PORT};
use nix::sys::signal::Signal;

/// The client's source ports, one per attempt.
const ESTABLISHED_FROM: u16 = 41001;
const REFUSED_FROM: u16 = 41002;
const UNANSWERED_FROM: u16 = 41003;

/// The explanation of each attempt: the text from one `Attempt N:` heading
/// to the next.
fn explanations(text: &str) -> Vec<String> {
    let mut blocks: Vec<String> = Vec::new();
    for line in text.lines() {
        if line.starts_with("Attempt ") {
            blocks.push(String::new());
        }
        if let Some(b) = blocks.last_mut() {
            b.push_str(line);
            b.push('\n');
        }
    }
    blocks
}

/// Text without the line breaks of the wrapping.
fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn has(block: &str, what: &str) {
    assert!(flat(block).contains(what), "expected {what:?} in:\n{block}");
}

#[test]
fn live_attempts_are_explained_when_final_and_the_open_one_at_the_interrupt() {
    let lab = Lab::new();
    let iface = lab.server_iface.as_str();
    let _server = listen(&lab, OPEN_PORT);
    lab.drop_syns_to(DROPPED_PORT);
    // Into a pipe, as a user would run it: no immediate mode.
    let mut cmd = lab.synack(&lab.server);
    cmd.args(["explain", "-n", "-i", iface, "-B", "32768", "tcp"]);
    let synack = Running::start(cmd);
    synack.wait_listening();
    let results = connect_from_ports(
        &lab,
        &[
            (ESTABLISHED_FROM, OPEN_PORT, Duration::from_secs(2)),
            (REFUSED_FROM, CLOSED_PORT, Duration::from_secs(2)),
        ],
    );
    assert_eq!(
        results,
        [
            format!("{OPEN_PORT} established"),
            format!("{CLOSED_PORT} refused")
        ]
    );
    // Both verdicts are final at once: their explanations come out while
    // the capture goes on (the kernel hands packets over within its 1 s
    // ring-block timeout).
    let deadline = Instant::now() + Duration::from_secs(5);
    while explanations(&synack.stdout_now()).len() < 2 {
        assert!(
            Instant::now() < deadline,
            "two explanations within 5 s; so far:\n{}\nstderr:\n{}",
            synack.stdout_now(),
            synack.stderr_now()
        );
        thread::sleep(Duration::from_millis(50));
    }
    // Unanswered SYNs: not final before the handshake timeout (60 s).
    let results = connect_from_ports(
        &lab,
        &[(UNANSWERED_FROM, DROPPED_PORT, Duration::from_secs_f64(1.5))],
    );
    assert_eq!(results, [format!("{DROPPED_PORT} unanswered")]);
    thread::sleep(Duration::from_millis(300));
    assert_eq!(explanations(&synack.stdout_now()).len(), 2);
    synack.signal(Signal::SIGINT);
    let (status, out, err) = synack.finish(LIMIT);
    assert!(status.success(), "synack ended with {status}:\n{err}");

    let (client, server) = (&lab.client_addr, &lab.server_addr);
    let blocks = explanations(&out);
    assert_eq!(blocks.len(), 3, "{out}");
    let established = &blocks[0];
    has(
        established,
        &format!(
            "Attempt 1: {client} port {ESTABLISHED_FROM} → {server} port {OPEN_PORT}, \
             IPv4, 3 packets: established"
        ),
    );
    has(
        established,
        &format!("IP {client}.{ESTABLISHED_FROM} > {server}.{OPEN_PORT}: Flags [S]"),
    );
    has(
        established,
        &format!("IP {server}.{OPEN_PORT} > {client}.{ESTABLISHED_FROM}: Flags [S.]"),
    );
    has(
        established,
        "Step 3: the client acknowledges the server's SYN, and the handshake is complete.",
    );
    has(established, "Verdict: established.");

    let refused = &blocks[1];
    has(
        refused,
        &format!(
            "Attempt 2: {client} port {REFUSED_FROM} → {server} port {CLOSED_PORT}, \
             IPv4, 2 packets: refused"
        ),
    );
    has(
        refused,
        &format!("IP {server}.{CLOSED_PORT} > {client}.{REFUSED_FROM}: Flags [R.], seq 0"),
    );
    has(refused, "Verdict: refused.");
    has(
        refused,
        "The server answered the SYN with a reset that acknowledges it",
    );
    has(
        refused,
        &format!("Nothing was listening on port {CLOSED_PORT} of {server}"),
    );

    let unanswered = &blocks[2];
    has(
        unanswered,
        &format!(
            "Attempt 3: {client} port {UNANSWERED_FROM} → {server} port {DROPPED_PORT}, \
             IPv4, 2 packets: unanswered"
        ),
    );
    has(unanswered, "Verdict: unanswered.");

    assert!(err.contains(&format!("listening on {iface}")), "{err}");
    let (captured, received, _) = statistics(&err);
    assert!(captured >= 2 + 3 + 2 && received >= captured, "{err}");
}
