//! `synack report`: one self-contained HTML page (inline CSS and SVG, no
//! script, nothing fetched) that shows what the handshakes of a capture did:
//! totals and verdicts, handshake times, SYN retransmissions, a timeline of
//! attempts coloured by verdict, the servers that failed most, the options
//! negotiated, and ladder diagrams of sampled failing and slowest attempts.
//!
//! The records are aggregated as they stream by ([`Aggregate`], bounded), and
//! the page is drawn from the aggregate alone, so its size and the time to
//! draw it do not grow with the number of connections. The same input gives
//! the same bytes.

use std::fmt::Write;

use super::aggregate::{
    rtt_bucket_low, Aggregate, LadderPick, PickReason, COUNT_BUCKETS, RTT_BUCKETS,
    RTT_BUCKETS_PER_DECADE,
};
use super::charts::{
    duration_text, esc, horizontal_bars, share_rows, stacked_columns, thousands, verdict_colour,
    vertical_bars, Bar, Column, ShareRow,
};
use super::summary::is_failure;
use super::Record;
use crate::app::{Failure, Output};
use crate::cli::{InputArgs, ReportArgs};
use crate::explain::collect_packets;
use crate::print::time::utc_parts;
use crate::records::{self, RecordSink};
use crate::report::ladder::svg_for;
use crate::source::{FrameIndex, Timestamp};
use crate::track::{Attempt, TrackerStats, Verdict};

/// What the page says about where its data came from.
pub struct PageMeta {
    pub title: String,
    pub inputs: Vec<String>,
    pub stats: TrackerStats,
}

const STYLE: &str = "
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#1c2430;background:#f4f6f8}
header{background:#1c2430;color:#fff;padding:18px 32px}
header h1{margin:0 0 4px;font-size:22px}
header p{margin:0;color:#b8c2cc}
main{padding:8px 32px 32px;max-width:1200px}
section{background:#fff;border-radius:6px;box-shadow:0 1px 2px #0002;margin:16px 0;padding:14px 20px}
h2{font-size:17px;margin:0 0 10px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin-bottom:12px}
.card{border-left:6px solid #999;background:#f8f9fa;padding:6px 12px;min-width:110px}
.card b{display:block;font-size:20px}
.row{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}
.stats{margin:6px 0 0;color:#46525e}
svg.chart{display:block;max-width:100%;height:auto;overflow:visible}
svg .label,svg .value,svg .tick{font-size:12px;fill:#1c2430}
svg .tick{fill:#5c6873;font-size:11px}
svg .inbar{font-size:11px;fill:#fff}
svg .axis{stroke:#5c6873}
svg .grid{stroke:#d0d6dc;stroke-dasharray:3 3}
.legend span{display:inline-block;margin-right:14px;font-size:12px}
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}
table{border-collapse:collapse;font-size:13px}
td,th{padding:3px 10px;border-bottom:1px solid #e3e7eb;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}
figure.ladder{margin:10px 0;border:1px solid #e3e7eb;padding:8px}
.note{color:#5c6873;font-size:13px}
footer{color:#5c6873;font-size:12px;padding:0 32px 24px}
";

fn date_time(t: Timestamp) -> String {
    match utc_parts(t.sec) {
        Some([y, mo, d, h, mi, s]) => {
            format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02} UTC")
        }
        None => format!("{} s", t.sec),
    }
}

fn time_of_day(ms: i64, width_ms: i64) -> String {
    let sec = ms.div_euclid(1000);
    match utc_parts(sec) {
        Some([_, _, _, h, mi, s]) if width_ms < 1000 => {
            format!("{h:02}:{mi:02}:{s:02}.{:03}", ms.rem_euclid(1000))
        }
        Some([_, mo, d, h, mi, s]) if width_ms >= 3_600_000 => {
            format!("{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
        }
        Some([_, _, _, h, mi, s]) => format!("{h:02}:{mi:02}:{s:02}"),
        None => ms.to_string(),
    }
}

fn width_text(ms: i64) -> String {
    match ms {
        ms if ms < 1000 => format!("{ms} ms"),
        ms if ms < 60_000 => format!("{} s", ms / 1000),
        ms if ms < 3_600_000 => format!("{} min", ms / 60_000),
        ms if ms < 86_400_000 => format!("{} h", ms / 3_600_000),
        ms => format!("{} d", ms / 86_400_000),
    }
}

fn legend(out: &mut String, verdicts: &[Verdict]) {
    out.push_str(r#"<p class="legend">"#);
    for v in verdicts {
        let _ = write!(
            out,
            r#"<span><i style="background:{}"></i>{}</span>"#,
            verdict_colour(*v),
            v.name()
        );
    }
    out.push_str("</p>");
}

fn totals(out: &mut String, agg: &Aggregate) {
    let s = &agg.summary;
    out.push_str(r#"<section id="totals"><h2>Attempts and verdicts</h2><div class="cards">"#);
    let _ = write!(
        out,
        r#"<div class="card" style="border-color:#1c2430">attempts<b>{}</b></div>"#,
        thousands(s.attempts)
    );
    let bars: Vec<Bar> = Verdict::ALL
        .iter()
        .filter(|v| s.count(**v) > 0)
        .map(|v| Bar {
            label: v.name().to_string(),
            count: s.count(*v),
            colour: verdict_colour(*v),
            key: v.name().to_string(),
            tick: false,
        })
        .collect();
    for b in &bars {
        let pct = b.count as f64 * 100.0 / s.attempts.max(1) as f64;
        let _ = write!(
            out,
            r#"<div class="card" style="border-color:{}">{}<b>{}</b>{pct:.1} %</div>"#,
            b.colour,
            esc(&b.label),
            thousands(b.count)
        );
    }
    out.push_str("</div>");
    out.push_str(&horizontal_bars(
        "chart-verdicts",
        "Attempts per verdict",
        &bars,
    ));
    out.push_str("</section>");
}

fn handshake_times(out: &mut String, agg: &Aggregate) {
    let s = &agg.summary;
    out.push_str(r#"<section id="rtt"><h2>Handshake time</h2>"#);
    let p = s.percentiles(&[50.0, 95.0, 99.0]);
    let show = |v: Option<f64>| v.map_or("-".to_string(), duration_text);
    let _ = write!(
        out,
        r#"<p class="stats">first SYN to completing ACK, {} handshakes: median <b>{}</b>, p95 <b>{}</b>, p99 <b>{}</b>, max <b>{}</b>{}</p>"#,
        thousands(agg.rtt.iter().sum()),
        show(p[0]),
        show(p[1]),
        show(p[2]),
        show(s.max()),
        if s.sampled() {
            " (percentiles from a sample of a million)"
        } else {
            ""
        }
    );
    let bars: Vec<Bar> = (0..RTT_BUCKETS)
        .map(|i| {
            let label = match rtt_bucket_low(i) {
                None => "<10 µs".to_string(),
                Some(low) => duration_text(low),
            };
            let label = if i + 1 == RTT_BUCKETS {
                format!("≥{label}")
            } else {
                label
            };
            Bar {
                key: format!("bucket{i}"),
                label,
                count: agg.rtt[i],
                colour: "#1565c0",
                // A tick at each decade.
                tick: i % RTT_BUCKETS_PER_DECADE == 1,
            }
        })
        .collect();
    out.push_str(&vertical_bars(
        "chart-rtt",
        "Handshakes per handshake time (log scale, five buckets a decade)",
        &bars,
    ));
    out.push_str("</section>");
}

fn retransmissions(out: &mut String, agg: &Aggregate) {
    out.push_str(r#"<section id="retransmissions"><h2>SYN and SYN-ACK transmissions per attempt</h2><div class="row">"#);
    let bars = |counts: &[u64; COUNT_BUCKETS], colour: &'static str, from: usize| -> Vec<Bar> {
        (from..COUNT_BUCKETS)
            .map(|i| Bar {
                label: if i + 1 == COUNT_BUCKETS {
                    format!("{i}+")
                } else {
                    i.to_string()
                },
                count: counts[i],
                colour,
                key: i.to_string(),
                tick: true,
            })
            .collect()
    };
    let retried: u64 = agg.syns[2..].iter().sum();
    let _ = write!(
        out,
        r#"<div><p class="stats">SYNs sent ({} attempts retransmitted their SYN)</p>{}</div>"#,
        thousands(retried),
        vertical_bars(
            "chart-syns",
            "Attempts per SYNs sent",
            &bars(&agg.syns, "#455a64", 0)
        )
    );
    let _ = write!(
        out,
        r#"<div><p class="stats">SYN-ACKs sent (0: never answered)</p>{}</div>"#,
        vertical_bars(
            "chart-synacks",
            "Attempts per SYN-ACKs sent",
            &bars(&agg.synacks, "#6d4c41", 0)
        )
    );
    out.push_str("</div></section>");
}

fn timeline(out: &mut String, agg: &Aggregate) {
    let t = &agg.timeline;
    let w = t.width_ms();
    let columns: Vec<Column> = t
        .bins()
        .into_iter()
        .map(|(start, counts)| Column {
            label: time_of_day(start, w),
            start_ms: start,
            counts,
        })
        .collect();
    let _ = write!(
        out,
        r#"<section id="timeline"><h2>Attempts over time</h2><p class="stats">attempts starting in each {} (by first packet, UTC); floods and scans stand out as tall red, orange or amber columns</p>"#,
        width_text(w)
    );
    let present: Vec<Verdict> = Verdict::ALL
        .into_iter()
        .filter(|v| agg.summary.count(*v) > 0)
        .collect();
    legend(out, &present);
    let every = (columns.len() / 6).max(1);
    out.push_str(&stacked_columns(
        "chart-timeline",
        "Attempts per time bin, stacked by verdict",
        &columns,
        every,
    ));
    out.push_str("</section>");
}

fn failing_servers(out: &mut String, agg: &Aggregate) {
    let top = agg.summary.top_failing(10);
    out.push_str(r#"<section id="servers"><h2>Servers with the most failed attempts</h2>"#);
    if top.is_empty() {
        out.push_str(r#"<p class="note">No attempt failed.</p>"#);
    } else {
        out.push_str(r#"<p class="stats">refused, unanswered, half-open, aborted and invalid attempts per server address and port</p>"#);
        let bars: Vec<Bar> = top
            .iter()
            .map(|(e, n)| Bar {
                label: e.to_string(),
                count: *n,
                colour: "#c62828",
                key: e.to_string(),
                tick: false,
            })
            .collect();
        out.push_str(&horizontal_bars(
            "chart-servers",
            "Failed attempts per server",
            &bars,
        ));
    }
    out.push_str("</section>");
}

/// Colours for the parts of an option row, in order.
const PART_COLOURS: [&str; 8] = [
    "#1565c0", "#42a5f5", "#90caf9", "#26a69a", "#80cbc4", "#ffb74d", "#a1887f", "#b0bec5",
];

fn options_mix(out: &mut String, agg: &Aggregate) {
    let o = &agg.options;
    let yes_no = |label: &str, counts: [u64; 2]| ShareRow {
        label: label.to_string(),
        parts: vec![
            ("yes".into(), counts[1], PART_COLOURS[0]),
            ("no".into(), counts[0], PART_COLOURS[7]),
        ],
    };
    // The five most common MSS values, then the rest together.
    let mut mss: Vec<(u16, u64)> = o.mss.iter().map(|(k, v)| (*k, *v)).collect();
    mss.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut mss_parts: Vec<(String, u64, &'static str)> = mss
        .iter()
        .take(5)
        .enumerate()
        .map(|(i, (v, n))| (v.to_string(), *n, PART_COLOURS[i]))
        .collect();
    let rest: u64 = mss.iter().skip(5).map(|m| m.1).sum();
    mss_parts.push(("other".into(), rest, PART_COLOURS[7]));
    let mut wscale: Vec<(usize, u64)> = o.wscale[..15]
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .map(|(i, n)| (i, *n))
        .collect();
    wscale.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut ws_parts: Vec<(String, u64, &'static str)> = wscale
        .iter()
        .take(5)
        .enumerate()
        .map(|(i, (shift, n))| (format!("shift {shift}"), *n, PART_COLOURS[i]))
        .collect();
    let rest: u64 = wscale.iter().skip(5).map(|w| w.1).sum();
    ws_parts.push(("other".into(), rest, PART_COLOURS[6]));
    ws_parts.push(("off".into(), o.wscale[15], PART_COLOURS[7]));
    let named = |names: [&str; 4], counts: [u64; 4]| -> Vec<(String, u64, &'static str)> {
        let colours = [
            PART_COLOURS[7],
            PART_COLOURS[5],
            PART_COLOURS[0],
            PART_COLOURS[3],
        ];
        (0..4)
            .map(|i| (names[i].to_string(), counts[i], colours[i]))
            .collect()
    };
    let rows = vec![
        ShareRow {
            label: "MSS".into(),
            parts: mss_parts,
        },
        ShareRow {
            label: "window scale".into(),
            parts: ws_parts,
        },
        yes_no("SACK", o.sack),
        yes_no("timestamps", o.timestamps),
        ShareRow {
            label: "ECN".into(),
            parts: named(["off", "requested", "negotiated", "accecn"], o.ecn),
        },
        ShareRow {
            label: "TFO".into(),
            parts: named(["none", "cookie request", "cookie", "data accepted"], o.tfo),
        },
    ];
    let _ = write!(
        out,
        r#"<section id="options"><h2>Negotiated options</h2><p class="stats">MSS, window scale (the client's shift), SACK and timestamps as agreed in the {} handshakes whose SYN-ACK was seen; ECN and TCP Fast Open over every attempt with a SYN</p>"#,
        thousands(o.negotiated)
    );
    out.push_str(&share_rows("chart-options", "Negotiated options", &rows));
    out.push_str("</section>");
}

fn ladders(out: &mut String, picks: &[&LadderPick], svgs: Option<&[String]>) {
    out.push_str(
        r#"<section id="ladders"><h2>Ladder diagrams: sampled failing and slowest attempts</h2>"#,
    );
    if picks.is_empty() {
        out.push_str(r#"<p class="note">No failing or completed handshake to show.</p></section>"#);
        return;
    }
    out.push_str(r#"<p class="stats">failing attempts sampled across their verdicts, and the slowest handshakes; <code>id</code> numbers attempts as <code>synack handshakes</code> does</p>"#);
    out.push_str(r#"<table id="ladder-picks"><tr><th>id</th><th>why</th><th>client</th><th>server</th><th>verdict</th><th>SYN/SA</th><th>handshake</th></tr>"#);
    for p in picks {
        let a = &p.attempt;
        let n = &p.analysis;
        let _ = write!(
            out,
            r##"<tr class="pick" data-id="{}"><td class="num"><a href="#ladder-{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td style="color:{}">{}</td><td class="num">{}/{}</td><td class="num">{}</td></tr>"##,
            p.id,
            p.id,
            p.id,
            match p.reason {
                PickReason::Failing => "failing",
                PickReason::Slowest => "slowest",
            },
            esc(&a.client.to_string()),
            esc(&a.server.to_string()),
            verdict_colour(n.verdict),
            n.verdict.name(),
            a.syn_count,
            a.synack_count,
            n.rtt.handshake.map_or("-".into(), duration_text),
        );
    }
    out.push_str("</table>");
    for (i, p) in picks.iter().enumerate() {
        let _ = write!(out, r#"<figure class="ladder" id="ladder-{}">"#, p.id);
        match svgs.and_then(|s| s.get(i)) {
            Some(svg) => out.push_str(svg),
            None => {
                let _ = write!(
                    out,
                    r#"<p class="note">attempt {}: no ladder diagram (the input cannot be read a second time for its packets)</p>"#,
                    p.id
                );
            }
        }
        let _ = write!(
            out,
            "<figcaption>attempt {} ({}), {} → {}</figcaption></figure>",
            p.id,
            p.analysis.verdict.name(),
            esc(&p.attempt.client.to_string()),
            esc(&p.attempt.server.to_string())
        );
    }
    out.push_str("</section>");
}

/// The page. `ladder_svgs`, when given, holds one SVG ladder diagram per
/// attempt of `agg.ladders.picks()`, in that order; each goes into that
/// attempt's figure in the "ladders" section.
pub fn render(agg: &Aggregate, meta: &PageMeta, ladder_svgs: Option<&[String]>) -> String {
    let mut out = String::with_capacity(1 << 16);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{}</title><style>{STYLE}</style></head><body>",
        esc(&meta.title)
    );
    let span = match (agg.first, agg.last) {
        (Some(f), Some(l)) => format!("{} to {}", date_time(f), date_time(l)),
        _ => "no attempts".to_string(),
    };
    let _ = write!(
        out,
        "<header><h1>{}</h1><p>{} · {}</p></header><main>",
        esc(&meta.title),
        esc(&meta.inputs.join(", ")),
        span
    );
    totals(&mut out, agg);
    handshake_times(&mut out, agg);
    retransmissions(&mut out, agg);
    timeline(&mut out, agg);
    failing_servers(&mut out, agg);
    options_mix(&mut out, agg);
    ladders(&mut out, &agg.ladders.picks(), ladder_svgs);
    let s = &meta.stats;
    let _ = writeln!(
        out,
        "</main><footer>synack {}: {} frames, {} TCP segments, {} attempts tracked; {} evicted, {} flushed early. Semantics: handshakes.md.</footer></body></html>",
        env!("CARGO_PKG_VERSION"),
        thousands(s.frames),
        thousands(s.tcp_segments),
        thousands(s.attempts),
        thousands(s.evicted),
        thousands(s.flushed),
    );
    out
}

/// Gathers the aggregate as records stream by.
struct ReportSink {
    agg: Aggregate,
}

impl RecordSink for ReportSink {
    fn begin(&mut self) -> Result<(), Failure> {
        Ok(())
    }
    fn record(&mut self, r: &Record<'_>) -> Result<(), Failure> {
        self.agg.add(r);
        Ok(())
    }
    fn after_frame(&mut self, _streaming: bool) -> Result<(), Failure> {
        Ok(())
    }
    fn stopped(&self) -> bool {
        false
    }
    /// The page shows verdicts, times, counts, options and ladders (whose
    /// bad-checksum notes are verified as they are drawn), never Zeek's or
    /// Wireshark's fields, the heuristics or the records' checksum counts.
    fn views_unread(&self) -> bool {
        true
    }
    /// The ladders' packets come from a second read.
    fn reads_again(&self) -> bool {
        true
    }
}

/// The ladder diagram of each pick, in order: the packets of the picked
/// attempts come from a second read of each capture that holds one (only
/// those frames are kept). `None` when an input cannot be read again
/// (standard input, a pipe, a live capture): the section then lists the
/// attempts without diagrams.
fn ladder_svgs(
    input: &InputArgs,
    paths: &[String],
    picks: &[&LadderPick],
    index: Option<&FrameIndex>,
) -> Result<Option<Vec<String>>, Failure> {
    let rereadable = |p: &String| std::fs::metadata(p).is_ok_and(|m| m.is_file());
    if picks.is_empty() || input.interface.is_some() || !paths.iter().all(rereadable) {
        return Ok(None);
    }
    let mut svgs = vec![String::new(); picks.len()];
    for (i, path) in paths.iter().enumerate() {
        let chosen: Vec<usize> = (0..picks.len()).filter(|&k| picks[k].input == i).collect();
        if chosen.is_empty() {
            continue;
        }
        let one = InputArgs {
            read: vec![path.clone()],
            ..input.clone()
        };
        let attempts: Vec<&Attempt> = chosen.iter().map(|&k| &picks[k].attempt).collect();
        // The first read's index: there is one only when it read one file.
        let packets = collect_packets(&one, &attempts, index)?;
        for (&k, packets) in chosen.iter().zip(&packets) {
            svgs[k] = svg_for(packets, &picks[k].attempt, &picks[k].analysis);
        }
    }
    Ok(Some(svgs))
}

/// `synack report`.
pub fn run(args: &ReportArgs) -> Result<(), Failure> {
    let mut sink = ReportSink {
        agg: Aggregate::new(),
    };
    // Expanded once here, so that a pick's `input` indexes this list.
    let paths = records::expand_inputs(&args.input.read)?;
    let input = InputArgs {
        read: paths.clone(),
        ..args.input.clone()
    };
    let outcome = records::run(&input, &args.records, &mut sink)?;
    if let Some(e) = outcome.error {
        return Err(e);
    }
    let names: Vec<String> = paths
        .iter()
        .map(|p| {
            std::path::Path::new(p)
                .file_name()
                .map_or(p.clone(), |f| f.to_string_lossy().into_owned())
        })
        .collect();
    let meta = PageMeta {
        title: args
            .title
            .clone()
            .unwrap_or_else(|| format!("TCP handshakes: {}", names.join(", "))),
        inputs: names,
        stats: outcome.stats,
    };
    let picks = sink.agg.ladders.picks();
    let svgs = ladder_svgs(&args.input, &paths, &picks, outcome.index.as_ref())?;
    let page = render(&sink.agg, &meta, svgs.as_deref());
    let mut out = Output::file(&args.output)?;
    let mut bytes = page.into_bytes();
    out.write(&mut bytes)?;
    out.flush()?;
    let failed: u64 = Verdict::ALL
        .iter()
        .filter(|v| is_failure(**v))
        .map(|v| sink.agg.summary.count(*v))
        .sum();
    eprintln!(
        "{}: {} attempts, {} failed",
        args.output, sink.agg.summary.attempts, failed
    );
    Ok(())
}
