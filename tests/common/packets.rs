//! TCP/IPv4 Ethernet frames and pcap files written by the tests that build
//! their own traffic.

use std::io::Write;

use synack::wire::internet_checksum;

/// One TCP segment's addresses, ports and header fields.
#[derive(Clone, Copy, Debug)]
pub struct Seg {
    pub src: [u8; 4],
    pub dst: [u8; 4],
    pub sport: u16,
    pub dport: u16,
    pub flags: u8,
    pub seq: u32,
    pub ack: u32,
    pub payload: usize,
}

pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const RST: u8 = 0x04;
pub const PSH: u8 = 0x08;
pub const ACK: u8 = 0x10;

impl Seg {
    /// The Ethernet frame, checksums right, the payload `x`s.
    pub fn frame(&self) -> Vec<u8> {
        let mut tcp = vec![0u8; 20 + self.payload];
        tcp[0..2].copy_from_slice(&self.sport.to_be_bytes());
        tcp[2..4].copy_from_slice(&self.dport.to_be_bytes());
        tcp[4..8].copy_from_slice(&self.seq.to_be_bytes());
        tcp[8..12].copy_from_slice(&self.ack.to_be_bytes());
        tcp[12] = 5 << 4;
        tcp[13] = self.flags;
        tcp[14..16].copy_from_slice(&64240u16.to_be_bytes());
        tcp[20..].fill(b'x');
        let len = (tcp.len() as u16).to_be_bytes();
        let sum = internet_checksum(&[&self.src, &self.dst, &[0, 6], &len, &tcp]);
        tcp[16..18].copy_from_slice(&sum.to_be_bytes());
        let mut ip = vec![0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, 6, 0, 0];
        ip[2..4].copy_from_slice(&((20 + tcp.len()) as u16).to_be_bytes());
        ip.extend_from_slice(&self.src);
        ip.extend_from_slice(&self.dst);
        let sum = internet_checksum(&[&ip]);
        ip[10..12].copy_from_slice(&sum.to_be_bytes());
        let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
        f.extend_from_slice(&ip);
        f.extend_from_slice(&tcp);
        f
    }
}

/// A little-endian microsecond pcap of Ethernet frames.
pub struct PcapWriter<W: Write> {
    out: W,
}

impl<W: Write> PcapWriter<W> {
    pub fn new(mut out: W) -> PcapWriter<W> {
        let mut h = Vec::new();
        for v in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 262_144, 1] {
            h.extend_from_slice(&v.to_le_bytes());
        }
        out.write_all(&h).unwrap();
        PcapWriter { out }
    }

    /// A frame at `usec` microseconds after the epoch.
    pub fn write(&mut self, usec: u64, frame: &[u8]) {
        let mut rec = Vec::with_capacity(16 + frame.len());
        for v in [
            (usec / 1_000_000) as u32,
            (usec % 1_000_000) as u32,
            frame.len() as u32,
            frame.len() as u32,
        ] {
            rec.extend_from_slice(&v.to_le_bytes());
        }
        rec.extend_from_slice(frame);
        self.out.write_all(&rec).unwrap();
    }

    pub fn finish(mut self) -> W {
        self.out.flush().unwrap();
        self.out
    }
}
