//! Rules 1 and 9 (time stamps, what the IP layer adds after the segment),
//! the 802.1Q prefix and the IPv6 suffixes.

use super::*;

const HEAD: &str = "192.168.1.12.1051 > 192.168.1.11.23:";
const SYN_MSS: &str = "S 4255483971:4255483971(0) win 65535 <mss 1460>";

fn syn() -> Tcp {
    Tcp {
        opts: vec![2, 4, 0x05, 0xb4],
        ..Tcp::default()
    }
}

fn with_ip(name: &str, ip: Ip) -> String {
    line(name, eth4(&ip, &syn()))
}

#[test]
fn dont_fragment_and_fragments() {
    // Rule 9: `(frag ID:LEN@OFFSET+)` for fragments, else `(DF)` when set.
    let plain = Ip {
        frag: 0,
        ..Ip::v4()
    };
    assert_eq!(with_ip("no_df", plain), format!("{HEAD} {SYN_MSS}"));
    let first = Ip {
        frag: 0x2000,
        ..Ip::v4()
    };
    assert_eq!(
        with_ip("first_fragment", first),
        format!("{HEAD} {SYN_MSS} (frag 14849:24@0+)")
    );
    // DF with MF: the fragment wins.
    let both = Ip {
        frag: 0x6000,
        ..Ip::v4()
    };
    assert_eq!(
        with_ip("df_and_mf", both),
        format!("{HEAD} {SYN_MSS} (frag 14849:24@0+)")
    );
    // A later fragment has no TCP header: addresses and the protocol name.
    let later = Ip {
        frag: 0x0003,
        ..Ip::v4()
    };
    assert_eq!(
        with_ip("later_fragment", later),
        "192.168.1.12 > 192.168.1.11: tcp (frag 14849:24@24)"
    );
}

#[test]
fn tos_with_ecn_names_and_its_trailing_space() {
    // Rule 9: ` [tos 0xN]` with `,ECT(0)`, `,ECT(1)` or `,CE`, closed by `] `.
    let cases = [
        (0x10, " [tos 0x10] "),
        (0x02, " [tos 0x2,ECT(0)] "),
        (0x01, " [tos 0x1,ECT(1)] "),
        (0x03, " [tos 0x3,CE] "),
        (0xb9, " [tos 0xb9,ECT(1)] "),
    ];
    for (tos, want) in cases {
        let ip = Ip { tos, ..Ip::v4() };
        assert_eq!(
            with_ip("tos", ip),
            format!("{HEAD} {SYN_MSS} (DF){want}"),
            "tos {tos:#x}"
        );
    }
}

#[test]
fn ttl_of_one_or_less() {
    // Rule 9: ` [ttl N]` when TTL <= 1.
    for ttl in [0, 1] {
        let ip = Ip { ttl, ..Ip::v4() };
        assert_eq!(
            with_ip("low_ttl", ip),
            format!("{HEAD} {SYN_MSS} (DF) [ttl {ttl}]")
        );
    }
    let ip = Ip { ttl: 2, ..Ip::v4() };
    assert_eq!(with_ip("ttl_2", ip), format!("{HEAD} {SYN_MSS} (DF)"));
}

fn verbose(name: &str, frame: Vec<u8>) -> String {
    let v = PrintOptions {
        verbose: 1,
        ..opts()
    };
    print_named(name, v, &[frame.into()]).remove(0)
}

#[test]
fn verbose_ip_fields_and_tcp_checksum() {
    // Rule 9 with -v: ` (ttl N, id N, len N)`; 3.7.2 also checks the TCP sum.
    assert_eq!(
        verbose("verbose", eth4(&Ip::v4(), &syn())),
        format!(
            "{HEAD} S [tcp sum ok] 4255483971:4255483971(0) win 65535 <mss 1460> (DF) (ttl 128, id 14849, len 44)"
        )
    );
    // TTL 1 moves to its bracket; a fragment has no id; a bad header sum
    // shows the field.
    let odd = Ip {
        ttl: 1,
        frag: 0x2000,
        sum: Some(0x1234),
        ..Ip::v4()
    };
    assert_eq!(
        verbose("verbose_odd", eth4(&odd, &syn())),
        format!(
            "{HEAD} S [tcp sum ok] 4255483971:4255483971(0) win 65535 <mss 1460> (frag 14849:24@0+) [ttl 1] (len 44, bad cksum 1234!)"
        )
    );
    // The sum as 3.7.2 computed it on a little-endian machine: the
    // complement of the 16-bit words added in host order. For these bytes
    // the network-order sum is 0x8aa3 (computed apart from synack); it
    // prints swapped.
    let bad = Tcp {
        csum: Some(0),
        ..syn()
    };
    assert_eq!(
        verbose("verbose_bad_sum", eth4(&Ip::v4(), &bad)),
        format!(
            "{HEAD} S [bad tcp cksum a38a!] 4255483971:4255483971(0) win 65535 <mss 1460> (DF) (ttl 128, id 14849, len 44)"
        )
    );
    // The reserved flag counts as "fragmented" and turns the TCP sum off.
    let evil = Ip {
        frag: 0xc000,
        ..Ip::v4()
    };
    assert_eq!(
        verbose("verbose_evil_bit", eth4(&evil, &syn())),
        format!(
            "{HEAD} S 4255483971:4255483971(0) win 65535 <mss 1460> (DF) (ttl 128, id 14849, len 44)"
        )
    );
}

#[test]
fn verbose_ip_options() {
    let route = Ip {
        opts: vec![7, 7, 4, 10, 0, 0, 1, 1],
        ..Ip::v4()
    };
    assert_eq!(
        verbose("ip_options_rr", eth4(&route, &syn())),
        format!(
            "{HEAD} S [tcp sum ok] 4255483971:4255483971(0) win 65535 <mss 1460> (DF) (ttl 128, id 14849, len 52, optlen=8 RR{{#10.0.0.1}} NOP)"
        )
    );
    let alert = Ip {
        opts: vec![1, 148, 4, 0, 0, 1, 0, 0],
        ..Ip::v4()
    };
    assert_eq!(
        verbose("ip_options_ra", eth4(&alert, &syn())),
        format!(
            "{HEAD} S [tcp sum ok] 4255483971:4255483971(0) win 65535 <mss 1460> (DF) (ttl 128, id 14849, len 52, optlen=8 NOP RA NOP EOL-1)"
        )
    );
}

#[test]
fn vlan_prefix_before_the_addresses() {
    // `802.1Q vlan#N PN ` per 802.1Q tag, ` CFI` for the DEI bit.
    let ip = ipv4(&Ip::v4(), &syn());
    let got = print_named(
        "vlan",
        opts(),
        &[
            ether(&[165], 0x0800, &ip).into(),
            ether(&[0x7005], 0x0800, &ip).into(),
            ether(&[0x0001, 0x2002], 0x0800, &ip).into(),
        ],
    );
    assert_eq!(got[0], format!("802.1Q vlan#165 P0 {HEAD} {SYN_MSS} (DF)"));
    assert_eq!(
        got[1],
        format!("802.1Q vlan#5 P3 CFI {HEAD} {SYN_MSS} (DF)")
    );
    assert_eq!(
        got[2],
        format!("802.1Q vlan#1 P0 802.1Q vlan#2 P1 {HEAD} {SYN_MSS} (DF)")
    );
}

#[test]
fn ipv6_class_flowlabel_and_hop_limit() {
    let head6 = "2001:db8::1.1051 > 2001:db8::2.23:";
    let flow = Ip {
        flow: 0x12345,
        ..Ip::v6()
    };
    assert_eq!(
        line("ipv6_flowlabel", eth6(&flow, &syn())),
        format!("{head6} {SYN_MSS} [flowlabel 0x12345]")
    );
    let class = Ip {
        flow: 0xb8 << 20,
        ttl: 1,
        ..Ip::v6()
    };
    assert_eq!(
        line("ipv6_class", eth6(&class, &syn())),
        format!("{head6} {SYN_MSS} [class 0xb8] [hlim 1]")
    );
    assert_eq!(
        verbose("ipv6_verbose", eth6(&Ip::v6(), &syn())),
        format!(
            "{head6} S [tcp sum ok] 4255483971:4255483971(0) win 65535 <mss 1460> (len 24, hlim 64)"
        )
    );
}

fn stamped(name: &str, t: u8, stamps: &[(i64, i64)]) -> Vec<String> {
    let o = PrintOptions {
        time: TimeFormat::from_count(t),
        ..opts()
    };
    let frame = eth4(&Ip::v4(), &syn());
    let cases: Vec<Case> = stamps
        .iter()
        .map(|&ts| Case {
            ts,
            ..Case::from(frame.clone())
        })
        .collect();
    print_named(name, o, &cases)
        .into_iter()
        .map(|l| l[..l.find(HEAD).expect("the segment follows the stamp")].to_string())
        .collect()
}

#[test]
fn time_stamps_as_3x_prints_them() {
    // Rule 1 and 3.7.2's ts_print: -tt epoch, -ttt delta ("000000" first,
    // then microseconds, seconds as "N. "), -tttt date and time in UTC
    // whatever the zone, -ttttt nothing (3.7.2 had no such format).
    let at = [
        (1_000_000_000, 1_000),
        (1_000_000_000, 1_123),
        (1_000_000_002, 1_000),
    ];
    assert_eq!(
        stamped("ts_epoch", 2, &at),
        [
            "1000000000.001000 ",
            "1000000000.001123 ",
            "1000000002.001000 "
        ]
    );
    assert_eq!(
        stamped("ts_delta", 3, &at),
        ["000000 ", "000123 ", "1. 999877 "]
    );
    assert_eq!(
        stamped("ts_date", 4, &at[..1]),
        ["09/09/2001 01:46:40.001000 "]
    );
    assert_eq!(stamped("ts_none", 5, &at[..1]), [""]);
}
