//! synack print against tcpdump on captures from `synack-gen`: every kind of
//! attempt, IPv4 and IPv6, pcap and pcapng, whole output compared byte for byte.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{generated_capture, synack};
use synack_gen::Format;

fn write_capture(name: &str, format: Format, seed: u64) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("synack-gen-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    generated_capture(
        &path,
        3000,
        "established=50,refused=10,unanswered=10,half_open=10,nmap=10,hping3=5,flood=5",
        format,
        seed,
    );
    path
}

fn same_as_tcpdump(path: &Path, flags: &[&str]) {
    let p = path.to_string_lossy();
    let tcpdump = Command::new("tcpdump")
        .args(flags)
        .args(["-r", &p])
        .env("TZ", "UTC")
        .output()
        .expect("tcpdump is installed (see README)");
    assert!(
        tcpdump.status.success(),
        "tcpdump {flags:?} failed on {p}: {}",
        String::from_utf8_lossy(&tcpdump.stderr)
    );
    let ours = synack().args(flags).args(["-r", &p]).output().unwrap();
    assert!(ours.status.success(), "synack {flags:?} failed on {p}");
    assert!(!tcpdump.stdout.is_empty());
    if ours.stdout != tcpdump.stdout {
        let (a, b) = (
            String::from_utf8_lossy(&tcpdump.stdout),
            String::from_utf8_lossy(&ours.stdout),
        );
        let first = a
            .lines()
            .zip(b.lines())
            .position(|(x, y)| x != y)
            .unwrap_or(a.lines().count().min(b.lines().count()));
        panic!(
            "{flags:?} on {p}: outputs differ from line {}:\n  tcpdump: {:?}\n  synack:  {:?}",
            first + 1,
            a.lines().nth(first),
            b.lines().nth(first)
        );
    }
    assert_eq!(
        ours.stderr, tcpdump.stderr,
        "{flags:?}: the reading-from line"
    );
}

#[test]
fn generated_captures_print_exactly_as_tcpdump_prints_them() {
    for (name, format, seed) in [
        ("mix.pcap", Format::Pcap, 11),
        ("mix.pcapng", Format::Pcapng, 12),
    ] {
        let path = write_capture(name, format, seed);
        for flags in [
            &["-n", "-S", "-t"][..],
            &["-n"],
            &["-n", "-S", "-t", "-v"],
            &["-n", "-S", "-t", "-e"],
            &["-n", "-ttt"],
        ] {
            same_as_tcpdump(&path, flags);
        }
        std::fs::remove_file(&path).ok();
        if let Some(dir) = path.parent() {
            std::fs::remove_dir(dir).ok();
        }
    }
}
