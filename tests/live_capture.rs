//! `synack -i` on a real interface: a veth pair between two network namespaces,
//! synack and tcpdump capturing on the same interface at the same time, and
//! connections the test itself makes (open port, closed port, dropped SYNs, a
//! small SYN flood). synack's lines must be tcpdump's. Needs root.

mod common;

use std::io::BufReader;
use std::thread;
use std::time::Duration;

use common::live::{
    assert_same_packets, must, packet_lines, read_lines, statistics, wait_until_settled, Lab,
    Running, LIMIT,
};
use common::traffic::{
    connect, connect_to_server, hping3, listen, syn_flood, CLOSED_PORT, DROPPED_PORT, OPEN_PORT,
};
use nix::sys::signal::Signal;

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// Interrupt both captures (after the kernel had time to hand over the last
/// packets to tcpdump's immediate-mode socket) and return their outputs.
fn interrupt(ours: Running, theirs: Running) -> ((String, String), (String, String)) {
    wait_until_settled(&ours, &theirs);
    ours.signal(Signal::SIGINT);
    theirs.signal(Signal::SIGINT);
    let (status, out, err) = ours.finish(LIMIT);
    assert!(status.success(), "synack ended with {status}:\n{err}");
    let (tstatus, tout, terr) = theirs.finish(LIMIT);
    assert!(tstatus.success(), "tcpdump ended with {tstatus}:\n{terr}");
    ((out, err), (tout, terr))
}

#[test]
fn printed_lines_match_tcpdump_for_open_closed_dropped_and_flooded_ports() {
    let lab = Lab::new();
    let iface = lab.server_iface.as_str();
    let _server = listen(&lab, OPEN_PORT);
    lab.drop_syns_to(DROPPED_PORT);
    // synack as a user would run it into a pipe: no immediate mode, so the
    // interrupt must still bring out the packets the kernel holds in its ring.
    let ours = lab.capture("synack", &["-n", "-tt", "-i", iface, "tcp"]);
    let theirs = lab.capture("tcpdump", &["-n", "-tt", "-i", iface, "tcp"]);
    let results = connect_to_server(
        &lab,
        &[
            (OPEN_PORT, secs(2.0)),
            (OPEN_PORT, secs(2.0)),
            (CLOSED_PORT, secs(2.0)),
            (DROPPED_PORT, secs(1.5)),
            (OPEN_PORT, secs(2.0)),
        ],
    );
    assert_eq!(
        results,
        [
            "7001 established",
            "7001 established",
            "7002 refused",
            "7003 unanswered",
            "7001 established"
        ]
    );
    syn_flood(&lab, OPEN_PORT, 100, 2000);
    let ((out, err), (tout, terr)) = interrupt(ours, theirs);

    let (mine, tcpdumps) = (packet_lines(&out), packet_lines(&tout));
    assert_same_packets(&tcpdumps, &mine);
    // What the test did, seen in synack's lines: 100 hping3 SYNs (window 512),
    // a RST for the closed port, and the dropped port's SYN sent twice.
    let count = |needle: &str| mine.iter().filter(|l| l.text.contains(needle)).count();
    assert_eq!(count("Flags [S], seq"), 100 + 3 + 1 + 2, "{out}");
    assert_eq!(count("win 512,"), 100);
    assert_eq!(count(".7002: Flags [S]"), 1);
    assert_eq!(count(&format!("7002 > {}.", lab.client_addr)), 1);
    assert_eq!(count(".7003: Flags [S]"), 2);
    assert_eq!(count("7003 > "), 0);

    let listening =
        format!("listening on {iface}, link-type EN10MB (Ethernet), snapshot length 512 bytes");
    assert!(err.lines().any(|l| l == listening), "{err}");
    assert!(terr.lines().any(|l| l == listening), "{terr}");
    let (captured, received, dropped) = statistics(&err);
    assert_eq!(captured, mine.len() as u64);
    assert_eq!((captured, received, dropped), statistics(&terr));
    assert_eq!(dropped, 0);
}

#[test]
fn interrupt_still_prints_the_packets_the_kernel_was_holding() {
    // Without immediate mode the kernel hands packets over a ring block at a
    // time, a second after the block opened; an interrupt right after a
    // refused attempt must still print its SYN and RST, and nothing else.
    let lab = Lab::new();
    let iface = lab.server_iface.as_str();
    let ours = lab.capture("synack", &["-n", "-t", "-i", iface, "tcp"]);
    let results = connect_to_server(&lab, &[(CLOSED_PORT, secs(2.0))]);
    assert_eq!(results, ["7002 refused"]);
    thread::sleep(Duration::from_millis(20));
    ours.signal(Signal::SIGINT);
    let (status, out, err) = ours.finish(LIMIT);
    assert!(status.success(), "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].starts_with(&format!("IP {}.", lab.client_addr))
            && lines[0].contains(".7002: Flags [S],")
    );
    assert!(
        lines[1].starts_with(&format!(
            "IP {}.7002 > {}.",
            lab.server_addr, lab.client_addr
        )) && lines[1].contains("Flags [R.]")
    );
    assert_eq!(statistics(&err).0, 2);
}

#[test]
fn any_device_prints_interface_names_like_tcpdump() {
    let lab = Lab::new();
    let iface = lab.server_iface.as_str();
    let _server = listen(&lab, OPEN_PORT);
    let args = ["--immediate-mode", "-n", "-tt", "-i", "any", "tcp"];
    let ours = lab.capture("synack", &args);
    let theirs = lab.capture("tcpdump", &args);
    connect_to_server(&lab, &[(OPEN_PORT, secs(2.0)), (CLOSED_PORT, secs(2.0))]);
    // Over the server's loopback too: each packet is seen going out and in.
    connect(&lab, &lab.server, "127.0.0.1", &[(OPEN_PORT, secs(2.0))]);
    let ((out, err), (tout, _)) = interrupt(ours, theirs);
    let mine = packet_lines(&out);
    assert_same_packets(&packet_lines(&tout), &mine);
    assert!(mine.iter().any(|l| l
        .text
        .starts_with(&format!("{iface} In  IP {}.", lab.client_addr))));
    assert!(mine.iter().any(|l| l
        .text
        .starts_with(&format!("{iface} Out IP {}.", lab.server_addr))));
    assert!(mine
        .iter()
        .any(|l| l.text.starts_with("lo    In  IP 127.0.0.1.")));
    assert!(
        err.contains("link-type LINUX_SLL2 (Linux cooked v2)"),
        "{err}"
    );
}

#[test]
fn filter_runs_in_the_kernel_and_counts_only_matching_packets() {
    let lab = Lab::new();
    let iface = lab.server_iface.as_str();
    let _server = listen(&lab, OPEN_PORT);
    let args = ["-n", "-tt", "-i", iface, "tcp", "port", "7002"];
    let ours = lab.capture("synack", &args);
    let theirs = lab.capture("tcpdump", &args);
    connect_to_server(
        &lab,
        &[
            (OPEN_PORT, secs(2.0)),
            (CLOSED_PORT, secs(2.0)),
            (OPEN_PORT, secs(2.0)),
            (CLOSED_PORT, secs(2.0)),
        ],
    );
    // UDP to the same port must not pass a filter for TCP.
    must(&mut hping3(
        &lab,
        &["--udp", "-p", "7002", "-c", "3", "-i", "u50000"],
    ));
    let ((out, err), (tout, terr)) = interrupt(ours, theirs);
    let mine = packet_lines(&out);
    assert_same_packets(&packet_lines(&tout), &mine);
    // Two refused attempts: a SYN and a RST each; nothing else passed.
    assert_eq!(mine.len(), 4, "{out}");
    assert!(mine.iter().all(|l| l.text.contains(".7002")));
    // "Received by filter" counts what the kernel's filter let through: had the
    // filter run in synack, the other connections and the pings would count.
    assert_eq!(statistics(&err), (4, 4, 0));
    assert_eq!(statistics(&terr), (4, 4, 0));
}

#[test]
fn direction_and_snapshot_length_match_tcpdump() {
    let lab = Lab::new();
    let iface = lab.server_iface.as_str();
    let _server = listen(&lab, OPEN_PORT);
    // Both in immediate mode: libpcap's ring layout then keeps two bytes fewer
    // of a 60-byte snapshot than in block mode, and both must keep the same.
    let args = ["-n", "-tt", "-Q", "in", "-s", "60", "-i", iface, "tcp"];
    let ours = lab.capture("synack", &[&["--immediate-mode"], &args[..]].concat());
    let theirs = lab.capture("tcpdump", &args);
    connect_to_server(&lab, &[(OPEN_PORT, secs(2.0)), (CLOSED_PORT, secs(2.0))]);
    let ((out, err), (tout, terr)) = interrupt(ours, theirs);
    let mine = packet_lines(&out);
    assert_same_packets(&packet_lines(&tout), &mine);
    // Only what the client sent; 60 bytes cut the TCP options short.
    assert!(mine.len() >= 5, "{out}");
    let from_client = format!("IP {}.", lab.client_addr);
    assert!(mine.iter().all(|l| l.text.starts_with(&from_client)));
    assert!(mine.iter().any(|l| l.text.ends_with("[|tcp]")), "{out}");
    let listening =
        format!("listening on {iface}, link-type EN10MB (Ethernet), snapshot length 60 bytes");
    assert!(err.lines().any(|l| l == listening), "{err}");
    assert!(terr.lines().any(|l| l == listening), "{terr}");
}

#[test]
fn count_ends_the_capture_by_itself() {
    let lab = Lab::new();
    let iface = lab.server_iface.as_str();
    let _server = listen(&lab, OPEN_PORT);
    let ours = lab.capture("synack", &["-n", "-c", "3", "-i", iface, "tcp"]);
    connect_to_server(&lab, &[(OPEN_PORT, secs(2.0)), (OPEN_PORT, secs(2.0))]);
    let (status, out, err) = ours.finish(LIMIT);
    assert!(status.success(), "{err}");
    assert_eq!(out.lines().count(), 3, "{out}");
    assert_eq!(statistics(&err).0, 3);
}

#[test]
fn closed_standard_output_ends_the_capture_quietly() {
    let lab = Lab::new();
    let iface = lab.server_iface.as_str();
    let _server = listen(&lab, OPEN_PORT);
    let mut cmd = lab.synack(&lab.server);
    cmd.args(["--immediate-mode", "-n", "-i", iface, "tcp"]);
    let mut ours = Running::start_with_pipe(cmd);
    ours.wait_listening();
    let mut stdout = BufReader::new(ours.take_stdout());
    connect_to_server(&lab, &[(OPEN_PORT, secs(2.0))]);
    assert_eq!(read_lines(&mut stdout, 2).len(), 2);
    drop(stdout);
    // The next packets find the reader gone.
    connect_to_server(&lab, &[(OPEN_PORT, secs(2.0)), (OPEN_PORT, secs(2.0))]);
    let (status, _, err) = ours.finish(LIMIT);
    assert!(status.success(), "{status}: {err}");
    assert!(!err.contains("synack:"), "{err}");
    assert!(statistics(&err).0 > 2, "{err}");
}

#[test]
fn promiscuous_mode_is_asked_for_unless_p() {
    let lab = Lab::new();
    let iface = lab.server_iface.as_str();
    let promiscuity = || {
        let out = lab.run(&lab.server, "ip", &["-d", "link", "show", iface]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let n = text
            .split_whitespace()
            .skip_while(|w| *w != "promiscuity")
            .nth(1)
            .and_then(|n| n.parse::<u32>().ok());
        n.unwrap_or_else(|| panic!("no promiscuity in {text}"))
    };
    assert_eq!(promiscuity(), 0);
    let plain = lab.capture("synack", &["-i", iface]);
    assert_eq!(promiscuity(), 1);
    plain.signal(Signal::SIGTERM);
    assert!(plain.finish(LIMIT).0.success());
    let without = lab.capture("synack", &["-p", "-i", iface]);
    assert_eq!(promiscuity(), 0);
    without.signal(Signal::SIGTERM);
    assert!(without.finish(LIMIT).0.success());
}

/// The `Uid:` and `Gid:` lines of a process.
fn ids(pid: u32) -> (String, String) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .map(|l| l.split_whitespace().skip(1).collect::<Vec<_>>().join(" "))
            .unwrap()
    };
    (line("Uid:"), line("Gid:"))
}

#[test]
fn root_is_given_up_once_the_interface_is_open() {
    let lab = Lab::new();
    let iface = lab.server_iface.as_str();
    let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
    let (uid, gid) = (nobody.uid.to_string(), nobody.gid.to_string());
    let dropped = lab.capture("synack", &["-i", iface]);
    let want = (
        format!("{uid} {uid} {uid} {uid}"),
        format!("{gid} {gid} {gid} {gid}"),
    );
    assert_eq!(ids(dropped.pid()), want);
    let kept = lab.capture("synack", &["-Z", "root", "-i", iface]);
    assert_eq!(ids(kept.pid()), ("0 0 0 0".into(), "0 0 0 0".into()));
    for running in [dropped, kept] {
        running.signal(Signal::SIGINT);
        let (status, _, err) = running.finish(LIMIT);
        assert!(status.success(), "{err}");
    }
}

#[test]
fn unusable_interfaces_and_users_are_clear_one_line_errors() {
    let lab = Lab::new();
    let iface = lab.server_iface.as_str();
    let run = |args: &[&str], as_nobody: bool| {
        let mut cmd = if as_nobody {
            let mut c = lab.cmd(&lab.server, "setpriv");
            c.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"]);
            c.arg(env!("CARGO_BIN_EXE_synack"));
            c
        } else {
            lab.synack(&lab.server)
        };
        let out = cmd.args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(!err.contains("panicked"), "{err}");
        err
    };
    let err = run(&["-i", "nosuch0"], false);
    assert!(
        err.starts_with("synack: nosuch0: no such interface"),
        "{err}"
    );
    let err = run(&["-i", "99"], false);
    assert!(
        err.starts_with("synack: 99: no interface number 99"),
        "{err}"
    );
    let err = run(&["-i", iface], true);
    assert!(
        err.starts_with(&format!("synack: {iface}: permission denied")),
        "{err}"
    );
    assert!(err.contains("CAP_NET_RAW"), "{err}");
    let err = run(&["-i", iface, "-Z", "nosuchuser"], false);
    assert!(err.contains("there is no user 'nosuchuser'"), "{err}");
    let err = run(&["-i", iface, "tcp", "port", "seventy"], false);
    assert!(err.starts_with("synack: filter: "), "{err}");
}

#[test]
fn interface_listing_is_tcpdumps() {
    let lab = Lab::new();
    let iface = lab.server_iface.as_str();
    let ours = lab.run(&lab.server, env!("CARGO_BIN_EXE_synack"), &["-D"]);
    let theirs = lab.run(&lab.server, "tcpdump", &["-D"]);
    assert_eq!(
        String::from_utf8_lossy(&ours.stdout),
        String::from_utf8_lossy(&theirs.stdout)
    );
    assert!(String::from_utf8_lossy(&ours.stdout).contains(&format!(".{iface} [Up, Running")));
    // `-i N` takes the Nth interface of the listing.
    let number = String::from_utf8_lossy(&ours.stdout)
        .lines()
        .find(|l| l.contains(&format!(".{iface} ")))
        .and_then(|l| l.split('.').next().map(str::to_string))
        .unwrap();
    let by_number = lab.capture("synack", &["-i", &number]);
    assert!(by_number
        .stderr_now()
        .contains(&format!("listening on {iface},")));
    by_number.signal(Signal::SIGINT);
    assert!(by_number.finish(LIMIT).0.success());
}
