//! `synack explain` and `synack explain --ladder` on every connection of
//! `../shared/corpus/LAB.md`, as reviewed snapshots. Each case names what was
//! checked in its snapshots against LAB.md (what the connection really was)
//! and RFC 9293, and asserts the LAB.md facts the text must state, so that a
//! changed snapshot cannot silently drop them.

mod common;

use common::{corpus, handshakes_jsonl, synack};

struct Case {
    /// Snapshot name (the LAB.md id).
    name: &'static str,
    file: &'static str,
    client_port: u64,
    server_port: u64,
    /// Which attempt on these ports (S8 has two).
    nth: usize,
    /// What the review of the two snapshots checked.
    checked: &'static str,
    /// Phrases the explanation must contain (LAB.md facts).
    says: &'static [&'static str],
    /// Notes the ladder must show, with their counts.
    ladder: &'static [(&'static str, usize)],
}

const CASES: &[Case] = &[
    Case {
        name: "s1",
        file: "lab-client.pcap",
        client_port: 40000,
        server_port: 5100,
        nth: 0,
        checked: "SYN x, SYN-ACK y with ack x+1, third ACK seq x+1 ack y+1 (RFC 9293 §3.5) against the capture's numbers; 5 bytes from the client; its FIN first, then the server's; windows unscaled in the SYNs (RFC 7323 §2.2) and ×1024 after; LAB.md S1: established, fin, client first",
        says: &["Verdict: established.", "closed with FINs, the client first", "5 bytes from the client"],
        ladder: &[("handshake complete", 1)],
    },
    Case {
        name: "s1b",
        file: "lab-client.pcap",
        client_port: 40001,
        server_port: 5000,
        nth: 0,
        checked: "handshake arithmetic as in S1; the server's FIN first, then the client's (LAB.md S1b: the server closes first)",
        says: &["Verdict: established.", "closed with FINs, the server first"],
        ladder: &[("handshake complete", 1)],
    },
    Case {
        name: "s2",
        file: "lab-client.pcap",
        client_port: 40002,
        server_port: 5001,
        nth: 0,
        checked: "RST+ACK with seq 0 and ack x+1 (RFC 9293 §3.10.7.1), accepted because it acknowledges the SYN (§3.10.7.3); refused (LAB.md S2)",
        says: &["Verdict: refused.", "Flags [R.]", "the reset carries seq 0 and ack x+1 ="],
        ladder: &[("refused", 1)],
    },
    Case {
        name: "s3",
        file: "lab-client.pcap",
        client_port: 40003,
        server_port: 5002,
        nth: 0,
        checked: "4 SYNs with one ISN at +0, +1.027, +2.051 and +3.075 s, each after the first a retransmission, no answer; unanswered (LAB.md S3: 4 SYNs about 1 s apart, same ISN)",
        says: &["Verdict: unanswered.", "The client sent 4 SYNs, all with ISN x =", "a steady wait of about 1.0 s"],
        ladder: &[("retransmission", 3)],
    },
    Case {
        name: "s4",
        file: "lab-client.pcap",
        client_port: 40004,
        server_port: 5000,
        nth: 0,
        checked: "[SEW] on the SYN read as the ECN request and [S.E] (ECE without CWR) as its acceptance (RFC 3168 §6.1.1); data packets ECT(0); ECN negotiated (LAB.md S4)",
        says: &["Verdict: established.", "Flags [SEW]", "Flags [S.E]", "ECN was negotiated"],
        ladder: &[("handshake complete", 1)],
    },
    Case {
        name: "s5",
        file: "lab-client.pcap",
        client_port: 40005,
        server_port: 5003,
        nth: 0,
        checked: "TFO cookie request in the SYN, cookie granted in the SYN-ACK (RFC 7413 §4.1.1); the third packet carries 16 bytes from x+1 and acks y+1 (LAB.md S5)",
        says: &["Verdict: established.", "is a cookie request", "grants the cookie", "It already carries 16 bytes of data"],
        ladder: &[("handshake complete", 1)],
    },
    Case {
        name: "s5b",
        file: "lab-client.pcap",
        client_port: 40006,
        server_port: 5003,
        nth: 0,
        checked: "16 bytes in the SYN taking x+1..x+16; the SYN-ACK acks x+17 = x+1+16 (data accepted); the third ACK's seq is x+17 (LAB.md S5b)",
        says: &["Verdict: established.", "16 bytes of data ride in the SYN", "= x+1+16", "were accepted"],
        ladder: &[("16 bytes in the SYN", 1)],
    },
    Case {
        name: "s6",
        file: "lab-client.pcap",
        client_port: 40007,
        server_port: 5000,
        nth: 0,
        checked: "an ordinary handshake with timestamps; the SYN cookie shows only in the heuristic (the server's TSval jump); established (LAB.md S6)",
        says: &["Verdict: established.", "SYN cookie"],
        ladder: &[("handshake complete", 1)],
    },
    Case {
        name: "s7",
        file: "lab-client.pcap",
        client_port: 40008,
        server_port: 5000,
        nth: 0,
        checked: "the SYN-ACK carries only MSS although the SYN offered wscale, SACK and timestamps, so they are off and windows stay unscaled; SYN-cookie heuristic; established (LAB.md S7)",
        says: &["Verdict: established.", "SYN cookie", "carries only MSS 1460"],
        ladder: &[("handshake complete", 1)],
    },
    Case {
        name: "s8a",
        file: "lab-client.pcap",
        client_port: 40009,
        server_port: 5000,
        nth: 0,
        checked: "first of the two connections on 40009 → 5000: established, no port-reuse note (LAB.md S8)",
        says: &["Verdict: established."],
        ladder: &[("port reuse", 0)],
    },
    Case {
        name: "s8b",
        file: "lab-client.pcap",
        client_port: 40009,
        server_port: 5000,
        nth: 1,
        checked: "second connection on the same ports 0.3 s later: port reuse with an ISN 4667529 above the first one's; established (LAB.md S8)",
        says: &["Verdict: established.", "These ports were used by an earlier connection", "new, higher ISN"],
        ladder: &[("port reuse", 1)],
    },
    Case {
        name: "s9",
        file: "lab-client.pcap",
        client_port: 6000,
        server_port: 6001,
        nth: 0,
        checked: "crossing SYNs x and y, each sent again after about 1 s; SYN-ACKs seq x ack y+1 and seq y ack x+1 (RFC 9293 §3.5, figure 7); D-SACKs of the repeated SYNs; one simultaneous_open connection, ended by the server's RST (LAB.md S9)",
        says: &["Verdict: simultaneous_open.", "a simultaneous open (RFC 9293 §3.5, figure 7)"],
        ladder: &[("retransmission", 2), ("SYNs cross", 1)],
    },
    Case {
        name: "s10a",
        file: "lab-client.pcap",
        client_port: 41000,
        server_port: 5000,
        nth: 0,
        checked: "hping3 SYN (window 512, no options, non-zero ack field); SYN-ACK y ack x+1; the client kernel's RST seq x+1 (RFC 9293 §3.10.7.1); aborted (LAB.md S10)",
        says: &["Verdict: aborted.", "win 512", "the acknowledgment field holds", "looks made by hping3"],
        ladder: &[("aborted", 1)],
    },
    Case {
        name: "s10b",
        file: "lab-client.pcap",
        client_port: 41001,
        server_port: 5000,
        nth: 0,
        checked: "as S10a on port 41001: window 512, no options, non-zero ack field; RST seq x+1; aborted (LAB.md S10)",
        says: &["Verdict: aborted.", "win 512", "the acknowledgment field holds", "looks made by hping3"],
        ladder: &[("aborted", 1)],
    },
    Case {
        name: "s11",
        file: "lab-client.pcap",
        client_port: 41100,
        server_port: 5001,
        nth: 0,
        checked: "hping3 SYN to a closed port answered by RST+ACK seq 0 ack x+1; refused (LAB.md S11)",
        says: &["Verdict: refused.", "looks made by hping3"],
        ladder: &[("refused", 1)],
    },
    Case {
        name: "s12_open",
        file: "lab-client.pcap",
        client_port: 42321,
        server_port: 5000,
        nth: 0,
        checked: "nmap probe (window 1024, MSS only) to an open port: SYN-ACK, then RST seq x+1: aborted; the TTL rule's capture point is doubted because nmap sets its own TTLs (LAB.md S12; taken at the client)",
        says: &["Verdict: aborted.", "nmap SYN-scan probe"],
        ladder: &[("aborted", 1)],
    },
    Case {
        name: "s12_closed",
        file: "lab-client.pcap",
        client_port: 42321,
        server_port: 5001,
        nth: 0,
        checked: "nmap probe to a closed port answered by RST+ACK acking x+1: refused (LAB.md S12)",
        says: &["Verdict: refused.", "nmap SYN-scan probe"],
        ladder: &[("refused", 1)],
    },
    Case {
        name: "s12_filtered",
        file: "lab-client.pcap",
        client_port: 42321,
        server_port: 5002,
        nth: 0,
        checked: "nmap probe to a filtered port: one SYN, no answer: unanswered (LAB.md S12)",
        says: &["Verdict: unanswered.", "There was a single SYN"],
        ladder: &[("retransmission", 0)],
    },
    Case {
        name: "s12_retry",
        file: "lab-client.pcap",
        client_port: 42323,
        server_port: 5002,
        nth: 0,
        checked: "nmap's retry of the filtered port, from port 42323 with a new ISN: a separate unanswered attempt (LAB.md S12; the new ISN is asserted below)",
        says: &["Verdict: unanswered.", "There was a single SYN"],
        ladder: &[("retransmission", 0)],
    },
    Case {
        name: "s13",
        file: "lab-client.pcap",
        client_port: 42000,
        server_port: 5000,
        nth: 0,
        checked: "hping3 SYN; SYN-ACK at +0.06 ms and again at +1.03 s and +3.04 s, backing off; no ACK, no RST: half_open (LAB.md S13)",
        says: &["Verdict: half_open.", "sent it 3 times", "neither acknowledged it nor reset it"],
        ladder: &[("retransmission", 2)],
    },
    Case {
        name: "s14",
        file: "lab-client.pcap",
        client_port: 40010,
        server_port: 5000,
        nth: 0,
        checked: "established handshake; the injected SYN seq 12345 and the server's pure ACK of x+1 as the RFC 5961 §4.2 challenge ACK; one connection (LAB.md S14)",
        says: &["Verdict: established.", "The server's challenge ACK (RFC 5961 §4.2)", "drew 1 challenge ACK"],
        ladder: &[("challenge ACK", 1), ("SYN inside the connection", 1)],
    },
    Case {
        name: "e1",
        file: "lab-extra.pcap",
        client_port: 40040,
        server_port: 5200,
        nth: 0,
        checked: "MP_CAPABLE explained in the SYN, the SYN-ACK and the third ACK (RFC 8684 §3.1); established (LAB.md E1)",
        says: &["Verdict: established.", "the client proposes Multipath TCP", "the server accepts Multipath TCP", "the third segment confirms Multipath TCP"],
        ladder: &[("handshake complete", 1)],
    },
    Case {
        name: "e2",
        file: "lab-extra.pcap",
        client_port: 40041,
        server_port: 5000,
        nth: 0,
        checked: "SYN without ECN flags, no ECN agreed; established (LAB.md E2)",
        says: &["Verdict: established."],
        ladder: &[("handshake complete", 1)],
    },
    Case {
        name: "e3",
        file: "lab-extra.pcap",
        client_port: 40030,
        server_port: 5002,
        nth: 0,
        checked: "the forged SYN-ACK acks 12345, +1101745354 from x+1 modulo 2^32, unacceptable in SYN-SENT; the client's RST seq 12345 (RFC 9293 §3.10.7.3, §3.5 figure 8); the SYN sent again; unanswered with the SYN-ACK ack check failed (LAB.md E3)",
        says: &["Verdict: unanswered.", "Flags [R], seq 12345", "RST with seq set to that SYN-ACK's ack", "Check failed: the SYN-ACK's ack (x+1)", "actual 12345"],
        ladder: &[("invalid SYN-ACK", 1), ("recovery RST", 1), ("retransmission", 3)],
    },
    Case {
        name: "e4",
        file: "lab-extra.pcap",
        client_port: 40031,
        server_port: 5002,
        nth: 0,
        checked: "RST+ACK acking x+1000 (+999 from x+1) and a bare RST ignored in SYN-SENT; the RST+ACK acking x+1 refuses (RFC 9293 §3.10.7.3; LAB.md E4)",
        says: &["Verdict: refused.", "+999 off", "this one has no ACK", "Before it came 2 resets that the client had to ignore"],
        ladder: &[("ignored RST", 2), ("refused", 1)],
    },
    Case {
        name: "r1",
        file: "lab-retrans.pcap",
        client_port: 40050,
        server_port: 5000,
        nth: 0,
        checked: "3 SYNs about 1 s apart; the SYN-ACK's TSecr echoes the third SYN's TSval, so SYN to SYN-ACK is measured; established after 2.056 s (LAB.md R1)",
        says: &["Verdict: established.", "the third of the 3 transmissions of the SYN"],
        ladder: &[("retransmission", 2), ("lost after capture point", 0)],
    },
    Case {
        name: "r2",
        file: "lab-retrans.pcap",
        client_port: 40051,
        server_port: 5000,
        nth: 0,
        checked: "3 SYNs; the first three SYN-ACKs lost after the capture point (the client sent its SYN again after them), the fourth answered; established after 2.050 s (LAB.md R2)",
        says: &["Verdict: established.", "The client never received this SYN-ACK"],
        ladder: &[("lost after capture point", 3), ("retransmission", 5)],
    },
    Case {
        name: "cookie_ts2_a",
        file: "lab-cookie-ts2.pcap",
        client_port: 40020,
        server_port: 5000,
        nth: 0,
        checked: "SYN-cookie heuristic from the TSval's low six bits (server at tcp_timestamps=2); established (LAB.md cookie captures)",
        says: &["Verdict: established.", "SYN cookie", "low six bits"],
        ladder: &[("handshake complete", 1)],
    },
    Case {
        name: "cookie_ts2_b",
        file: "lab-cookie-ts2.pcap",
        client_port: 40021,
        server_port: 5000,
        nth: 0,
        checked: "SYN-cookie heuristic from the TSval's low six bits; ECN negotiated as well; established (LAB.md cookie captures)",
        says: &["Verdict: established.", "SYN cookie", "low six bits"],
        ladder: &[("handshake complete", 1)],
    },
    Case {
        name: "lost_segment",
        file: "lab-lost-segment.pcap",
        client_port: 40001,
        server_port: 5000,
        nth: 0,
        checked: "the server's ACK of 16 bytes the capture does not hold is called out as a gap; established (LAB.md lost segment)",
        says: &["Verdict: established.", "acknowledges data that the capture does not hold", "The capture misses data"],
        ladder: &[("acks data not captured", 1)],
    },
    Case {
        name: "midstream",
        file: "lab-midstream.pcap",
        client_port: 40001,
        server_port: 5000,
        nth: 0,
        checked: "first packet already [.]: no ISN known, relative numbers from the first ones seen, verdict midstream (LAB.md midstream)",
        says: &["Verdict: midstream.", "neither ISN is known"],
        ladder: &[("handshake complete", 0)],
    },
];

fn explain(case: &Case, extra: &[&str]) -> String {
    let path = corpus().join("captures").join(case.file);
    let records = handshakes_jsonl(&path, &[]);
    let ids: Vec<u64> = records
        .iter()
        .filter(|r| r["client_port"] == case.client_port && r["server_port"] == case.server_port)
        .map(|r| r["id"].as_u64().unwrap())
        .collect();
    let id = ids
        .get(case.nth)
        .unwrap_or_else(|| panic!("{}: attempt {} of {:?}", case.name, case.nth, ids))
        .to_string();
    let mut args = vec!["explain", "-n", "--conn", &id, "-r", path.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = synack()
        .env("LC_ALL", "C.UTF-8")
        .args(&args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}: {}",
        case.name,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn every_lab_connection_is_explained_as_lab_md_says() {
    for case in CASES {
        let text = explain(case, &[]);
        let words = flat(&text);
        for phrase in case.says {
            assert!(
                words.contains(phrase),
                "{}: {phrase:?} missing:\n{text}",
                case.name
            );
        }
        insta::with_settings!({ description => case.checked }, {
            insta::assert_snapshot!(format!("explain_{}", case.name), text);
        });
    }
}

#[test]
fn every_lab_connection_is_drawn_as_lab_md_says() {
    for case in CASES {
        let text = explain(case, &["--ladder"]);
        // The notes beside the arrows.
        let drawing: String = text
            .lines()
            .filter(|l| l.contains('├') || l.contains('┤'))
            .collect::<Vec<_>>()
            .join("\n");
        for (note, count) in case.ladder {
            assert_eq!(
                drawing.matches(note).count(),
                *count,
                "{}: {note:?} in:\n{text}",
                case.name
            );
        }
        insta::with_settings!({ description => case.checked }, {
            insta::assert_snapshot!(format!("ladder_{}", case.name), text);
        });
    }
}

/// The ISN a text gives x.
fn client_isn(text: &str) -> u64 {
    let words = flat(text);
    let at = words.find("ISN x = ").expect("an ISN") + "ISN x = ".len();
    words[at..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn nmap_retries_a_silent_port_with_a_new_isn() {
    let case = |name: &str| CASES.iter().find(|c| c.name == name).unwrap();
    let first = client_isn(&explain(case("s12_filtered"), &[]));
    let retry = client_isn(&explain(case("s12_retry"), &[]));
    assert_ne!(first, retry, "LAB.md S12: the retry uses a new ISN");
}
