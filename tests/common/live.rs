//! The lab for live-capture tests, on [`NetnsPair`]: a client and a server
//! namespace joined by a veth pair; plus background processes that are killed
//! when dropped, and the reading of tcpdump-style output the tests compare.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::netns::NetnsPair;

pub fn must(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// How long a capture may take to end once asked to.
pub const LIMIT: Duration = Duration::from_secs(15);

/// Two hosts: `client` and `server` are the namespaces, `*_iface` their ends
/// of the veth pair, `*_addr` their IPv4 addresses.
pub struct Lab {
    pub client: String,
    pub server: String,
    pub client_iface: String,
    pub server_iface: String,
    pub client_addr: String,
    pub server_addr: String,
    /// Removes the namespaces (and whatever runs in them) when dropped.
    _pair: NetnsPair,
}

impl Lab {
    pub fn new() -> Lab {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let pair = NetnsPair::new(&format!("l{n}"), 201);
        let lab = Lab {
            client: pair.a.clone(),
            server: pair.b.clone(),
            client_iface: pair.veth_a.clone(),
            server_iface: pair.veth_b.clone(),
            client_addr: format!("10.77.{}.1", pair.net),
            server_addr: pair.ip_b(),
            _pair: pair,
        };
        lab.wait_carrier();
        lab
    }

    /// Wait until both veth ends are running (the carrier comes up a moment
    /// after the second end is set up).
    fn wait_carrier(&self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        for (ns, iface) in [
            (&self.client, &self.client_iface),
            (&self.server, &self.server_iface),
        ] {
            loop {
                let out = must(Command::new("ip").args(["-n", ns, "-br", "link", "show", iface]));
                if String::from_utf8_lossy(&out.stdout).contains(" UP ") {
                    break;
                }
                assert!(Instant::now() < deadline, "{iface} in {ns} did not come up");
                thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// `program` to run inside namespace `ns`.
    pub fn cmd(&self, ns: &str, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns, program]).env("TZ", "UTC");
        c
    }

    /// Run to completion inside `ns`; panics on failure.
    pub fn run(&self, ns: &str, program: &str, args: &[&str]) -> Output {
        must(self.cmd(ns, program).args(args))
    }

    /// synack inside `ns`.
    pub fn synack(&self, ns: &str) -> Command {
        self.cmd(ns, env!("CARGO_BIN_EXE_synack"))
    }

    /// Start `program` (synack or tcpdump) capturing in the server namespace
    /// and wait until it listens. tcpdump always runs in immediate mode: when
    /// interrupted it drops what the kernel still holds, and it is the oracle.
    pub fn capture(&self, program: &str, args: &[&str]) -> Running {
        let mut cmd = if program == "synack" {
            self.synack(&self.server)
        } else {
            let mut c = self.cmd(&self.server, program);
            // Line-buffered, so the test can see what it has printed so far.
            c.args(["--immediate-mode", "-l"]);
            c
        };
        // Both take a large kernel buffer and, unless the test sets one, a
        // short snapshot: in immediate mode libpcap gives every packet a ring
        // slot of the snapshot length, and with the default (256 KiB) the ring
        // holds eight packets, so a busy machine drops packets in one capture
        // and not in the other.
        cmd.args(["-B", "32768"]);
        if !args.contains(&"-s") {
            cmd.args(["-s", "512"]);
        }
        cmd.args(args);
        let running = Running::start(cmd);
        running.wait_listening();
        running
    }

    /// Drop TCP SYNs to `port` on the server after capture saw them (the input
    /// hook runs after packet sockets), so the client's SYNs go unanswered.
    pub fn drop_syns_to(&self, port: u16) {
        let rules = format!(
            "table inet synacktest {{ chain input {{ type filter hook input priority 0; \
             tcp dport {port} tcp flags & (syn|ack) == syn drop; }}; }}"
        );
        self.run(&self.server, "nft", &[&rules]);
    }
}

/// A process in the background, killed if still running when dropped.
pub struct Running {
    child: Child,
    stdout: Option<JoinHandle<String>>,
    /// What the process has written to standard output so far.
    stdout_seen: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    stderr_reader: Option<JoinHandle<()>>,
    listening: Receiver<()>,
}

impl Running {
    /// Start `cmd`, collecting its standard output and error.
    pub fn start(cmd: Command) -> Running {
        Running::spawn(cmd, true)
    }

    /// Start `cmd` with its standard output left to the caller ([`Running::take_stdout`]).
    pub fn start_with_pipe(cmd: Command) -> Running {
        Running::spawn(cmd, false)
    }

    fn spawn(mut cmd: Command, collect_stdout: bool) -> Running {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        let stdout_seen = Arc::new(Mutex::new(String::new()));
        let stdout = if collect_stdout {
            let out = child.stdout.take().unwrap();
            let seen = Arc::clone(&stdout_seen);
            Some(thread::spawn(move || {
                let mut s = String::new();
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    s.push_str(&line);
                    s.push('\n');
                    let mut v = seen.lock().unwrap();
                    v.push_str(&line);
                    v.push('\n');
                }
                s
            }))
        } else {
            None
        };
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, listening) = mpsc::channel();
        let err = child.stderr.take().unwrap();
        let sink = Arc::clone(&stderr);
        let stderr_reader = thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let announced = line.contains("listening on") || line.starts_with("ready");
                {
                    let mut s = sink.lock().unwrap();
                    s.push_str(&line);
                    s.push('\n');
                }
                if announced {
                    let _ = tx.send(());
                }
            }
        });
        Running {
            child,
            stdout,
            stdout_seen,
            stderr,
            stderr_reader: Some(stderr_reader),
            listening,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn take_stdout(&mut self) -> ChildStdout {
        self.child.stdout.take().expect("stdout already taken")
    }

    /// Wait until the process says it is listening (or `ready`).
    pub fn wait_listening(&self) {
        if self
            .listening
            .recv_timeout(Duration::from_secs(10))
            .is_err()
        {
            panic!(
                "no 'listening on' within 10 s; stderr:\n{}",
                self.stderr.lock().unwrap()
            );
        }
    }

    pub fn signal(&self, signal: Signal) {
        kill(Pid::from_raw(self.child.id() as i32), signal).expect("signal the process");
    }

    /// Standard output so far (when collected).
    pub fn stdout_now(&self) -> String {
        self.stdout_seen.lock().unwrap().clone()
    }

    /// Standard error so far.
    pub fn stderr_now(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Wait for the process to end (killing it after `limit`); its status,
    /// standard output and standard error.
    pub fn finish(mut self, limit: Duration) -> (ExitStatus, String, String) {
        let status = wait_limited(&mut self.child, limit);
        let stdout = self
            .stdout
            .take()
            .map(|h| h.join().unwrap())
            .unwrap_or_default();
        if let Some(h) = self.stderr_reader.take() {
            h.join().unwrap();
        }
        let stderr = self.stderr.lock().unwrap().clone();
        (status, stdout, stderr)
    }
}

fn wait_limited(child: &mut Child, limit: Duration) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("wait for child") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let status = child.wait().expect("wait for killed child");
            panic!("process did not end within {limit:?}; killed ({status})");
        }
        thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// One printed packet line with `-tt`: its time stamp and the rest.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    pub time: f64,
    pub text: String,
}

/// The packet lines of `-tt` output (lines starting with an epoch time stamp).
pub fn packet_lines(output: &str) -> Vec<Line> {
    output
        .lines()
        .filter_map(|l| {
            let (time, text) = l.split_once(' ')?;
            let time: f64 = time.parse().ok()?;
            Some(Line {
                time,
                text: text.to_string(),
            })
        })
        .collect()
}

/// The conversation a line belongs to: its two endpoints, in sorted order
/// (`IP a.b.c.d.port > e.f.g.h.port:`); "other" for lines without one.
pub fn conversation(text: &str) -> String {
    let Some(at) = text.find("IP ") else {
        return "other".to_string();
    };
    let mut words = text[at + 3..].split_whitespace();
    match (words.next(), words.next(), words.next()) {
        (Some(a), Some(">"), Some(b)) => {
            let b = b.trim_end_matches(':');
            if a < b {
                format!("{a} {b}")
            } else {
                format!("{b} {a}")
            }
        }
        _ => "other".to_string(),
    }
}

/// Lines grouped by conversation, in order within each. Two captures on the
/// same interface see each conversation's packets in the same order (each
/// packet is caused by the ones before it), but packets of different
/// conversations handled on different CPUs may reach two sockets in different
/// orders, so whole outputs are compared conversation by conversation.
pub fn by_conversation(lines: &[Line]) -> BTreeMap<String, Vec<String>> {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for l in lines {
        map.entry(conversation(&l.text))
            .or_default()
            .push(l.text.clone());
    }
    map
}

/// Assert two captures printed the same packets: the same lines, conversation
/// by conversation, with time stamps at most 50 ms apart.
pub fn assert_same_packets(tcpdump: &[Line], synack: &[Line]) {
    let (want, got) = (by_conversation(tcpdump), by_conversation(synack));
    for (conv, lines) in &want {
        let ours = got.get(conv).cloned().unwrap_or_default();
        if &ours != lines {
            let first = lines
                .iter()
                .zip(&ours)
                .position(|(a, b)| a != b)
                .unwrap_or(lines.len().min(ours.len()));
            panic!(
                "conversation {conv}: tcpdump printed {} lines, synack {}; first difference at line {}:\n  tcpdump: {:?}\n  synack:  {:?}",
                lines.len(),
                ours.len(),
                first + 1,
                lines.get(first),
                ours.get(first)
            );
        }
    }
    let extra: Vec<_> = got.keys().filter(|k| !want.contains_key(*k)).collect();
    assert!(
        extra.is_empty(),
        "synack printed conversations tcpdump did not: {extra:?}"
    );
    let mut mine: Vec<&Line> = synack.iter().collect();
    for t in tcpdump {
        let i = mine
            .iter()
            .position(|s| s.text == t.text && (s.time - t.time).abs() < 0.05)
            .unwrap_or_else(|| panic!("no synack line within 50 ms of tcpdump's {t:?}"));
        mine.remove(i);
    }
}

/// Wait until two running captures have printed the same number of lines and
/// neither has printed more for a while (at most a few seconds): packets still
/// in flight when the traffic ends must reach both before they are stopped,
/// since tcpdump drops what it has not read when it is interrupted.
pub fn wait_until_settled(a: &Running, b: &Running) {
    let deadline = Instant::now() + Duration::from_secs(8);
    let mut last = (usize::MAX, usize::MAX);
    let mut stable_since = Instant::now();
    loop {
        let now = (
            a.stdout_now().lines().count(),
            b.stdout_now().lines().count(),
        );
        if now != last {
            last = now;
            stable_since = Instant::now();
        } else if now.0 == now.1 && stable_since.elapsed() > Duration::from_millis(300) {
            return;
        }
        if Instant::now() > deadline {
            return;
        }
        thread::sleep(Duration::from_millis(25));
    }
}
/// The numbers of tcpdump's closing statistics lines in `stderr`:
/// (captured, received by filter, dropped by kernel).
pub fn statistics(stderr: &str) -> (u64, u64, u64) {
    let find = |what: &str| -> u64 {
        stderr
            .lines()
            .find(|l| l.ends_with(what))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no '{what}' line in:\n{stderr}"))
    };
    (
        find("captured"),
        find("received by filter"),
        find("dropped by kernel"),
    )
}

/// Read lines from a child's standard output until `n` were read.
pub fn read_lines(out: &mut BufReader<ChildStdout>, n: usize) -> Vec<String> {
    let mut lines = Vec::new();
    while lines.len() < n {
        let mut line = String::new();
        if out.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        lines.push(line);
    }
    lines
}
