//! Explanations of built segments: the arithmetic named the way RFC 9293
//! states it, the verdicts the lab captures do not show, and totality on
//! arbitrary segments.

use proptest::prelude::*;

use super::*;
use crate::print::{PrintOptions, TimeFormat};
use crate::report::testing::{judged, linux_syn_options, Seg};
use crate::source::Precision;
use crate::track::heuristics::DetectorConfig;
use crate::track::Verdict;
use crate::wire::tcp::{ACK, FIN, PSH, RST, SYN};

const X: u32 = 1_000_000;
const Y: u32 = 7_000_000;

fn explained(segs: &[Seg], style: ExplainStyle) -> Vec<(Verdict, String)> {
    let opts = PrintOptions {
        numeric: true,
        absolute: style.absolute,
        time: TimeFormat::None,
        classic: style.classic,
        ..PrintOptions::default()
    };
    let mut printer = Printer::new(opts);
    judged(segs)
        .iter()
        .enumerate()
        .map(|(i, (a, p))| {
            let r = Record::new(
                i as u64 + 1,
                a,
                Precision::Micro,
                &DetectorConfig::default(),
            );
            let mut out = Vec::new();
            explain(&mut out, &mut printer, &r, p, style);
            (r.analysis.verdict, String::from_utf8(out).expect("UTF-8"))
        })
        .collect()
}

fn one(segs: &[Seg], style: ExplainStyle) -> (Verdict, String) {
    let mut v = explained(segs, style);
    assert_eq!(v.len(), 1);
    v.remove(0)
}

/// Text without the line breaks of the wrapping.
fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn handshake() -> Vec<Seg> {
    let mut syn = Seg::new(true, 0, SYN, X, 0);
    syn.options = linux_syn_options(100, 0, 7);
    let mut synack = Seg::new(false, 40, SYN | ACK, Y, X + 1);
    synack.options = linux_syn_options(900, 100, 7);
    synack.window = 65160;
    let mut ack = Seg::new(true, 80, ACK, X + 1, Y + 1);
    ack.window = 502;
    vec![syn, synack, ack]
}

#[test]
fn a_wrong_third_ack_is_invalid_and_says_by_how_much() {
    let segs = vec![
        Seg::new(true, 0, SYN, X, 0),
        Seg::new(false, 40, SYN | ACK, Y, X + 1),
        Seg::new(true, 80, ACK, X + 1, Y + 4),
    ];
    let (verdict, text) = one(&segs, ExplainStyle::default());
    assert_eq!(verdict, Verdict::Invalid);
    let text = flat(&text);
    assert!(
        text.contains(&format!(
            "ack {}, where y+1 = {} was due: +3 off",
            Y + 4,
            Y + 1
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "Check failed: the third segment's ack (y+1): expected {}, actual {}, +3.",
            Y + 1,
            Y + 4
        )),
        "{text}"
    );
    assert!(text.contains("Verdict: invalid."));
}

#[test]
fn the_third_segment_carries_x_plus_1_and_acks_y_plus_1() {
    let (verdict, text) = one(&handshake(), ExplainStyle::default());
    assert_eq!(verdict, Verdict::Established);
    let text = flat(&text);
    assert!(text.contains(&format!("ack {} = x+1", X + 1)), "{text}");
    assert!(text.contains(&format!("ack {} = y+1", Y + 1)), "{text}");
    assert!(
        text.contains(&format!("Its own sequence number is x+1 = {}", X + 1)),
        "{text}"
    );
    // RFC 7323 §2.2: never scaled in a SYN; §2.3: scaled after it.
    assert!(text.contains("The window of a segment with SYN is never scaled"));
    assert!(
        text.contains(&format!("502 × 128 = {} bytes", 502 * 128)),
        "{text}"
    );
}

#[test]
fn each_format_names_its_own_dot() {
    let modern = flat(&one(&handshake(), ExplainStyle::default()).1);
    assert!(modern.contains("Flags [.]: ACK alone is set."), "{modern}");
    assert!(modern.contains("\".\" is ACK"), "{modern}");
    let classic = flat(
        &one(
            &handshake(),
            ExplainStyle {
                classic: true,
                ..ExplainStyle::default()
            },
        )
        .1,
    );
    assert!(
        classic.contains(&format!("{X}:{X}(0) is tcpdump 3.x's first:last(nbytes)")),
        "{classic}"
    );
    assert!(
        classic.contains("In tcpdump 3.x the dot is not a flag"),
        "{classic}"
    );
    assert!(!classic.contains("\".\" is ACK"), "{classic}");
}

#[test]
fn a_ladder_takes_the_place_of_the_packet_paragraphs() {
    let style = ExplainStyle {
        ladder: Some(TextStyle {
            ascii: true,
            absolute: false,
        }),
        ..ExplainStyle::default()
    };
    let text = one(&handshake(), style).1;
    assert!(text.contains("[S.] seq 0 ack 1"), "{text}");
    assert!(!text.contains("Step 1"), "{text}");
    assert!(text.contains("Verdict: established."));
}

#[test]
fn an_attempt_whose_packets_were_let_go_is_explained_from_its_record() {
    let (a, mut packets) = judged(&handshake()).remove(0);
    packets.more = a.packets;
    packets.frames.clear();
    let r = Record::new(1, &a, Precision::Micro, &DetectorConfig::default());
    let mut printer = Printer::new(PrintOptions::default());
    for ladder in [
        None,
        Some(TextStyle {
            ascii: true,
            absolute: false,
        }),
    ] {
        let mut out = Vec::new();
        let style = ExplainStyle {
            ladder,
            ..ExplainStyle::default()
        };
        explain(&mut out, &mut printer, &r, &packets, style);
        let text = String::from_utf8(out).expect("UTF-8");
        assert!(
            text.contains("IPv4, 3 packets, none shown: established"),
            "{text}"
        );
        assert!(text.contains("Verdict: established."), "{text}");
        if ladder.is_none() {
            assert!(
                flat(&text).contains("The packets of this attempt are not shown"),
                "{text}"
            );
        }
    }
}

fn any_seg() -> impl Strategy<Value = Seg> {
    let number = prop_oneof![
        Just(X),
        Just(X + 1),
        Just(Y),
        Just(Y + 1),
        Just(0),
        any::<u32>()
    ];
    (
        any::<bool>(),
        0i64..3_000_000,
        prop_oneof![
            Just(SYN),
            Just(SYN | ACK),
            Just(ACK),
            Just(ACK | PSH),
            Just(ACK | FIN),
            Just(RST),
            Just(RST | ACK),
            any::<u8>()
        ],
        number.clone(),
        number,
        any::<u16>(),
        prop::collection::vec(any::<u8>(), 0..40),
        0usize..64,
    )
        .prop_map(
            |(from_client, micros, flags, seq, ack, window, options, payload)| Seg {
                from_client,
                client_port: crate::report::testing::CLIENT.1,
                micros,
                flags,
                seq,
                ack,
                window,
                options,
                payload,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Whatever the segments, every renderer finishes and says something
    /// about each attempt (the renderers are total).
    #[test]
    fn any_segments_explain_and_draw(mut segs in prop::collection::vec(any_seg(), 1..12), classic: bool) {
        segs.sort_by_key(|s| s.micros);
        for absolute in [false, true] {
            let style = ExplainStyle { classic, absolute, verbose: 0, ladder: None };
            for (_, text) in explained(&segs, style) {
                prop_assert!(text.starts_with("Attempt "));
                prop_assert!(text.contains("\nVerdict: "));
            }
        }
        for (a, p) in judged(&segs) {
            let n = crate::track::analyze(&a, &DetectorConfig::default());
            let svg = crate::report::ladder::svg_for(&p, &a, &n);
            prop_assert!(svg.ends_with("</svg>\n"));
            for ascii in [false, true] {
                let text = crate::report::ladder::text_for(&p, &a, &n, TextStyle { ascii, absolute: false });
                prop_assert!(!ascii || text.is_ascii());
            }
        }
    }
}
