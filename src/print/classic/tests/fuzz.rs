//! No input makes the classic printer panic: valid frames with bytes
//! changed and captures cut anywhere, under every flag that changes its path.

use proptest::prelude::*;

use super::*;

fn bases() -> Vec<(Linktype, Vec<u8>)> {
    let t = Tcp {
        flags: ACK | PSH,
        ack: 7,
        opts: vec![
            1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2, 3, 3, 7,
        ],
        data: b"payload".to_vec(),
        ..Tcp::default()
    };
    let ip4 = Ip {
        opts: vec![
            7, 7, 4, 10, 0, 0, 1, 1, 68, 12, 5, 1, 10, 0, 0, 1, 0, 0, 0, 9,
        ],
        ..Ip::v4()
    };
    let mut ip6 = ipv6(&Ip::v6(), &t);
    // A hop-by-hop header, a routing header and a fragment header before TCP.
    let mut chain = vec![43, 0, 0xc2, 4, 0, 1, 0, 0];
    chain.extend([44, 2, 0, 1, 0, 0, 0, 0]);
    chain.extend(ip6[24..40].to_vec());
    chain.extend([6, 0, 0, 0, 0, 0, 0, 9]);
    let tcp6 = ip6.split_off(40);
    ip6[6] = 0;
    let plen = (chain.len() + tcp6.len()) as u16;
    ip6[4..6].copy_from_slice(&plen.to_be_bytes());
    ip6.extend(chain);
    ip6.extend(tcp6);
    vec![
        (Linktype::ETHERNET, ether(&[165], 0x0800, &ipv4(&ip4, &t))),
        (Linktype::ETHERNET, ether(&[], 0x86dd, &ip6)),
        (Linktype::RAW, ipv4(&Ip::v4(), &t)),
        (Linktype::LINUX_SLL, {
            let mut f = vec![0, 4, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x81, 0];
            f.extend([0x20, 5, 0x08, 0]);
            f.extend(ipv4(&Ip::v4(), &t));
            f
        }),
    ]
}

/// Bytes that hit boundaries (zero lengths and pointers, all ones) more
/// often than uniform bytes would.
fn edge_byte() -> impl Strategy<Value = u8> {
    prop_oneof![Just(0u8), Just(1), Just(2), Just(0xff), any::<u8>()]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    #[test]
    fn changed_and_cut_frames_print_without_panic(
        base in 0usize..4,
        changes in proptest::collection::vec((any::<usize>(), edge_byte(), any::<bool>()), 0..6),
        keep in any::<usize>(),
        wire_extra in 0u32..80,
        shorter_wire in any::<bool>(),
        verbose in 0u8..3,
        link in any::<bool>(),
        absolute in any::<bool>(),
        quiet in any::<bool>(),
        all in any::<bool>(),
    ) {
        let (linktype, mut bytes) = bases().swap_remove(base);
        for (at, v, in_headers) in changes {
            // Half the changes land in the first 120 bytes: the headers.
            let span = if in_headers { bytes.len().min(120) } else { bytes.len() };
            bytes[at % span] = v;
        }
        let keep = keep % (bytes.len() + 1);
        let caplen = keep as u32;
        // The length on the wire may even be below the capture length: 3.x
        // printed such records too.
        let len = if shorter_wire { caplen / 2 } else { caplen + wire_extra };
        let opts = PrintOptions {
            verbose,
            link,
            absolute,
            quiet,
            all,
            ..opts()
        };
        let mut printer = Printer::new(opts);
        let frame = Frame {
            number: 1,
            ts: Timestamp::new(1, 0),
            len,
            linktype,
            data: &bytes[..keep],
            offset: 0,
        };
        let mut out = Vec::new();
        printer.print(&frame, &mut out);
        printer.print(&frame, &mut out);
        prop_assert!(out.is_empty() || out.ends_with(b"\n"));
    }
}
