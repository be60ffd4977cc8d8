//! A deterministic generator of TCP captures for synack's benchmarks and
//! tests: many interleaved connection attempts over IPv4 and IPv6, in a
//! chosen mix of outcomes, written as pcap or pcapng in constant memory.
//!
//! The same configuration and seed always give the same bytes.

mod capture;
mod frame;
mod rng;
mod script;

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{self, Write};

pub use capture::Format;
pub use script::Kind;

use capture::CaptureWriter;
use frame::{Host, Segment};
use rng::Rng;
use script::{ScanProbe, Step};

/// Relative weights of each kind of attempt.
#[derive(Clone, Debug, PartialEq)]
pub struct Mix(pub [f64; 7]);

impl Default for Mix {
    /// A busy server on a bad day: mostly real connections, some refused and
    /// unanswered ones, background scans and a small flood.
    fn default() -> Mix {
        Mix([70.0, 8.0, 5.0, 3.0, 6.0, 2.0, 6.0])
    }
}

impl Mix {
    /// Parse `established=70,refused=10,...`; kinds not named get weight 0.
    pub fn parse(text: &str) -> Result<Mix, String> {
        let mut w = [0.0; 7];
        for part in text.split(',').filter(|p| !p.trim().is_empty()) {
            let (name, value) = part
                .split_once('=')
                .ok_or_else(|| format!("mix entry {part:?} is not NAME=WEIGHT"))?;
            let kind = Kind::ALL
                .iter()
                .find(|k| k.name() == name.trim())
                .ok_or_else(|| {
                    let names: Vec<_> = Kind::ALL.iter().map(|k| k.name()).collect();
                    format!("unknown kind {name:?} (known: {})", names.join(", "))
                })?;
            let v: f64 = value
                .trim()
                .parse()
                .map_err(|_| format!("weight {value:?} of {name} is not a number"))?;
            if !(v >= 0.0 && v.is_finite()) {
                return Err(format!("weight of {name} must be zero or more"));
            }
            w[kind.index()] = v;
        }
        if w.iter().sum::<f64>() <= 0.0 {
            return Err("the mix needs at least one kind with a positive weight".into());
        }
        Ok(Mix(w))
    }

    fn pick(&self, r: &mut Rng) -> Kind {
        let total: f64 = self.0.iter().sum();
        let mut x = r.unit() * total;
        for (k, w) in Kind::ALL.iter().zip(self.0) {
            if x < w {
                return *k;
            }
            x -= w;
        }
        Kind::Established
    }
}

/// What to generate.
#[derive(Clone, Debug)]
pub struct Config {
    /// Stop after this many attempts.
    pub connections: Option<u64>,
    /// Stop starting attempts once the file reaches this many bytes.
    pub target_size: Option<u64>,
    pub mix: Mix,
    /// Fraction of attempts over IPv6.
    pub ipv6_share: f64,
    pub format: Format,
    pub seed: u64,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            connections: Some(10_000),
            target_size: None,
            mix: Mix::default(),
            ipv6_share: 0.2,
            format: Format::Pcap,
            seed: 1,
        }
    }
}

/// What was written.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    pub packets: u64,
    pub bytes: u64,
    /// Attempts started, per kind in [`Kind::ALL`] order.
    pub attempts: [u64; 7],
}

/// The capture's first second: 2023-11-14 22:13:20 UTC.
const START_US: u64 = 1_700_000_000 * 1_000_000;
/// Server ports none of tcpdump's application printers decode, so that
/// tcpdump's whole lines are TCP lines.
const SERVER_PORTS: [u16; 9] = [443, 443, 443, 443, 8443, 993, 5432, 3306, 6443];

fn v4(r: &mut Rng, net: [u8; 3]) -> Host {
    Host::V4([net[0], net[1], net[2], r.range(1, 254) as u8])
}

fn v6(r: &mut Rng, prefix: u16, hosts: u64) -> Host {
    let mut a = [0u8; 16];
    a[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
    a[4..6].copy_from_slice(&prefix.to_be_bytes());
    a[8..].copy_from_slice(&(r.below(hosts) + 1).to_be_bytes());
    Host::V6(a)
}

/// Documentation networks (RFC 5737, RFC 3849): clients in two /24s,
/// sixteen servers, scanners and a flood from anywhere.
fn client(r: &mut Rng, ipv6: bool) -> Host {
    if ipv6 {
        v6(r, 0xc, 1 << 40)
    } else if r.chance(0.5) {
        v4(r, [198, 51, 100])
    } else {
        v4(r, [203, 0, 113])
    }
}

fn server(r: &mut Rng, ipv6: bool) -> Host {
    if ipv6 {
        v6(r, 0x5, 16)
    } else {
        Host::V4([192, 0, 2, r.range(1, 16) as u8])
    }
}

fn spoofed(r: &mut Rng, ipv6: bool) -> Host {
    if ipv6 {
        let mut a = (r.u64() as u128) << 64 | r.u64() as u128;
        a = (a & !(0xffffu128 << 112)) | (0x2a00u128 << 112);
        Host::V6(a.to_be_bytes())
    } else {
        let mut a = r.u32().to_be_bytes();
        // Unicast and not loopback, as a spoofing tool picks them.
        a[0] = (r.range(1, 223) as u8).max(1);
        if a[0] == 127 {
            a[0] = 128;
        }
        Host::V4(a)
    }
}

/// One attempt in flight: its endpoints and the rest of its script.
struct Attempt {
    client: Host,
    server: Host,
    cport: u16,
    sport: u16,
    start: u64,
    server_ttl: u8,
    steps: Vec<Step>,
    next: usize,
}

/// A scanner's state from probe to probe; renewed every so many probes.
struct Scanner {
    source: Host,
    target: Host,
    port: u16,
    probe: ScanProbe,
    probes_left: u32,
}

impl Scanner {
    fn new(r: &mut Rng, kind: Kind, ipv6: bool) -> Scanner {
        Scanner {
            source: client(r, ipv6),
            target: server(r, ipv6),
            port: r.range(32768, 60999) as u16,
            probe: ScanProbe {
                isn: r.u32(),
                window: r.pick(&[1024, 2048, 3072, 4096]),
                ack_field: r.u32() | 1,
            },
            probes_left: if kind == Kind::Nmap { 1000 } else { 300 },
        }
    }
}

/// Write a capture as `cfg` asks to `out` and say what went into it.
pub fn generate<W: Write>(cfg: &Config, out: W) -> io::Result<Summary> {
    let mut r = Rng::new(cfg.seed);
    let mut w = CaptureWriter::new(out, cfg.format)?;
    let mut summary = Summary::default();
    // Payload bytes are slices of one random block: realistic entropy
    // without a random number per byte.
    let noise: Vec<u8> = (0..65536 + 2048).map(|_| r.u32() as u8).collect();
    let mut frame = Vec::with_capacity(2048);
    let mut attempts: Vec<Attempt> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    // (time of the attempt's next packet, order of scheduling, slot)
    let mut due: BinaryHeap<Reverse<(u64, u64, usize)>> = BinaryHeap::new();
    let mut order = 0u64;
    let mut scanners: [Option<Scanner>; 2] = [None, None];
    let mut started = 0u64;
    let mut next_kind = cfg.mix.pick(&mut r);
    let mut next_start = START_US;
    loop {
        let more = cfg.connections.map_or(true, |n| started < n)
            && cfg.target_size.map_or(true, |t| w.bytes < t);
        let next_due = due.peek().map(|Reverse((t, _, _))| *t);
        if more && next_due.map_or(true, |t| next_start <= t) {
            let kind = next_kind;
            let ipv6 = r.chance(cfg.ipv6_share);
            let mss = if ipv6 { 1440 } else { 1460 };
            let slot = free.pop().unwrap_or_else(|| {
                attempts.push(Attempt {
                    client: Host::V4([0; 4]),
                    server: Host::V4([0; 4]),
                    cport: 0,
                    sport: 0,
                    start: 0,
                    server_ttl: 0,
                    steps: Vec::new(),
                    next: 0,
                });
                attempts.len() - 1
            });
            let a = &mut attempts[slot];
            a.start = next_start;
            a.next = 0;
            a.server_ttl = 64 - r.range(4, 20) as u8;
            let mut probe = ScanProbe::default();
            match kind {
                Kind::Nmap | Kind::Hping3 => {
                    let s = &mut scanners[(kind == Kind::Hping3) as usize];
                    if s.as_ref().map_or(true, |s| s.probes_left == 0) {
                        *s = Some(Scanner::new(&mut r, kind, ipv6));
                    }
                    let s = s.as_mut().expect("scanner was just set");
                    s.probes_left -= 1;
                    (a.client, a.server, probe) = (s.source, s.target, s.probe);
                    if kind == Kind::Nmap {
                        a.cport = s.port;
                        a.sport = r.range(1, 1024) as u16;
                    } else {
                        a.cport = s.port;
                        s.port = s.port.wrapping_add(1).max(1024);
                        a.sport = 443;
                    }
                }
                Kind::Flood => {
                    a.client = spoofed(&mut r, ipv6);
                    a.server = if ipv6 {
                        v6(&mut r, 0x5, 1)
                    } else {
                        Host::V4([192, 0, 2, 1])
                    };
                    a.cport = r.range(1024, 65535) as u16;
                    a.sport = 443;
                }
                _ => {
                    a.client = client(&mut r, ipv6);
                    a.server = server(&mut r, ipv6);
                    a.cport = r.range(32768, 60999) as u16;
                    a.sport = r.pick(&SERVER_PORTS);
                }
            }
            script::write(kind, &mut r, mss, &probe, &mut a.steps);
            due.push(Reverse((next_start, order, slot)));
            order += 1;
            started += 1;
            summary.attempts[kind.index()] += 1;
            next_kind = cfg.mix.pick(&mut r);
            next_start += r.exp(next_kind.mean_gap_us()).ceil() as u64;
            continue;
        }
        let Some(Reverse((at, _, slot))) = due.pop() else {
            break;
        };
        let a = &mut attempts[slot];
        let s = a.steps[a.next];
        let (src, dst, sport, dport, ttl) = if s.from_client {
            (a.client, a.server, a.cport, a.sport, 64)
        } else {
            (a.server, a.client, a.sport, a.cport, a.server_ttl)
        };
        let seg = Segment {
            src,
            dst,
            sport,
            dport,
            seq: s.seq,
            ack: s.ack,
            flags: s.flags,
            window: s.window,
            options: s.options,
            ts_val: s.ts_val,
            ts_ecr: s.ts_ecr,
            ttl,
            ip_id: r.u32() as u16,
        };
        let off = r.below(2048) as usize;
        frame::build(&mut frame, &seg, &noise[off..off + s.payload as usize]);
        w.packet(at, &frame)?;
        a.next += 1;
        if a.next < a.steps.len() {
            due.push(Reverse((a.start + a.steps[a.next].at, order, slot)));
            order += 1;
        } else {
            free.push(slot);
        }
    }
    summary.packets = w.packets;
    summary.bytes = w.bytes;
    w.finish()?;
    Ok(summary)
}

/// Parse a size such as `10M`, `1.5G`, `4GiB` or `123456` (bytes; K, M, G
/// and T are powers of 1000, KiB, MiB, GiB and TiB of 1024).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: f64 = number
        .parse()
        .map_err(|_| format!("size {text:?} does not start with a number"))?;
    let scale: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "t" | "tb" => 1e12,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        u => return Err(format!("unknown size unit {u:?} in {text:?}")),
    };
    Ok((n * scale) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix_parses_and_rejects() {
        let m = Mix::parse("established=70, flood=30").unwrap();
        assert_eq!(m.0, [70.0, 0.0, 0.0, 0.0, 0.0, 0.0, 30.0]);
        assert!(Mix::parse("bogus=1").is_err());
        assert!(Mix::parse("refused=-1").is_err());
        assert!(Mix::parse("refused=0").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1.5G"), Ok(1_500_000_000));
        assert_eq!(parse_size("10M"), Ok(10_000_000));
        assert_eq!(parse_size("2KiB"), Ok(2048));
        assert!(parse_size("G").is_err());
    }

    #[test]
    fn same_seed_same_bytes_and_packets_in_time_order() {
        let cfg = Config {
            connections: Some(300),
            ..Config::default()
        };
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let sa = generate(&cfg, &mut a).unwrap();
        generate(&cfg, &mut b).unwrap();
        assert_eq!(a, b);
        assert_eq!(sa.bytes as usize, a.len());
        assert_eq!(sa.attempts.iter().sum::<u64>(), 300);
        let mut at = 24;
        let mut last = 0u64;
        for _ in 0..sa.packets {
            let ts = |o: usize| u32::from_le_bytes(a[o..o + 4].try_into().unwrap()) as u64;
            let t = ts(at) * 1_000_000 + ts(at + 4);
            assert!(t >= last, "time stamps never go back");
            last = t;
            at += 16 + ts(at + 8) as usize;
        }
        assert_eq!(at, a.len());
    }

    #[test]
    fn target_size_is_reached_closely() {
        let cfg = Config {
            connections: None,
            target_size: Some(2_000_000),
            format: Format::Pcapng,
            ..Config::default()
        };
        let s = generate(&cfg, io::sink()).unwrap();
        assert!(s.bytes >= 2_000_000 && s.bytes < 6_000_000, "{}", s.bytes);
    }
}
