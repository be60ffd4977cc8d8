//! Rules 2-8 and 10 (the TCP part of the line) and the relative numbers.

use super::*;
use crate::print::classic::tcp::reversed;

const HEAD: &str = "192.168.1.12.1051 > 192.168.1.11.23:";

fn mss() -> Vec<u8> {
    vec![2, 4, 0x05, 0xb4]
}

fn seg(flags: u8) -> Tcp {
    Tcp {
        flags,
        ack: 7,
        urp: 9,
        ..Tcp::default()
    }
}

#[test]
fn textbook_syn_is_the_tutorial_line() {
    let t = Tcp {
        opts: mss(),
        ..Tcp::default()
    };
    assert_eq!(
        line("textbook_syn", eth4(&Ip::v4(), &t)),
        format!("{HEAD} S 4255483971:4255483971(0) win 65535 <mss 1460> (DF)")
    );
}

#[test]
fn flag_letters_in_3x_order_or_a_dot() {
    // Rule 3: S F R P W E in that order; ACK and URG are not letters.
    let cases = [
        (
            0xff,
            "SFRPWE 4255483971:4255483971(0) ack 7 win 65535 urg 9 (DF)",
        ),
        (ACK, ". ack 7 win 65535 (DF)"),
        (ACK | URG, ". ack 7 win 65535 urg 9 (DF)"),
        (ECE | ACK, "E ack 7 win 65535 (DF)"),
        (CWR | ECE, "WE win 65535 (DF)"),
        (0, ". win 65535 (DF)"),
        (FIN | RST, "FR 4255483971:4255483971(0) win 65535 (DF)"),
    ];
    for (flags, want) in cases {
        let got = line("flag_letters", eth4(&Ip::v4(), &seg(flags)));
        assert_eq!(got, format!("{HEAD} {want}"), "flags {flags:#04x}");
    }
}

#[test]
fn sequence_range_for_data_syn_fin_rst_and_with_vv() {
    // Rule 4.
    let data = Tcp {
        flags: PSH | CWR | ACK,
        data: b"abc".to_vec(),
        ..seg(0)
    };
    assert_eq!(
        line("seq_data", eth4(&Ip::v4(), &data)),
        format!("{HEAD} PW 4255483971:4255483974(3) ack 7 win 65535 (DF)")
    );
    let wrap = Tcp {
        seq: 0xffff_fffe,
        flags: ACK,
        data: b"wrap".to_vec(),
        ..seg(0)
    };
    assert_eq!(
        line("seq_wrap", eth4(&Ip::v4(), &wrap)),
        format!("{HEAD} . 4294967294:2(4) ack 7 win 65535 (DF)")
    );
    let fin = Tcp {
        seq: 100,
        ..seg(FIN | ACK)
    };
    assert_eq!(
        line("seq_fin", eth4(&Ip::v4(), &fin)),
        format!("{HEAD} F 100:100(0) ack 7 win 65535 (DF)")
    );
    // -vv prints the range always (and -v's checksum and IP fields).
    let bare = Tcp {
        seq: 100,
        ..seg(ACK)
    };
    let vv = PrintOptions {
        verbose: 2,
        ..opts()
    };
    let got = print_named("seq_vv", vv, &[eth4(&Ip::v4(), &bare).into()]);
    assert_eq!(
        got[0],
        format!(
            "{HEAD} . [tcp sum ok] 100:100(0) ack 7 win 65535 (DF) (ttl 128, id 14849, len 40)"
        )
    );
}

#[test]
fn window_is_the_raw_field_even_with_wscale() {
    // Rule 6: never scaled.
    let t = Tcp {
        win: 3,
        opts: vec![1, 3, 3, 14],
        ..seg(ACK)
    };
    assert_eq!(
        line("raw_window", eth4(&Ip::v4(), &t)),
        format!("{HEAD} . ack 7 win 3 <nop,wscale 14> (DF)")
    );
}

fn with_opts(opts: Vec<u8>) -> String {
    let t = Tcp { opts, ..seg(ACK) };
    line("options", eth4(&Ip::v4(), &t))
}

#[test]
fn options_are_named_as_3x_names_them() {
    // Rule 8; an eol ends the list.
    let a = with_opts(vec![
        2, 4, 5, 0xb4, 1, 3, 3, 7, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 0,
    ]);
    assert_eq!(
        a,
        format!("{HEAD} . ack 7 win 65535 <mss 1460,nop,wscale 7,sackOK,timestamp 1 2,eol> (DF)")
    );
    let b = with_opts(vec![
        6, 6, 0, 0, 0, 3, 7, 6, 0, 0, 0, 4, 11, 6, 0, 0, 0, 5, 12, 6, 0, 0, 0, 6, 13, 6, 0, 0, 0,
        7, 99, 4, 0xab, 0xcd,
    ]);
    assert_eq!(
        b,
        format!(
            "{HEAD} . ack 7 win 65535 <echo 3,echoreply 4,cc 5,ccnew 6,ccecho 7,opt-99:abcd,eol> (DF)"
        )
    );
}

#[test]
fn sack_names_itself_twice_and_ends_with_a_space() {
    // The rule writes `sack N {a:b}`; 3.7.2's print-tcp.c prints "sack", then
    // " sack %d ", the blocks and " " (as the corpus oracles show too).
    let s = with_opts(vec![
        1, 1, 5, 18, 0, 0, 0, 100, 0, 0, 0, 200, 0, 0, 1, 0, 0, 0, 2, 0,
    ]);
    assert_eq!(
        s,
        format!("{HEAD} . ack 7 win 65535 <nop,nop,sack sack 2 {{100:200}}{{256:512}} > (DF)")
    );
    let odd = with_opts(vec![5, 6, 0, 0, 0, 1, 1, 1]);
    assert_eq!(
        odd,
        format!("{HEAD} . ack 7 win 65535 <sack malformed sack ,nop,nop> (DF)")
    );
}

#[test]
fn a_length_other_than_the_kind_s_adds_len_and_the_walk_goes_on_inside() {
    // Rule 8: `[len N]`; 3.7.2 then advanced by the kind's data size, so the
    // rest of a long option is read as options.
    assert_eq!(
        with_opts(vec![2, 5, 5, 0xb4, 1, 1, 1, 1]),
        format!("{HEAD} . ack 7 win 65535 <mss 1460[len 5],nop,nop,nop,nop> (DF)")
    );
    assert_eq!(
        with_opts(vec![4, 4, 1, 1]),
        format!("{HEAD} . ack 7 win 65535 <sackOK[len 4],nop,nop> (DF)")
    );
    assert_eq!(
        with_opts(vec![99, 2, 1, 1]),
        format!("{HEAD} . ack 7 win 65535 <opt-99:,nop,nop> (DF)")
    );
}

#[test]
fn bad_opt_for_lengths_below_two_or_beyond_the_header() {
    // Rule 8: `[bad opt]` then `>`; the IP suffix follows.
    let cases = [
        (vec![1, 2, 0, 0], "<nop,[bad opt]>"),
        (vec![1, 8, 10, 0], "<nop,[bad opt]>"),
        // The length fits, the kind's data does not (LENCHECK).
        (vec![1, 2, 3, 1], "<nop,mss[bad opt]>"),
        (vec![8, 4, 0, 0], "<timestamp[bad opt]>"),
    ];
    for (opts, want) in cases {
        assert_eq!(
            with_opts(opts),
            format!("{HEAD} . ack 7 win 65535 {want} (DF)")
        );
    }
}

#[test]
fn options_cut_by_the_snapshot_end_in_trunc_mark() {
    // Rule 8: `[|tcp]` then `>`, where the capture ends.
    let t = Tcp {
        opts: vec![2, 4, 5, 0xb4, 1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2],
        ..seg(ACK)
    };
    let frame = eth4(&Ip::v4(), &t);
    let cut = |keep: usize| Case {
        keep: 14 + 20 + 20 + keep,
        ..Case::from(frame.clone())
    };
    let got = print_named("options_cut", opts(), &[cut(6), cut(8), cut(12)]);
    let want = [
        "<mss 1460,nop,nop,[|tcp]>",
        "<mss 1460,nop,nop,timestamp[|tcp]>",
        "<mss 1460,nop,nop,timestamp 1[|tcp]>",
    ];
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g, &format!("{HEAD} . ack 7 win 65535 {w} (DF)"));
    }
}

#[test]
fn truncation_before_and_after_the_ports() {
    // Rule 10: without the ports, the addresses and `[|tcp]`.
    let frame = eth4(&Ip::v4(), &seg(ACK));
    let cut = |keep: usize| Case {
        keep: 14 + 20 + keep,
        ..Case::from(frame.clone())
    };
    let got = print_named("trunc_ports", opts(), &[cut(2), cut(10)]);
    assert_eq!(got[0], "192.168.1.12 > 192.168.1.11: [|tcp] (DF)");
    assert_eq!(got[1], format!("{HEAD} [|tcp] (DF)"));
}

#[test]
fn ipv6_truncation_before_the_ports_shows_ipv4_addresses() {
    // Rule 10 as 3.7.2 implements it: the addresses are read through
    // `struct ip` even below IPv6, i.e. bytes 12-19 of the IPv6 header.
    let mut ip = Ip::v6();
    ip.src[4..12].copy_from_slice(&[10, 11, 12, 13, 14, 15, 16, 17]);
    let frame = eth6(&ip, &seg(ACK));
    let got = line(
        "trunc_ports_v6",
        Case {
            keep: 14 + 40 + 3,
            ..Case::from(frame)
        },
    );
    assert_eq!(got, "10.11.12.13 > 14.15.16.17: [|tcp]");
}

#[test]
fn header_length_beyond_the_segment() {
    // Rule 10: ` [bad hdr length]` after the flag letters.
    let t = Tcp {
        off: Some(15),
        ..seg(SYN)
    };
    assert_eq!(
        line("bad_hdr_length", eth4(&Ip::v4(), &t)),
        format!("{HEAD} S [bad hdr length] (DF)")
    );
}

#[test]
fn quiet_prints_the_payload_length() {
    let t = Tcp {
        data: vec![0; 5],
        ..seg(ACK)
    };
    let q = PrintOptions {
        quiet: true,
        ..opts()
    };
    let got = print_named("quiet", q, &[eth4(&Ip::v4(), &t).into()]);
    assert_eq!(got[0], format!("{HEAD} tcp 5 (DF)"));
}

/// A segment of the telnet conversation: `a_to_b` from 1051 to 23.
fn conv(a_to_b: bool, flags: u8, seq: u32, ack: u32, data: usize, opts: Vec<u8>) -> Case {
    let mut ip = Ip::v4();
    let mut t = Tcp {
        flags,
        seq,
        ack,
        opts,
        data: vec![b'x'; data],
        ..Tcp::default()
    };
    if !a_to_b {
        std::mem::swap(&mut ip.src, &mut ip.dst);
        std::mem::swap(&mut t.sport, &mut t.dport);
    }
    eth4(&ip, &t).into()
}

#[test]
fn relative_numbers_from_the_first_ack_bearing_segment() {
    let sack = vec![1, 1, 5, 10, 0, 0, 4, 0x4c, 0, 0, 4, 0xb0];
    let cases = [
        conv(true, SYN, 1000, 0, 0, vec![]),
        conv(false, SYN | ACK, 5000, 1001, 0, vec![]),
        conv(true, ACK, 1001, 5001, 0, vec![]),
        conv(true, PSH | ACK, 1001, 5001, 5, vec![]),
        conv(false, ACK, 5001, 1006, 0, sack),
        conv(true, RST, 1006, 0, 0, vec![]),
        conv(false, SYN | ACK, 9000, 2001, 0, vec![]),
        conv(true, ACK, 2001, 9001, 0, vec![]),
    ];
    let relative = PrintOptions {
        absolute: false,
        ..opts()
    };
    let got = print_named("relative", relative, &cases);
    let ab = HEAD;
    let ba = "192.168.1.11.23 > 192.168.1.12.1051:";
    let want = [
        // No ACK: absolute.
        format!("{ab} S 1000:1000(0) win 65535 (DF)"),
        // The first ACK-bearing segment records the bases, printed absolute.
        format!("{ba} S 5000:5000(0) ack 1001 win 65535 (DF)"),
        format!("{ab} . ack 1 win 65535 (DF)"),
        format!("{ab} P 1:6(5) ack 1 win 65535 (DF)"),
        // SACK blocks are relative to the other side's base too.
        format!("{ba} . ack 6 win 65535 <nop,nop,sack sack 1 {{100:200}} > (DF)"),
        format!("{ab} R 1006:1006(0) win 65535 (DF)"),
        // A later SYN re-bases, printed absolute.
        format!("{ba} S 9000:9000(0) ack 2001 win 65535 (DF)"),
        format!("{ab} . ack 1 win 65535 (DF)"),
    ];
    assert_eq!(got, want);
}

#[test]
fn ipv4_and_ipv6_conversations_share_one_table() {
    // 3.7.2 keys IPv4 conversations by the address in the first four bytes of
    // an IPv6-sized slot, so 10.0.0.1 and 0a00:0001:: are the same host.
    let mut v4 = Ip::v4();
    v4.src = vec![10, 0, 0, 1];
    v4.dst = vec![10, 0, 0, 2];
    let mut v6 = Ip::v6();
    v6.src = [vec![10, 0, 0, 1], vec![0; 12]].concat();
    v6.dst = [vec![10, 0, 0, 2], vec![0; 12]].concat();
    let t = |seq, ack| Tcp {
        flags: ACK,
        seq,
        ack,
        ..Tcp::default()
    };
    let relative = PrintOptions {
        absolute: false,
        ..opts()
    };
    let got = print_named(
        "shared_table",
        relative,
        &[
            eth4(&v4, &t(5000, 1001)).into(),
            eth6(&v6, &t(5000, 1011)).into(),
        ],
    );
    assert_eq!(
        got[0],
        "10.0.0.1.1051 > 10.0.0.2.23: . ack 1001 win 65535 (DF)"
    );
    assert_eq!(got[1], "a00:1::.1051 > a00:2::.23: . ack 11 win 65535");
}

#[test]
fn equal_ports_order_by_little_endian_address_words() {
    // 3.7.2 compared `s_addr` as integers on a little-endian machine, and for
    // IPv6 word by word, stopping only at a greater source word.
    assert!(!reversed(80, 80, &[10, 0, 0, 2], &[2, 0, 0, 10]));
    assert!(reversed(80, 80, &[2, 0, 0, 10], &[10, 0, 0, 2]));
    let a = [[0, 0, 0, 1], [0, 0, 0, 2], [0; 4], [0; 4]].concat();
    let b = [[0, 0, 0, 2], [0, 0, 0, 1], [0; 4], [0; 4]].concat();
    assert!(reversed(80, 80, &a, &b));
    assert!(reversed(80, 80, &b, &a));
    assert!(reversed(1051, 23, &a, &b));
    assert!(!reversed(23, 1051, &a, &b));
}
