//! Two network namespaces joined by a veth pair, for tests that make real
//! kernel traffic. Names carry the process id and a tag so that parallel tests
//! never collide; everything is removed when the guard is dropped.

use std::process::{Child, Command, Output, Stdio};

pub struct NetnsPair {
    pub a: String,
    pub b: String,
    pub veth_a: String,
    pub veth_b: String,
    /// Third octet of 10.77.N.0/24 and of the VLAN and IPv6 prefixes.
    pub net: u8,
}

pub fn sh(cmd: &str) -> Output {
    Command::new("sh").arg("-c").arg(cmd).output().expect("sh")
}

fn must(cmd: &str) {
    let out = sh(cmd);
    assert!(
        out.status.success(),
        "`{cmd}` failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl NetnsPair {
    /// Namespaces `sa<pid><tag>` and `sb<pid><tag>`; veth with IPv4 10.77.N.1/.2
    /// and IPv6 fd77:N::1/::2.
    pub fn new(tag: &str, net: u8) -> NetnsPair {
        assert!(
            running_as_root(),
            "network namespace tests need root (CI runs as root)"
        );
        let pid = std::process::id() % 100_000;
        let pair = NetnsPair {
            a: format!("sa{pid}{tag}"),
            b: format!("sb{pid}{tag}"),
            veth_a: format!("va{pid}{tag}"),
            veth_b: format!("vb{pid}{tag}"),
            net,
        };
        let (a, b, va, vb, n) = (&pair.a, &pair.b, &pair.veth_a, &pair.veth_b, net);
        must(&format!("ip netns add {a} && ip netns add {b}"));
        must(&format!(
            "ip link add {va} netns {a} type veth peer name {vb} netns {b}"
        ));
        for (ns, dev, host) in [(a, va, 1), (b, vb, 2)] {
            must(&format!(
                "ip -n {ns} link set lo up && ip -n {ns} link set {dev} up && \
                 ip -n {ns} addr add 10.77.{n}.{host}/24 dev {dev} && \
                 ip -n {ns} addr add fd77:{n}::{host}/64 dev {dev} nodad"
            ));
        }
        pair
    }

    pub fn ip_b(&self) -> String {
        format!("10.77.{}.2", self.net)
    }
    pub fn ip6_b(&self) -> String {
        format!("fd77:{}::2", self.net)
    }

    /// Run a shell command inside namespace `ns`.
    pub fn exec(&self, ns: &str, cmd: &str) -> Output {
        sh(&format!(
            "ip netns exec {ns} sh -c '{}'",
            cmd.replace('\'', "'\\''")
        ))
    }

    /// Start a shell command inside namespace `ns` in the background.
    pub fn spawn(&self, ns: &str, cmd: &str) -> Child {
        Command::new("ip")
            .args(["netns", "exec", ns, "sh", "-c", cmd])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn in namespace")
    }
}

impl Drop for NetnsPair {
    fn drop(&mut self) {
        let _ = sh(&format!(
            "ip netns pids {a} | xargs -r kill; ip netns pids {b} | xargs -r kill; \
             ip netns del {a}; ip netns del {b}",
            a = self.a,
            b = self.b
        ));
    }
}

fn running_as_root() -> bool {
    sh("id -u").stdout.starts_with(b"0")
}
