//! Writing what was captured to a pcap or pcapng file (tcpdump's `-w`).
//!
//! Both formats are written here by hand rather than through libpcap's
//! `pcap_dump`: libpcap writes through a stdio buffer that is cut wherever it
//! fills, so a writer killed mid-capture leaves half a record at the end, and
//! it cannot write pcapng at all. Here records are collected whole in a buffer
//! and handed to the kernel only as whole records — when the buffer is full,
//! when the source goes idle, and at the end (or after every packet with `-U`).
//! A writer killed at any moment thus leaves a file that reads cleanly up to
//! the last record it handed over, and everything that arrived before the
//! wire last went quiet is on disk.
//!
//! Rotation (tcpdump's `-C` size and `-G` time limits) is meant to plug in at
//! [`Savefile::write`]: after a [`Savefile::flush`] the current file ends on a
//! record boundary, and [`start_file`] writes the headers of the next one.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::source::file::{
    io_message as io_text, PCAPNG_MAGIC as PCAPNG_SHB, PCAP_MAGIC_NS, PCAP_MAGIC_US,
};
use crate::source::{Frame, FrameSource, Linktype, Precision, SourceError, Timestamp};

/// Hand the buffer to the kernel once it holds this much.
const FLUSH_AT: usize = 64 * 1024;

const PCAPNG_BYTE_ORDER_MAGIC: u32 = 0x1a2b_3c4d;
const PCAPNG_IDB: u32 = 1;
const PCAPNG_EPB: u32 = 6;
const OPT_END: u16 = 0;
const OPT_SHB_USERAPPL: u16 = 4;
const OPT_IF_NAME: u16 = 2;
const OPT_IF_TSRESOL: u16 = 9;

/// Set once `-w -` has made standard output the capture's.
static STDOUT_TAKEN: AtomicBool = AtomicBool::new(false);

/// Whether standard output carries a capture written with `-w -`: nothing
/// else may be written there.
pub fn stdout_taken() -> bool {
    STDOUT_TAKEN.load(Ordering::Relaxed)
}

/// The file to write: `-` is standard output, as with tcpdump. It is used as a
/// plain file (a duplicate of descriptor 1), not through std's standard output,
/// whose line buffer would hand the kernel everything up to each 0x0a byte:
/// part of a record, where this writer hands over whole records only.
fn open_sink(path: &str) -> io::Result<File> {
    if path == "-" {
        let file = File::from(io::stdout().as_fd().try_clone_to_owned()?);
        STDOUT_TAKEN.store(true, Ordering::Relaxed);
        return Ok(file);
    }
    File::create(path)
}

/// The file format to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SaveFormat {
    #[default]
    Pcap,
    Pcapng,
}

/// Where and how to save.
#[derive(Clone, Debug, Default)]
pub struct SaveOptions {
    pub path: String,
    pub format: SaveFormat,
    /// Write each packet as soon as it is captured (tcpdump's `-U`).
    pub packet_buffered: bool,
}

/// An open capture file being written.
pub struct Savefile {
    path: String,
    format: SaveFormat,
    packet_buffered: bool,
    file: File,
    /// The reader of a pipe went away: nothing more is written.
    closed: bool,
    buf: Vec<u8>,
    nano: bool,
    snaplen: u32,
    /// pcap: the file's one link type. pcapng: the link type of each
    /// interface description written so far, by interface id.
    interfaces: Vec<Linktype>,
    /// The interface name for pcapng's `if_name` (live captures).
    interface_name: Option<String>,
}

impl Savefile {
    /// Create (or truncate) the file and write its headers for `source`.
    pub fn create(opts: &SaveOptions, source: &dyn FrameSource) -> Result<Savefile, SourceError> {
        let file =
            open_sink(&opts.path).map_err(|e| SourceError::new(&opts.path, None, io_text(&e)))?;
        let mut savefile = Savefile {
            path: opts.path.clone(),
            format: opts.format,
            packet_buffered: opts.packet_buffered,
            file,
            closed: false,
            buf: Vec::with_capacity(FLUSH_AT * 2),
            nano: source.precision() == Precision::Nano,
            snaplen: source.snaplen(),
            interfaces: Vec::new(),
            interface_name: source.is_live().then(|| source.origin().to_string()),
        };
        start_file(&mut savefile, source.linktype());
        savefile.flush()?;
        Ok(savefile)
    }

    /// Add one packet.
    pub fn write(&mut self, frame: &Frame<'_>) -> Result<(), SourceError> {
        let interface = match self.interfaces.iter().position(|&l| l == frame.linktype) {
            Some(i) => i,
            None if self.format == SaveFormat::Pcapng => {
                self.interface_description(frame.linktype);
                self.interfaces.len() - 1
            }
            None => {
                return Err(SourceError::new(
                    &self.path,
                    None,
                    format!(
                        "packet {} has link type {}, but a pcap file holds only its first link type, {} (write pcapng with --pcapng)",
                        frame.number, frame.linktype, self.interfaces[0]
                    ),
                ))
            }
        };
        match self.format {
            SaveFormat::Pcap => self.pcap_record(frame),
            SaveFormat::Pcapng => self.enhanced_packet(interface as u32, frame),
        }
        if self.packet_buffered || self.buf.len() >= FLUSH_AT {
            self.flush()?;
        }
        Ok(())
    }

    /// Hand every whole record collected so far to the kernel. A pipe whose
    /// reader went away (`-w - | tcpdump -c 5 -r -`) closes the file quietly,
    /// as the reader meant: [`Savefile::closed`] then says to stop.
    pub fn flush(&mut self) -> Result<(), SourceError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let r = match self.closed {
            true => Ok(()),
            false => self.file.write_all(&self.buf),
        };
        self.buf.clear();
        match r {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(())
            }
            r => r.map_err(|e| {
                SourceError::new(&self.path, None, format!("write failed: {}", io_text(&e)))
            }),
        }
    }

    /// Whether the file's reader went away (a pipe): nothing more is written.
    pub fn closed(&self) -> bool {
        self.closed
    }

    fn fraction(&self, ts: Timestamp) -> u32 {
        if self.nano {
            ts.nsec as u32
        } else {
            ts.usec() as u32
        }
    }

    fn pcap_record(&mut self, frame: &Frame<'_>) {
        let frac = self.fraction(frame.ts);
        let b = &mut self.buf;
        put32(b, frame.ts.sec as u32);
        put32(b, frac);
        put32(b, frame.caplen());
        put32(b, frame.len);
        b.extend_from_slice(frame.data);
    }

    fn enhanced_packet(&mut self, interface: u32, frame: &Frame<'_>) {
        let units: i128 = if self.nano { 1_000_000_000 } else { 1_000_000 };
        let ticks = if self.nano {
            frame.ts.as_nanos()
        } else {
            frame.ts.sec as i128 * units + frame.ts.usec() as i128
        } as u64;
        let padded = frame.data.len().next_multiple_of(4);
        let total = (32 + padded) as u32;
        let b = &mut self.buf;
        put32(b, PCAPNG_EPB);
        put32(b, total);
        put32(b, interface);
        put32(b, (ticks >> 32) as u32);
        put32(b, ticks as u32);
        put32(b, frame.caplen());
        put32(b, frame.len);
        b.extend_from_slice(frame.data);
        b.resize(b.len() + padded - frame.data.len(), 0);
        put32(b, total);
    }

    /// A pcapng interface description block for a new link type.
    fn interface_description(&mut self, linktype: Linktype) {
        let mut options = Vec::new();
        if let Some(name) = &self.interface_name {
            put_option(&mut options, OPT_IF_NAME, name.as_bytes());
        }
        if self.nano {
            put_option(&mut options, OPT_IF_TSRESOL, &[9]);
        }
        put_option(&mut options, OPT_END, &[]);
        let total = (20 + options.len()) as u32;
        let b = &mut self.buf;
        put32(b, PCAPNG_IDB);
        put32(b, total);
        put16(b, linktype.0 as u16);
        put16(b, 0);
        put32(b, self.snaplen);
        b.extend_from_slice(&options);
        put32(b, total);
        self.interfaces.push(linktype);
    }
}

/// Write the headers a new file starts with: the pcap file header, or the
/// pcapng section header and the first interface's description.
pub fn start_file(savefile: &mut Savefile, linktype: Linktype) {
    savefile.interfaces.clear();
    match savefile.format {
        SaveFormat::Pcap => {
            let magic = if savefile.nano {
                PCAP_MAGIC_NS
            } else {
                PCAP_MAGIC_US
            };
            let b = &mut savefile.buf;
            put32(b, magic);
            put16(b, 2);
            put16(b, 4);
            put32(b, 0); // thiszone
            put32(b, 0); // sigfigs
            put32(b, savefile.snaplen);
            put32(b, linktype.0);
            savefile.interfaces.push(linktype);
        }
        SaveFormat::Pcapng => {
            let mut options = Vec::new();
            let app = concat!("synack ", env!("CARGO_PKG_VERSION"));
            put_option(&mut options, OPT_SHB_USERAPPL, app.as_bytes());
            put_option(&mut options, OPT_END, &[]);
            let total = (28 + options.len()) as u32;
            let b = &mut savefile.buf;
            put32(b, PCAPNG_SHB);
            put32(b, total);
            put32(b, PCAPNG_BYTE_ORDER_MAGIC);
            put16(b, 1);
            put16(b, 0);
            b.extend_from_slice(&u64::MAX.to_le_bytes()); // section length unknown
            b.extend_from_slice(&options);
            put32(b, total);
            savefile.interface_description(linktype);
        }
    }
}

// Everything is written little-endian; readers take either order from the magic.
fn put16(b: &mut Vec<u8>, v: u16) {
    b.extend_from_slice(&v.to_le_bytes());
}

fn put32(b: &mut Vec<u8>, v: u32) {
    b.extend_from_slice(&v.to_le_bytes());
}

fn put_option(b: &mut Vec<u8>, code: u16, value: &[u8]) {
    put16(b, code);
    put16(b, value.len() as u16);
    b.extend_from_slice(value);
    b.resize(b.len() + value.len().next_multiple_of(4) - value.len(), 0);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{open_path, Event};

    /// Write `frames` through a Savefile and read them back with the file reader.
    fn round_trip(format: SaveFormat, precision: Precision) {
        let dir = std::env::temp_dir().join(format!("synack-savefile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{format:?}-{precision:?}.cap"));
        let path = path.to_string_lossy().into_owned();
        let packets: Vec<(Timestamp, u32, Vec<u8>)> = (0..5u8)
            .map(|i| {
                let ts = Timestamp::new(1_700_000_000 + i as i64, 123_456_789 + i as i64);
                (ts, 60 + i as u32, vec![i; 13 + i as usize])
            })
            .collect();
        struct Fake(Precision);
        impl FrameSource for Fake {
            fn next_frame(&mut self) -> Result<Option<Frame<'_>>, SourceError> {
                Ok(None)
            }
            fn linktype(&self) -> Linktype {
                Linktype::ETHERNET
            }
            fn snaplen(&self) -> u32 {
                1000
            }
            fn precision(&self) -> Precision {
                self.0
            }
            fn origin(&self) -> &str {
                "fake0"
            }
            fn is_live(&self) -> bool {
                true
            }
        }
        let opts = SaveOptions {
            path: path.clone(),
            format,
            packet_buffered: false,
        };
        let mut w = Savefile::create(&opts, &Fake(precision)).unwrap();
        for (n, (ts, len, data)) in packets.iter().enumerate() {
            let frame = Frame {
                number: n as u64 + 1,
                ts: *ts,
                len: *len,
                linktype: Linktype::ETHERNET,
                data,
                offset: 0,
            };
            w.write(&frame).unwrap();
        }
        w.flush().unwrap();
        let mut r = open_path(&path).unwrap();
        assert_eq!(r.linktype(), Linktype::ETHERNET);
        assert_eq!(r.snaplen(), 1000);
        for (ts, len, data) in &packets {
            let Event::Frame(f) = r.next_event().unwrap() else {
                panic!("missing frame")
            };
            let want_nsec = match precision {
                Precision::Nano => ts.nsec,
                Precision::Micro => ts.usec() * 1000,
            };
            assert_eq!((f.ts.sec, f.ts.nsec), (ts.sec, want_nsec));
            assert_eq!((f.len, f.data), (*len, data.as_slice()));
        }
        assert!(matches!(r.next_event().unwrap(), Event::End));
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn pcap_micro_round_trips() {
        round_trip(SaveFormat::Pcap, Precision::Micro);
    }

    #[test]
    fn pcap_nano_round_trips() {
        round_trip(SaveFormat::Pcap, Precision::Nano);
    }

    #[test]
    fn pcapng_round_trips() {
        round_trip(SaveFormat::Pcapng, Precision::Nano);
        round_trip(SaveFormat::Pcapng, Precision::Micro);
    }
}
