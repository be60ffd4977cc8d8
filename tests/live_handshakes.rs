//! `synack handshakes -i`: one record per attempt, streamed as soon as its
//! verdict is final, each verdict the one the test caused (the JSON fields are
//! those of shared/docs/handshakes.md §9). Needs root.

mod common;

use std::io::{BufRead, BufReader};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::live::{statistics, Lab, Running};
use common::traffic::{connect_to_server, listen, syn_flood, CLOSED_PORT, DROPPED_PORT, OPEN_PORT};
use nix::sys::signal::Signal;
use serde_json::Value;

const HALF_OPEN_PORT: u16 = 7004;
/// Seconds without a packet after which an unfinished handshake is judged.
const HANDSHAKE_TIMEOUT: &str = "2";

/// Wait up to `limit` for the next record; records arrive while capturing.
fn next_record(records: &mpsc::Receiver<Value>, limit: Duration) -> Value {
    records
        .recv_timeout(limit)
        .unwrap_or_else(|_| panic!("no record within {limit:?} of the attempt"))
}

#[test]
fn streamed_verdicts_are_the_ones_the_test_caused() {
    let lab = Lab::new();
    let iface = lab.server_iface.as_str();
    let _server = listen(&lab, OPEN_PORT);
    let _half_open_server = listen(&lab, HALF_OPEN_PORT);
    lab.drop_syns_to(DROPPED_PORT);
    // The client's third ACKs to this port never leave it: the server's
    // SYN-ACK stays unanswered on the wire.
    lab.run(
        &lab.client,
        "nft",
        &[&format!(
            "table inet synackhalf {{ chain output {{ type filter hook output priority 0; \
             tcp dport {HALF_OPEN_PORT} tcp flags & (syn|ack) == ack drop; }}; }}"
        )],
    );
    let mut cmd = lab.synack(&lab.server);
    cmd.args(["handshakes", "-i", iface, "--format", "jsonl"]);
    cmd.args(["--handshake-timeout", HANDSHAKE_TIMEOUT, "tcp"]);
    let mut tracker = Running::start_with_pipe(cmd);
    tracker.wait_listening();
    let stdout = BufReader::new(tracker.take_stdout());
    let (tx, records) = mpsc::channel();
    thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            let record: Value = serde_json::from_str(&line).expect("a JSON line");
            let _ = tx.send(record);
        }
    });
    let verdict_of = |r: &Value| {
        (
            r["server_port"].as_u64(),
            r["verdict"].as_str().map(str::to_string),
        )
    };
    // Without immediate mode the kernel hands packets over within its 1 s
    // ring-block timeout: a final verdict is on the wire within that.
    let prompt = Duration::from_millis(2000);

    // Established at the third ACK, refused at the RST: streamed at once.
    for port in [OPEN_PORT, CLOSED_PORT] {
        let results = connect_to_server(&lab, &[(port, Duration::from_secs(2))]);
        let record = next_record(&records, prompt);
        let want = if port == OPEN_PORT {
            "established"
        } else {
            "refused"
        };
        assert_eq!(results[0], format!("{port} {want}"));
        assert_eq!(
            verdict_of(&record),
            (Some(port as u64), Some(want.to_string()))
        );
        assert_eq!(record["server"].as_str(), Some(lab.server_addr.as_str()));
    }
    // Unanswered once the timeout passes with no answer, while still capturing.
    let asked = Instant::now();
    connect_to_server(&lab, &[(DROPPED_PORT, Duration::from_secs_f64(1.5))]);
    let record = next_record(&records, Duration::from_secs(4));
    assert!(asked.elapsed() >= Duration::from_secs(2));
    assert_eq!(
        verdict_of(&record),
        (Some(DROPPED_PORT as u64), Some("unanswered".into()))
    );
    assert_eq!(record["syn_count"].as_u64(), Some(2));
    // A small SYN flood: hping3's kernel resets every SYN-ACK, so each attempt
    // is aborted.
    syn_flood(&lab, OPEN_PORT, 20, 5000);
    for _ in 0..20 {
        let record = next_record(&records, Duration::from_secs(2));
        assert_eq!(
            verdict_of(&record),
            (Some(OPEN_PORT as u64), Some("aborted".into()))
        );
    }
    // A SYN-ACK that is never acknowledged, still open at the interrupt: the
    // interrupt gives it its verdict as of now.
    connect_to_server(&lab, &[(HALF_OPEN_PORT, Duration::from_secs_f64(0.5))]);
    thread::sleep(Duration::from_millis(100));
    assert!(
        records.try_recv().is_err(),
        "a half-open attempt is not final yet"
    );
    tracker.signal(Signal::SIGINT);
    let record = next_record(&records, Duration::from_secs(3));
    assert_eq!(
        verdict_of(&record),
        (Some(HALF_OPEN_PORT as u64), Some("half_open".into()))
    );
    let (status, _, err) = tracker.finish(Duration::from_secs(10));
    assert!(status.success(), "{err}");
    assert_eq!(statistics(&err).2, 0);
}
