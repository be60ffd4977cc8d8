//! `synack handshakes` against the lab captures, whose truth is written in
//! `../shared/corpus/LAB.md` (how each connection was made, not what any
//! analyser said). One test per LAB.md row or group of rows.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};

use common::{corpus, handshakes_jsonl};
use serde_json::Value;

static CHECKED: AtomicUsize = AtomicUsize::new(0);

/// Assert and count (the count is printed by `lab_assertion_count`).
macro_rules! check {
    ($cond:expr, $($msg:tt)+) => {{
        CHECKED.fetch_add(1, Ordering::Relaxed);
        assert!($cond, $($msg)+);
    }};
}

macro_rules! check_eq {
    ($a:expr, $b:expr, $($msg:tt)+) => {{
        CHECKED.fetch_add(1, Ordering::Relaxed);
        assert_eq!($a, $b, $($msg)+);
    }};
}

fn records(file: &str) -> Vec<Value> {
    handshakes_jsonl(&corpus().join("captures").join(file), &[])
}

/// The records of one client port → server port.
fn conn(recs: &[Value], client_port: u64, server_port: u64) -> Vec<&Value> {
    recs.iter()
        .filter(|r| r["client_port"] == client_port && r["server_port"] == server_port)
        .collect()
}

fn one(recs: &[Value], client_port: u64, server_port: u64) -> &Value {
    let v = conn(recs, client_port, server_port);
    check_eq!(
        v.len(),
        1,
        "{client_port} → {server_port}: one attempt, got {v:#?}"
    );
    v[0]
}

fn verdict(r: &Value) -> &str {
    r["verdict"].as_str().unwrap()
}

fn events<'a>(r: &'a Value, kind: &str) -> Vec<&'a Value> {
    r["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind)
        .collect()
}

fn check<'a>(r: &'a Value, step: &str, name: &str) -> Vec<&'a Value> {
    r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["step"] == step && c["check"] == name)
        .collect()
}

fn heuristic<'a>(r: &'a Value, name: &str) -> Option<&'a Value> {
    r["heuristics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == name)
}

fn isn(r: &Value) -> u64 {
    r["client_isn"].as_u64().unwrap()
}

fn times(r: &Value, field: &str) -> Vec<f64> {
    r[field]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_f64().unwrap())
        .collect()
}

fn client_and_server_captures() -> [Vec<Value>; 2] {
    [records("lab-client.pcap"), records("lab-server.pcap")]
}

#[test]
fn s1_and_s1b_established_and_closed_with_fin_by_the_right_side() {
    for recs in client_and_server_captures() {
        let s1 = one(&recs, 40000, 5100);
        check_eq!(verdict(s1), "established", "S1");
        check_eq!(s1["close"], "fin", "S1 close");
        check_eq!(s1["closed_by"], "client", "S1 closes first");
        check_eq!(s1["bytes_client_to_server"], 5, "S1 sent 5 bytes");
        let s1b = one(&recs, 40001, 5000);
        check_eq!(verdict(s1b), "established", "S1b");
        check_eq!(s1b["close"], "fin", "S1b close");
        check_eq!(s1b["closed_by"], "server", "S1b: server closes first");
    }
}

#[test]
fn s2_and_s11_refused_by_a_rst_that_acks_the_syn() {
    for recs in client_and_server_captures() {
        for (cp, sp, row) in [(40002, 5001, "S2"), (41100, 5001, "S11")] {
            let r = one(&recs, cp, sp);
            check_eq!(verdict(r), "refused", "{row}");
            let c = check(r, "rst", "ack");
            check_eq!(c.len(), 1, "{row}: one RST check");
            check_eq!(c[0]["actual"], isn(r) + 1, "{row}: the RST acks x+1");
            check!(c[0]["ok"] == true, "{row}");
            check_eq!(r["close"], "reset", "{row}");
            check_eq!(r["closed_by"], "server", "{row}");
        }
    }
}

#[test]
fn s3_unanswered_after_four_syns_a_second_apart_with_one_isn() {
    for recs in client_and_server_captures() {
        let r = one(&recs, 40003, 5002);
        check_eq!(verdict(r), "unanswered", "S3");
        check_eq!(r["syn_count"], 4, "S3: 4 SYNs");
        check_eq!(
            events(r, "syn_retransmission").len(),
            3,
            "S3: 3 retransmissions of the same ISN"
        );
        let t = times(r, "syn_times");
        check_eq!(t.len(), 4, "S3: four SYN times");
        for w in t.windows(2) {
            check!(
                (0.9..1.2).contains(&(w[1] - w[0])),
                "S3: about 1 s apart: {t:?}"
            );
        }
    }
}

#[test]
fn s4_ecn_negotiated_and_e2_accecn_fallback_is_off() {
    for recs in client_and_server_captures() {
        let r = one(&recs, 40004, 5000);
        check_eq!(verdict(r), "established", "S4");
        check_eq!(r["ecn"], "negotiated", "S4: [SEW] then [S.E]");
    }
    let extra = records("lab-extra.pcap");
    let e2 = one(&extra, 40041, 5000);
    check_eq!(verdict(e2), "established", "E2");
    check_eq!(e2["ecn"], "off", "E2: the kernel fell back, no ECN");
}

#[test]
fn s5_tfo_cookie_requested_granted_then_data_in_the_third_packet() {
    for recs in client_and_server_captures() {
        let r = one(&recs, 40005, 5003);
        check_eq!(verdict(r), "established", "S5");
        let tfo = &r["tfo"];
        check!(tfo["cookie_requested"] == true, "S5: cookie requested");
        check!(tfo["cookie"].is_string(), "S5: cookie granted: {tfo}");
        check_eq!(tfo["syn_data_bytes"], 0, "S5: no SYN data on first contact");
        check!(
            r["ack_payload_bytes"].as_u64().unwrap() > 0,
            "S5: the third packet carries data"
        );
    }
}

#[test]
fn s5b_tfo_syn_data_accepted() {
    for recs in client_and_server_captures() {
        let r = one(&recs, 40006, 5003);
        check_eq!(verdict(r), "established", "S5b");
        check_eq!(r["tfo"]["syn_data_bytes"], 16, "S5b: 16 bytes in the SYN");
        check!(r["tfo"]["syn_data_accepted"] == true, "S5b: accepted");
        let c = check(r, "synack", "ack");
        check_eq!(c[0]["actual"], isn(r) + 17, "S5b: SYN-ACK acks x+17");
    }
}

#[test]
fn s6_s7_and_timestamp_cookies_are_established_and_seen_by_heuristics() {
    for recs in client_and_server_captures() {
        let s6 = one(&recs, 40007, 5000);
        check_eq!(verdict(s6), "established", "S6");
        check!(
            heuristic(s6, "syn_cookie").is_some(),
            "S6: cookie seen in the TSval jump"
        );
        let s7 = one(&recs, 40008, 5000);
        check_eq!(verdict(s7), "established", "S7");
        let server = &s7["options"]["server"];
        check_eq!(server["mss"], 1460, "S7: SYN-ACK MSS");
        check!(
            server["wscale"].is_null()
                && server["sack_ok"] == false
                && server["timestamps"] == false,
            "S7: only MSS in the SYN-ACK: {server}"
        );
        check!(
            heuristic(s7, "syn_cookie").is_some(),
            "S7: options stripped"
        );
    }
    let ts2 = records("lab-cookie-ts2.pcap");
    check_eq!(ts2.len(), 2, "two cookie handshakes");
    for r in &ts2 {
        check_eq!(verdict(r), "established", "cookie handshake");
        let h = heuristic(r, "syn_cookie").expect("cookie heuristic");
        check!(
            h["evidence"].as_str().unwrap().contains("TSval"),
            "evidence names the TSval: {h}"
        );
    }
}

#[test]
fn s8_port_reuse_makes_two_attempts_with_a_higher_second_isn() {
    for recs in client_and_server_captures() {
        let v = conn(&recs, 40009, 5000);
        check_eq!(v.len(), 2, "S8: two attempts");
        check!(
            v.iter().all(|r| verdict(r) == "established"),
            "S8: both established"
        );
        check!(isn(v[1]) > isn(v[0]), "S8: second ISN higher");
        check_eq!(
            events(v[1], "port_reuse").len(),
            1,
            "S8: second one marked as port reuse"
        );
    }
}

#[test]
fn s9_one_simultaneous_open_with_the_lower_endpoint_as_client() {
    for recs in client_and_server_captures() {
        let both: Vec<_> = recs
            .iter()
            .filter(|r| {
                (r["client_port"] == 6000 && r["server_port"] == 6001)
                    || (r["client_port"] == 6001 && r["server_port"] == 6000)
            })
            .collect();
        check_eq!(both.len(), 1, "S9: one connection");
        check_eq!(verdict(both[0]), "simultaneous_open", "S9");
        check_eq!(
            both[0]["client"],
            "10.99.0.1",
            "S9: lower address is the client"
        );
        check_eq!(both[0]["client_port"], 6000, "S9");
    }
}

#[test]
fn s10_s12_s13_scans_aborted_refused_unanswered_half_open() {
    for recs in client_and_server_captures() {
        for port in [41000, 41001] {
            let r = one(&recs, port, 5000);
            check_eq!(verdict(r), "aborted", "S10 {port}");
            check_eq!(r["closed_by"], "client", "S10: the client kernel's RST");
            let h = heuristic(r, "scanner_hping3").expect("S10: hping3 signature");
            check!(
                h["evidence"].as_str().unwrap().contains("window 512"),
                "S10: {h}"
            );
            check!(
                check(r, "syn", "ack_field")[0]["ok"] == false,
                "S10: non-zero ack field"
            );
        }
        check_eq!(verdict(one(&recs, 42321, 5000)), "aborted", "S12 open port");
        check_eq!(
            verdict(one(&recs, 42321, 5001)),
            "refused",
            "S12 closed port"
        );
        let first = one(&recs, 42321, 5002);
        let retry = one(&recs, 42323, 5002);
        check_eq!(verdict(first), "unanswered", "S12 filtered");
        check_eq!(verdict(retry), "unanswered", "S12 filtered retry");
        check!(isn(first) != isn(retry), "S12: the retry uses a new ISN");
        check_eq!(
            isn(one(&recs, 42321, 5000)),
            isn(first),
            "S12: one ISN across the scan"
        );
        let s13 = one(&recs, 42000, 5000);
        check_eq!(verdict(s13), "half_open", "S13");
        check_eq!(s13["synack_count"], 3, "S13: SYN-ACK sent three times");
        let t = times(s13, "synack_times");
        check!((0.9..1.2).contains(&(t[1] - t[0])), "S13: +1 s: {t:?}");
        check!((2.9..3.2).contains(&(t[2] - t[0])), "S13: +3 s: {t:?}");
    }
}

#[test]
fn s14_injected_syn_is_a_challenge_ack_event_not_a_new_connection() {
    for recs in client_and_server_captures() {
        let r = one(&recs, 40010, 5000);
        check_eq!(verdict(r), "established", "S14");
        let ev = events(r, "challenge_ack");
        check_eq!(ev.len(), 1, "S14: one challenge ACK event");
        check!(
            ev[0]["detail"].as_str().unwrap().contains("12345"),
            "S14: names the injected seq"
        );
        check_eq!(
            r["close"],
            "fin",
            "S14: the connection went on to close normally"
        );
    }
}

#[test]
fn e1_mptcp_capable_in_all_three_handshake_segments() {
    let recs = records("lab-extra.pcap");
    let r = one(&recs, 40040, 5200);
    check_eq!(verdict(r), "established", "E1");
    check_eq!(r["options"]["client"]["mptcp"], "mp_capable", "E1 SYN");
    check_eq!(r["options"]["server"]["mptcp"], "mp_capable", "E1 SYN-ACK");
    check_eq!(r["ack_mptcp"], "mp_capable", "E1 third ACK");
}

#[test]
fn e3_forged_synack_is_invalid_recovered_by_rst_and_the_attempt_stays_unanswered() {
    let recs = records("lab-extra.pcap");
    let r = one(&recs, 40030, 5002);
    check_eq!(verdict(r), "unanswered", "E3");
    let c = check(r, "synack", "ack");
    check_eq!(c.len(), 1, "E3: one SYN-ACK check");
    check!(c[0]["ok"] == false, "E3: ack ≠ x+1");
    check_eq!(c[0]["actual"], 12345, "E3: the forged ack");
    check_eq!(c[0]["expected"], isn(r) + 1, "E3: expected x+1");
    check_eq!(
        events(r, "invalid_synack").len(),
        1,
        "E3: invalid SYN-ACK event"
    );
    let rst = events(r, "recovery_rst");
    check_eq!(rst.len(), 1, "E3: the client's RST seq 12345");
    check!(rst[0]["detail"].as_str().unwrap().contains("12345"), "E3");
    check!(
        r["syn_count"].as_u64().unwrap() > 1,
        "E3: the client retried its SYN"
    );
}

#[test]
fn e4_first_two_rsts_ignored_third_accepted() {
    let recs = records("lab-extra.pcap");
    let r = one(&recs, 40031, 5002);
    check_eq!(verdict(r), "refused", "E4");
    check_eq!(r["ignored_rsts"], 2, "E4: two ignored RSTs");
    let ev = events(r, "ignored_rst");
    check_eq!(ev.len(), 2, "E4: reported");
    check!(
        ev[0]["detail"]
            .as_str()
            .unwrap()
            .contains(&(isn(r) + 1000).to_string()),
        "E4: RST+ACK with ack x+1000 first"
    );
    check!(
        ev[1]["detail"].as_str().unwrap().contains("no ACK"),
        "E4: then the bare RST"
    );
    let accepted: Vec<_> = check(r, "rst", "ack")
        .into_iter()
        .filter(|c| c["ok"] == true)
        .collect();
    check_eq!(accepted.len(), 1, "E4: one accepted RST");
    check_eq!(accepted[0]["actual"], isn(r) + 1, "E4: it acks x+1");
}

#[test]
fn r1_r2_established_after_retransmissions() {
    let recs = records("lab-retrans.pcap");
    let r1 = one(&recs, 40050, 5000);
    check_eq!(verdict(r1), "established", "R1");
    check_eq!(r1["syn_count"], 3, "R1: 3 SYNs");
    check!(
        r1["rtt_us"]["syn_to_synack"].is_number(),
        "R1: timestamps name the SYN the SYN-ACK answers"
    );
    let r2 = one(&recs, 40051, 5000);
    check_eq!(verdict(r2), "established", "R2");
    check_eq!(r2["syn_count"], 3, "R2: 3 SYNs");
    check_eq!(r2["synack_count"], 4, "R2: 4 SYN-ACKs");
    check_eq!(
        events(r2, "synack_not_received").len(),
        1,
        "R2: the client never got the first SYN-ACK"
    );
}

#[test]
fn lost_segment_is_a_content_gap_and_midstream_is_tracked() {
    let lost = records("lab-lost-segment.pcap");
    check_eq!(lost.len(), 1, "one connection");
    check_eq!(verdict(&lost[0]), "established", "lost segment");
    let gap = events(&lost[0], "content_gap");
    check_eq!(gap.len(), 1, "the removed data segment is a gap");
    check!(
        gap[0]["detail"].as_str().unwrap().contains("client"),
        "in the client's stream"
    );
    check!(
        lost[0]["zeek"]["history"].as_str().unwrap().contains('G'),
        "Zeek's G"
    );
    let mid = records("lab-midstream.pcap");
    check_eq!(mid.len(), 1, "one connection");
    check_eq!(
        verdict(&mid[0]),
        "midstream",
        "S1b without its first four packets"
    );
    check_eq!(
        mid[0]["client_port"],
        40001,
        "the ephemeral port is the client"
    );
    check_eq!(mid[0]["close"], "fin", "still tracked to its close");
    check_eq!(mid[0]["closed_by"], "server", "S1b: server first");
}

#[test]
fn client_and_server_captures_agree_on_every_verdict() {
    let [c, s] = client_and_server_captures();
    let key = |r: &Value| {
        (
            r["client_port"].as_u64().unwrap(),
            r["server_port"].as_u64().unwrap(),
            verdict(r).to_string(),
        )
    };
    let mut a: Vec<_> = c.iter().map(key).collect();
    let mut b: Vec<_> = s.iter().map(key).collect();
    a.sort();
    b.sort();
    check_eq!(a, b, "same connections, same verdicts");
    check_eq!(a.len(), 21, "S1–S14 are 21 attempts");
}

/// Runs last alphabetically; prints how many assertions the lab tests made in
/// this process (tests run in parallel, so it waits for the others).
#[test]
fn zz_lab_assertion_count() {
    std::thread::sleep(std::time::Duration::from_secs(3));
    println!("lab assertions so far: {}", CHECKED.load(Ordering::Relaxed));
}

/// The Zeek view, by the rules handshakes.md §7 quotes from Zeek's code: S1
/// needs no third ACK, SF no handshake, REJ is a responder RST to SYN-SENT.
#[test]
fn zeek_conn_state_follows_zeeks_rules_on_the_lab_rows() {
    let recs = records("lab-client.pcap");
    for (cp, sp, state, row) in [
        (40000, 5100, "SF", "S1: FIN both ways"),
        (40002, 5001, "REJ", "S2: RST to the SYN"),
        (40003, 5002, "S0", "S3: SYN, no reply"),
        (
            41000,
            5000,
            "RSTO",
            "S10: the originator's RST after the SYN-ACK",
        ),
        (
            42000,
            5000,
            "S1",
            "S13: SYN and SYN-ACK, no third ACK, not closed",
        ),
    ] {
        check_eq!(one(&recs, cp, sp)["zeek"]["conn_state"], state, "{row}");
    }
    check_eq!(
        one(&recs, 40003, 5002)["zeek"]["history"],
        "S",
        "S3: retransmitted SYNs add no letter"
    );
    check_eq!(one(&recs, 40000, 5100)["zeek"]["history"], "ShADaFf", "S1");
    let mid = records("lab-midstream.pcap");
    check_eq!(mid[0]["zeek"]["conn_state"], "SF", "SF needs no handshake");
    check!(
        mid[0]["zeek"]["history"].as_str().unwrap().starts_with('^'),
        "flipped: the first packet came from the server"
    );
}
