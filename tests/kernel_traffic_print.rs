//! synack print matches tcpdump on captures of real kernel traffic that the
//! test makes itself: IPv4 and IPv6, `-i any` (Linux cooked v2), ECN, TCP Fast
//! Open and a small SYN flood, between two network namespaces; plus 802.1Q and
//! 802.1ad tagged segments sent through the same veth (this kernel has no VLAN
//! devices, so the test builds the tagged frames and a packet socket sends them).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::netns::{sh, NetnsPair};
use common::{compare, synack, tcp_lines};

const SERVER: &str = r#"
import socket, sys, threading
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_TCP, 23, 16)  # TCP_FASTOPEN queue
s.bind(("::", 5000))
s.listen(512)
open(sys.argv[1], "w").write("ready")
def serve(c):
    try:
        data = c.recv(1000)
        c.sendall(b"reply:" + data)
    finally:
        c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
"#;

const CLIENT: &str = r#"
import socket, sys
v4, v6 = sys.argv[1], sys.argv[2]
MSG_FASTOPEN = 0x20000000
def talk(family, addr, msg):
    c = socket.socket(family, socket.SOCK_STREAM)
    c.settimeout(3)
    c.connect(addr)
    c.sendall(msg)
    c.recv(1000)
    c.close()
talk(socket.AF_INET, (v4, 5000), b"hello over IPv4")
talk(socket.AF_INET6, (v6, 5000), b"hello over IPv6")
r = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
r.settimeout(3)
try:
    r.connect((v4, 5001))
except ConnectionRefusedError:
    pass
for i in range(2):
    # The first asks for a Fast Open cookie, the second sends data in its SYN.
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    c.sendto(b"fast open data %d" % i, MSG_FASTOPEN, (v4, 5000))
    c.recv(1000)
    c.close()
"#;

/// Tagged TCP segments on the veth: an 802.1Q SYN and an 802.1ad + 802.1Q
/// (QinQ) data segment, with correct IPv4 and TCP checksums.
const TAGGED: &str = r#"
import socket, struct, sys
dev = sys.argv[1]
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
def segment(flags, seq, ack, payload, opts=b""):
    src, dst = bytes([10, 78, 0, 1]), bytes([10, 78, 0, 2])
    off = (20 + len(opts)) // 4
    tcp = struct.pack("!HHIIBBHHH", 40123, 5000, seq, ack, off << 4, flags, 29200, 0, 0) + opts + payload
    ph = src + dst + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", csum(ph + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 7, 0x4000, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return ip + tcp
macs = b"\xff\xff\xff\xff\xff\xff" + b"\x02\x00\x00\x00\x00\x01"
syn = segment(0x02, 1000, 0, b"", b"\x02\x04\x05\xb4\x01\x03\x03\x07")
data = segment(0x18, 1001, 2000, b"tagged payload")
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((dev, 0))
s.send(macs + struct.pack("!HH", 0x8100, (3 << 13) | 42) + b"\x08\x00" + syn)
s.send(macs + struct.pack("!HHHH", 0x88a8, 100, 0x8100, 42) + b"\x08\x00" + data)
"#;

fn wait_for(path: &Path) {
    for _ in 0..100 {
        if path.exists() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{path:?} never appeared");
}

fn compare_all_modes(pcap: &Path) -> usize {
    let p = pcap.to_str().unwrap();
    let mut total = 0;
    for flags in [
        &["-n", "-S", "-t"][..],
        &["-n"],
        &["-n", "-S", "-t", "-v"],
        &["-n", "-S", "-t", "-e"],
        &["-n", "-t", "-vv", "-e"],
    ] {
        let mut args = flags.to_vec();
        args.extend(["-r", p]);
        let t = Command::new("tcpdump")
            .args(&args)
            .env("TZ", "UTC")
            .output()
            .unwrap();
        assert!(t.status.success(), "tcpdump reads {p}");
        let s = synack().args(&args).output().unwrap();
        assert!(s.status.success(), "synack reads {p}");
        let (exp, act) = (
            String::from_utf8_lossy(&t.stdout),
            String::from_utf8_lossy(&s.stdout),
        );
        let (pass, fail, diffs) = compare(&tcp_lines(&exp), &tcp_lines(&act));
        assert_eq!(fail, 0, "{p} {flags:?}:\n{}", diffs.join("\n"));
        total += pass;
    }
    total
}

fn text(pcap: &Path, flags: &[&str]) -> String {
    let mut args = flags.to_vec();
    args.extend(["-r", pcap.to_str().unwrap()]);
    String::from_utf8_lossy(&synack().args(&args).output().unwrap().stdout).into_owned()
}

#[test]
fn kernel_traffic_prints_as_tcpdump_prints_it() {
    let dir = std::env::temp_dir().join(format!("synack-kernel-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = |n: &str| -> PathBuf { dir.join(n) };
    std::fs::write(path("server.py"), SERVER).unwrap();
    std::fs::write(path("client.py"), CLIENT).unwrap();
    std::fs::write(path("tagged.py"), TAGGED).unwrap();

    let pair = NetnsPair::new("k", 41);
    for (ns, extra) in [
        (&pair.a, "net.ipv4.tcp_ecn=1"),
        (&pair.b, "net.ipv4.tcp_ecn=2"),
    ] {
        let out = pair.exec(ns, &format!("sysctl -qw net.ipv4.tcp_fastopen=3 {extra}"));
        assert!(out.status.success());
    }
    let mut server = pair.spawn(
        &pair.b,
        &format!(
            "exec /usr/bin/python3 {} {}",
            path("server.py").display(),
            path("ready").display()
        ),
    );
    wait_for(&path("ready"));
    let va = path("veth.pcap");
    let any = path("any.pcap");
    let mut cap_veth = pair.spawn(
        &pair.a,
        &format!("exec tcpdump -U -n -i {} -w {}", pair.veth_a, va.display()),
    );
    let mut cap_any = pair.spawn(
        &pair.b,
        &format!("exec tcpdump -U -n -i any -w {} tcp", any.display()),
    );
    std::thread::sleep(Duration::from_millis(1500));

    let client = pair.exec(
        &pair.a,
        &format!(
            "/usr/bin/python3 {} {} {} && /usr/bin/python3 {} {}",
            path("client.py").display(),
            pair.ip_b(),
            pair.ip6_b(),
            path("tagged.py").display(),
            pair.veth_a
        ),
    );
    assert!(
        client.status.success(),
        "client: {}",
        String::from_utf8_lossy(&client.stderr)
    );
    // A small SYN flood from consecutive source ports.
    let flood = pair.exec(
        &pair.a,
        &format!("hping3 -q -S -p 5000 -c 300 -i u300 {} 2>&1", pair.ip_b()),
    );
    assert!(flood.status.success() || flood.status.code() == Some(1));
    std::thread::sleep(Duration::from_millis(500));
    for cap in [&mut cap_veth, &mut cap_any] {
        let _ = sh(&format!("kill -INT {}", cap.id()));
        let _ = cap.wait();
    }
    let _ = server.kill();
    let _ = server.wait();

    let lines_veth = compare_all_modes(&va);
    let lines_any = compare_all_modes(&any);
    println!("identical TCP lines: {lines_veth} on the veth capture, {lines_any} on -i any");

    // The traffic the test made is all there.
    let plain = text(&va, &["-n", "-S", "-t"]);
    let link = text(&va, &["-n", "-S", "-t", "-e"]);
    assert!(plain.contains("IP6 fd77:41::1."), "IPv6 connection");
    assert!(
        link.contains("ethertype 802.1Q (0x8100), length 66: vlan 42, p 3, ethertype IPv4 (0x0800), 10.78.0.1.40123 > 10.78.0.2.5000: Flags [S]"),
        "802.1Q-tagged SYN"
    );
    assert!(
        link.contains(
            "802.1Q-QinQ (0x88a8), length 76: vlan 100, p 0, ethertype 802.1Q (0x8100), vlan 42"
        ),
        "802.1ad-tagged segment"
    );
    assert!(plain.contains("Flags [SEW]"), "ECN-setup SYN");
    assert!(plain.contains("Flags [S.E]"), "ECN-setup SYN-ACK");
    assert!(plain.contains("tfo  cookiereq"), "Fast Open cookie request");
    assert!(plain.contains(",tfo  cookie "), "Fast Open cookie");
    assert!(
        plain.contains(".5001: Flags [R.]") || plain.contains(".5001 > "),
        "refused"
    );
    let flood_syns = plain
        .lines()
        .filter(|l| l.contains(".5000: Flags [S], seq") && l.contains("win 512, length 0"))
        .count();
    assert!(flood_syns >= 290, "flood SYNs captured: {flood_syns}");
    let any_stderr = String::from_utf8_lossy(
        &synack()
            .args(["-n", "-r", any.to_str().unwrap()])
            .output()
            .unwrap()
            .stderr,
    )
    .into_owned();
    assert!(
        any_stderr.contains("LINUX_SLL2"),
        "-i any is cooked v2: {any_stderr}"
    );
    drop(pair);
    std::fs::remove_dir_all(&dir).unwrap();
}
