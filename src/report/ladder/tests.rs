//! The ladder model against RFC 9293's arithmetic and the rules of
//! handshakes.md, on segments built for each case; the renderers' layout.

use super::svg::esc;
use super::*;
use crate::report::testing::{judged, Seg};
use crate::track::analyze;
use crate::track::heuristics::DetectorConfig;
use crate::wire::tcp::{ACK, PSH, RST, SYN};

const X: u32 = 1_000_000;
const Y: u32 = 7_000_000;

fn ladders(segs: &[Seg]) -> Vec<Ladder> {
    judged(segs)
        .iter()
        .map(|(a, p)| Ladder::build(p, a, &analyze(a, &DetectorConfig::default())))
        .collect()
}

fn roles(l: &Ladder) -> Vec<Role> {
    l.rows.iter().map(|r| r.role).collect()
}

/// A SYN-ACK the client answers with its SYN again never reached it.
fn lost_synack_handshake() -> Vec<Seg> {
    vec![
        Seg::new(true, 0, SYN, X, 0),
        Seg::new(false, 100, SYN | ACK, Y, X + 1),
        Seg::new(true, 1_000_000, SYN, X, 0),
        Seg::new(false, 1_000_050, SYN | ACK, Y, X + 1),
        Seg::new(true, 1_000_100, ACK, X + 1, Y + 1),
        Seg::new(true, 1_000_200, ACK | PSH, X + 1, Y + 1),
    ]
}

#[test]
fn roles_and_notes_follow_the_handshake() {
    let mut segs = lost_synack_handshake();
    segs[5].payload = 5;
    let l = &ladders(&segs)[0];
    assert_eq!(l.verdict, Verdict::Established);
    assert_eq!(
        roles(l),
        [
            Role::Syn,
            Role::SynAck,
            Role::SynRetransmission,
            Role::SynAckRetransmission,
            Role::Completing,
            Role::Data
        ]
    );
    let notes: Vec<&[Note]> = l.rows.iter().map(|r| r.notes.as_slice()).collect();
    assert_eq!(notes[1], [Note::LostAfterCapturePoint]);
    assert_eq!(notes[2], [Note::Retransmission]);
    assert_eq!(notes[3], [Note::Retransmission], "answered by the ACK");
    assert_eq!(notes[4], [Note::HandshakeComplete]);
    assert_eq!(l.rows[4].from, Side::Client);
    assert_eq!(l.rows[1].from, Side::Server);
}

#[test]
fn relative_numbers_count_from_each_isn() {
    let l = &ladders(&lost_synack_handshake())[0];
    let rel: Vec<(u32, Option<u32>)> = l
        .rows
        .iter()
        .map(|r| (r.rel_seq, r.has(ACK).then_some(r.rel_ack)))
        .collect();
    // SYN x; SYN-ACK y, ack x+1; third ACK seq x+1, ack y+1 (RFC 9293 §3.5).
    assert_eq!(rel[0], (0, None));
    assert_eq!(rel[1], (0, Some(1)));
    assert_eq!(rel[4], (1, Some(1)));
    assert_eq!((l.rows[4].seq, l.rows[4].ack()), (X + 1, Some(Y + 1)));
}

#[test]
fn only_a_reset_that_acks_the_syn_refuses() {
    // RFC 9293 §3.10.7.3: in SYN-SENT a RST counts only with ACK = x+1.
    let segs = vec![
        Seg::new(true, 0, SYN, X, 0),
        Seg::new(false, 10, RST, 0, 0),
        Seg::new(false, 20, RST | ACK, 0, X + 1000),
        Seg::new(false, 30, RST | ACK, 0, X + 1),
    ];
    let l = &ladders(&segs)[0];
    assert_eq!(l.verdict, Verdict::Refused);
    assert_eq!(
        roles(l),
        [
            Role::Syn,
            Role::IgnoredRst,
            Role::IgnoredRst,
            Role::AcceptedRst
        ]
    );
    assert_eq!(l.rows[3].notes, [Note::Refused]);
}

#[test]
fn a_client_reset_after_the_synack_aborts() {
    let segs = vec![
        Seg::new(true, 0, SYN, X, 0),
        Seg::new(false, 10, SYN | ACK, Y, X + 1),
        Seg::new(true, 20, RST, X + 1, 0),
    ];
    let l = &ladders(&segs)[0];
    assert_eq!(l.verdict, Verdict::Aborted);
    assert_eq!(l.rows[2].notes, [Note::Aborted]);
    assert!(l.caption().starts_with("aborted"));
}

/// Character columns of a line's lifeline marks.
fn marks(line: &str, glyphs: &[char]) -> Vec<usize> {
    line.chars()
        .enumerate()
        .filter(|(_, c)| glyphs.contains(c))
        .map(|(i, _)| i)
        .collect()
}

#[test]
fn text_columns_line_up_in_both_styles() {
    let l = &ladders(&lost_synack_handshake())[0];
    for (ascii, lifeline, ends) in [
        (false, '│', &['│', '├', '┤'][..]),
        (true, '|', &['|', '+'][..]),
    ] {
        let text = render_text(
            l,
            TextStyle {
                ascii,
                absolute: false,
            },
        );
        if ascii {
            assert!(text.is_ascii(), "{text}");
        }
        let lines: Vec<&str> = text.lines().collect();
        let columns = marks(lines[1], &[lifeline]);
        assert_eq!(columns.len(), 2, "{text}");
        for row in &lines[2..2 + l.rows.len()] {
            let at: Vec<char> = columns.iter().filter_map(|&c| row.chars().nth(c)).collect();
            assert!(at.iter().all(|c| ends.contains(c)), "{row}");
            assert_eq!(at.len(), 2, "{row}");
        }
        assert_eq!(lines.len(), l.rows.len() + 4, "{text}");
        assert!(text.ends_with(&format!(
            "{}\n",
            l.caption().replace('µ', if ascii { "u" } else { "µ" })
        )));
    }
}

#[test]
fn absolute_numbers_on_request() {
    let l = &ladders(&lost_synack_handshake())[0];
    let text = render_text(
        l,
        TextStyle {
            ascii: true,
            absolute: true,
        },
    );
    assert!(
        text.contains(&format!("[.] seq {} ack {}", X + 1, Y + 1)),
        "{text}"
    );
}

#[test]
fn svg_is_self_contained_and_the_same_every_time() {
    let segs = lost_synack_handshake();
    let (a, p) = &judged(&segs)[0];
    let n = analyze(a, &DetectorConfig::default());
    let svg = svg_for(p, a, &n);
    assert_eq!(svg, svg_for(p, a, &n));
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(svg.ends_with("</svg>\n"));
    for banned in ["<script", "href", " id=", "url(", "@import", "<style"] {
        assert!(!svg.contains(banned), "{banned}");
    }
    assert_eq!(svg.matches("<g>").count(), p.frames.len());
    for tag in ["g", "text", "title"] {
        assert_eq!(
            svg.matches(&format!("<{tag}")).count(),
            svg.matches(&format!("</{tag}>")).count(),
            "{tag}"
        );
    }
    assert!(svg.contains("lost after capture point"));
}

#[test]
fn text_for_xml_is_escaped() {
    assert_eq!(esc("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&#39;");
    assert_eq!(esc("tab\tok\u{1}"), "tab\tok?");
}
