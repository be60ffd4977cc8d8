//! Frames and judged attempts for the tests of the per-attempt reports:
//! Ethernet, IPv4 and TCP with correct checksums (a wrong one would be
//! reported as such), run through the tracker and the packet collector as
//! `synack explain` runs them: reading a file twice, or an input once.

use super::packets::{AttemptPackets, CapturedFrame, HeldFrames, PacketCollector};
use crate::source::{Linktype, Precision, Timestamp};
use crate::track::{Attempt, Emit, Tracker, TrackerConfig};
use crate::wire::{internet_checksum, tcp_checksum_v4};

pub(crate) const CLIENT: ([u8; 4], u16) = ([10, 0, 0, 1], 40000);
pub(crate) const SERVER: ([u8; 4], u16) = ([10, 0, 0, 2], 80);

/// One segment between CLIENT and SERVER.
#[derive(Clone, Debug)]
pub(crate) struct Seg {
    pub from_client: bool,
    /// The client's port (CLIENT's unless changed).
    pub client_port: u16,
    pub micros: i64,
    pub flags: u8,
    pub seq: u32,
    pub ack: u32,
    pub window: u16,
    /// Option bytes (padded to a multiple of 4 with EOL).
    pub options: Vec<u8>,
    pub payload: usize,
}

impl Seg {
    pub fn new(from_client: bool, micros: i64, flags: u8, seq: u32, ack: u32) -> Seg {
        Seg {
            from_client,
            client_port: CLIENT.1,
            micros,
            flags,
            seq,
            ack,
            window: 64240,
            options: Vec::new(),
            payload: 0,
        }
    }
}

/// The frame of a segment.
pub(crate) fn frame(number: u64, s: &Seg) -> CapturedFrame {
    let client = (CLIENT.0, s.client_port);
    let (src, dst) = if s.from_client {
        (client, SERVER)
    } else {
        (SERVER, client)
    };
    let mut options = s.options.clone();
    options.truncate(40);
    while options.len() % 4 != 0 {
        options.push(0);
    }
    let mut tcp = Vec::new();
    tcp.extend_from_slice(&src.1.to_be_bytes());
    tcp.extend_from_slice(&dst.1.to_be_bytes());
    tcp.extend_from_slice(&s.seq.to_be_bytes());
    tcp.extend_from_slice(&s.ack.to_be_bytes());
    tcp.push((((20 + options.len()) / 4) as u8) << 4);
    tcp.push(s.flags);
    tcp.extend_from_slice(&s.window.to_be_bytes());
    tcp.extend_from_slice(&[0, 0, 0, 0]);
    tcp.extend_from_slice(&options);
    tcp.resize(tcp.len() + s.payload, b'x');
    let sum = tcp_checksum_v4(&src.0, &dst.0, &tcp);
    tcp[16..18].copy_from_slice(&sum.to_be_bytes());
    let total = ((20 + tcp.len()) as u16).to_be_bytes();
    let mut ip = vec![
        0x45, 0, total[0], total[1], 0, 1, 0x40, 0, 64, 6, 0, 0, src.0[0], src.0[1], src.0[2],
        src.0[3], dst.0[0], dst.0[1], dst.0[2], dst.0[3],
    ];
    let ip_sum = internet_checksum(&[&ip]).to_be_bytes();
    ip[10..12].copy_from_slice(&ip_sum);
    let mut data = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
    data.extend_from_slice(&ip);
    data.extend_from_slice(&tcp);
    CapturedFrame {
        number,
        ts: Timestamp::new(
            1_700_000_000 + s.micros.div_euclid(1_000_000),
            s.micros.rem_euclid(1_000_000) * 1000,
        ),
        len: data.len() as u32,
        linktype: Linktype::ETHERNET,
        data,
    }
}

/// The attempts of these segments, in output order, each with its packets,
/// as the two passes of `synack explain` find them.
pub(crate) fn judged(segs: &[Seg]) -> Vec<(Box<Attempt>, AttemptPackets)> {
    let frames = frames(segs);
    let mut tracker = Tracker::new(TrackerConfig::default());
    let mut attempts = Vec::new();
    for f in &frames {
        tracker.observe(&f.frame());
        while let Some(a) = tracker.next_finished() {
            attempts.push(a);
        }
    }
    tracker.finish();
    while let Some(a) = tracker.next_finished() {
        attempts.push(a);
    }
    let refs: Vec<&Attempt> = attempts.iter().map(|a| a.as_ref()).collect();
    let mut c = PacketCollector::for_attempts(&refs, Precision::Micro);
    for f in &frames {
        c.offer(&f.frame());
    }
    attempts.into_iter().zip(c.finish()).collect()
}

/// The attempts of these segments as `synack explain` finds them reading its
/// input once: standard input with [`Emit::InOrder`], a live capture with
/// [`Emit::WhenFinal`].
pub(crate) fn judged_once(segs: &[Seg], emit: Emit) -> Vec<(Box<Attempt>, AttemptPackets)> {
    let mut tracker = Tracker::new(TrackerConfig {
        emit,
        ..TrackerConfig::default()
    });
    let mut held = HeldFrames::new(Precision::Micro);
    let mut judged = Vec::new();
    for f in &frames(segs) {
        held.track(&mut tracker, &f.frame());
        while let Some(a) = tracker.next_finished() {
            let packets = held.take(&a);
            judged.push((a, packets));
        }
    }
    tracker.finish();
    while let Some(a) = tracker.next_finished() {
        let packets = held.take(&a);
        judged.push((a, packets));
    }
    assert_eq!(
        (held.flows(), held.bytes()),
        (0, 0),
        "every attempt handed out lets its frames go"
    );
    judged
}

/// The frames of segments, numbered from 1.
pub(crate) fn frames(segs: &[Seg]) -> Vec<CapturedFrame> {
    segs.iter()
        .enumerate()
        .map(|(i, s)| frame(i as u64 + 1, s))
        .collect()
}

/// `mss 1460, sackOK, TS val/ecr, nop, wscale 7`, as Linux writes a SYN's.
pub(crate) fn linux_syn_options(tsval: u32, tsecr: u32, wscale: u8) -> Vec<u8> {
    let mut o = vec![2, 4, 0x05, 0xb4, 4, 2, 8, 10];
    o.extend_from_slice(&tsval.to_be_bytes());
    o.extend_from_slice(&tsecr.to_be_bytes());
    o.extend_from_slice(&[1, 3, 3, wscale]);
    o
}
