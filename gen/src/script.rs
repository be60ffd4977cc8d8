//! What each kind of connection attempt puts on the wire: a script of
//! segments with times relative to the attempt's first packet.
//!
//! The capture point is next to the client (the SYN to SYN-ACK gap is the
//! path's round trip), and the stacks behave as Linux 6.x does: SYN retries
//! about one second apart, SYN-ACK retransmissions backing off 1 s, 2 s, 4 s,
//! millisecond TCP time stamps, initial window of ten segments.

use synack::wire::tcp::{ACK, FIN, PSH, RST, SYN};

use crate::frame::Options;
use crate::rng::Rng;

/// The kinds of attempt a capture mixes, each with the verdict a tracker
/// should give it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Handshake, request, response, FIN close.
    Established,
    /// SYN answered by RST+ACK.
    Refused,
    /// SYN and its retries, never answered.
    Unanswered,
    /// SYN-ACK retransmitted, never acknowledged.
    HalfOpen,
    /// One `nmap -sS` probe: window 1024-4096, mss only, one ISN and source
    /// port per scan.
    Nmap,
    /// One `hping3 -S` probe: window 512, no options, non-zero ack field,
    /// source port counting up.
    Hping3,
    /// One SYN of a flood from a random source address and port.
    Flood,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::Established,
        Kind::Refused,
        Kind::Unanswered,
        Kind::HalfOpen,
        Kind::Nmap,
        Kind::Hping3,
        Kind::Flood,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Established => "established",
            Kind::Refused => "refused",
            Kind::Unanswered => "unanswered",
            Kind::HalfOpen => "half_open",
            Kind::Nmap => "nmap",
            Kind::Hping3 => "hping3",
            Kind::Flood => "flood",
        }
    }

    pub fn index(self) -> usize {
        Kind::ALL.iter().position(|k| *k == self).unwrap_or(0)
    }

    /// Mean gap before an attempt of this kind starts, in microseconds:
    /// tools fire probes much faster than clients open connections.
    pub fn mean_gap_us(self) -> f64 {
        match self {
            Kind::Flood => 20.0,
            Kind::Nmap => 300.0,
            Kind::Hping3 => 1000.0,
            _ => 2000.0,
        }
    }
}

/// One segment of a script.
#[derive(Clone, Copy, Debug)]
pub struct Step {
    /// Microseconds after the attempt's first packet.
    pub at: u64,
    pub from_client: bool,
    pub flags: u8,
    pub seq: u32,
    pub ack: u32,
    pub window: u16,
    pub options: Options,
    pub ts_val: u32,
    pub ts_ecr: u32,
    pub payload: u32,
}

/// A side's TCP time stamp clock: Linux ticks once a millisecond.
#[derive(Clone, Copy)]
struct TsClock(u32);

impl TsClock {
    fn at(self, us: u64) -> u32 {
        self.0.wrapping_add((us / 1000) as u32)
    }
}

const LINUX_SYN_WINDOW: u16 = 64240;
const LINUX_SYNACK_WINDOW: u16 = 65160;
const LINUX_WSCALE: u8 = 7;
/// Segments of a response that Linux acknowledges one by one.
const QUICK_ACKS: u64 = 16;
/// Microseconds between a received segment and the ACK Linux sends back.
const ACK_DELAY: u64 = 30;

fn step(at: u64, from_client: bool, flags: u8, seq: u32, ack: u32, window: u16) -> Step {
    Step {
        at,
        from_client,
        flags,
        seq,
        ack,
        window,
        options: Options::None,
        ts_val: 0,
        ts_ecr: 0,
        payload: 0,
    }
}

/// Write the script of one attempt of `kind` into `steps` (cleared first).
/// `scan` carries the state a scanner keeps from probe to probe.
pub fn write(kind: Kind, r: &mut Rng, mss: u16, scan: &ScanProbe, steps: &mut Vec<Step>) {
    steps.clear();
    let rtt = r.range(200, 60_000);
    match kind {
        Kind::Established => established(r, mss, rtt, steps),
        Kind::Refused | Kind::Unanswered | Kind::HalfOpen => {
            let x = r.u32();
            let (c, s) = (TsClock(r.u32()), TsClock(r.u32()));
            let syn = |at: u64| Step {
                options: Options::Handshake {
                    mss,
                    wscale: LINUX_WSCALE,
                },
                ts_val: c.at(at),
                ..step(at, true, SYN, x, 0, LINUX_SYN_WINDOW)
            };
            steps.push(syn(0));
            match kind {
                Kind::Refused => steps.push(step(rtt, false, RST | ACK, 0, x.wrapping_add(1), 0)),
                Kind::Unanswered => {
                    // Linux 6.x: the first retries linearly, then doubling.
                    let mut at = 0;
                    for retry in 1..=r.range(1, 6) {
                        at += if retry <= 4 { 1_000_000 } else { 2_000_000 } + r.range(0, 5000);
                        steps.push(syn(at));
                    }
                }
                _ => {
                    let y = r.u32();
                    let mut at = rtt;
                    let mut backoff = 1_000_000;
                    for _ in 0..=r.range(1, 5) {
                        steps.push(Step {
                            options: Options::Handshake {
                                mss,
                                wscale: LINUX_WSCALE,
                            },
                            ts_val: s.at(at),
                            ts_ecr: c.at(0),
                            ..step(
                                at,
                                false,
                                SYN | ACK,
                                y,
                                x.wrapping_add(1),
                                LINUX_SYNACK_WINDOW,
                            )
                        });
                        at += backoff;
                        backoff *= 2;
                    }
                }
            }
        }
        Kind::Nmap | Kind::Hping3 | Kind::Flood => probe(kind, r, rtt, scan, steps),
    }
}

/// What a scanner keeps between probes (nmap: one ISN and source port per
/// scan; hping3: a base source port counting up).
#[derive(Clone, Copy, Debug, Default)]
pub struct ScanProbe {
    pub isn: u32,
    pub window: u16,
    pub ack_field: u32,
}

fn probe(kind: Kind, r: &mut Rng, rtt: u64, scan: &ScanProbe, steps: &mut Vec<Step>) {
    let (x, mut syn) = match kind {
        Kind::Nmap => (
            scan.isn,
            Step {
                options: Options::MssOnly(1460),
                ..step(0, true, SYN, scan.isn, 0, scan.window)
            },
        ),
        Kind::Hping3 => {
            let x = r.u32();
            (x, step(0, true, SYN, x, scan.ack_field, 512))
        }
        _ => {
            let x = r.u32();
            let window = r.pick(&[512, 512, 1024, 5840, 64240, 65535]);
            (x, step(0, true, SYN, x, 0, window))
        }
    };
    if kind == Kind::Flood && syn.window != 512 {
        syn.options = Options::MssOnly(r.pick(&[536, 1380, 1460]));
    }
    steps.push(syn);
    let answer = r.unit();
    match kind {
        // Closed port, open port (the scanner's kernel resets), filtered.
        Kind::Nmap | Kind::Hping3 if answer < 0.8 => {
            steps.push(step(rtt, false, RST | ACK, 0, x.wrapping_add(1), 0))
        }
        Kind::Nmap | Kind::Hping3 if answer < 0.95 => {
            let y = r.u32();
            steps.push(Step {
                options: Options::MssOnly(1460),
                ..step(rtt, false, SYN | ACK, y, x.wrapping_add(1), 64240)
            });
            steps.push(step(rtt + ACK_DELAY, true, RST, x.wrapping_add(1), 0, 0));
        }
        // A flooded server answers some SYNs with cookie SYN-ACKs (mss only).
        Kind::Flood if answer < 0.25 => {
            let y = r.u32();
            steps.push(Step {
                options: Options::MssOnly(1460),
                ..step(rtt.min(2000), false, SYN | ACK, y, x.wrapping_add(1), 64240)
            });
        }
        _ => {}
    }
}

/// Response sizes: mostly small, with a long tail of bulk transfers.
fn response_bytes(r: &mut Rng) -> u64 {
    let p = r.unit();
    if p < 0.8 {
        r.range(50, 700)
    } else if p < 0.98 {
        r.range(700, 8000)
    } else if p < 0.999 {
        r.range(8000, 48_000)
    } else {
        r.range(48_000, 512_000)
    }
}

fn established(r: &mut Rng, mss: u16, rtt: u64, steps: &mut Vec<Step>) {
    let (x, y) = (r.u32(), r.u32());
    let (c, s) = (TsClock(r.u32()), TsClock(r.u32()));
    let (cwin, swin) = (502, 509);
    let hs = Options::Handshake {
        mss,
        wscale: LINUX_WSCALE,
    };
    steps.push(Step {
        options: hs,
        ts_val: c.at(0),
        ..step(0, true, SYN, x, 0, LINUX_SYN_WINDOW)
    });
    let mut cseq = x.wrapping_add(1);
    let mut sseq = y.wrapping_add(1);
    steps.push(Step {
        options: hs,
        ts_val: s.at(rtt),
        ts_ecr: c.at(0),
        ..step(rtt, false, SYN | ACK, y, cseq, LINUX_SYNACK_WINDOW)
    });
    // Client and server segments with time stamps; the echo is the other
    // side's clock half a round trip ago, close to what it last saw.
    let seg = |at: u64, client: bool, flags: u8, seq: u32, ack: u32, payload: u32| Step {
        options: Options::Timestamps,
        ts_val: if client { c.at(at) } else { s.at(at) },
        ts_ecr: if client {
            s.at(at.saturating_sub(rtt / 2))
        } else {
            c.at(at.saturating_sub(rtt / 2))
        },
        payload,
        ..step(
            at,
            client,
            flags,
            seq,
            ack,
            if client { cwin } else { swin },
        )
    };
    let mut at = rtt + ACK_DELAY;
    steps.push(Step {
        ts_ecr: s.at(rtt),
        ..seg(at, true, ACK, cseq, sseq, 0)
    });
    // A few request/response exchanges on the kept-alive connection; each
    // response goes out in rounds of a doubling congestion window, and the
    // client acknowledges each segment as it arrives (Linux's quick-ack mode
    // at the start of a connection), then every second one.
    let payload_max = mss as u64 - 12;
    let mut last = at;
    for _ in 0..r.range(1, 6) {
        at = last + r.range(5, 300);
        let request = r.range(40, 600) as u32;
        steps.push(seg(at, true, PSH | ACK, cseq, sseq, request));
        cseq = cseq.wrapping_add(request);
        let think = r.range(20, 60_000);
        if think > 40_000 {
            // Linux's delayed ACK fires before the answer is ready.
            steps.push(seg(at + rtt + 40_000, false, ACK, sseq, cseq, 0));
        }
        let mut left = response_bytes(r);
        let mut round_start = at + rtt + think;
        let mut cwnd = 10;
        let mut sent = 0u64;
        while left > 0 {
            let mut t = round_start;
            for _ in 0..cwnd {
                if left == 0 {
                    break;
                }
                let len = left.min(payload_max);
                left -= len;
                let flags = if left == 0 { PSH | ACK } else { ACK };
                steps.push(seg(t, false, flags, sseq, cseq, len as u32));
                sseq = sseq.wrapping_add(len as u32);
                sent += 1;
                if sent <= QUICK_ACKS || sent % 2 == 0 || left == 0 {
                    steps.push(seg(t + ACK_DELAY, true, ACK, cseq, sseq, 0));
                }
                last = t + ACK_DELAY;
                // Serialisation of a full-size frame at 1 Gbit/s.
                t += 12;
            }
            round_start += rtt;
            cwnd = (cwnd * 2).min(256);
        }
    }
    // Either side closes first; the other answers with its own FIN.
    let close_at = last + r.range(100, 50_000);
    let first = r.chance(0.5);
    let second = !first;
    let (fseq, fack) = if first { (cseq, sseq) } else { (sseq, cseq) };
    steps.push(seg(close_at, first, FIN | ACK, fseq, fack, 0));
    // The answer comes a round trip later when the server answers (seen from
    // the client), at once when the client does.
    let answer_at = close_at + if first { rtt } else { ACK_DELAY * 4 };
    let (aseq, aack) = if second { (cseq, sseq) } else { (sseq, cseq) };
    steps.push(seg(
        answer_at,
        second,
        FIN | ACK,
        aseq,
        aack.wrapping_add(1),
        0,
    ));
    let last_ack_at = answer_at + if first { ACK_DELAY } else { rtt };
    steps.push(seg(
        last_ack_at,
        first,
        ACK,
        fseq.wrapping_add(1),
        aseq.wrapping_add(1),
        0,
    ));
    steps.sort_by_key(|s| s.at);
}
