//! The ladder for terminals: a client column and a server column joined by
//! one arrow per packet, with the time since the first SYN on the left and
//! the notes on the right. Box-drawing characters, or ASCII for terminals
//! and locales that are not UTF-8.

use super::{offset, Ladder, Note, Row};
use crate::track::Side;
use crate::wire::tcp;

/// How to draw the text ladder.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TextStyle {
    /// ASCII instead of box drawing.
    pub ascii: bool,
    /// Absolute sequence numbers instead of numbers relative to each ISN.
    pub absolute: bool,
}

/// Does the locale promise UTF-8 output? The first of `LC_ALL`, `LC_CTYPE`
/// and `LANG` that is set decides, as POSIX orders them; none set means the
/// "C" locale, which is ASCII.
pub fn locale_is_utf8() -> bool {
    for var in ["LC_ALL", "LC_CTYPE", "LANG"] {
        if let Some(v) = std::env::var_os(var).filter(|v| !v.is_empty()) {
            let v = v.to_string_lossy().to_ascii_lowercase();
            return v.contains("utf-8") || v.contains("utf8");
        }
    }
    false
}

struct Glyphs {
    lifeline: char,
    dash: char,
    to_server: char,
    to_client: char,
    /// Where a packet that never arrived ends.
    lost: char,
    client_tee: char,
    server_tee: char,
}

const BOX: Glyphs = Glyphs {
    lifeline: '│',
    dash: '─',
    to_server: '▶',
    to_client: '◀',
    lost: '×',
    client_tee: '├',
    server_tee: '┤',
};

const ASCII: Glyphs = Glyphs {
    lifeline: '|',
    dash: '-',
    to_server: '>',
    to_client: '<',
    lost: 'x',
    client_tee: '+',
    server_tee: '+',
};

/// `[S.] seq 0 ack 1 len 5`: what is written on an arrow.
pub(super) fn arrow_label(r: &Row, absolute: bool) -> String {
    let (seq, ack) = if absolute {
        (r.seq, r.ack_field)
    } else {
        (r.rel_seq, r.rel_ack)
    };
    let mut s = format!("[{}] seq {seq}", r.flag_letters());
    if r.has(tcp::ACK) {
        s.push_str(&format!(" ack {ack}"));
    }
    if r.payload_len > 0 {
        s.push_str(&format!(" len {}", r.payload_len));
    }
    s
}

fn repeat(c: char, n: usize) -> String {
    std::iter::repeat(c).take(n).collect()
}

/// Draw the ladder.
pub fn render(l: &Ladder, style: TextStyle) -> String {
    let g = if style.ascii { &ASCII } else { &BOX };
    let labels: Vec<String> = l
        .rows
        .iter()
        .map(|r| arrow_label(r, style.absolute))
        .collect();
    let times: Vec<String> = l
        .rows
        .iter()
        .map(|r| offset(r.since_us, l.precision))
        .collect();
    let time_width = times.iter().map(|t| t.chars().count()).max().unwrap_or(0);
    let client_head = format!("client {}", l.endpoint_label(Side::Client));
    let server_head = format!("server {}", l.endpoint_label(Side::Server));
    // Room between the lifelines: the longest label with a few dashes, and
    // the client's head.
    let inner = labels
        .iter()
        .map(|s| s.chars().count() + 6)
        .chain([30, client_head.chars().count() + 1])
        .max()
        .unwrap_or(30);
    let indent = " ".repeat(time_width + 2);
    let mut out = String::new();
    let head_gap = inner + 1 - client_head.chars().count();
    out.push_str(&format!(
        "{indent}{client_head}{}{server_head}\n",
        " ".repeat(head_gap)
    ));
    let bare = format!(
        "{indent}{}{}{}\n",
        g.lifeline,
        " ".repeat(inner),
        g.lifeline
    );
    out.push_str(&bare);
    for ((r, label), time) in l.rows.iter().zip(&labels).zip(&times) {
        let lost = r.notes.contains(&Note::LostAfterCapturePoint);
        let fill = inner - label.chars().count() - 4;
        out.push_str(&format!("{time:>time_width$}  "));
        match r.from {
            Side::Client => {
                let head = if lost { g.lost } else { g.to_server };
                out.push_str(&format!(
                    "{}{} {label} {}{head}{}",
                    g.client_tee,
                    g.dash,
                    repeat(g.dash, fill),
                    g.lifeline
                ));
            }
            Side::Server => {
                let head = if lost { g.lost } else { g.to_client };
                out.push_str(&format!(
                    "{}{head}{} {label} {}{}",
                    g.lifeline,
                    repeat(g.dash, fill),
                    g.dash,
                    g.server_tee
                ));
            }
        }
        if !r.notes.is_empty() {
            let notes: Vec<String> = r.notes.iter().map(|n| n.label()).collect();
            out.push_str("  ");
            out.push_str(&notes.join(", "));
        }
        out.push('\n');
    }
    out.push_str(&bare);
    let caption = l.caption();
    // The one non-ASCII letter a caption can hold: µ of µs.
    let caption = if style.ascii {
        caption.replace('µ', "u")
    } else {
        caption
    };
    out.push_str(&format!("{indent}{caption}\n"));
    out
}
