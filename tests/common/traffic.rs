//! Connections the live tests cause between the lab's namespaces, with small
//! Python programs so that what happens on the wire is exactly what the test
//! asked for.

use std::process::Command;
use std::time::Duration;

use super::live::{must, Lab, Running};

/// A port the server listens on, one it refuses, one whose SYNs it drops.
pub const OPEN_PORT: u16 = 7001;
pub const CLOSED_PORT: u16 = 7002;
pub const DROPPED_PORT: u16 = 7003;

/// Accepts connections forever, reads what the client sends, closes.
const SERVER: &str = r#"
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen(1024)
print("ready", file=sys.stderr, flush=True)
while True:
    c, _ = s.accept()
    c.recv(100)
    c.close()
"#;

/// Makes one connection attempt per `PORT:TIMEOUT[:FROM]` argument, in order
/// (from source port FROM when given), sends a line on the ones that open and
/// waits for the server to close, and prints what became of each.
const CLIENT: &str = r#"
import socket, sys
host = sys.argv[1]
for spec in sys.argv[2:]:
    port, timeout, *source = spec.split(":")
    s = socket.socket()
    if source:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("", int(source[0])))
    s.settimeout(float(timeout))
    try:
        s.connect((host, int(port)))
        s.sendall(b"synack test\n")
        # Wait for the server's FIN, so that when this program ends only the
        # kernels' immediate answers are left to cross the wire.
        s.recv(100)
        result = "established"
    except ConnectionRefusedError:
        result = "refused"
    except socket.timeout:
        result = "unanswered"
    s.close()
    print(port, result, flush=True)
"#;

/// A listening server in the lab's server namespace.
pub fn listen(lab: &Lab, port: u16) -> Running {
    let mut cmd = lab.cmd(&lab.server, "python3");
    cmd.args(["-c", SERVER, &port.to_string()]);
    let server = Running::start(cmd);
    server.wait_listening();
    server
}

/// Connection attempts from `ns` to `host`, one per `(port, timeout)`;
/// returns `port result` lines as the client saw them.
pub fn connect(lab: &Lab, ns: &str, host: &str, attempts: &[(u16, Duration)]) -> Vec<String> {
    let specs: Vec<String> = attempts
        .iter()
        .map(|(port, timeout)| format!("{port}:{}", timeout.as_secs_f64()))
        .collect();
    run_client(lab, ns, host, &specs)
}

/// Connection attempts from the client to the server.
pub fn connect_to_server(lab: &Lab, attempts: &[(u16, Duration)]) -> Vec<String> {
    connect(lab, &lab.client, &lab.server_addr, attempts)
}

/// Connection attempts from the client to the server, each from a chosen
/// source port: `(source port, server port, timeout)`.
pub fn connect_from_ports(lab: &Lab, attempts: &[(u16, u16, Duration)]) -> Vec<String> {
    let specs: Vec<String> = attempts
        .iter()
        .map(|(from, port, timeout)| format!("{port}:{}:{from}", timeout.as_secs_f64()))
        .collect();
    run_client(lab, &lab.client, &lab.server_addr, &specs)
}

/// The client program with `PORT:TIMEOUT[:FROM]` specs; its result lines.
fn run_client(lab: &Lab, ns: &str, host: &str, specs: &[String]) -> Vec<String> {
    let mut args = vec!["-c", CLIENT, host];
    args.extend(specs.iter().map(String::as_str));
    let out = lab.run(ns, "python3", &args);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// hping3 in the client namespace, aimed at the server.
pub fn hping3(lab: &Lab, args: &[&str]) -> Command {
    let mut cmd = lab.cmd(&lab.client, "hping3");
    cmd.arg("-q").args(args).arg(&lab.server_addr);
    cmd
}

/// `count` SYNs to `port` from hping3 in the client namespace, one every
/// `interval_us` microseconds, each from a new source port.
pub fn syn_flood(lab: &Lab, port: u16, count: u32, interval_us: u32) {
    let (port, count, interval) = (
        port.to_string(),
        count.to_string(),
        format!("u{interval_us}"),
    );
    must(&mut hping3(
        lab,
        &["-S", "-p", &port, "-c", &count, "-i", &interval],
    ));
}
