//! Property tests of the TCP option decoder: options written by a sender read
//! back as written, and any bytes read back the same after being written
//! again from what was read.

use proptest::prelude::*;
use synack::wire::tcp::{
    options, FastOpen, OptionSummary, TcpOption, OPT_EOL, OPT_EXPERIMENT2, OPT_FASTOPEN, OPT_MD5,
    OPT_MPTCP, OPT_MSS, OPT_NOP, OPT_SACK, OPT_SACK_OK, OPT_TCP_AO, OPT_TIMESTAMP, OPT_WSCALE,
    TFO_MAGIC,
};

/// A well-formed option as a sender writes it.
#[derive(Clone, Debug)]
enum Opt {
    Nop,
    Mss(u16),
    WindowScale(u8),
    SackPermitted,
    Sack(Vec<u8>),
    Timestamps(u32, u32),
    Md5(Vec<u8>),
    TcpAo(Vec<u8>),
    Mptcp(Vec<u8>),
    FastOpen(Vec<u8>),
    /// Fast Open under the RFC 6994 experiment kind with its magic.
    FastOpenExperiment(Vec<u8>),
    Unknown(u8, Vec<u8>),
}

/// Kinds the decoder gives a meaning to (at some length).
const KNOWN: &[u8] = &[
    OPT_EOL,
    OPT_NOP,
    OPT_MSS,
    OPT_WSCALE,
    OPT_SACK_OK,
    OPT_SACK,
    OPT_TIMESTAMP,
    OPT_MD5,
    OPT_TCP_AO,
    OPT_MPTCP,
    OPT_FASTOPEN,
    OPT_EXPERIMENT2,
];

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..=max)
}

fn opt() -> impl Strategy<Value = Opt> {
    prop_oneof![
        Just(Opt::Nop),
        any::<u16>().prop_map(Opt::Mss),
        any::<u8>().prop_map(Opt::WindowScale),
        Just(Opt::SackPermitted),
        (0usize..5)
            .prop_flat_map(|n| prop::collection::vec(any::<u8>(), 8 * n))
            .prop_map(Opt::Sack),
        (any::<u32>(), any::<u32>()).prop_map(|(v, e)| Opt::Timestamps(v, e)),
        bytes(16).prop_map(Opt::Md5),
        bytes(16).prop_map(Opt::TcpAo),
        prop::collection::vec(any::<u8>(), 1..=12).prop_map(Opt::Mptcp),
        bytes(16).prop_map(Opt::FastOpen),
        bytes(16).prop_map(Opt::FastOpenExperiment),
        (
            any::<u8>().prop_filter("a kind without meaning", |k| !KNOWN.contains(k)),
            bytes(8)
        )
            .prop_map(|(k, d)| Opt::Unknown(k, d)),
    ]
}

/// Up to 40 bytes of options (a TCP header's room), maybe ended by EOL.
fn option_list() -> impl Strategy<Value = (Vec<Opt>, bool)> {
    (prop::collection::vec(opt(), 0..10), any::<bool>()).prop_map(|(list, eol)| {
        let mut room = 40 - usize::from(eol);
        let fits: Vec<Opt> = list
            .into_iter()
            .take_while(|o| {
                let n = encode_opt(o).len();
                let ok = n <= room;
                room = room.saturating_sub(n);
                ok
            })
            .collect();
        (fits, eol)
    })
}

fn with_len(kind: u8, data: &[u8]) -> Vec<u8> {
    let mut v = vec![kind, (data.len() + 2) as u8];
    v.extend_from_slice(data);
    v
}

fn encode_opt(o: &Opt) -> Vec<u8> {
    match o {
        Opt::Nop => vec![OPT_NOP],
        Opt::Mss(v) => with_len(OPT_MSS, &v.to_be_bytes()),
        Opt::WindowScale(v) => with_len(OPT_WSCALE, &[*v]),
        Opt::SackPermitted => with_len(OPT_SACK_OK, &[]),
        Opt::Sack(b) => with_len(OPT_SACK, b),
        Opt::Timestamps(v, e) => {
            let mut d = v.to_be_bytes().to_vec();
            d.extend_from_slice(&e.to_be_bytes());
            with_len(OPT_TIMESTAMP, &d)
        }
        Opt::Md5(b) => with_len(OPT_MD5, b),
        Opt::TcpAo(b) => with_len(OPT_TCP_AO, b),
        Opt::Mptcp(b) => with_len(OPT_MPTCP, b),
        Opt::FastOpen(b) => with_len(OPT_FASTOPEN, b),
        Opt::FastOpenExperiment(b) => {
            let mut d = TFO_MAGIC.to_be_bytes().to_vec();
            d.extend_from_slice(b);
            with_len(OPT_EXPERIMENT2, &d)
        }
        Opt::Unknown(k, b) => with_len(*k, b),
    }
}

fn encode(list: &[Opt], eol: bool) -> Vec<u8> {
    let mut out: Vec<u8> = list.iter().flat_map(encode_opt).collect();
    if eol {
        out.push(OPT_EOL);
    }
    out
}

/// What the decoder must read for a written option.
fn expected(o: &Opt) -> TcpOption<'_> {
    match o {
        Opt::Nop => TcpOption::Nop,
        Opt::Mss(v) => TcpOption::Mss(*v),
        Opt::WindowScale(v) => TcpOption::WindowScale(*v),
        Opt::SackPermitted => TcpOption::SackPermitted,
        Opt::Sack(b) => TcpOption::Sack(b),
        Opt::Timestamps(val, ecr) => TcpOption::Timestamps {
            val: *val,
            ecr: *ecr,
        },
        Opt::Md5(b) => TcpOption::Md5(b),
        Opt::TcpAo(b) => TcpOption::TcpAo(b),
        Opt::Mptcp(b) => TcpOption::Mptcp(b),
        Opt::FastOpen(b) | Opt::FastOpenExperiment(b) => TcpOption::FastOpen(b),
        Opt::Unknown(kind, data) => TcpOption::Unknown { kind: *kind, data },
    }
}

/// Write back what the decoder read: each option in its own kind (Fast
/// Open under kind 34), a malformed one as its kind byte alone.
fn reencode(read: &[TcpOption<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for o in read {
        match *o {
            TcpOption::Eol => out.push(OPT_EOL),
            TcpOption::Nop => out.push(OPT_NOP),
            TcpOption::Mss(v) => out.extend(with_len(OPT_MSS, &v.to_be_bytes())),
            TcpOption::WindowScale(v) => out.extend(with_len(OPT_WSCALE, &[v])),
            TcpOption::SackPermitted => out.extend(with_len(OPT_SACK_OK, &[])),
            TcpOption::Sack(b) => out.extend(with_len(OPT_SACK, b)),
            TcpOption::Timestamps { val, ecr } => {
                out.extend(encode_opt(&Opt::Timestamps(val, ecr)))
            }
            TcpOption::Md5(b) => out.extend(with_len(OPT_MD5, b)),
            TcpOption::TcpAo(b) => out.extend(with_len(OPT_TCP_AO, b)),
            TcpOption::Mptcp(b) => out.extend(with_len(OPT_MPTCP, b)),
            TcpOption::FastOpen(b) => out.extend(with_len(OPT_FASTOPEN, b)),
            TcpOption::Unknown { kind, data } => out.extend(with_len(kind, data)),
            TcpOption::Malformed { kind } => out.push(kind),
        }
    }
    out
}

/// What the iterator's options say, summarized: the first MSS, window scale,
/// timestamps, Fast Open cookie and MPTCP subtype, the last SACK's block count,
/// and whether any was SACK permitted, MD5, TCP-AO or malformed.
fn summary_of<'a>(read: &[TcpOption<'a>]) -> OptionSummary<'a> {
    let mut s = OptionSummary::default();
    for o in read {
        match *o {
            TcpOption::Mss(v) => s.mss = s.mss.or(Some(v)),
            TcpOption::WindowScale(v) => s.wscale = s.wscale.or(Some(v)),
            TcpOption::SackPermitted => s.sack_ok = true,
            TcpOption::Sack(b) => s.sack_blocks = (b.len() / 8) as u8,
            TcpOption::Timestamps { val, ecr } => s.timestamps = s.timestamps.or(Some((val, ecr))),
            TcpOption::FastOpen(cookie) => s.fast_open = s.fast_open.or(Some(FastOpen { cookie })),
            TcpOption::Mptcp(d) => s.mptcp_subtype = s.mptcp_subtype.or(Some(d[0] >> 4)),
            TcpOption::Md5(_) => s.md5 = true,
            TcpOption::TcpAo(_) => s.tcp_ao = true,
            TcpOption::Malformed { .. } => s.malformed = true,
            TcpOption::Eol | TcpOption::Nop | TcpOption::Unknown { .. } => {}
        }
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn written_options_read_back_as_written((list, eol) in option_list()) {
        let wire = encode(&list, eol);
        prop_assert!(wire.len() <= 40);
        let read: Vec<TcpOption<'_>> = options(&wire).collect();
        let mut want: Vec<TcpOption<'_>> = list.iter().map(expected).collect();
        if eol {
            want.push(TcpOption::Eol);
        }
        prop_assert_eq!(&read, &want);

        // The summary keeps the first of each, and flags the rest.
        let s = OptionSummary::parse(&wire);
        prop_assert_eq!(s.mss, list.iter().find_map(|o| match o { Opt::Mss(v) => Some(*v), _ => None }));
        prop_assert_eq!(s.wscale, list.iter().find_map(|o| match o { Opt::WindowScale(v) => Some(*v), _ => None }));
        prop_assert_eq!(s.sack_ok, list.iter().any(|o| matches!(o, Opt::SackPermitted)));
        prop_assert_eq!(
            s.timestamps,
            list.iter().find_map(|o| match o { Opt::Timestamps(v, e) => Some((*v, *e)), _ => None })
        );
        prop_assert_eq!(
            s.fast_open.map(|f| f.cookie),
            list.iter().find_map(|o| match o {
                Opt::FastOpen(b) | Opt::FastOpenExperiment(b) => Some(&b[..]),
                _ => None,
            })
        );
        prop_assert_eq!(
            s.mptcp_subtype,
            list.iter().find_map(|o| match o { Opt::Mptcp(b) => Some(b[0] >> 4), _ => None })
        );
        prop_assert_eq!(s.md5, list.iter().any(|o| matches!(o, Opt::Md5(_))));
        prop_assert_eq!(s.tcp_ao, list.iter().any(|o| matches!(o, Opt::TcpAo(_))));
        prop_assert!(!s.malformed);
    }

    /// Linux's layouts, which the summary recognizes whole, read as the
    /// iterator reads them, and so do they with any one byte changed.
    #[test]
    fn linux_layouts_read_as_the_iterator_reads_them(
        mss in any::<u16>(),
        val in any::<u32>(),
        ecr in any::<u32>(),
        ws in any::<u8>(),
        syn in any::<bool>(),
        change in proptest::option::of((0usize..20, any::<u8>())),
    ) {
        let mut wire = if syn {
            let list = [
                Opt::Mss(mss),
                Opt::SackPermitted,
                Opt::Timestamps(val, ecr),
                Opt::Nop,
                Opt::WindowScale(ws),
            ];
            encode(&list, false)
        } else {
            encode(&[Opt::Nop, Opt::Nop, Opt::Timestamps(val, ecr)], false)
        };
        prop_assert_eq!(wire.len(), if syn { 20 } else { 12 });
        if let Some((at, byte)) = change {
            let at = at % wire.len();
            wire[at] = byte;
        }
        let read: Vec<TcpOption<'_>> = options(&wire).collect();
        prop_assert_eq!(OptionSummary::parse(&wire), summary_of(&read));
    }

    #[test]
    fn any_bytes_read_back_the_same_once_written_again(wire in bytes(40)) {
        let read: Vec<TcpOption<'_>> = options(&wire).collect();
        prop_assert!(read.len() <= wire.len());
        let again = reencode(&read);
        prop_assert!(again.len() <= wire.len());
        let reread: Vec<TcpOption<'_>> = options(&again).collect();
        prop_assert_eq!(&reread, &read);
        // Byte for byte what was read, unless Fast Open came under the
        // experiment kind (written back as kind 34, two bytes shorter).
        if !read.iter().any(|o| matches!(o, TcpOption::FastOpen(_))) {
            prop_assert_eq!(&again[..], &wire[..again.len()]);
        }
        // The summary, which reads the common options in place, reads any
        // bytes as the iterator does.
        prop_assert_eq!(OptionSummary::parse(&wire), summary_of(&read));
        // Nothing is read past an EOL or a malformed option.
        if let Some(k) = read.iter().position(|o| matches!(o, TcpOption::Eol | TcpOption::Malformed { .. })) {
            prop_assert_eq!(k, read.len() - 1);
        }
    }
}
