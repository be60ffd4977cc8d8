//! SVG charts for the HTML report, written by hand: a handful of bar shapes
//! need no charting library, and writing the elements ourselves keeps the page
//! free of scripts and network fetches, its bytes the same for the same input,
//! and every bar countable by tests (`class="bar"`, `data-count`).

use std::fmt::Write;

use crate::track::Verdict;

/// Fill colour of each verdict (distinct in hue and lightness).
pub fn verdict_colour(v: Verdict) -> &'static str {
    match v {
        Verdict::Established => "#2e7d32",
        Verdict::Refused => "#f9a825",
        Verdict::Unanswered => "#c62828",
        Verdict::HalfOpen => "#6a1b9a",
        Verdict::Aborted => "#ef6c00",
        Verdict::SimultaneousOpen => "#00838f",
        Verdict::Invalid => "#ad1457",
        Verdict::Midstream => "#78909c",
    }
}

/// Text for HTML and SVG: the five characters with meaning escaped.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// 1234567 as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A duration in microseconds for people: `850 µs`, `12.3 ms`, `1.25 s`.
pub fn duration_text(us: f64) -> String {
    if us < 1_000.0 {
        format!("{us:.0} µs")
    } else if us < 1_000_000.0 {
        format!("{:.1} ms", us / 1_000.0)
    } else {
        format!("{:.2} s", us / 1_000_000.0)
    }
}

/// One bar: its label, count, colour and the data attributes tests count.
pub struct Bar {
    pub label: String,
    pub count: u64,
    pub colour: &'static str,
    /// `data-key` of the bar (a verdict name, a bucket edge, a server).
    pub key: String,
    /// Write the label under the bar (vertical bars).
    pub tick: bool,
}

fn open_svg(s: &mut String, id: &str, title: &str, w: u32, h: u32) {
    let _ = write!(
        s,
        r#"<svg class="chart" id="{id}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{t}"><title>{t}</title>"#,
        t = esc(title)
    );
}

/// A countable bar at `[x, y, width, height]`.
fn rect(s: &mut String, [x, y, w, h]: [f64; 4], fill: &str, key: &str, count: u64, tip: &str) {
    let _ = write!(
        s,
        r#"<rect class="bar" x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="{fill}" data-key="{k}" data-count="{count}"><title>{t}</title></rect>"#,
        k = esc(key),
        t = esc(tip)
    );
}

fn text(s: &mut String, x: f64, y: f64, anchor: &str, class: &str, body: &str) {
    let _ = write!(
        s,
        r#"<text x="{x:.1}" y="{y:.1}" text-anchor="{anchor}" class="{class}">{}</text>"#,
        esc(body)
    );
}

/// Horizontal bars, one row each, longest = full width; zero bars are drawn
/// as labels only (no rect).
pub fn horizontal_bars(id: &str, title: &str, bars: &[Bar]) -> String {
    let (label_w, bar_w, row_h) = (250.0, 420.0, 24.0);
    let h = (bars.len().max(1) as f64 * row_h + 8.0) as u32;
    let max = bars.iter().map(|b| b.count).max().unwrap_or(0).max(1) as f64;
    let mut s = String::new();
    open_svg(&mut s, id, title, (label_w + bar_w + 90.0) as u32, h);
    for (i, b) in bars.iter().enumerate() {
        let y = 4.0 + i as f64 * row_h;
        text(&mut s, label_w - 8.0, y + 16.0, "end", "label", &b.label);
        if b.count > 0 {
            let w = (b.count as f64 / max * bar_w).max(1.0);
            let tip = format!("{}: {}", b.label, thousands(b.count));
            rect(
                &mut s,
                [label_w, y + 3.0, w, row_h - 6.0],
                b.colour,
                &b.key,
                b.count,
                &tip,
            );
        }
        let w = b.count as f64 / max * bar_w;
        text(
            &mut s,
            label_w + w + 6.0,
            y + 16.0,
            "start",
            "value",
            &thousands(b.count),
        );
    }
    s.push_str("</svg>");
    s
}

/// Vertical bars with a label under each (a histogram when the labels are
/// bucket edges); zero bars get no rect.
pub fn vertical_bars(id: &str, title: &str, bars: &[Bar]) -> String {
    let (left, top, plot_h, bottom) = (56.0, 12.0, 180.0, 40.0);
    let slot = (640.0 / bars.len().max(1) as f64).clamp(8.0, 40.0);
    let w = left + slot * bars.len() as f64 + 16.0;
    let max = bars.iter().map(|b| b.count).max().unwrap_or(0).max(1);
    let mut s = String::new();
    open_svg(&mut s, id, title, w as u32, (top + plot_h + bottom) as u32);
    axis(&mut s, left, top, plot_h, w - 8.0, max);
    for (i, b) in bars.iter().enumerate() {
        let x = left + i as f64 * slot;
        if b.count > 0 {
            let h = (b.count as f64 / max as f64 * plot_h).max(1.0);
            let tip = format!("{}: {}", b.label, thousands(b.count));
            let y = top + plot_h - h;
            rect(
                &mut s,
                [x + 1.0, y, slot - 2.0, h],
                b.colour,
                &b.key,
                b.count,
                &tip,
            );
        }
        if b.tick {
            text(
                &mut s,
                x + slot / 2.0,
                top + plot_h + 16.0,
                "middle",
                "tick",
                &b.label,
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// The y axis: a base line and the maximum.
fn axis(s: &mut String, left: f64, top: f64, plot_h: f64, right: f64, max: u64) {
    let base = top + plot_h;
    let _ = write!(
        s,
        r#"<line class="axis" x1="{left}" y1="{base}" x2="{right:.1}" y2="{base}"/><line class="grid" x1="{left}" y1="{top}" x2="{right:.1}" y2="{top}"/>"#
    );
    text(s, left - 6.0, top + 4.0, "end", "tick", &thousands(max));
    text(s, left - 6.0, base + 4.0, "end", "tick", "0");
}

/// One column of a stacked chart: its start, and counts per verdict.
pub struct Column {
    pub label: String,
    pub start_ms: i64,
    pub counts: [u64; 8],
}

/// Columns of bars stacked by verdict (the timeline); a rect per non-zero
/// verdict in each column.
pub fn stacked_columns(id: &str, title: &str, columns: &[Column], label_every: usize) -> String {
    let (left, top, plot_h, bottom) = (56.0, 12.0, 200.0, 40.0);
    let slot = (880.0 / columns.len().max(1) as f64).clamp(2.0, 40.0);
    let w = left + slot * columns.len() as f64 + 16.0;
    let max = columns
        .iter()
        .map(|c| c.counts.iter().sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let mut s = String::new();
    open_svg(
        &mut s,
        id,
        title,
        w.max(300.0) as u32,
        (top + plot_h + bottom) as u32,
    );
    axis(&mut s, left, top, plot_h, w - 8.0, max);
    for (i, c) in columns.iter().enumerate() {
        let x = left + i as f64 * slot;
        let mut y = top + plot_h;
        for (v, &n) in Verdict::ALL.iter().zip(c.counts.iter()) {
            if n == 0 {
                continue;
            }
            let h = n as f64 / max as f64 * plot_h;
            y -= h;
            let tip = format!("{}: {} {}", c.label, thousands(n), v.name());
            let gap = if slot > 4.0 { 1.0 } else { 0.0 };
            let key = format!("{}@{}", v.name(), c.start_ms);
            rect(
                &mut s,
                [x + gap / 2.0, y, slot - gap, h.max(0.5)],
                verdict_colour(*v),
                &key,
                n,
                &tip,
            );
        }
        if label_every > 0 && i % label_every == 0 {
            text(&mut s, x, top + plot_h + 16.0, "start", "tick", &c.label);
        }
    }
    s.push_str("</svg>");
    s
}

/// One row of a share chart: a label and its parts.
pub struct ShareRow {
    pub label: String,
    pub parts: Vec<(String, u64, &'static str)>,
}

/// Rows of 100 % stacked bars (the options mix): a rect per non-zero part,
/// its share written inside when it fits.
pub fn share_rows(id: &str, title: &str, rows: &[ShareRow]) -> String {
    let (label_w, bar_w, row_h) = (120.0, 620.0, 30.0);
    let h = (rows.len().max(1) as f64 * row_h + 8.0) as u32;
    let mut s = String::new();
    open_svg(&mut s, id, title, (label_w + bar_w + 16.0) as u32, h);
    for (i, row) in rows.iter().enumerate() {
        let y = 4.0 + i as f64 * row_h;
        text(&mut s, label_w - 8.0, y + 19.0, "end", "label", &row.label);
        let total: u64 = row.parts.iter().map(|p| p.1).sum();
        if total == 0 {
            text(&mut s, label_w, y + 19.0, "start", "value", "no attempts");
            continue;
        }
        let mut x = label_w;
        for (name, n, colour) in &row.parts {
            if *n == 0 {
                continue;
            }
            let w = *n as f64 / total as f64 * bar_w;
            let pct = *n as f64 * 100.0 / total as f64;
            let tip = format!("{} {}: {} ({pct:.1} %)", row.label, name, thousands(*n));
            let key = format!("{}={}", row.label, name);
            rect(&mut s, [x, y + 3.0, w, row_h - 6.0], colour, &key, *n, &tip);
            if w > 8.0 * (name.len() as f64 + 6.0) {
                text(
                    &mut s,
                    x + 4.0,
                    y + 19.0,
                    "start",
                    "inbar",
                    &format!("{name} {pct:.0}%"),
                );
            }
            x += w;
        }
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_for_people() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(duration_text(850.0), "850 µs");
        assert_eq!(duration_text(12_345.0), "12.3 ms");
        assert_eq!(duration_text(1_250_000.0), "1.25 s");
        assert_eq!(esc("<a & 'b'>"), "&lt;a &amp; &#39;b&#39;&gt;");
    }
}
