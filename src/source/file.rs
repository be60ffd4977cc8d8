//! Capture files: pcap (micro- and nanosecond, both byte orders) and pcapng
//! (several sections and interfaces, each with its own link type and clock).
//!
//! The files are streamed through `pcap-parser`'s buffered readers: memory use is
//! the read buffer, whatever the file size. Where libpcap applies sanity rules
//! (caplen beyond the snapshot length, absurd block sizes) they are applied here
//! too, before the parser sees the record, so that damaged files end with the
//! same diagnosis tcpdump gives and never with an unbounded allocation.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use pcap_parser::pcapng::Block;
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{LegacyPcapReader, PcapBlockOwned, PcapError, PcapNGReader};

use super::{pcapng_checks, Frame, FrameSource, Linktype, Precision, SourceError, Timestamp};

/// libpcap's largest accepted capture length for ordinary link types.
pub const MAX_SNAPLEN: u32 = 262_144;
/// libpcap's initial bound on a pcapng block.
const MAX_BLOCK: u32 = 16 * 1024 * 1024;
/// Read buffer: big enough that refills are rare (one read per 256 KiB),
/// small enough to stay in a core's 1 MiB second-level cache beside the
/// tracker's tables (with 1 MiB, each refill evicted them).
const BUFFER: usize = 1 << 18;

pub(crate) const PCAP_MAGIC_US: u32 = 0xa1b2_c3d4;
pub(crate) const PCAP_MAGIC_NS: u32 = 0xa1b2_3c4d;
const PCAP_MAGIC_MODIFIED: u32 = 0xa1b2_cd34;
pub(crate) const PCAPNG_MAGIC: u32 = 0x0a0d_0d0a;

/// libpcap adjusts a zero or oversized snapshot length to its maximum.
fn adjust_snaplen(snaplen: u32) -> u32 {
    if snaplen == 0 || snaplen > MAX_SNAPLEN {
        MAX_SNAPLEN
    } else {
        snaplen
    }
}

#[derive(Clone, Copy, Debug)]
struct Interface {
    linktype: Linktype,
    snaplen: u32,
    /// Clock units per second.
    units: u64,
    offset_sec: i64,
}

enum Reader {
    Legacy {
        reader: LegacyPcapReader<Box<dyn Read>>,
        big_endian: bool,
        nano: bool,
        header_len: usize,
        linktype: Linktype,
        snaplen: u32,
    },
    Ng {
        reader: PcapNGReader<Box<dyn Read>>,
        big_endian: bool,
        interfaces: Vec<Interface>,
    },
}

/// A pcap or pcapng file (or stream) being read.
pub struct CaptureFile {
    origin: String,
    reader: Reader,
    /// Bytes to release from the parser's buffer before the next record.
    pending: usize,
    /// File offset of the parser's byte 0 (see [`CaptureFile::seek_record`]).
    base: u64,
    /// The file, when opened by path: it can be read again from an offset.
    path: Option<PathBuf>,
    /// pcapng: the offset just past the last section header or interface
    /// description read so far (what decides how later packets are read).
    settled: u64,
    /// Where to say `settled` as it moves (see [`CaptureFile::report_settled`]).
    settled_to: Option<Arc<AtomicU64>>,
    frames: u64,
    size: Option<u64>,
    first_linktype: Linktype,
    first_snaplen: u32,
    precision: Precision,
}

/// Open a capture by path; `-` reads standard input.
pub fn open_path(path: &str) -> Result<CaptureFile, SourceError> {
    if path == "-" {
        return CaptureFile::from_reader("-", Box::new(io::stdin()), None);
    }
    let p = Path::new(path);
    let file = File::open(p).map_err(|e| SourceError::new(path, None, io_message(&e)))?;
    let meta = file
        .metadata()
        .map_err(|e| SourceError::new(path, None, io_message(&e)))?;
    if meta.is_dir() {
        return Err(SourceError::new(path, None, "is a directory"));
    }
    let size = meta.is_file().then_some(meta.len());
    let mut capture = CaptureFile::from_reader(path, Box::new(file), size)?;
    if meta.is_file() {
        capture.path = Some(p.to_path_buf());
    }
    Ok(capture)
}

pub(crate) fn io_message(e: &io::Error) -> String {
    // The OS text without Rust's " (os error N)" suffix, as tcpdump prints it.
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// Read until `buf` is full or the input ends; returns the number of bytes read.
fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

impl CaptureFile {
    /// Open a capture from any byte stream. The first bytes decide the format.
    pub fn from_reader(
        origin: &str,
        mut input: Box<dyn Read>,
        size: Option<u64>,
    ) -> Result<CaptureFile, SourceError> {
        let err = |msg: String| SourceError::new(origin, Some(0), msg);
        // The parsers read their header with a single read(), so hand them a
        // first chunk that holds it whole.
        let mut head = vec![0u8; 65536];
        let got = read_full(&mut *input, &mut head)
            .map_err(|e| SourceError::new(origin, None, io_message(&e)))?;
        head.truncate(got);
        if got == 0 {
            return Err(SourceError::new(
                origin,
                Some(0),
                "empty file: not a capture file",
            ));
        }
        if got < 4 {
            return Err(err(format!(
                "truncated dump file; tried to read 4 file header bytes, only got {got}"
            )));
        }
        let magic = [head[0], head[1], head[2], head[3]];
        let le = u32::from_le_bytes(magic);
        let be = u32::from_be_bytes(magic);
        let chained: Box<dyn Read> = Box::new(io::Cursor::new(head).chain(input));
        if le == PCAPNG_MAGIC {
            return Self::open_ng(origin, chained, size);
        }
        let (big_endian, nano, header_len) = match (le, be) {
            (PCAP_MAGIC_US, _) => (false, false, 16),
            (_, PCAP_MAGIC_US) => (true, false, 16),
            (PCAP_MAGIC_NS, _) => (false, true, 16),
            (_, PCAP_MAGIC_NS) => (true, true, 16),
            (PCAP_MAGIC_MODIFIED, _) => (false, false, 24),
            (_, PCAP_MAGIC_MODIFIED) => (true, false, 24),
            _ => {
                return Err(err(format!(
                    "unknown file format (magic number 0x{be:08x}): not a pcap or pcapng file"
                )))
            }
        };
        let mut reader = match LegacyPcapReader::new(BUFFER, chained) {
            Ok(r) => r,
            Err(PcapError::Incomplete(_)) | Err(PcapError::UnexpectedEof) => {
                return Err(err(
                    "truncated dump file; the 24-byte file header is cut short".to_string(),
                ))
            }
            Err(e) => return Err(err(format!("bad dump file format: {e}"))),
        };
        let (linktype, snaplen, consumed) = match reader.next() {
            // The top bits carry the FCS length (LT_FCS_LENGTH); libpcap keeps the low 26.
            Ok((n, PcapBlockOwned::LegacyHeader(h))) => {
                (Linktype(h.network.0 as u32 & 0x03ff_ffff), h.snaplen, n)
            }
            Ok(_) => return Err(err("bad dump file format".to_string())),
            Err(e) => return Err(err(format!("bad dump file format: {e}"))),
        };
        reader.consume(consumed);
        let snaplen = adjust_snaplen(snaplen);
        Ok(CaptureFile {
            origin: origin.to_string(),
            reader: Reader::Legacy {
                reader,
                big_endian,
                nano,
                header_len,
                linktype,
                snaplen,
            },
            pending: 0,
            base: 0,
            path: None,
            settled: 0,
            settled_to: None,
            frames: 0,
            size,
            first_linktype: linktype,
            first_snaplen: snaplen,
            precision: if nano {
                Precision::Nano
            } else {
                Precision::Micro
            },
        })
    }

    fn open_ng(
        origin: &str,
        input: Box<dyn Read>,
        size: Option<u64>,
    ) -> Result<CaptureFile, SourceError> {
        let err = |msg: String| SourceError::new(origin, Some(0), msg);
        let reader = match PcapNGReader::new(BUFFER, input) {
            Ok(r) => r,
            Err(PcapError::Incomplete(_)) | Err(PcapError::UnexpectedEof) => {
                return Err(err(
                    "truncated pcapng dump file: section header block cut short".to_string(),
                ))
            }
            Err(e) => return Err(err(format!("bad pcapng section header block: {e}"))),
        };
        let mut file = CaptureFile {
            origin: origin.to_string(),
            reader: Reader::Ng {
                reader,
                big_endian: false,
                interfaces: Vec::new(),
            },
            pending: 0,
            base: 0,
            path: None,
            settled: 0,
            settled_to: None,
            frames: 0,
            size,
            first_linktype: Linktype(u32::MAX),
            first_snaplen: MAX_SNAPLEN,
            precision: Precision::Micro,
        };
        // Like libpcap, read ahead to the first interface description so that the
        // file's link type is known before the first packet.
        file.prime_ng()?;
        Ok(file)
    }

    /// Read pcapng blocks up to the first Interface Description Block.
    fn prime_ng(&mut self) -> Result<(), SourceError> {
        loop {
            if let Reader::Ng { interfaces, .. } = &self.reader {
                if !interfaces.is_empty() {
                    return Ok(());
                }
            }
            match self.ng_block()? {
                NgStep::Packet(..) => return Err(SourceError::new(
                    &self.origin,
                    Some(self.position_now()),
                    "the capture file has a packet block before any Interface Description Blocks",
                )),
                NgStep::Other => {}
                NgStep::End => {
                    return Err(SourceError::new(
                        &self.origin,
                        Some(self.position_now()),
                        "the capture file has no Interface Description Blocks",
                    ))
                }
            }
        }
    }

    fn position_now(&self) -> u64 {
        let consumed = match &self.reader {
            Reader::Legacy { reader, .. } => reader.consumed(),
            Reader::Ng { reader, .. } => reader.consumed(),
        };
        self.base + (consumed + self.pending) as u64
    }

    /// Can [`CaptureFile::seek_record`] skip ahead in this file?
    pub fn seekable(&self) -> bool {
        self.path.is_some()
    }

    /// Keep `to` at the offset just past the last pcapng section header or
    /// interface description read so far: what a second read of the file
    /// needs to know before it skips ahead (see [`CaptureFile::seek_record`]).
    pub fn report_settled(&mut self, to: Arc<AtomicU64>) {
        to.store(self.settled, Ordering::Relaxed);
        self.settled_to = Some(to);
    }

    /// Read on from the record at byte `offset` of the file, numbering it
    /// `number`: a second read of a file skips what it knows it does not
    /// need. `offset` must be where a record begins (a frame's `offset`).
    /// Only a file opened by path can do this. A pcapng file's section
    /// headers and interface descriptions say how the packets after them
    /// are read, so one skips only once it has read them all: `settled` is
    /// where the last of them ends, as a first read of the file found it
    /// ([`CaptureFile::report_settled`]), and the reader must be past it.
    /// `false` when this one cannot, and it reads on where it was.
    pub fn seek_record(
        &mut self,
        offset: u64,
        number: u64,
        settled: u64,
    ) -> Result<bool, SourceError> {
        if !self.seekable() {
            return Ok(false);
        }
        match self.reader {
            Reader::Legacy { .. } => self.seek_legacy(offset, number),
            Reader::Ng { .. } if self.position_now() >= settled && offset >= settled => {
                self.seek_ng(offset, number)
            }
            Reader::Ng { .. } => Ok(false),
        }
    }

    /// The file reopened, for a new parser: the header it starts with
    /// (`head` makes it from the file, read from its start), then the file
    /// from `offset` on.
    fn reopen_at(
        &self,
        offset: u64,
        head: impl FnOnce(&mut File) -> io::Result<Vec<u8>>,
    ) -> Result<Box<dyn Read>, SourceError> {
        let path = self.path.as_ref().expect("a file opened by path");
        let mut file = File::open(path).map_err(|e| self.fail(offset, io_message(&e)))?;
        let head = head(&mut file)
            .and_then(|head| file.seek(SeekFrom::Start(offset)).map(|_| head))
            .map_err(|e| self.fail(offset, io_message(&e)))?;
        Ok(Box::new(io::Cursor::new(head).chain(file)))
    }

    /// [`CaptureFile::seek_record`] in a pcapng file past its last section
    /// header and interface description: the parser is given a section
    /// header in the section's byte order, then the blocks from `offset`;
    /// the interfaces stay as they are.
    fn seek_ng(&mut self, offset: u64, number: u64) -> Result<bool, SourceError> {
        const SHB: usize = 28;
        let Reader::Ng { big_endian, .. } = self.reader else {
            unreachable!("seek_ng on a pcap reader")
        };
        let Some(base) = offset.checked_sub(SHB as u64) else {
            return Err(self.fail(
                offset,
                "no block starts inside the first section header".to_string(),
            ));
        };
        let u32s = |v: u32| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let u16s = |v: u16| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let mut shb = Vec::with_capacity(SHB);
        shb.extend_from_slice(&PCAPNG_MAGIC.to_le_bytes());
        shb.extend_from_slice(&u32s(SHB as u32));
        shb.extend_from_slice(&u32s(0x1a2b_3c4d));
        shb.extend_from_slice(&u16s(1));
        shb.extend_from_slice(&u16s(0));
        // Section length unknown.
        shb.extend_from_slice(&[0xff; 8]);
        shb.extend_from_slice(&u32s(SHB as u32));
        let input = self.reopen_at(offset, |_| Ok(shb))?;
        let mut reader = PcapNGReader::new(BUFFER, input)
            .map_err(|e| self.fail(offset, format!("bad pcapng section header block: {e}")))?;
        match reader.next() {
            Ok((n, PcapBlockOwned::NG(Block::SectionHeader(_)))) => reader.consume(n),
            Ok(_) => return Err(self.fail(offset, "bad pcapng section header block".to_string())),
            Err(e) => {
                return Err(self.fail(offset, format!("bad pcapng section header block: {e}")))
            }
        }
        if let Reader::Ng { reader: old, .. } = &mut self.reader {
            *old = reader;
        }
        self.read_on_at(base, number);
        Ok(true)
    }

    /// [`CaptureFile::seek_record`] in a pcap file: its header again, then
    /// the records from `offset`.
    fn seek_legacy(&mut self, offset: u64, number: u64) -> Result<bool, SourceError> {
        const HEADER: usize = 24;
        let Some(base) = offset.checked_sub(HEADER as u64) else {
            return Err(self.fail(
                offset,
                "no record starts inside the file header".to_string(),
            ));
        };
        // The file's own header, for the parser.
        let chained = self.reopen_at(offset, |file| {
            let mut header = vec![0u8; HEADER];
            file.read_exact(&mut header).map(|()| header)
        })?;
        let mut reader = LegacyPcapReader::new(BUFFER, chained)
            .map_err(|e| self.fail(offset, format!("bad dump file format: {e}")))?;
        match reader.next() {
            Ok((n, PcapBlockOwned::LegacyHeader(_))) => reader.consume(n),
            Ok(_) => return Err(self.fail(offset, "bad dump file format".to_string())),
            Err(e) => return Err(self.fail(offset, format!("bad dump file format: {e}"))),
        }
        if let Reader::Legacy { reader: old, .. } = &mut self.reader {
            *old = reader;
        }
        self.read_on_at(base, number);
        Ok(true)
    }

    /// After a seek: the new parser's byte 0 is at `base` of the file, and
    /// the next frame is the `number`th.
    fn read_on_at(&mut self, base: u64, number: u64) {
        self.base = base;
        self.pending = 0;
        self.frames = number.saturating_sub(1);
    }

    fn fail(&self, offset: u64, msg: impl Into<String>) -> SourceError {
        SourceError::new(&self.origin, Some(offset), msg)
    }

    /// One pcapng block: an interface or section is recorded, a packet is
    /// returned with everything needed to build its frame.
    fn ng_block(&mut self) -> Result<NgStep, SourceError> {
        let offset = self.position_now();
        // Borrowed beside the reader, not cloned: a clone was an allocation
        // per block.
        let origin = &self.origin;
        let Reader::Ng {
            reader,
            big_endian,
            interfaces,
        } = &mut self.reader
        else {
            unreachable!("ng_block on a legacy reader")
        };
        if self.pending > 0 {
            // Without the shift: `consume` moves the unread half of the
            // buffer to its front each time half of it was read, which
            // copies the whole file once more; `refill` moves only the
            // partial record that is left.
            reader.consume_noshift(self.pending);
            self.pending = 0;
        }
        let fail = |msg: String| SourceError::new(origin, Some(offset), msg);
        // Check the block header before the parser sizes a buffer from it.
        let (total, block_big_endian) = loop {
            let data = reader.data();
            if data.len() >= 8 {
                let raw = [data[0], data[1], data[2], data[3]];
                let is_shb = u32::from_le_bytes(raw) == PCAPNG_MAGIC;
                let len_bytes = [data[4], data[5], data[6], data[7]];
                let total = if is_shb {
                    // The section header's own byte-order magic decides.
                    if data.len() < 12 {
                        None
                    } else {
                        let bom = [data[8], data[9], data[10], data[11]];
                        if u32::from_le_bytes(bom) == 0x1a2b_3c4d {
                            Some((u32::from_le_bytes(len_bytes), false))
                        } else if u32::from_be_bytes(bom) == 0x1a2b_3c4d {
                            Some((u32::from_be_bytes(len_bytes), true))
                        } else {
                            return Err(fail(format!(
                                "section header block has a bad byte-order magic 0x{:08x}",
                                u32::from_be_bytes(bom)
                            )));
                        }
                    }
                } else if *big_endian {
                    Some((u32::from_be_bytes(len_bytes), true))
                } else {
                    Some((u32::from_le_bytes(len_bytes), false))
                };
                if let Some((total, block_big_endian)) = total {
                    if total < 12 {
                        return Err(fail(format!(
                            "block in pcapng dump file has a length of {total} < 12"
                        )));
                    }
                    if total % 4 != 0 {
                        return Err(fail(format!(
                            "block in pcapng dump file has a length of {total} that is not a multiple of 4"
                        )));
                    }
                    if total > MAX_BLOCK {
                        return Err(fail(format!(
                            "pcapng block size {total} > maximum {MAX_BLOCK}"
                        )));
                    }
                    if total as usize > BUFFER / 2 {
                        reader.grow(total as usize * 2);
                    }
                    break (total as usize, block_big_endian);
                }
            }
            if reader.reader_exhausted() {
                if data.is_empty() {
                    return Ok(NgStep::End);
                }
                return Err(fail(format!(
                    "truncated pcapng dump file; tried to read 8 block header bytes, only got {}",
                    data.len()
                )));
            }
            reader
                .refill()
                .map_err(|e| fail(format!("error reading dump file: {e}")))?;
        };
        // Buffer the whole block and make libpcap's checks on it (a block cut
        // by the end of the file is left to the parser, which says so).
        while reader.data().len() < total && !reader.reader_exhausted() {
            reader
                .refill()
                .map_err(|e| fail(format!("error reading dump file: {e}")))?;
        }
        if let Some(block) = reader.data().get(..total) {
            pcapng_checks::check_block(block, block_big_endian).map_err(fail)?;
        }
        loop {
            // The parser does not move its buffer in next(), so offsets from this
            // base stay valid until the block is consumed.
            let base = reader.data().as_ptr() as usize;
            match reader.next() {
                Ok((n, block)) => {
                    let mut settles = false;
                    let step = match block {
                        PcapBlockOwned::NG(Block::SectionHeader(shb)) => {
                            *big_endian = shb.big_endian();
                            interfaces.clear();
                            settles = true;
                            NgStep::Other
                        }
                        PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                            let units = idb.ts_resolution().ok_or_else(|| {
                                fail(format!("unknown time stamp resolution {}", idb.if_tsresol))
                            })?;
                            interfaces.push(Interface {
                                linktype: Linktype(idb.linktype.0 as u32),
                                snaplen: adjust_snaplen(idb.snaplen),
                                units,
                                offset_sec: idb.if_tsoffset,
                            });
                            settles = true;
                            NgStep::Other
                        }
                        PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => NgStep::Packet(
                            epb.if_id,
                            ((epb.ts_high as u64) << 32) | epb.ts_low as u64,
                            epb.caplen,
                            epb.origlen,
                            data_range(
                                base,
                                &epb.data[..(epb.caplen as usize).min(epb.data.len())],
                            ),
                        ),
                        PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                            // An SPB has no time stamp and is captured on interface 0; its
                            // capture length is the block's data cut to the snapshot length.
                            let snap = interfaces.first().map_or(MAX_SNAPLEN, |i| i.snaplen);
                            let caplen = spb.origlen.min(snap).min(spb.data.len() as u32);
                            NgStep::Packet(
                                0,
                                0,
                                caplen,
                                spb.origlen,
                                data_range(base, &spb.data[..caplen as usize]),
                            )
                        }
                        // pcap-parser keeps an unknown block's type as little-endian bytes.
                        PcapBlockOwned::NG(Block::Unknown(ub))
                            if (if *big_endian {
                                ub.block_type.swap_bytes()
                            } else {
                                ub.block_type
                            }) == 2 =>
                        {
                            // The obsolete Packet Block: interface (2), drops (2),
                            // time stamp (8), caplen (4), len (4), data.
                            let d = ub.data;
                            if d.len() < 20 {
                                return Err(fail(
                                    "block of type 2 in pcapng dump file is too short".into(),
                                ));
                            }
                            let rd = |o: usize| u32_at(d, o, *big_endian);
                            let if_id = u32::from(u16_at(d, 0, *big_endian));
                            let ts = ((rd(4) as u64) << 32) | rd(8) as u64;
                            let caplen = rd(12);
                            let len = rd(16);
                            if caplen as usize > d.len() - 20 {
                                return Err(fail(
                                    "block of type 2 in pcapng dump file is too short".into(),
                                ));
                            }
                            NgStep::Packet(
                                if_id,
                                ts,
                                caplen,
                                len,
                                data_range(base, &d[20..20 + caplen as usize]),
                            )
                        }
                        _ => NgStep::Other,
                    };
                    self.pending = n;
                    if settles {
                        self.settled = offset + n as u64;
                        if let Some(to) = &self.settled_to {
                            to.store(self.settled, Ordering::Relaxed);
                        }
                    }
                    return Ok(step);
                }
                Err(PcapError::Eof) => return Ok(NgStep::End),
                Err(PcapError::Incomplete(_)) => {
                    reader
                        .refill()
                        .map_err(|e| fail(format!("error reading dump file: {e}")))?;
                }
                Err(PcapError::UnexpectedEof) => {
                    return Err(fail(format!(
                    "truncated pcapng dump file; tried to read a whole block, only {} bytes left",
                    reader.data().len()
                )))
                }
                Err(PcapError::BufferTooSmall) => {
                    let want = reader.data().len().max(BUFFER) * 2;
                    if !reader.grow(want) {
                        return Err(fail("pcapng block too large to buffer".to_string()));
                    }
                }
                Err(e) => return Err(fail(format!("malformed pcapng block: {e}"))),
            }
        }
    }

    #[inline]
    fn next_legacy(&mut self) -> Result<Option<Frame<'_>>, SourceError> {
        let offset = self.position_now();
        let Reader::Legacy {
            reader,
            big_endian,
            header_len,
            ..
        } = &mut self.reader
        else {
            unreachable!("next_legacy on a pcapng reader")
        };
        if self.pending > 0 {
            // Without the shift: `consume` moves the unread half of the
            // buffer to its front each time half of it was read, which
            // copies the whole file once more; `refill` moves only the
            // partial record that is left.
            reader.consume_noshift(self.pending);
            self.pending = 0;
        }
        // All but the last record of each buffer's worth are buffered whole:
        // those are read with one look at the buffer, the others are waited
        // for (and checked) out of line.
        let hdr = *header_len;
        let data = reader.data();
        let whole = (data.len() >= hdr)
            .then(|| record_header(data, *big_endian))
            .filter(|h| h[2] <= MAX_SNAPLEN && data.len() >= hdr + h[2] as usize);
        let header = match whole {
            Some(header) => header,
            None => match self.buffer_legacy_record(offset)? {
                Some(header) => header,
                None => return Ok(None),
            },
        };
        Ok(Some(self.legacy_frame(header, offset)))
    }

    /// Refill until the next record is buffered whole, applying libpcap's
    /// checks; its header, or `None` at the end of the file.
    #[cold]
    #[inline(never)]
    fn buffer_legacy_record(&mut self, offset: u64) -> Result<Option<[u32; 4]>, SourceError> {
        let Reader::Legacy {
            reader,
            big_endian,
            header_len,
            snaplen,
            ..
        } = &mut self.reader
        else {
            unreachable!("buffer_legacy_record on a pcapng reader")
        };
        let fail = |msg: String| SourceError::new(&self.origin, Some(offset), msg);
        let hdr = *header_len;
        // Make sure the record header is buffered, then apply libpcap's checks.
        let header = loop {
            let data = reader.data();
            if data.len() >= hdr {
                break record_header(data, *big_endian);
            }
            if reader.reader_exhausted() {
                if data.is_empty() {
                    return Ok(None);
                }
                return Err(fail(format!(
                    "truncated dump file; tried to read {hdr} header bytes, only got {}",
                    data.len()
                )));
            }
            reader
                .refill()
                .map_err(|e| fail(format!("error reading dump file: {e}")))?;
        };
        let caplen = header[2];
        if caplen > MAX_SNAPLEN {
            return Err(fail(if caplen > *snaplen {
                format!("invalid packet capture length {caplen}, bigger than snaplen of {snaplen}")
            } else {
                format!(
                    "invalid packet capture length {caplen}, bigger than maximum of {MAX_SNAPLEN}"
                )
            }));
        }
        let need = hdr + caplen as usize;
        if need * 2 > BUFFER {
            reader.grow(need * 2);
        }
        // Buffer the whole record first, so it is read in one piece.
        while reader.data().len() < need {
            if reader.reader_exhausted() {
                let got = reader.data().len().saturating_sub(hdr);
                return Err(fail(format!(
                    "truncated dump file; tried to read {caplen} captured bytes, only got {got}"
                )));
            }
            reader
                .refill()
                .map_err(|e| fail(format!("error reading dump file: {e}")))?;
        }
        Ok(Some(header))
    }

    /// The frame of the buffered record with this header. The record is
    /// buffered whole and its header is fixed fields, so it is read in place:
    /// the parser's generic block construction cost more per packet than the
    /// rest of reading.
    #[inline]
    fn legacy_frame(&mut self, header: [u32; 4], offset: u64) -> Frame<'_> {
        let Reader::Legacy {
            reader,
            nano,
            header_len,
            linktype,
            snaplen,
            ..
        } = &self.reader
        else {
            unreachable!("legacy_frame on a pcapng reader")
        };
        let [ts_sec, raw_frac, caplen, origlen] = header;
        let hdr = *header_len;
        let need = hdr + caplen as usize;
        let (ts_sec, raw_frac) = (ts_sec as i32 as i64, raw_frac as i32 as i64);
        self.pending = need;
        self.frames += 1;
        let nsec = if *nano { raw_frac } else { raw_frac * 1000 };
        // libpcap hands out at most the snapshot length.
        let data = &reader.data()[hdr..hdr + (caplen as usize).min(*snaplen as usize)];
        Frame {
            number: self.frames,
            ts: Timestamp::new(ts_sec, nsec),
            len: origlen,
            linktype: *linktype,
            data,
            offset,
        }
    }
}

/// The four fields of a pcap record header (seconds, fraction, captured
/// length, length on the wire), read at once.
#[inline]
fn record_header(b: &[u8], big_endian: bool) -> [u32; 4] {
    let h = &b[..16];
    // The byte order is decided once for the four fields, not per field.
    let fields = |big| [0, 4, 8, 12].map(|at| u32_at(h, at, big));
    if big_endian {
        fields(true)
    } else {
        fields(false)
    }
}

/// A 16-bit field at `at` in a capture file's byte order.
#[inline]
pub(super) fn u16_at(b: &[u8], at: usize, big_endian: bool) -> u16 {
    // One bounds check for the field, not one per byte.
    let v: [u8; 2] = b[at..at + 2].try_into().expect("two bytes");
    if big_endian {
        u16::from_be_bytes(v)
    } else {
        u16::from_le_bytes(v)
    }
}

/// A 32-bit field at `at` in a capture file's byte order.
#[inline]
pub(super) fn u32_at(b: &[u8], at: usize, big_endian: bool) -> u32 {
    let v: [u8; 4] = b[at..at + 4].try_into().expect("four bytes");
    if big_endian {
        u32::from_be_bytes(v)
    } else {
        u32::from_le_bytes(v)
    }
}

/// Where `part` sits in the reader's buffer that starts at address `base`.
fn data_range(base: usize, part: &[u8]) -> (usize, usize) {
    let start = part.as_ptr() as usize - base;
    (start, start + part.len())
}

enum NgStep {
    /// interface id, raw time stamp, caplen, original length, data range in the buffer
    Packet(u32, u64, u32, u32, (usize, usize)),
    Other,
    End,
}

impl FrameSource for CaptureFile {
    #[inline]
    fn next_frame(&mut self) -> Result<Option<Frame<'_>>, SourceError> {
        if matches!(self.reader, Reader::Legacy { .. }) {
            return self.next_legacy();
        }
        loop {
            let offset = self.position_now();
            match self.ng_block()? {
                NgStep::End => return Ok(None),
                NgStep::Other => continue,
                NgStep::Packet(if_id, ts, caplen, len, (start, end)) => {
                    let Reader::Ng {
                        reader, interfaces, ..
                    } = &self.reader
                    else {
                        unreachable!()
                    };
                    let Some(iface) = interfaces.get(if_id as usize).copied() else {
                        return Err(self.fail(
                            offset,
                            format!("a packet arrived on interface {if_id}, but there's no Interface Description Block for that interface"),
                        ));
                    };
                    if caplen > iface.snaplen {
                        return Err(self.fail(
                            offset,
                            format!(
                                "invalid packet capture length {caplen}, bigger than snaplen of {}",
                                iface.snaplen
                            ),
                        ));
                    }
                    let units = iface.units;
                    // libpcap adds the offset in 64-bit unsigned arithmetic:
                    // an offset at the end of the clock wraps as it does there.
                    let sec = ((ts / units) as i64).wrapping_add(iface.offset_sec);
                    let frac = ts % units;
                    // The two usual clocks without a 128-bit division.
                    let nsec = match units {
                        1_000_000 => (frac * 1000) as i64,
                        1_000_000_000 => frac as i64,
                        _ => (frac as u128 * 1_000_000_000 / units as u128) as i64,
                    };
                    if self.first_linktype.0 == u32::MAX {
                        self.first_linktype = iface.linktype;
                    }
                    self.frames += 1;
                    let data = &reader.data()[start..end];
                    let data = &data[..(caplen as usize).min(data.len())];
                    return Ok(Some(Frame {
                        number: self.frames,
                        ts: Timestamp::new(sec, nsec),
                        len,
                        linktype: iface.linktype,
                        data,
                        offset,
                    }));
                }
            }
        }
    }

    fn linktype(&self) -> Linktype {
        match &self.reader {
            Reader::Legacy { linktype, .. } => *linktype,
            Reader::Ng { interfaces, .. } => interfaces
                .first()
                .map_or(self.first_linktype, |i| i.linktype),
        }
    }

    fn snaplen(&self) -> u32 {
        match &self.reader {
            Reader::Legacy { snaplen, .. } => *snaplen,
            Reader::Ng { interfaces, .. } => {
                interfaces.first().map_or(self.first_snaplen, |i| i.snaplen)
            }
        }
    }

    fn precision(&self) -> Precision {
        match &self.reader {
            Reader::Legacy { .. } => self.precision,
            Reader::Ng { interfaces, .. } => {
                if interfaces.first().is_some_and(|i| i.units > 1_000_000) {
                    Precision::Nano
                } else {
                    Precision::Micro
                }
            }
        }
    }

    fn origin(&self) -> &str {
        &self.origin
    }

    fn position(&self) -> Option<u64> {
        Some(self.position_now())
    }

    fn total_size(&self) -> Option<u64> {
        self.size
    }

    fn as_capture_file(&mut self) -> Option<&mut CaptureFile> {
        Some(self)
    }
}
