//! Damaged and unusual inputs, one test per case, each file made by the test.
//! tcpdump reads the same input: synack must exit as it does and print the
//! same TCP lines before the damage. Where it fails, it says so in one line
//! that names the file and, for damage inside the file, the byte offset where
//! the test put the damage; it never panics, and runs with its address space
//! capped so that an unbounded allocation fails the test.

mod common;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::pcapng::Ng;
use common::{corpus, tcp_lines};

/// Address space synack may use: far above what a stream reader needs.
const ADDRESS_SPACE_KB: u64 = 1 << 20;

fn dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("synack-malformed-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
    d
}

fn seed_capture() -> Vec<u8> {
    std::fs::read(corpus().join("captures/seed-telnet-handshake.pcap")).unwrap()
}

/// Offsets of the records of a little-endian microsecond pcap, and its end.
fn record_offsets(pcap: &[u8]) -> Vec<usize> {
    let mut offsets = vec![];
    let mut at = 24;
    while at + 16 <= pcap.len() {
        offsets.push(at);
        let caplen = u32::from_le_bytes(pcap[at + 8..at + 12].try_into().unwrap()) as usize;
        at += 16 + caplen;
    }
    offsets.push(at);
    offsets
}

/// `program -n -S -t -r PATH` with standard input closed; for synack through
/// a shell that caps its address space. `user` (a uid, also taken as the
/// gid) runs it as that user.
fn read_with(program: &str, path: &Path, user: Option<&str>) -> Output {
    let mut cmd = match user {
        Some(u) => {
            let mut c = Command::new("setpriv");
            c.args(["--reuid", u, "--regid", u, "--clear-groups", "--"]);
            c
        }
        None => Command::new("sh"),
    };
    if user.is_some() {
        cmd.arg("sh");
    }
    let bin = if program == "synack" {
        env!("CARGO_BIN_EXE_synack")
    } else {
        program
    };
    cmd.arg("-c")
        .arg(format!(
            "ulimit -v {}; exec \"$0\" -n -S -t -r \"$1\"",
            if program == "synack" {
                ADDRESS_SPACE_KB
            } else {
                4 * ADDRESS_SPACE_KB
            }
        ))
        .arg(bin)
        .arg(path)
        .env("TZ", "UTC")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e} (tcpdump must be installed)"))
}

/// synack and tcpdump on `path`: same status, same TCP lines; a failure is
/// one line naming the file (and `offset`, when given). Returns synack's output.
fn same_as_tcpdump(path: &Path, offset: Option<usize>, user: Option<&str>) -> Output {
    let theirs = read_with("tcpdump", path, user);
    let ours = read_with("synack", path, user);
    let err = String::from_utf8_lossy(&ours.stderr);
    assert!(!err.contains("panicked"), "{path:?}: {err}");
    assert_eq!(
        ours.status.code(),
        theirs.status.code(),
        "{path:?}: exit status\nsynack: {err}\ntcpdump: {}",
        String::from_utf8_lossy(&theirs.stderr)
    );
    assert_eq!(
        tcp_lines(&String::from_utf8_lossy(&ours.stdout)),
        tcp_lines(&String::from_utf8_lossy(&theirs.stdout)),
        "{path:?}: the TCP lines before the damage"
    );
    if !ours.status.success() {
        let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("synack:")).collect();
        assert_eq!(lines.len(), 1, "{path:?}: one error line, got:\n{err}");
        assert!(lines[0].contains(path.to_str().unwrap()), "{}", lines[0]);
        if let Some(off) = offset {
            assert!(
                lines[0].ends_with(&format!("(at byte offset {off})")),
                "{path:?}: the damage is at byte {off}: {}",
                lines[0]
            );
        }
    } else {
        assert!(
            offset.is_none(),
            "{path:?}: damage at {offset:?} went unnoticed"
        );
    }
    ours
}

/// Write `bytes` as `name` and compare; returns synack's output. Damage past
/// the file header also gets the lines tcpdump prints for the file cut just
/// before the damage, where it is whole.
fn case(name: &str, bytes: &[u8], offset: Option<usize>) -> Output {
    let path = dir().join(name);
    std::fs::write(&path, bytes).unwrap();
    let out = same_as_tcpdump(&path, offset, None);
    if let Some(at) = offset.filter(|&at| at >= 24) {
        std::fs::write(&path, &bytes[..at]).unwrap();
        let before = read_with("tcpdump", &path, None);
        assert!(before.status.success(), "{name}: whole up to byte {at}");
        assert_eq!(
            tcp_lines(&String::from_utf8_lossy(&out.stdout)),
            tcp_lines(&String::from_utf8_lossy(&before.stdout)),
            "{name}: every packet before byte {at}"
        );
    }
    std::fs::remove_file(&path).unwrap();
    out
}

fn tcp_line_count(out: &Output) -> usize {
    tcp_lines(&String::from_utf8_lossy(&out.stdout)).len()
}

fn set_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

#[test]
fn empty_file() {
    case("empty.pcap", b"", Some(0));
}

#[test]
fn wrong_magic() {
    let mut b = seed_capture();
    b[..4].copy_from_slice(b"GIF8");
    case("wrong-magic.pcap", &b, Some(0));
    case("text.pcap", b"this is not a capture file at all\n", Some(0));
}

#[test]
fn truncated_global_header() {
    let b = seed_capture();
    for cut in [2, 8, 23] {
        case("short-header.pcap", &b[..cut], Some(0));
    }
}

#[test]
fn truncated_record_header() {
    let b = seed_capture();
    let recs = record_offsets(&b);
    for (i, &at) in recs[..recs.len() - 1].iter().enumerate() {
        let out = case("cut-header.pcap", &b[..at + 9], Some(at));
        assert_eq!(tcp_line_count(&out), i, "the packets before record {i}");
    }
}

#[test]
fn record_cut_short() {
    // The lab capture cut at many places: each time the packets before the
    // cut record, then its offset.
    let b = std::fs::read(corpus().join("captures/lab-client.pcap")).unwrap();
    let recs = record_offsets(&b);
    for k in [1usize, 7, recs.len() / 2, recs.len() - 2] {
        let at = recs[k];
        case("cut-record.pcap", &b[..at + 16 + 5], Some(at));
    }
}

#[test]
fn caplen_beyond_snaplen() {
    // libpcap reads such records (up to its own maximum) and cuts them to the snaplen.
    let mut b = seed_capture();
    set_u32(&mut b, 16, 40);
    let out = case("caplen-beyond-snaplen.pcap", &b, None);
    assert_eq!(tcp_line_count(&out), 3);
    // Beyond libpcap's maximum the record is refused.
    let mut b = seed_capture();
    set_u32(&mut b, 16, 0);
    let at = record_offsets(&b)[1];
    set_u32(&mut b, at + 8, 262_145);
    case("caplen-beyond-maximum.pcap", &b, Some(at));
}

#[test]
fn caplen_beyond_original_length() {
    let mut b = seed_capture();
    set_u32(&mut b, 24 + 12, 10);
    let out = case("caplen-beyond-original.pcap", &b, None);
    // tcpdump's `[Invalid header: len(10) < caplen(58)]`, then the other two.
    let path = dir().join("caplen-beyond-original.pcap");
    std::fs::write(&path, &b).unwrap();
    assert_eq!(out.stdout, read_with("tcpdump", &path, None).stdout);
    assert_eq!(tcp_line_count(&out), 2);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn caplen_of_4_gb() {
    let mut b = seed_capture();
    let at = record_offsets(&b)[2];
    set_u32(&mut b, at + 8, 0xffff_fff0);
    let out = case("caplen-4gb.pcap", &b, Some(at));
    assert_eq!(tcp_line_count(&out), 2);
}

#[test]
fn zero_length_records() {
    let b = seed_capture();
    let mut z = b[..24].to_vec();
    for _ in 0..1000 {
        z.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    }
    z.extend_from_slice(&b[24..]);
    let out = case("zero-length.pcap", &z, None);
    assert_eq!(tcp_line_count(&out), 3);
}

#[test]
fn unknown_link_type() {
    let mut b = seed_capture();
    set_u32(&mut b, 20, 9999);
    case("unknown-link-type.pcap", &b, None);
}

/// The seed's three Ethernet frames.
fn seed_frames() -> Vec<Vec<u8>> {
    let b = seed_capture();
    let recs = record_offsets(&b);
    recs.windows(2)
        .map(|w| b[w[0] + 16..w[1]].to_vec())
        .collect()
}

/// A pcapng section with one Ethernet interface and the seed's first frame.
fn one_packet_section() -> Ng {
    let mut ng = Ng::new(false);
    ng.section();
    ng.interface(1, None);
    ng.enhanced(0, 1_000_000, &seed_frames()[0]);
    ng
}

#[test]
fn pcapng_bad_block_lengths() {
    let good = one_packet_section().out;
    let at = good.len();
    for (name, total, body) in [
        ("not-a-multiple-of-4", 13u32, 9usize),
        ("below-12", 8, 0),
        ("4-gb", 0xffff_fffc, 64),
    ] {
        let mut b = good.clone();
        b.extend_from_slice(&6u32.to_le_bytes());
        b.extend_from_slice(&total.to_le_bytes());
        b.extend_from_slice(&vec![0u8; body]);
        let out = case(&format!("block-{name}.pcapng"), &b, Some(at));
        assert_eq!(tcp_line_count(&out), 1, "{name}");
    }
    // The trailer disagrees with the header.
    let mut ng = one_packet_section();
    ng.enhanced(0, 2_000_000, &seed_frames()[1]);
    let mut b = ng.out;
    let n = b.len();
    b[n - 4] ^= 4;
    let out = case("block-trailer.pcapng", &b, Some(at));
    assert_eq!(tcp_line_count(&out), 1);
}

#[test]
fn pcapng_missing_section_header() {
    let good = one_packet_section().out;
    let shb_len = u32::from_le_bytes(good[4..8].try_into().unwrap()) as usize;
    case("no-shb.pcapng", &good[shb_len..], Some(0));
}

#[test]
fn pcapng_unknown_link_type() {
    let mut ng = Ng::new(false);
    ng.section();
    ng.interface(60_000, None);
    ng.enhanced(0, 1, &seed_frames()[0]);
    case("unknown-link-type.pcapng", &ng.out, None);
}

#[test]
fn pcapng_interface_id_out_of_range() {
    let mut ng = one_packet_section();
    let at = ng.out.len();
    ng.enhanced(7, 2, &seed_frames()[1]);
    let out = case("no-such-interface.pcapng", &ng.out, Some(at));
    assert_eq!(tcp_line_count(&out), 1);
}

#[test]
fn pcapng_interface_option_beyond_its_block() {
    // The seed's packets, then a second interface whose option claims 64 KiB.
    let mut ng = one_packet_section();
    let at = ng.out.len();
    let mut body = vec![1, 0, 0, 0, 0xff, 0xff, 0, 0];
    body.extend_from_slice(&[2, 0, 0xff, 0xff]);
    ng.block(1, &body);
    let out = case("option-beyond-block.pcapng", &ng.out, Some(at));
    assert_eq!(tcp_line_count(&out), 1);
}

#[test]
fn pcapng_packet_data_beyond_its_block() {
    let mut ng = one_packet_section();
    let at = ng.out.len();
    ng.enhanced(0, 2, &seed_frames()[1]);
    // The captured length field of the second packet block, 4000.
    set_u32(&mut ng.out, at + 8 + 12, 4000);
    let out = case("data-beyond-block.pcapng", &ng.out, Some(at));
    assert_eq!(tcp_line_count(&out), 1);
}

#[test]
fn a_missing_file() {
    same_as_tcpdump(&dir().join("no-such-file.pcap"), None, None);
}

#[test]
fn a_directory() {
    let out = same_as_tcpdump(&dir(), None, None);
    assert!(String::from_utf8_lossy(&out.stderr).contains("directory"));
}

#[test]
fn an_unreadable_file() {
    let path = dir().join("unreadable.pcap");
    std::fs::write(&path, seed_capture()).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
    // Root reads any file: read as nobody when the test runs as root.
    let user = (nix::unistd::geteuid().is_root()).then_some("65534");
    let out = same_as_tcpdump(&path, None, user);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Permission denied"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_file(&path).unwrap();
}

/// Write `bytes` into a FIFO for each reader in turn; their outputs.
fn through_fifo(name: &str, bytes: &[u8]) -> (Output, Output) {
    let path = dir().join(name);
    let _ = std::fs::remove_file(&path);
    let status = Command::new("mkfifo").arg(&path).status().unwrap();
    assert!(status.success());
    let mut outs = Vec::new();
    for program in ["tcpdump", "synack"] {
        let writer = {
            let (path, bytes) = (path.clone(), bytes.to_vec());
            std::thread::spawn(move || {
                let mut f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
                // The reader may stop early (damage): a broken pipe is fine.
                let _ = f.write_all(&bytes);
            })
        };
        outs.push(read_with(program, &path, None));
        writer.join().unwrap();
    }
    std::fs::remove_file(&path).unwrap();
    let synack = outs.pop().unwrap();
    (outs.pop().unwrap(), synack)
}

#[test]
fn a_fifo() {
    let whole = std::fs::read(corpus().join("captures/lab-client.pcap")).unwrap();
    let recs = record_offsets(&whole);
    let cut_at = recs[recs.len() / 2];
    let (theirs, ours) = through_fifo("capture.fifo", &whole);
    assert!(ours.status.success() && theirs.status.success());
    let all = tcp_lines(&String::from_utf8_lossy(&ours.stdout));
    assert_eq!(all, tcp_lines(&String::from_utf8_lossy(&theirs.stdout)));
    // Cut inside a record: the lines before it, then its offset.
    let (theirs, ours) = through_fifo("capture.fifo", &whole[..cut_at + 20]);
    assert_eq!(ours.status.code(), Some(1));
    assert_eq!(theirs.status.code(), Some(1));
    let before = tcp_lines(&String::from_utf8_lossy(&ours.stdout));
    assert_eq!(before, tcp_lines(&String::from_utf8_lossy(&theirs.stdout)));
    assert!(!before.is_empty() && before.len() < all.len());
    let err = String::from_utf8_lossy(&ours.stderr);
    assert!(err.contains(&format!("(at byte offset {cut_at})")), "{err}");
}

#[test]
fn a_file_that_grows_while_read() {
    // A writer appends the lab capture in pieces that end inside records,
    // pausing between them, while synack reads. synack must end (at the end
    // of what it found, or with the offset of a record it found cut), never
    // hang, and print a prefix of what tcpdump prints for the whole file.
    let whole = std::fs::read(corpus().join("captures/lab-client.pcap")).unwrap();
    let path = dir().join("growing.pcap");
    std::fs::write(&path, &whole[..24 + 100]).unwrap();
    let writer = {
        let (path, whole) = (path.clone(), whole.clone());
        std::thread::spawn(move || {
            let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
            for piece in whole[124..].chunks(777) {
                f.write_all(piece).unwrap();
                f.flush().unwrap();
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    };
    let started = Instant::now();
    let ours = read_with("synack", &path, None);
    assert!(started.elapsed() < Duration::from_secs(30), "no hang");
    writer.join().unwrap();
    let err = String::from_utf8_lossy(&ours.stderr);
    assert!(!err.contains("panicked"), "{err}");
    let theirs = read_with("tcpdump", &path, None);
    assert!(theirs.status.success());
    let all = tcp_lines(&String::from_utf8_lossy(&theirs.stdout));
    let got = tcp_lines(&String::from_utf8_lossy(&ours.stdout));
    assert!(got.len() <= all.len());
    assert_eq!(
        got[..],
        all[..got.len()],
        "a prefix of the whole file's lines"
    );
    match ours.status.code() {
        Some(0) => {}
        Some(1) => {
            let recs = record_offsets(&whole);
            let line = err.lines().find(|l| l.starts_with("synack:")).unwrap();
            let at: usize = line
                .rsplit("byte offset ")
                .next()
                .and_then(|s| s.trim_end_matches(')').parse().ok())
                .unwrap_or_else(|| panic!("an offset in {line}"));
            assert!(recs.contains(&at), "{at} is where a record starts");
            // Exactly the packets of the records before that one.
            let before = dir().join("growing-before.pcap");
            std::fs::write(&before, &whole[..at]).unwrap();
            let theirs = read_with("tcpdump", &before, None);
            assert_eq!(got, tcp_lines(&String::from_utf8_lossy(&theirs.stdout)));
            std::fs::remove_file(&before).unwrap();
        }
        other => panic!("exit status {other:?}: {err}"),
    }
    std::fs::remove_file(&path).unwrap();
}
