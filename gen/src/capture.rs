//! Streaming capture writers: each packet goes straight to the output, so a
//! capture of any size is written in constant memory.

use std::io::{self, Write};

/// The capture file format to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Classic pcap, microsecond time stamps, little-endian.
    Pcap,
    /// pcapng: one section, one Ethernet interface (microsecond clock),
    /// Enhanced Packet Blocks.
    Pcapng,
}

const LINKTYPE_ETHERNET: u32 = 1;
const SNAPLEN: u32 = 262_144;

/// Writes packets in one format to a byte sink, counting what it wrote.
pub struct CaptureWriter<W: Write> {
    out: W,
    format: Format,
    pub bytes: u64,
    pub packets: u64,
}

impl<W: Write> CaptureWriter<W> {
    /// Write the file header (pcap) or section and interface blocks (pcapng).
    pub fn new(mut out: W, format: Format) -> io::Result<CaptureWriter<W>> {
        let mut head = Vec::with_capacity(48);
        match format {
            Format::Pcap => {
                head.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
                head.extend_from_slice(&2u16.to_le_bytes());
                head.extend_from_slice(&4u16.to_le_bytes());
                head.extend_from_slice(&[0; 8]); // thiszone, sigfigs
                head.extend_from_slice(&SNAPLEN.to_le_bytes());
                head.extend_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
            }
            Format::Pcapng => {
                // Section Header Block: no options, section length unknown (-1).
                head.extend_from_slice(&0x0a0d_0d0au32.to_le_bytes());
                head.extend_from_slice(&28u32.to_le_bytes());
                head.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
                head.extend_from_slice(&1u16.to_le_bytes());
                head.extend_from_slice(&0u16.to_le_bytes());
                head.extend_from_slice(&u64::MAX.to_le_bytes());
                head.extend_from_slice(&28u32.to_le_bytes());
                // Interface Description Block: no options, so microseconds.
                head.extend_from_slice(&1u32.to_le_bytes());
                head.extend_from_slice(&20u32.to_le_bytes());
                head.extend_from_slice(&(LINKTYPE_ETHERNET as u16).to_le_bytes());
                head.extend_from_slice(&0u16.to_le_bytes());
                head.extend_from_slice(&SNAPLEN.to_le_bytes());
                head.extend_from_slice(&20u32.to_le_bytes());
            }
        }
        out.write_all(&head)?;
        Ok(CaptureWriter {
            out,
            format,
            bytes: head.len() as u64,
            packets: 0,
        })
    }

    /// Append one packet captured whole at `micros` since the epoch.
    pub fn packet(&mut self, micros: u64, frame: &[u8]) -> io::Result<()> {
        let len = frame.len() as u32;
        let mut head = [0u8; 28];
        let head = match self.format {
            Format::Pcap => {
                head[0..4].copy_from_slice(&((micros / 1_000_000) as u32).to_le_bytes());
                head[4..8].copy_from_slice(&((micros % 1_000_000) as u32).to_le_bytes());
                head[8..12].copy_from_slice(&len.to_le_bytes());
                head[12..16].copy_from_slice(&len.to_le_bytes());
                &head[..16]
            }
            Format::Pcapng => {
                let padded = (len + 3) & !3;
                let total = 32 + padded;
                head[0..4].copy_from_slice(&6u32.to_le_bytes());
                head[4..8].copy_from_slice(&total.to_le_bytes());
                // head[8..12]: interface 0
                head[12..16].copy_from_slice(&((micros >> 32) as u32).to_le_bytes());
                head[16..20].copy_from_slice(&(micros as u32).to_le_bytes());
                head[20..24].copy_from_slice(&len.to_le_bytes());
                head[24..28].copy_from_slice(&len.to_le_bytes());
                &head[..]
            }
        };
        self.out.write_all(head)?;
        self.out.write_all(frame)?;
        self.bytes += (head.len() + frame.len()) as u64;
        if self.format == Format::Pcapng {
            let pad = ((4 - frame.len() % 4) % 4) as u64;
            let total = (32 + frame.len() as u64 + pad) as u32;
            let mut tail = [0u8; 7];
            tail[pad as usize..pad as usize + 4].copy_from_slice(&total.to_le_bytes());
            self.out.write_all(&tail[..pad as usize + 4])?;
            self.bytes += pad + 4;
        }
        self.packets += 1;
        Ok(())
    }

    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}
