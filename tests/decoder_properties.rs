//! Property tests: the decoders and printers take any bytes under any link
//! type without panicking, and what the printer calls TCP is what the decoder
//! calls TCP.

use proptest::prelude::*;
use synack::print::{PrintOptions, Printer, TimeFormat};
use synack::source::{Frame, Linktype, Timestamp};
use synack::wire::{decode, segment::Skip};

const LINKTYPES: &[u32] = &[0, 1, 9, 12, 101, 108, 113, 129, 228, 229, 276, 147];

fn options(bits: u8) -> PrintOptions {
    PrintOptions {
        numeric: true,
        absolute: bits & 1 != 0,
        time: TimeFormat::from_count(bits >> 5),
        verbose: (bits >> 1) & 3,
        link: bits & 8 != 0,
        quiet: bits & 16 != 0,
        all: true,
        classic: false,
    }
}

/// A frame that starts like real TCP/IP over Ethernet, so that mutations reach
/// deep into the IP and TCP parsers rather than stopping at the link layer.
fn tcp_like(tail: &[u8], ihl: u8, doff: u8, v6: bool) -> Vec<u8> {
    let mut f = vec![0u8; 12];
    if v6 {
        f.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0]);
        f.extend_from_slice(&((tail.len() as u16).to_be_bytes()));
        f.extend_from_slice(&[6, 64]);
        f.extend_from_slice(&[0xfe; 32]);
    } else {
        f.extend_from_slice(&[0x08, 0x00, 0x40 | (ihl & 0xf), 0]);
        f.extend_from_slice(&(((20 + tail.len()) as u16).to_be_bytes()));
        f.extend_from_slice(&[0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
    }
    let mut tcp = tail.to_vec();
    if tcp.len() > 12 {
        tcp[12] = (doff << 4) | (tcp[12] & 0x0f);
    }
    f.extend_from_slice(&tcp);
    f
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn random_frames_never_panic(
        lt in prop::sample::select(LINKTYPES),
        data in prop::collection::vec(any::<u8>(), 0..200),
        extra_len in 0u32..100,
        bits in any::<u8>(),
    ) {
        let frame = Frame {
            number: 1,
            ts: Timestamp::new(1_700_000_000, 123_456_000),
            len: data.len() as u32 + extra_len,
            linktype: Linktype(lt),
            data: &data,
            offset: 24,
        };
        let mut printer = Printer::new(options(bits));
        let mut out = Vec::new();
        printer.print(&frame, &mut out);
        let _ = decode(&frame);
        prop_assert!(out.is_empty() || out.ends_with(b"\n"));
        prop_assert_eq!(out.iter().filter(|&&b| b == b'\n').count() <= 2, true);
    }

    #[test]
    fn tcp_like_frames_never_panic_and_agree_with_the_decoder(
        tail in prop::collection::vec(any::<u8>(), 0..120),
        ihl in 0u8..16,
        doff in 0u8..16,
        v6 in any::<bool>(),
        cut in 0usize..200,
        bits in any::<u8>(),
    ) {
        let full = tcp_like(&tail, ihl, doff, v6);
        let data = &full[..full.len().min(cut.max(1))];
        let frame = Frame {
            number: 1,
            ts: Timestamp::new(1_700_000_000, 0),
            len: full.len() as u32,
            linktype: Linktype::ETHERNET,
            data,
            offset: 24,
        };
        let mut printer = Printer::new(options(bits & !16));
        let mut out = Vec::new();
        printer.print(&frame, &mut out);
        let text = String::from_utf8_lossy(&out);
        // A segment the tracker accepts is one tcpdump prints with its flags.
        if decode(&frame).is_ok() {
            prop_assert!(text.contains("Flags ["), "decoded but printed: {}", text);
        }
        if let Err(Skip::NotIp) = decode(&frame) {
            prop_assert!(!text.contains("Flags ["), "printed as TCP: {}", text);
        }
    }
}
