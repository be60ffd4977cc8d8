//! `synack explain`: the packets of an attempt as tcpdump prints them (4.x,
//! or 3.x with `--classic`), each followed by a paragraph that explains that
//! packet from its own values, then closing paragraphs: the verdict, the
//! round-trip legs and what they say about where the capture was taken, the
//! negotiated options, the checks that failed and the heuristics.
//!
//! Every statement is built from the attempt record, its analysis, the
//! ladder rows of the same packets ([`super::ladder`]) and each packet's
//! decoded header ([`crate::wire`]); nothing is parsed a second time. The
//! rules quoted are RFC 9293's (TCP), RFC 7323's (window scale, timestamps),
//! RFC 5961's (resets and SYNs in a connection) and the others named where
//! they apply.

mod closing;
mod fields;
mod numbers;
mod packet;

use std::collections::BTreeSet;

use super::ladder::{render_text, Ladder, Row, TextStyle};
use super::packets::AttemptPackets;
use super::Record;
use crate::print::Printer;
use crate::track::{Analysis, Attempt, Side};
use crate::wire::{self, tcp::TcpOption};

/// How to explain.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExplainStyle {
    /// The lines are tcpdump 3.x's (and so are the words: `x:x(0)`, `.`).
    pub classic: bool,
    /// `-S`: the lines show absolute sequence numbers.
    pub absolute: bool,
    /// `-v`: the lines show the IP header's fields.
    pub verbose: u8,
    /// Draw the ladder in place of the packet-by-packet explanation.
    pub ladder: Option<TextStyle>,
}

/// Width of the explanation paragraphs.
const WIDTH: usize = 80;
const INDENT: &str = "    ";

/// What this explanation has already told the reader, so that each idea is
/// explained once and only named after that.
#[derive(Default)]
pub(crate) struct Taught(BTreeSet<String>);

impl Taught {
    /// True the first time `idea` comes up.
    pub fn first(&mut self, idea: &str) -> bool {
        self.0.insert(idea.to_string())
    }
}

/// The attempt being explained.
pub(crate) struct Ctx<'a> {
    pub a: &'a Attempt,
    pub n: &'a Analysis,
    pub ladder: &'a Ladder,
    pub style: ExplainStyle,
}

impl Ctx<'_> {
    /// The window-scale shift a side announced, when both sides agreed to
    /// scaling.
    pub fn shift(&self, side: Side) -> Option<u8> {
        let w = self.n.negotiation.agreed.as_ref()?.wscale?;
        Some(w[side.idx()])
    }
}

/// One packet as the sentences see it: its ladder row and what its headers
/// say beyond the row.
pub(crate) struct Seen<'a> {
    pub row: &'a Row,
    pub options: Vec<TcpOption<'a>>,
    pub dont_fragment: bool,
    pub ip_ecn: u8,
    pub ipv6: bool,
    pub ae: bool,
    /// The seq and ack numbers as the line printed them.
    pub shown: Option<(u32, u32)>,
}

/// Wrap sentences into an indented paragraph. (textwrap, without hyphen
/// splitting: `SYN-ACK` and `x+1` must stay whole.)
fn paragraph(out: &mut String, sentences: &[String]) {
    if sentences.is_empty() {
        return;
    }
    let text = sentences.join(" ");
    let opts = textwrap::Options::new(WIDTH)
        .initial_indent(INDENT)
        .subsequent_indent(INDENT)
        .break_words(false)
        .word_splitter(textwrap::WordSplitter::NoHyphenation);
    out.push_str(&textwrap::fill(&text, opts));
    out.push('\n');
}

/// `10.99.0.1 port 40000 → 10.99.0.2 port 5000 (commplex-main)`.
fn heading(r: &Record<'_>, l: &Ladder, packets: &AttemptPackets) -> String {
    let a = r.attempt;
    let service = l.service.map_or(String::new(), |s| format!(" ({s})"));
    let shown = packets.frames.len() as u64;
    let count = match packets.more {
        0 if shown == 1 => "1 packet".to_string(),
        0 => format!("{shown} packets"),
        1 if shown == 0 => "1 packet, not shown".to_string(),
        more if shown == 0 => format!("{more} packets, none shown"),
        more => format!("{} packets, the first {shown} shown", shown + more),
    };
    format!(
        "Attempt {}: {} port {} → {} port {}{service}, IPv{}, {count}: {}\n",
        r.id,
        a.client.addr,
        a.client.port,
        a.server.addr,
        a.server.port,
        a.ip_version,
        r.analysis.verdict.name()
    )
}

/// Explain one attempt into `out`. The printer prints each packet's line
/// (with its options: `-n`, `-S`, `-t`, `-v`, `-e`, `--classic`).
pub fn explain(
    out: &mut Vec<u8>,
    printer: &mut Printer,
    record: &Record<'_>,
    packets: &AttemptPackets,
    style: ExplainStyle,
) {
    let ladder = Ladder::build(packets, record.attempt, &record.analysis);
    let ctx = Ctx {
        a: record.attempt,
        n: &record.analysis,
        ladder: &ladder,
        style,
    };
    let mut text = heading(record, &ladder, packets);
    text.push('\n');
    if let Some(ladder_style) = style.ladder {
        text.push_str(&render_text(&ladder, ladder_style));
        text.push('\n');
    } else {
        let mut taught = Taught::default();
        for f in &packets.frames {
            out.extend_from_slice(text.as_bytes());
            text.clear();
            let frame = f.frame();
            printer.print(&frame, out);
            let shown = printer.shown_numbers();
            let row = ladder.rows.iter().find(|r| r.frame == f.number);
            match (row, wire::decode(&frame)) {
                (Some(row), Ok(seg)) => {
                    let seen = Seen {
                        row,
                        options: crate::wire::tcp::options(seg.tcp.options()).collect(),
                        dont_fragment: seg.ip.dont_fragment,
                        ip_ecn: seg.ip.ecn,
                        ipv6: seg.ip.src.version() == 6,
                        ae: seg.tcp.ae(),
                        shown,
                    };
                    let groups = packet::sentences(&ctx, &seen, &mut taught);
                    for (i, group) in groups.iter().filter(|g| !g.is_empty()).enumerate() {
                        if i > 0 {
                            text.push('\n');
                        }
                        paragraph(&mut text, group);
                    }
                }
                _ => paragraph(
                    &mut text,
                    &["A frame synack cannot read as a TCP segment.".to_string()],
                ),
            }
            text.push('\n');
        }
        if packets.more > 0 {
            let sentence = if packets.frames.is_empty() {
                // Read once, the frames of the oldest connections are let go
                // when too many are open at once (see `HeldFrames`).
                "The packets of this attempt are not shown: they were no longer held when \
                 its verdict came, with too many connections open at once."
                    .to_string()
            } else {
                format!(
                    "{} more packets of this attempt are not shown.",
                    packets.more
                )
            };
            paragraph(&mut text, &[sentence]);
            text.push('\n');
        }
    }
    closing::write(&ctx, &mut text);
    out.extend_from_slice(text.as_bytes());
}

#[cfg(test)]
mod tests;
