//! Network namespaces for tests that make their own traffic: a client and a
//! server namespace joined by a veth pair (optionally through a router
//! namespace), packet captures with tcpdump, and clean-up on drop, even when
//! a test fails. Names carry the process id so parallel runs never collide;
//! traffic stays between these namespaces.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

static NEXT: AtomicU32 = AtomicU32::new(0);

pub fn require_root() {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(
        euid, 0,
        "these tests build network namespaces and need root (CI runs as root)"
    );
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("ip");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One namespace.
pub struct Ns {
    pub name: String,
}

impl Ns {
    pub fn cmd(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }

    /// Run to completion; panic on failure.
    pub fn run(&self, program: &str, args: &[&str]) -> Output {
        let out = self.cmd(program).args(args).output().expect(program);
        assert!(
            out.status.success(),
            "{program} {} in {}: {}{}",
            args.join(" "),
            self.name,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Run and return the output whatever the exit status.
    pub fn try_run(&self, program: &str, args: &[&str]) -> Output {
        self.cmd(program).args(args).output().expect(program)
    }

    pub fn sysctl(&self, key: &str, value: &str) {
        self.run("sysctl", &["-qw", &format!("{key}={value}")]);
    }

    /// Load an nftables ruleset (`nft -f -`).
    pub fn nft(&self, ruleset: &str) {
        use std::io::Write;
        let mut c = self
            .cmd("nft")
            .args(["-f", "-"])
            .stdin(Stdio::piped())
            .spawn()
            .expect("nft");
        c.stdin
            .take()
            .unwrap()
            .write_all(ruleset.as_bytes())
            .unwrap();
        assert!(c.wait().unwrap().success(), "nft: {ruleset}");
    }

    pub fn nft_flush(&self) {
        self.run("nft", &["flush", "ruleset"]);
    }

    /// Start a python3 program; wait for it to print `ready`.
    pub fn python(&self, program: &str, args: &[&str], procs: &mut Procs) -> u32 {
        let mut child = self
            .cmd("python3")
            .arg("-c")
            .arg(program)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready", "python3 server did not start");
        let pid = child.id();
        procs.0.push(child);
        pid
    }
}

/// Children to stop at the end (by their own pids).
#[derive(Default)]
pub struct Procs(Vec<Child>);

impl Drop for Procs {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Namespaces and links, removed on drop.
pub struct Lab {
    pub client: Ns,
    pub server: Ns,
    pub router: Option<Ns>,
    /// Interface names inside client and server.
    pub client_if: String,
    pub server_if: String,
    pub client_addr: String,
    pub server_addr: String,
    pub dir: PathBuf,
    pub procs: Procs,
}

impl Lab {
    fn names() -> (u32, String) {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        (n, format!("{}x{n}", std::process::id()))
    }

    fn ns(name: String) -> Ns {
        ip(&["netns", "add", &name]);
        let ns = Ns { name };
        ns.run("ip", &["link", "set", "lo", "up"]);
        ns
    }

    fn new_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("synack-netns-{tag}"));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Client and server on one veth pair: 10.200.N.1 and 10.200.N.2.
    pub fn pair() -> Lab {
        require_root();
        let (n, tag) = Self::names();
        let net = n % 250;
        let client = Self::ns(format!("sktrc{tag}"));
        let server = Self::ns(format!("sktrs{tag}"));
        let (ci, si) = (format!("tc{tag}"), format!("ts{tag}"));
        let mut lab = Lab {
            client,
            server,
            router: None,
            client_if: ci.clone(),
            server_if: si.clone(),
            client_addr: format!("10.200.{net}.1"),
            server_addr: format!("10.200.{net}.2"),
            dir: Self::new_dir(&tag),
            procs: Procs::default(),
        };
        ip(&[
            "link",
            "add",
            &ci,
            "netns",
            &lab.client.name,
            "type",
            "veth",
            "peer",
            "name",
            &si,
            "netns",
            &lab.server.name,
        ]);
        lab.client.run(
            "ip",
            &[
                "addr",
                "add",
                &format!("{}/24", lab.client_addr),
                "dev",
                &ci,
            ],
        );
        lab.server.run(
            "ip",
            &[
                "addr",
                "add",
                &format!("{}/24", lab.server_addr),
                "dev",
                &si,
            ],
        );
        lab.client.run("ip", &["link", "set", &ci, "up"]);
        lab.server.run("ip", &["link", "set", &si, "up"]);
        lab.procs = Procs::default();
        lab
    }

    /// Client — router — server: 10.201.N.1 | .254 and 10.202.N.254 | .2.
    pub fn routed() -> Lab {
        require_root();
        let (n, tag) = Self::names();
        let net = n % 250;
        let client = Self::ns(format!("sktrc{tag}"));
        let server = Self::ns(format!("sktrs{tag}"));
        let router = Self::ns(format!("sktrr{tag}"));
        let (ci, cr, sr, si) = (
            format!("tc{tag}"),
            format!("rc{tag}"),
            format!("rs{tag}"),
            format!("ts{tag}"),
        );
        ip(&[
            "link",
            "add",
            &ci,
            "netns",
            &client.name,
            "type",
            "veth",
            "peer",
            "name",
            &cr,
            "netns",
            &router.name,
        ]);
        ip(&[
            "link",
            "add",
            &si,
            "netns",
            &server.name,
            "type",
            "veth",
            "peer",
            "name",
            &sr,
            "netns",
            &router.name,
        ]);
        let (ca, sa) = (format!("10.201.{net}.1"), format!("10.202.{net}.2"));
        client.run("ip", &["addr", "add", &format!("{ca}/24"), "dev", &ci]);
        router.run(
            "ip",
            &["addr", "add", &format!("10.201.{net}.254/24"), "dev", &cr],
        );
        router.run(
            "ip",
            &["addr", "add", &format!("10.202.{net}.254/24"), "dev", &sr],
        );
        server.run("ip", &["addr", "add", &format!("{sa}/24"), "dev", &si]);
        for (ns, dev) in [
            (&client, &ci),
            (&router, &cr),
            (&router, &sr),
            (&server, &si),
        ] {
            ns.run("ip", &["link", "set", dev, "up"]);
        }
        client.run(
            "ip",
            &[
                "route",
                "add",
                "default",
                "via",
                &format!("10.201.{net}.254"),
            ],
        );
        server.run(
            "ip",
            &[
                "route",
                "add",
                "default",
                "via",
                &format!("10.202.{net}.254"),
            ],
        );
        router.sysctl("net.ipv4.ip_forward", "1");
        Lab {
            client,
            server,
            router: Some(router),
            client_if: ci,
            server_if: si,
            client_addr: ca,
            server_addr: sa,
            dir: Self::new_dir(&tag),
            procs: Procs::default(),
        }
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Start tcpdump on the client's (or the server's) interface.
    pub fn capture(&mut self, at_server: bool, name: &str) -> Capture {
        let (ns, dev) = if at_server {
            (&self.server, &self.server_if)
        } else {
            (&self.client, &self.client_if)
        };
        let path = self.file(name);
        let mut child = ns
            .cmd("tcpdump")
            // Immediate mode: without it packets wait in the kernel's ring
            // buffer for up to a second, and a short test stops tcpdump first.
            .args(["-n", "-U", "--immediate-mode", "-s", "0", "-i", dev, "-w"])
            .arg(&path)
            .arg("tcp")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("tcpdump");
        // tcpdump says "listening on ..." once its socket is open.
        let mut line = String::new();
        let mut err = BufReader::new(child.stderr.take().unwrap());
        err.read_line(&mut line).unwrap();
        assert!(line.contains("listening"), "tcpdump: {line}");
        // Keep reading, so that tcpdump never writes into a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
        Capture {
            child: Some(child),
            path,
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.procs.0.iter_mut().for_each(|c| {
            let _ = c.kill();
            let _ = c.wait();
        });
        for ns in [Some(&self.client), Some(&self.server), self.router.as_ref()]
            .into_iter()
            .flatten()
        {
            let _ = Command::new("ip").args(["netns", "del", &ns.name]).output();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub struct Capture {
    child: Option<Child>,
    pub path: PathBuf,
}

impl Capture {
    /// Let the last packets reach the file, stop tcpdump, return the file.
    pub fn stop(mut self) -> PathBuf {
        std::thread::sleep(Duration::from_millis(300));
        if let Some(mut c) = self.child.take() {
            // SAFETY: kill only sends a signal to our own child's pid.
            unsafe {
                libc::kill(c.id() as i32, libc::SIGTERM);
            }
            let _ = c.wait();
        }
        self.path.clone()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Packets in a capture that match a filter, counted by tcpdump itself.
pub fn tcpdump_count(path: &Path, filter: &str) -> usize {
    let out = Command::new("tcpdump")
        .args(["-n", "-r"])
        .arg(path)
        .arg(filter)
        .output()
        .expect("tcpdump");
    String::from_utf8_lossy(&out.stdout).lines().count()
}

pub fn sleep_ms(ms: u64) {
    std::thread::sleep(Duration::from_millis(ms));
}

/// Wait until `f` holds or the time is up.
pub fn wait_for(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return true;
        }
        sleep_ms(50);
    }
    false
}
