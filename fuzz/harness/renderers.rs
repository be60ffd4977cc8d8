//! Attempt records built field by field from the fuzz bytes, with values no
//! capture of sane length produces (times at the ends of the clock, counts at
//! their maximum, any TFO cookie, any event), through the analysis and every
//! report format. A record is plain data: whatever it holds, judging and
//! writing it must not fail.

use synack::source::{Precision, Timestamp};
use synack::track::attempt::{
    AckFacts, BadSynAck, OptionFacts, RstFacts, RstIgnored, SegmentFacts, SimultaneousOpen,
    TfoCookie, WindowFacts,
};
use synack::track::heuristics::DetectorConfig;
use synack::track::{Attempt, EndReason, Endpoint, EventKind, Origin, Side, TrackerStats};
use synack::wire::Addr;

/// The fuzz input, read front to back; zeros once it runs out.
struct Bytes<'a> {
    data: &'a [u8],
    at: usize,
}

impl Bytes<'_> {
    fn u8(&mut self) -> u8 {
        let b = self.data.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        b
    }
    fn bool(&mut self) -> bool {
        self.u8() & 1 != 0
    }
    fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }
    fn u32(&mut self) -> u32 {
        u32::from_be_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
    fn u64(&mut self) -> u64 {
        (u64::from(self.u32()) << 32) | u64::from(self.u32())
    }
    fn opt<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> Option<T> {
        self.bool().then(|| f(self))
    }
    /// A time near a base, or at one of the clock's extremes.
    fn time(&mut self, base: i64) -> Timestamp {
        let nsec = i64::from(self.u32() % 2_000_000_000);
        let sec = match self.u8() % 8 {
            0 => i64::MIN,
            1 => i64::MAX,
            2 => i64::from(self.u32() as i32),
            3 => base.wrapping_sub(i64::from(self.u16())),
            _ => base.wrapping_add(i64::from(self.u16() % 600)),
        };
        Timestamp::new(sec, nsec)
    }
    fn side(&mut self) -> Side {
        if self.bool() {
            Side::Server
        } else {
            Side::Client
        }
    }
    fn endpoint(&mut self, v6: bool) -> Endpoint {
        let addr = if v6 {
            let mut a = [0u8; 16];
            for x in a.iter_mut() {
                *x = self.u8();
            }
            Addr::V6(a)
        } else {
            Addr::V4([self.u8(), self.u8(), self.u8(), self.u8()])
        };
        Endpoint::new(addr, self.u16())
    }
    fn options(&mut self) -> OptionFacts {
        let tfo = self.opt(|b| {
            let mut c = TfoCookie {
                len: b.u8(),
                bytes: [0; 16],
            };
            for x in c.bytes.iter_mut() {
                *x = b.u8();
            }
            c
        });
        OptionFacts {
            mss: self.opt(Self::u16),
            wscale: self.opt(Self::u8),
            sack_ok: self.bool(),
            timestamps: self.opt(|b| (b.u32(), b.u32())),
            tfo,
            mptcp: self.opt(Self::u8),
            md5: self.bool(),
            tcp_ao: self.bool(),
            malformed: self.bool(),
        }
    }
    fn segment(&mut self, base: i64) -> SegmentFacts {
        SegmentFacts {
            time: self.time(base),
            frame: self.u64(),
            seq: self.u32(),
            ack: self.u32(),
            flags: self.u8(),
            ae: self.bool(),
            window: self.u16(),
            ttl: self.u8(),
            dont_fragment: self.bool(),
            ip_ecn: self.u8() & 3,
            payload_len: self.u32(),
            options: self.options(),
        }
    }
    fn ack(&mut self, base: i64) -> AckFacts {
        AckFacts {
            time: self.time(base),
            frame: self.u64(),
            seq: self.u32(),
            ack: self.u32(),
            flags: self.u8(),
            payload_len: self.u32(),
            tsecr: self.opt(Self::u32),
            mptcp: self.opt(Self::u8),
        }
    }
    fn event(&mut self, base: i64) -> EventKind {
        match self.u8() % 12 {
            0 => EventKind::SynRetransmission {
                tsval: self.opt(Self::u32),
            },
            1 => EventKind::SynAckRetransmission {
                tsval: self.opt(Self::u32),
            },
            2 => EventKind::SynAfterSynAck,
            3 => EventKind::IgnoredRst {
                side: self.side(),
                seq: self.u32(),
                ack: self.opt(Self::u32),
                why: match self.u8() % 3 {
                    0 => RstIgnored::NoAck,
                    1 => RstIgnored::AckOutOfRange {
                        expected: self.u32(),
                    },
                    _ => RstIgnored::SeqOutOfWindow {
                        expected: self.u32(),
                    },
                },
            },
            4 => EventKind::ChallengeAck {
                syn_seq: self.u32(),
                ack: self.u32(),
            },
            5 => EventKind::InvalidSynAck {
                ack: self.u32(),
                seq: self.u32(),
            },
            6 => EventKind::RecoveryRst { seq: self.u32() },
            7 => EventKind::InvalidAck {
                ack: self.u32(),
                expected: self.u32(),
            },
            8 => EventKind::PortReuse {
                previous_isn: self.u32(),
                previous_end: self.time(base),
            },
            9 => EventKind::SynAckIsnChanged { seq: self.u32() },
            10 => EventKind::BadChecksum { side: self.side() },
            _ => EventKind::ContentGap {
                side: self.side(),
                from: self.u32(),
                to: self.u32(),
            },
        }
    }
}

fn attempt(b: &mut Bytes<'_>, index: u64) -> Attempt {
    let v6 = b.bool();
    let first = b.time(1_700_000_000);
    let base = first.sec;
    let origin = if b.u8() % 4 == 0 {
        Origin::Midstream
    } else {
        Origin::Syn
    };
    let (client, server) = (b.endpoint(v6), b.endpoint(v6));
    let mut a = Attempt::new(
        index,
        b.u64(),
        first,
        if v6 { 6 } else { 4 },
        origin,
        client,
        server,
    );
    a.last_time = b.time(base);
    a.packets = b.u64();
    a.client_isn = b.opt(Bytes::u32);
    a.server_isn = b.opt(Bytes::u32);
    a.syn = b.opt(|b| b.segment(base));
    a.syn_count = b.u32();
    a.syn_data_max = b.u32();
    a.last_syn_time = b.opt(|b| b.time(base));
    a.synack = b.opt(|b| b.segment(base));
    a.synack_count = b.u32();
    a.server_next_tsval = b.opt(|b| (b.time(base), b.u32()));
    a.bad_synack = b.opt(|b| {
        Box::new(BadSynAck {
            time: b.time(base),
            frame: b.u64(),
            seq: b.u32(),
            ack: b.u32(),
            answered_by_rst: b.opt(|b| b.time(base)),
        })
    });
    a.completing = b.opt(|b| b.ack(base));
    a.bad_ack = b.opt(|b| Box::new(b.ack(base)));
    a.simultaneous = b.opt(|b| {
        Box::new(SimultaneousOpen {
            server_syn: b.opt(|b| b.segment(base)),
            server_syn_count: b.u32(),
            client_synack: b.opt(|b| b.segment(base)),
            client_synack_count: b.u32(),
            server_acked_client: b.opt(|b| b.time(base)),
            client_acked_server: b.opt(|b| b.time(base)),
        })
    });
    a.rst = b.opt(|b| RstFacts {
        side: b.side(),
        time: b.time(base),
        frame: b.u64(),
        seq: b.u32(),
        ack: b.opt(Bytes::u32),
    });
    a.ignored_rsts = b.u32();
    a.challenge_acks = b.u32();
    a.fin = [b.opt(|b| b.time(base)), b.opt(|b| b.time(base))];
    a.bytes = [b.u64(), b.u64()];
    a.data_end = [b.opt(Bytes::u32), b.opt(Bytes::u32)];
    a.highest_ack = [b.opt(Bytes::u32), b.opt(Bytes::u32)];
    a.advertised_window = [b.u16(), b.u16()];
    a.bad_checksums = [b.u32(), b.u32()];
    a.side_packets = [b.u64(), b.u64()];
    a.ip_bytes = [b.u64(), b.u64()];
    a.gap_bytes = b.u64();
    for _ in 0..b.u8() % 8 {
        let (time, frame, kind) = (b.time(base), b.u64(), b.event(base));
        a.push_event(time, frame, kind);
    }
    a.events_dropped = b.u32();
    a.end_reason = Some(match b.u8() % 6 {
        0 => EndReason::Closed,
        1 => EndReason::Timeout,
        2 => EndReason::Evicted,
        3 => EndReason::Flushed,
        4 => EndReason::Replaced,
        _ => EndReason::EndOfInput,
    });
    a.window = WindowFacts {
        failed_to_server: b.u32(),
        failed_sources: b.u32(),
        failed_from_client: b.u32(),
        failed_ports: b.u32(),
        same_isn: b.u32(),
        window_start: base,
    };
    a.wireshark.completeness = b.u8();
    a.wireshark.last_syn = b.opt(|b| b.time(base));
    a.wireshark.initial_rtt_ns = b.opt(|b| b.u64() as i64);
    if b.bool() {
        a.swap_roles();
    }
    a
}

pub fn run(data: &[u8]) {
    let mut b = Bytes { data, at: 0 };
    let head = b.u8();
    let precision = if head & 1 != 0 {
        Precision::Nano
    } else {
        Precision::Micro
    };
    let detectors = DetectorConfig {
        window_secs: i64::from(b.u8() as i8),
        flood_threshold: u32::from(b.u8()),
        scan_threshold: u32::from(b.u8()),
        max_keys: 1,
    };
    let slow = f64::from(b.u32()) / 1000.0;
    let mut records = Vec::new();
    while b.at < data.len() && records.len() < 16 {
        records.push(Box::new(attempt(&mut b, records.len() as u64)));
    }
    let stats = TrackerStats {
        frames: b.u64(),
        tcp_segments: b.u64(),
        attempts: records.len() as u64,
        peak_live: b.u64(),
        ..TrackerStats::default()
    };
    crate::render::check(&records, None, &stats, precision, &detectors, Some(slow));
}
