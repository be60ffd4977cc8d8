//! The ladder as SVG, for pages: one self-contained `<svg>` element.
//!
//! Written by hand rather than through an SVG or plotting crate: the drawing
//! is a dozen lines, rectangles and texts at computed positions, and writing
//! them directly keeps the output byte-for-byte the same for the same input
//! (integer coordinates, fixed attribute order), free of ids (several ladders
//! can sit in one page), scripts and external fonts (the generic `monospace`
//! family is used).

use std::fmt::Write;

use super::text::arrow_label;
use super::{offset, Ladder, Note, Row, Tone};
use crate::track::{Side, Verdict};

const WIDTH: i64 = 820;
const TIME_X: i64 = 100;
const CLIENT_X: i64 = 150;
const SERVER_X: i64 = 560;
const NOTES_X: i64 = 576;
const TOP: i64 = 56;
const ROW_H: i64 = 44;
/// Notes drawn per row at most (the rest are in the row's tooltip).
const MAX_NOTE_LINES: usize = 3;

/// Text as XML character data or attribute value.
pub(super) fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            // Characters XML 1.0 does not allow (a capture cannot put them
            // here today, but the renderer must stay valid for any input).
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => o.push('?'),
            c => o.push(c),
        }
    }
    o
}

fn tone_colour(t: Tone) -> &'static str {
    match t {
        Tone::Good => "#2e7d32",
        Tone::Retry => "#b26a00",
        Tone::Problem => "#c62828",
        Tone::Info => "#555555",
    }
}

/// The verdict's colour, as the terminal table colours it.
fn verdict_colour(v: Verdict) -> &'static str {
    match v {
        Verdict::Established => "#2e7d32",
        Verdict::Refused | Verdict::Aborted => "#b26a00",
        Verdict::Unanswered | Verdict::HalfOpen | Verdict::Invalid => "#c62828",
        Verdict::SimultaneousOpen => "#00838f",
        Verdict::Midstream => "#616161",
    }
}

/// One arrow, its labels and notes.
fn row(out: &mut String, l: &Ladder, r: &Row, y: i64) {
    let (from_x, to_x) = match r.from {
        Side::Client => (CLIENT_X, SERVER_X),
        Side::Server => (SERVER_X, CLIENT_X),
    };
    let dir = if to_x > from_x { 1 } else { -1 };
    let lost = r.notes.contains(&Note::LostAfterCapturePoint);
    let notes: Vec<String> = r.notes.iter().map(|n| n.label()).collect();
    let absolute = arrow_label(r, true);
    // Under the arrow, the absolute numbers alone (the flags are above it).
    let numbers = absolute
        .split_once("] ")
        .map_or(absolute.as_str(), |(_, rest)| rest);
    let _ = write!(
        out,
        "<g><title>{}</title>",
        esc(&format!(
            "frame {}, {}: {absolute} win {}{}{}",
            r.frame,
            offset(r.since_us, l.precision),
            r.window,
            if notes.is_empty() { "" } else { "; " },
            notes.join(", ")
        ))
    );
    let colour = if lost { "#c62828" } else { "#333333" };
    // A packet lost after the capture point stops short of the receiver.
    let end_x = if lost { to_x - dir * 60 } else { to_x };
    let dash = if lost {
        r##" stroke-dasharray="6 4""##
    } else {
        ""
    };
    let _ = write!(
        out,
        r##"<line x1="{from_x}" y1="{y}" x2="{end_x}" y2="{y}" stroke="{colour}" stroke-width="1.5"{dash}/>"##
    );
    if lost {
        let _ = write!(
            out,
            r##"<path d="M{} {} l10 10 M{} {} l-10 10" stroke="{colour}" stroke-width="2"/>"##,
            end_x - 5,
            y - 5,
            end_x + 5,
            y - 5
        );
    } else {
        let back = to_x - dir * 10;
        let _ = write!(
            out,
            r##"<polygon points="{to_x},{y} {back},{} {back},{}" fill="{colour}"/>"##,
            y - 4,
            y + 4
        );
    }
    let mid = (CLIENT_X + SERVER_X) / 2;
    let _ = write!(
        out,
        r##"<text x="{TIME_X}" y="{}" text-anchor="end" fill="#555555">{}</text>"##,
        y + 4,
        esc(&offset(r.since_us, l.precision))
    );
    let _ = write!(
        out,
        r##"<text x="{mid}" y="{}" text-anchor="middle">{}</text>"##,
        y - 6,
        esc(&arrow_label(r, false))
    );
    let _ = write!(
        out,
        r##"<text x="{mid}" y="{}" text-anchor="middle" font-size="10" fill="#777777">{}</text>"##,
        y + 15,
        esc(numbers)
    );
    for (i, n) in r.notes.iter().take(MAX_NOTE_LINES).enumerate() {
        let _ = write!(
            out,
            r##"<text x="{NOTES_X}" y="{}" fill="{}">{}</text>"##,
            y + 4 + 13 * i as i64,
            tone_colour(n.tone()),
            esc(&n.label())
        );
    }
    out.push_str("</g>");
}

/// Draw the ladder.
pub fn render(l: &Ladder) -> String {
    let rows = l.rows.len() as i64;
    let bottom = TOP + 16 + rows * ROW_H;
    let height = bottom + 40;
    let mut out = String::with_capacity(1024 + 600 * l.rows.len());
    let caption = l.caption();
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="monospace" font-size="12" role="img">"##
    );
    let _ = write!(
        out,
        "<title>{}</title>",
        esc(&format!(
            "TCP handshake ladder: {} to {}: {caption}",
            l.endpoint_label(Side::Client),
            l.endpoint_label(Side::Server)
        ))
    );
    let _ = write!(
        out,
        r##"<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#ffffff"/>"##
    );
    for (x, side) in [(CLIENT_X, Side::Client), (SERVER_X, Side::Server)] {
        let _ = write!(
            out,
            r##"<text x="{x}" y="18" text-anchor="middle" font-weight="bold">{}</text><text x="{x}" y="34" text-anchor="middle">{}</text><line x1="{x}" y1="{}" x2="{x}" y2="{bottom}" stroke="#999999" stroke-width="1"/>"##,
            side.name(),
            esc(&l.endpoint_label(side)),
            TOP - 14
        );
    }
    for (i, r) in l.rows.iter().enumerate() {
        row(&mut out, l, r, TOP + 16 + ROW_H / 2 + i as i64 * ROW_H);
    }
    let _ = write!(
        out,
        r##"<text x="{CLIENT_X}" y="{}" fill="{}" font-weight="bold">{}</text>"##,
        bottom + 24,
        verdict_colour(l.verdict),
        esc(&caption)
    );
    out.push_str("</svg>\n");
    out
}
