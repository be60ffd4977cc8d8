//! One frame under a link type chosen by the first byte, through every
//! printer mode and the decoder. What is printed is printable ASCII and
//! newlines only: packet bytes never reach the terminal raw.

use synack::print::{PrintOptions, Printer, TimeFormat};
use synack::source::{Frame, Linktype, Timestamp};

/// Printers 0-11 print tcpdump 4.x lines, 12-23 the same modes in the
/// classic 3.x format: each of no -v, -v and -vv, with and without -e, with
/// relative or absolute (-S) sequence numbers; -q in two of them.
fn printer(n: u8) -> Printer {
    let bits = n % 12;
    Printer::new(PrintOptions {
        numeric: true,
        absolute: bits >= 6,
        time: TimeFormat::None,
        verbose: bits % 3,
        link: (bits / 3) % 2 == 1,
        quiet: bits == 6 || bits == 11,
        all: true,
        classic: n >= 12,
    })
}

thread_local! {
    static PRINTERS: std::cell::RefCell<(u64, Vec<Printer>)> = const { std::cell::RefCell::new((0, Vec::new())) };
}

const LINKTYPES: [u32; 12] = [1, 113, 276, 101, 228, 229, 0, 108, 9, 129, 12, 1];

pub fn run(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let extra = (sel >> 4) as u32 * 97;
    let frame = Frame {
        number: 1,
        ts: Timestamp::new(1_700_000_000, 1000),
        len: rest.len() as u32 + extra,
        linktype: Linktype(LINKTYPES[(sel & 0x0f) as usize % LINKTYPES.len()]),
        data: rest,
        offset: 24,
    };
    PRINTERS.with(|cell| {
        let mut state = cell.borrow_mut();
        let (runs, printers) = &mut *state;
        // Fresh printers now and then, so their conversation tables stay small.
        *runs += 1;
        if printers.is_empty() || *runs % 10_000 == 0 {
            *printers = (0u8..24).map(printer).collect();
        }
        let mut out = Vec::new();
        for p in printers.iter_mut() {
            p.print(&frame, &mut out);
            p.print(&frame, &mut out);
            if let Some(bad) = out
                .iter()
                .find(|&&b| b != b'\n' && !(b' '..=b'~').contains(&b))
            {
                panic!(
                    "byte 0x{bad:02x} printed: {:?}",
                    String::from_utf8_lossy(&out)
                );
            }
            out.clear();
        }
    });
    if let Ok(seg) = synack::wire::decode(&frame) {
        let _ = seg.checksum_ok();
        let _ = synack::wire::tcp::OptionSummary::parse(seg.tcp.options());
        let _ = seg.tcp.payload();
    }
}
