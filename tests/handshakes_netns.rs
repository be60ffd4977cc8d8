//! `synack handshakes` on traffic these tests make themselves, between their
//! own network namespaces, captured with tcpdump. Each test asserts the
//! verdicts against what it did (a closed port, dropped SYNs, suppressed RSTs,
//! a clamping router...), never against earlier synack output. Needs root.

mod common;
mod netns;

use std::path::Path;
use std::process::Stdio;

use netns::{sleep_ms, tcpdump_count, Lab};
use serde_json::Value;

/// A TCP server in python3: `ports` comma-separated, then flags
/// (`backlog=N`, `tfo`, `noaccept`). It answers each request with `ok` and
/// closes first.
const SERVER: &str = r#"
import socket, sys, threading, time
ports = [int(p) for p in sys.argv[1].split(',')]
flags = sys.argv[2].split(',') if len(sys.argv) > 2 else []
backlog = 128
for f in flags:
    if f.startswith('backlog='):
        backlog = int(f.split('=')[1])
def serve(s):
    while True:
        c, _ = s.accept()
        try:
            c.settimeout(3)
            c.recv(1000)
            c.sendall(b'ok')
        except Exception:
            pass
        c.close()
for p in ports:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if 'tfo' in flags:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_FASTOPEN, 16)
    s.bind(('0.0.0.0', p))
    s.listen(backlog)
    if 'noaccept' not in flags:
        threading.Thread(target=serve, args=(s,), daemon=True).start()
    else:
        globals().setdefault('keep', []).append(s)
print('ready', flush=True)
time.sleep(3600)
"#;

/// A client in python3: connect from `sport` to `addr:port`, send a line,
/// read to the end. Exit status 0 on success, 1 when the connect failed.
const CLIENT: &str = r#"
import socket, sys
addr, port, sport, timeout = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('0.0.0.0', sport))
s.settimeout(timeout)
try:
    s.connect((addr, port))
except Exception as e:
    print('connect failed:', e)
    sys.exit(1)
s.sendall(b'hello\n')
while s.recv(100):
    pass
s.close()
"#;

fn records(path: &Path) -> Vec<Value> {
    common::handshakes_jsonl(path, &[])
}

fn by_ports(recs: &[Value], sport: u64, dport: u64) -> Vec<&Value> {
    recs.iter()
        .filter(|r| r["client_port"] == sport && r["server_port"] == dport)
        .collect()
}

fn only(recs: &[Value], sport: u64, dport: u64) -> &Value {
    let v = by_ports(recs, sport, dport);
    assert_eq!(v.len(), 1, "{sport} → {dport}: {recs:#?}");
    v[0]
}

fn verdict(r: &Value) -> &str {
    r["verdict"].as_str().unwrap()
}

fn has_heuristic(r: &Value, name: &str) -> bool {
    r["heuristics"]
        .as_array()
        .unwrap()
        .iter()
        .any(|h| h["name"] == name)
}

fn has_event(r: &Value, kind: &str) -> bool {
    r["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["kind"] == kind)
}

fn client(lab: &Lab, port: u16, sport: u16, timeout: f64) -> bool {
    lab.client
        .try_run(
            "python3",
            &[
                "-c",
                CLIENT,
                &lab.server_addr,
                &port.to_string(),
                &sport.to_string(),
                &timeout.to_string(),
            ],
        )
        .status
        .success()
}

fn server(lab: &mut Lab, ports: &str, flags: &str) {
    let server = &lab.server;
    let procs = &mut lab.procs;
    server.python(SERVER, &[ports, flags], procs);
}

#[test]
fn closed_port_is_refused_and_dropped_syns_are_unanswered_with_retries() {
    let mut lab = Lab::pair();
    lab.server.nft("table inet t {\n chain input_c {\n type filter hook input priority 0;\n tcp dport 5002 drop\n }\n}\n");
    let cap = lab.capture(false, "refused.pcap");
    assert!(!client(&lab, 5001, 41001, 2.0), "nothing listens on 5001");
    assert!(!client(&lab, 5002, 41002, 3.5), "SYNs to 5002 are dropped");
    let pcap = cap.stop();
    let recs = records(&pcap);
    let refused = only(&recs, 41001, 5001);
    assert_eq!(verdict(refused), "refused");
    let unanswered = only(&recs, 41002, 5002);
    assert_eq!(verdict(unanswered), "unanswered");
    let syns = tcpdump_count(&pcap, "tcp[13] == 2 and dst port 5002");
    assert!(syns >= 3, "the kernel retried its SYN ({syns})");
    assert_eq!(
        unanswered["syn_count"], syns as u64,
        "every SYN counted, one attempt"
    );
}

#[test]
fn suppressed_client_rst_leaves_hping3_half_open_with_synack_retransmissions() {
    let mut lab = Lab::pair();
    server(&mut lab, "5000", "");
    // The client kernel would reset the SYN-ACK to hping3's raw SYN.
    lab.client.nft("table inet t {\n chain output_c {\n type filter hook output priority 0;\n tcp flags rst drop\n }\n}\n");
    let cap = lab.capture(false, "half-open.pcap");
    lab.client.run(
        "hping3",
        &[
            "-q",
            "-S",
            "-c",
            "1",
            "-k",
            "-s",
            "42000",
            "-p",
            "5000",
            &lab.server_addr.clone(),
        ],
    );
    sleep_ms(3500);
    let pcap = cap.stop();
    let recs = records(&pcap);
    let r = only(&recs, 42000, 5000);
    assert_eq!(verdict(r), "half_open");
    let synacks = tcpdump_count(&pcap, "tcp[13] == 18");
    assert!(
        synacks >= 2,
        "the server retransmitted its SYN-ACK ({synacks})"
    );
    assert_eq!(r["synack_count"], synacks as u64);
    assert!(has_heuristic(r, "scanner_hping3"));
}

#[test]
fn synacks_dropped_after_the_capture_point_are_retransmitted_then_established() {
    let mut lab = Lab::pair();
    server(&mut lab, "5000", "");
    lab.client.nft(
        "table inet t {\n chain input_c {\n type filter hook input priority 0;\n tcp flags & (syn | ack) == syn | ack drop\n }\n}\n",
    );
    let cap = lab.capture(false, "synack-retrans.pcap");
    let mut c = lab
        .client
        .cmd("python3")
        .args(["-c", CLIENT, &lab.server_addr, "5000", "43100", "8"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    sleep_ms(1500);
    lab.client.nft_flush();
    assert!(
        c.wait().unwrap().success(),
        "connected once the SYN-ACKs got through"
    );
    let pcap = cap.stop();
    let recs = records(&pcap);
    let r = only(&recs, 43100, 5000);
    assert_eq!(verdict(r), "established");
    let syns = tcpdump_count(&pcap, "tcp[13] == 2");
    let synacks = tcpdump_count(&pcap, "tcp[13] == 18");
    assert!(syns >= 2 && synacks >= 2, "{syns} SYNs, {synacks} SYN-ACKs");
    assert_eq!(r["syn_count"], syns as u64);
    assert_eq!(r["synack_count"], synacks as u64);
    assert!(has_event(r, "synack_not_received"), "{r:#}");
}

#[test]
fn reusing_a_source_port_makes_two_attempts() {
    let mut lab = Lab::pair();
    server(&mut lab, "5000", "");
    let cap = lab.capture(false, "reuse.pcap");
    assert!(client(&lab, 5000, 43000, 3.0));
    sleep_ms(300);
    assert!(client(&lab, 5000, 43000, 3.0));
    let pcap = cap.stop();
    let recs = records(&pcap);
    let v = by_ports(&recs, 43000, 5000);
    assert_eq!(v.len(), 2, "two connections from one port");
    assert!(v.iter().all(|r| verdict(r) == "established"));
    assert_ne!(v[0]["client_isn"], v[1]["client_isn"]);
    assert!(has_event(v[1], "port_reuse"));
    assert!(
        v.iter()
            .all(|r| r["close"] == "fin" && r["closed_by"] == "server"),
        "the server closes first"
    );
}

#[test]
fn crossing_syns_are_one_simultaneous_open() {
    let lab = Lab::pair();
    let drop_syns = "table inet t {\n chain input_c {\n type filter hook input priority 0;\n tcp flags & (syn | ack) == syn drop\n }\n}\n";
    lab.client.nft(drop_syns);
    lab.server.nft(drop_syns);
    let mut cap_lab = lab;
    let cap = cap_lab.capture(false, "simopen.pcap");
    let lab = cap_lab;
    let connect = |ns: &netns::Ns, peer: &str, sport: &str, dport: &str| {
        ns.cmd("python3")
            .args(["-c", CLIENT, peer, dport, sport, "6"])
            .stdout(Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut a = connect(&lab.client, &lab.server_addr, "6000", "6001");
    let mut b = connect(&lab.server, &lab.client_addr, "6001", "6000");
    sleep_ms(500);
    lab.client.nft_flush();
    lab.server.nft_flush();
    let _ = a.wait();
    let _ = b.wait();
    let pcap = cap.stop();
    let recs = records(&pcap);
    let pair: Vec<_> = recs
        .iter()
        .filter(|r| {
            let (c, s) = (r["client_port"].as_u64(), r["server_port"].as_u64());
            (c, s) == (Some(6000), Some(6001)) || (c, s) == (Some(6001), Some(6000))
        })
        .collect();
    assert_eq!(pair.len(), 1, "one connection: {recs:#?}");
    assert_eq!(verdict(pair[0]), "simultaneous_open");
    assert_eq!(
        pair[0]["client"], lab.client_addr,
        "the lower address is the client"
    );
    assert_eq!(pair[0]["client_port"], 6000);
}

#[test]
fn tcp_fast_open_cookie_then_data_in_the_syn() {
    let mut lab = Lab::pair();
    lab.client.sysctl("net.ipv4.tcp_fastopen", "3");
    lab.server.sysctl("net.ipv4.tcp_fastopen", "3");
    server(&mut lab, "5003", "tfo");
    let cap = lab.capture(false, "tfo.pcap");
    let tfo_client = r#"
import socket, sys, time
addr = sys.argv[1]
for sport, data in ((44001, b'first-contact'), (44002, b'0123456789abcdef')):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('0.0.0.0', sport))
    s.sendto(data, socket.MSG_FASTOPEN, (addr, 5003))
    s.recv(10)
    s.close()
    time.sleep(0.3)
"#;
    lab.client
        .run("python3", &["-c", tfo_client, &lab.server_addr.clone()]);
    let pcap = cap.stop();
    let recs = records(&pcap);
    let first = only(&recs, 44001, 5003);
    assert_eq!(verdict(first), "established");
    assert_eq!(first["tfo"]["cookie_requested"], true);
    assert!(first["tfo"]["cookie"].is_string(), "{first:#}");
    let second = only(&recs, 44002, 5003);
    assert_eq!(verdict(second), "established");
    assert_eq!(
        second["tfo"]["syn_data_bytes"], 16,
        "the 16 bytes the client sent"
    );
    assert_eq!(second["tfo"]["syn_data_accepted"], true);
}

#[test]
fn ecn_negotiated_then_only_requested_when_the_server_declines() {
    let mut lab = Lab::pair();
    lab.client.sysctl("net.ipv4.tcp_ecn", "1");
    lab.server.sysctl("net.ipv4.tcp_ecn", "2");
    server(&mut lab, "5000", "");
    let cap = lab.capture(false, "ecn.pcap");
    assert!(client(&lab, 5000, 45001, 3.0));
    lab.server.sysctl("net.ipv4.tcp_ecn", "0");
    assert!(client(&lab, 5000, 45002, 3.0));
    let pcap = cap.stop();
    let recs = records(&pcap);
    assert_eq!(only(&recs, 45001, 5000)["ecn"], "negotiated");
    assert_eq!(only(&recs, 45002, 5000)["ecn"], "requested");
}

#[test]
fn a_clamping_router_shows_as_different_mss_on_each_side() {
    let mut lab = Lab::routed();
    lab.router.as_ref().unwrap().nft(
        "table inet mangle {\n chain forward_c {\n type filter hook forward priority mangle;\n tcp flags syn tcp option maxseg size set 1200\n }\n}\n",
    );
    server(&mut lab, "5000", "");
    let at_client = lab.capture(false, "mss-client.pcap");
    let at_server = lab.capture(true, "mss-server.pcap");
    assert!(client(&lab, 5000, 45100, 3.0));
    let (pc, ps) = (at_client.stop(), at_server.stop());
    let (rc, rs) = (records(&pc), records(&ps));
    let (c, s) = (only(&rc, 45100, 5000), only(&rs, 45100, 5000));
    assert_eq!(verdict(c), "established");
    assert_eq!(verdict(s), "established");
    assert_eq!(c["options"]["client"]["mss"], 1460, "as the client sent it");
    assert_eq!(s["options"]["client"]["mss"], 1200, "as the router left it");
    assert_eq!(c["options"]["server"]["mss"], 1200);
    assert_eq!(s["options"]["server"]["mss"], 1460);
    assert_eq!(c["options"]["agreed"]["mss"], 1200);
    assert_eq!(s["options"]["agreed"]["mss"], 1200);
    assert_eq!(c["capture_point"], "client", "{}", c["rtt_note"]);
    assert_eq!(s["capture_point"], "server", "{}", s["rtt_note"]);
}

#[test]
fn nmap_and_hping3_scans() {
    let mut lab = Lab::pair();
    server(&mut lab, "5000", "");
    lab.server.nft("table inet t {\n chain input_c {\n type filter hook input priority 0;\n tcp dport 5002 drop\n }\n}\n");
    let cap = lab.capture(false, "scan.pcap");
    let addr = lab.server_addr.clone();
    let nmap = lab.client.run(
        "nmap",
        &[
            "-sS",
            "-n",
            "-Pn",
            "-g",
            "47000",
            "-p",
            "5000-5002",
            "--max-retries",
            "1",
            &addr,
        ],
    );
    let report = String::from_utf8_lossy(&nmap.stdout).to_string();
    lab.client.run(
        "hping3",
        &["-q", "-S", "-c", "2", "-s", "46000", "-p", "5000", &addr],
    );
    sleep_ms(500);
    let pcap = cap.stop();
    let recs = records(&pcap);
    // What nmap itself concluded, and what synack must say about it.
    for (port, state, expected) in [
        (5000, "open", "aborted"),
        (5001, "closed", "refused"),
        (5002, "filtered", "unanswered"),
    ] {
        assert!(
            report.contains(&format!("{port}/tcp {state}")),
            "nmap: {report}"
        );
        let v = by_ports(&recs, 47000, port);
        assert!(!v.is_empty(), "nmap probed {port}");
        for r in &v {
            assert_eq!(verdict(r), expected, "port {port}");
            assert!(has_heuristic(r, "scanner_nmap"), "{r:#}");
        }
    }
    for sport in [46000, 46001] {
        let r = only(&recs, sport, 5000);
        assert_eq!(verdict(r), "aborted", "hping3 with no socket behind it");
        assert!(has_heuristic(r, "scanner_hping3"));
    }
}

/// Wait until just after a 10-second boundary of the clock. The detectors
/// count failed attempts in windows of 10 s aligned to the epoch
/// (`DetectorConfig::window_secs`): a flood that straddled a boundary would be
/// split between two windows, one of them below the threshold of 100, and its
/// SYNs there not called a flood (one run of this test failed so). The flood
/// takes 0.4 s; starting 0.2 to 4 s into a window leaves it 6 s to end in it.
fn start_of_a_window() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970");
    let into = (now.as_millis() % 10_000) as u64;
    if into < 200 {
        sleep_ms(200 - into);
    } else if into > 4_000 {
        sleep_ms(10_200 - into);
    }
}

fn syn_flood(cookies: bool) -> (Vec<Value>, std::path::PathBuf, Lab) {
    let mut lab = Lab::pair();
    lab.server
        .sysctl("net.ipv4.tcp_syncookies", if cookies { "2" } else { "0" });
    server(&mut lab, "5000", "backlog=4,noaccept");
    lab.client.nft("table inet t {\n chain output_c {\n type filter hook output priority 0;\n tcp flags rst drop\n }\n}\n");
    let cap = lab.capture(false, "flood.pcap");
    let addr = lab.server_addr.clone();
    start_of_a_window();
    lab.client.run(
        "hping3",
        &[
            "-q", "-S", "-c", "200", "-i", "u2000", "-s", "50000", "-p", "5000", &addr,
        ],
    );
    sleep_ms(2500);
    let pcap = cap.stop();
    let recs = records(&pcap);
    let kept = pcap.clone();
    (recs, kept, lab)
}

#[test]
fn syn_flood_without_cookies_overflows_the_queue() {
    let (recs, pcap, _lab) = syn_flood(false);
    let flood: Vec<_> = recs.iter().filter(|r| r["server_port"] == 5000).collect();
    assert_eq!(
        flood.len(),
        tcpdump_count(&pcap, "tcp[13] == 2"),
        "one attempt per SYN"
    );
    let unanswered = flood.iter().filter(|r| verdict(r) == "unanswered").count();
    let half_open: Vec<_> = flood.iter().filter(|r| verdict(r) == "half_open").collect();
    assert!(unanswered > 0, "a full queue drops SYNs without cookies");
    assert!(!half_open.is_empty(), "the queued ones got SYN-ACKs");
    assert!(
        half_open
            .iter()
            .any(|r| r["synack_count"].as_u64().unwrap() >= 2),
        "a server that keeps state retransmits its SYN-ACK"
    );
    assert!(flood
        .iter()
        .all(|r| has_heuristic(r, "syn_flood") || verdict(r) == "established"));
}

#[test]
fn syn_flood_with_cookies_answers_every_syn_once() {
    let (recs, pcap, _lab) = syn_flood(true);
    let flood: Vec<_> = recs.iter().filter(|r| r["server_port"] == 5000).collect();
    assert_eq!(
        flood.len(),
        tcpdump_count(&pcap, "tcp[13] == 2"),
        "one attempt per SYN"
    );
    for r in &flood {
        assert_eq!(verdict(r), "half_open", "cookies answer every SYN: {r:#}");
        assert_eq!(r["synack_count"], 1, "a stateless server never retransmits");
        assert!(has_heuristic(r, "syn_flood"));
    }
}
