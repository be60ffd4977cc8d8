//! Packet printers: tcpdump 4.99's line format and the classic 3.x format.
//!
//! The 4.x printer follows tcpdump's own control flow (`print-ether.c`,
//! `print-ip.c`, `print-ip6.c`, `print-tcp.c`) because its output must be
//! byte-identical, including for truncated and malformed packets: every read of
//! packet bytes goes through [`Pkt`], whose reads fail with [`Trunc`] past the
//! current snapshot end, and one place turns that into tcpdump's `[|proto]` mark.

pub mod classic;
mod ip;
mod link;
pub use link::carries_tcp_frame as carries_tcp;
pub mod names;
mod optwalk;
pub mod out;
mod payload;
mod tcp;
pub mod time;

use crate::source::Frame;
use names::Names;
use out::Out;
pub use time::{Clock, TimeFormat};

/// Every printing flag, in one place, with tcpdump's meaning.
#[derive(Clone, Debug, Default)]
pub struct PrintOptions {
    /// `-n`: no name lookups.
    pub numeric: bool,
    /// `-S`: absolute sequence numbers.
    pub absolute: bool,
    pub time: TimeFormat,
    /// `-v` count.
    pub verbose: u8,
    /// `-e`: link-layer headers.
    pub link: bool,
    /// `-q`: less protocol information.
    pub quiet: bool,
    /// `--all`: also print a short line for packets that are not TCP.
    pub all: bool,
    /// `--classic`: tcpdump 3.x lines instead of 4.x lines.
    pub classic: bool,
}

/// Reading past the captured bytes (tcpdump's `longjmp` to its truncation path).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Trunc;

pub(crate) type R<T> = Result<T, Trunc>;

/// The captured bytes of the packet being printed and the current snapshot end
/// (narrowed by the IP length like tcpdump's `nd_push_snaplen`). Every read is
/// bounds-checked against the end.
#[derive(Clone, Copy)]
pub(crate) struct Snap<'a> {
    pub data: &'a [u8],
    pub end: usize,
}

impl<'a> Snap<'a> {
    #[inline]
    pub fn ttest(&self, at: usize, len: usize) -> bool {
        at <= self.end && len <= self.end - at
    }
    #[inline]
    pub fn u8(&self, at: usize) -> R<u8> {
        if at < self.end {
            Ok(self.data[at])
        } else {
            Err(Trunc)
        }
    }
    #[inline]
    pub fn be16(&self, at: usize) -> R<u16> {
        if self.ttest(at, 2) {
            Ok(crate::wire::be16(self.data, at))
        } else {
            Err(Trunc)
        }
    }
    #[inline]
    pub fn be32(&self, at: usize) -> R<u32> {
        if self.ttest(at, 4) {
            Ok(crate::wire::be32(self.data, at))
        } else {
            Err(Trunc)
        }
    }
    pub fn be64(&self, at: usize) -> R<u64> {
        Ok(((self.be32(at)? as u64) << 32) | self.be32(at + 4)? as u64)
    }
    pub fn bytes(&self, at: usize, len: usize) -> R<&'a [u8]> {
        if self.ttest(at, len) {
            Ok(&self.data[at..at + len])
        } else {
            Err(Trunc)
        }
    }
    /// Bytes captured from `at` to the snapshot end.
    pub fn available(&self, at: usize) -> usize {
        self.end.saturating_sub(at)
    }
}

/// The packet being printed: its bytes, the protocol named in a truncation
/// mark, and the output line.
pub(crate) struct Pkt<'a> {
    pub s: Snap<'a>,
    pub proto: &'static str,
    pub out: &'a mut Vec<u8>,
    /// Truncation marks as tcpdump 3.x prints them: without the leading space.
    pub classic: bool,
}

impl Pkt<'_> {
    /// Narrow the snapshot end to `at + len`; returns the previous end.
    pub fn push_snaplen(&mut self, at: usize, len: usize) -> usize {
        let old = self.s.end;
        self.s.end = self.s.end.min(at.saturating_add(len));
        old
    }
    /// tcpdump's `nd_print_trunc` (3.x printed the same mark without the space).
    pub fn print_trunc(&mut self) {
        if !self.classic {
            self.out.c(b' ');
        }
        self.out.s("[|").s(self.proto).c(b']');
    }
}

/// A conversation in canonical direction: source, destination, ports.
pub(crate) type SeqKey<const N: usize> = ([u8; N], [u8; N], u32);
/// Base sequence and acknowledgment numbers of the canonical direction.
pub(crate) type SeqBase = (u32, u32);

/// Relative sequence number bases, as tcpdump keeps them: one entry per
/// conversation in a canonical direction, never forgotten.
///
/// Looked up for every segment with ACK set, so the hasher matters: foldhash
/// is several times faster than the standard SipHash on these short keys and,
/// seeded per process, still gives a crafted capture no way to aim collisions.
#[derive(Default)]
pub(crate) struct SeqTable {
    v4: foldhash::HashMap<SeqKey<4>, SeqBase>,
    v6: foldhash::HashMap<SeqKey<16>, SeqBase>,
    /// tcpdump 3.x keeps both versions in one table, IPv4 addresses stored in
    /// the first four bytes of zeroed IPv6-sized slots.
    classic: foldhash::HashMap<SeqKey<16>, SeqBase>,
}

/// Look up (or record) a conversation's base numbers: returns the base and
/// whether it was already known. A SYN always re-bases. (The same rule in
/// tcpdump 3.x and 4.x; only the keys differ.)
pub(crate) fn rel_base<K: std::hash::Hash + Eq>(
    map: &mut foldhash::HashMap<K, SeqBase>,
    key: K,
    syn: bool,
    fresh: SeqBase,
) -> (SeqBase, bool) {
    use std::collections::hash_map::Entry;
    match map.entry(key) {
        Entry::Occupied(mut e) => {
            if syn {
                e.insert(fresh);
                (fresh, false)
            } else {
                (*e.get(), true)
            }
        }
        Entry::Vacant(e) => {
            e.insert(fresh);
            (fresh, false)
        }
    }
}

/// Prints frames as tcpdump does.
pub struct Printer {
    pub opts: PrintOptions,
    clock: Clock,
    pub(crate) seq: SeqTable,
    pub(crate) names: Names,
    interface_names: link::InterfaceNames,
    /// The sequence and acknowledgment numbers of the last TCP line, as
    /// printed (relative or absolute).
    pub(crate) shown: Option<(u32, u32)>,
}

/// What became of one frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Printed {
    /// A TCP line (including truncated or malformed TCP) was written.
    Tcp,
    /// A line for a non-TCP packet was written (`--all`).
    Other,
    /// Nothing was written (not TCP, and `--all` not given).
    Skipped,
}

impl Printer {
    pub fn new(opts: PrintOptions) -> Printer {
        time::init_timezone();
        let names = Names::new(opts.numeric);
        let clock = if opts.classic {
            Clock::classic(opts.time)
        } else {
            Clock::new(opts.time)
        };
        Printer {
            clock,
            opts,
            seq: SeqTable::default(),
            names,
            interface_names: link::InterfaceNames::default(),
            shown: None,
        }
    }

    /// The sequence and acknowledgment numbers the last printed line showed
    /// for its TCP segment (relative to the conversation's first numbers
    /// unless `-S`), so that an explanation can name them as printed.
    /// `None` when that line had no readable TCP header.
    pub fn shown_numbers(&self) -> Option<(u32, u32)> {
        self.shown
    }

    /// Does this frame carry TCP for this printer (what it shows without
    /// `--all`)? The classic format follows tcpdump 3.x's notion.
    pub fn carries_tcp(&self, frame: &Frame<'_>) -> bool {
        link::carries_tcp(frame, self.opts.classic)
    }

    /// Print one frame (with its newline) into `out`.
    pub fn print(&mut self, frame: &Frame<'_>, out: &mut Vec<u8>) -> Printed {
        self.shown = None;
        let caplen = frame.data.len() as u32;
        let len = frame.len;
        // pretty_print_packet's sanity checks come before the time stamp; a
        // damaged record is always shown, TCP or not. (tcpdump 3.x had no such
        // checks: it printed whatever libpcap handed it.)
        let invalid = !self.opts.classic
            && (caplen == 0 || len == 0 || len < caplen || caplen > 262_144 || len > 262_144);
        let is_tcp = self.carries_tcp(frame);
        if !is_tcp && !self.opts.all && !invalid {
            // Delta time stamps count from every packet tcpdump would print.
            self.clock.observe(frame.ts);
            return Printed::Skipped;
        }
        if invalid {
            let mut parts: Vec<String> = Vec::new();
            if caplen == 0 {
                parts.push(" caplen==0".into());
            }
            if len == 0 {
                parts.push(" len==0".into());
            } else if len < caplen {
                parts.push(format!(" len({len}) < caplen({caplen})"));
            }
            if caplen > 262_144 {
                parts.push(format!(" caplen({caplen}) > 262144"));
            }
            if len > 262_144 {
                parts.push(format!(" len({len}) > 262144"));
            }
            out.s("[Invalid header:");
            // The first part follows the colon directly for caplen==0.
            let joined = parts.join(",");
            out.s(&joined);
            out.s("]\n");
            return if is_tcp { Printed::Tcp } else { Printed::Other };
        }
        self.clock.print(out, frame.ts);
        let mut pkt = Pkt {
            s: Snap {
                data: frame.data,
                end: frame.data.len(),
            },
            proto: "",
            out,
            classic: self.opts.classic,
        };
        if link::print(self, &mut pkt, frame).is_err() {
            pkt.print_trunc();
        }
        pkt.out.push(b'\n');
        if is_tcp {
            Printed::Tcp
        } else {
            Printed::Other
        }
    }
}

/// tcpdump's `bittok2str_nosep` for the TCP flags: the set flags' letters in
/// table order, or `none`.
pub(crate) fn tcp_flag_letters(out: &mut Vec<u8>, flags: u8) {
    const LETTERS: [(u8, u8); 8] = [
        (0x01, b'F'),
        (0x02, b'S'),
        (0x04, b'R'),
        (0x08, b'P'),
        (0x10, b'.'),
        (0x20, b'U'),
        (0x40, b'E'),
        (0x80, b'W'),
    ];
    if flags == 0 {
        out.s("none");
        return;
    }
    for (bit, letter) in LETTERS {
        if flags & bit != 0 {
            out.push(letter);
        }
    }
}
