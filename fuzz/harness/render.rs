//! Every record through every report format, with what each format promises:
//! JSON Lines parse and carry the record's id and verdict, CSV rows have the
//! header's fields, Zeek conn.log rows have its columns, table rows are one
//! line, the summary counts every record, explanations and ladders (of the
//! record's packets, when there are some) name the attempt and its verdict,
//! SVG ladders are one element, and no control character but the newline
//! (and the tab between conn.log columns) comes out.

use synack::print::{PrintOptions, Printer, TimeFormat};
use synack::report::conn_log::{self, ConnLogWriter};
use synack::report::csv::{CsvWriter, HEADER};
use synack::report::explain::{explain, ExplainStyle};
use synack::report::ladder::{self, TextStyle};
use synack::report::packets::AttemptPackets;
use synack::report::table::TableWriter;
use synack::report::{jsonl, Record, Selection, Summary};
use synack::source::Precision;
use synack::track::heuristics::DetectorConfig;
use synack::track::{Attempt, TrackerStats, Verdict};

/// Reports are UTF-8 text of synack's own words (`µs`): no control
/// character but the newline may reach the terminal.
fn assert_printable(what: &str, out: &[u8]) {
    let text = std::str::from_utf8(out).unwrap_or_else(|e| panic!("{what}: {e}"));
    let allowed = |c: char| c == '\n' || (c == '\t' && what == "zeek");
    if let Some(bad) = text.chars().find(|&c| !allowed(c) && c.is_control()) {
        panic!("{what}: {bad:?} in {text:?}");
    }
}

/// The explanation styles tried: 4.x lines, 3.x lines with -v and -S, the
/// ladder in box drawing and in ASCII.
const EXPLAIN_STYLES: [ExplainStyle; 4] = [
    ExplainStyle {
        classic: false,
        absolute: false,
        verbose: 0,
        ladder: None,
    },
    ExplainStyle {
        classic: true,
        absolute: true,
        verbose: 1,
        ladder: None,
    },
    ExplainStyle {
        classic: false,
        absolute: false,
        verbose: 0,
        ladder: Some(TextStyle {
            ascii: false,
            absolute: false,
        }),
    },
    ExplainStyle {
        classic: false,
        absolute: true,
        verbose: 2,
        ladder: Some(TextStyle {
            ascii: true,
            absolute: true,
        }),
    },
];

/// `synack explain` of one record in each style, and its SVG ladder.
fn check_explained(r: &Record<'_>, packets: &AttemptPackets) {
    let verdict = r.analysis.verdict.name();
    for style in EXPLAIN_STYLES {
        let mut printer = Printer::new(PrintOptions {
            numeric: true,
            absolute: style.absolute,
            time: TimeFormat::None,
            verbose: style.verbose,
            link: false,
            quiet: false,
            all: false,
            classic: style.classic,
        });
        let mut out = Vec::new();
        explain(&mut out, &mut printer, r, packets, style);
        assert_printable("explain", &out);
        let text = std::str::from_utf8(&out).unwrap();
        let heading = text.lines().next().unwrap_or("");
        assert!(
            heading.starts_with(&format!("Attempt {}: ", r.id)) && heading.ends_with(verdict),
            "explain heading {heading:?}"
        );
    }
    let svg = ladder::svg_for(packets, r.attempt, &r.analysis);
    assert_printable("svg", svg.as_bytes());
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert_eq!(svg.matches("<svg").count(), 1, "one SVG element");
}

/// Render `records` (numbered from 1) in every format and check each output;
/// `packets`, when given, holds the packets of the first records (as `synack
/// explain` collects them), which are explained with them; without it every
/// record is explained without packets.
pub fn check(
    records: &[Box<Attempt>],
    packets: Option<&[AttemptPackets]>,
    stats: &TrackerStats,
    precision: Precision,
    detectors: &DetectorConfig,
    slow_ms: Option<f64>,
) {
    let mut table = TableWriter::new(false);
    let csv = CsvWriter::new();
    let mut zeek = ConnLogWriter::new();
    let mut zeek_out = Vec::new();
    let mut summary = Summary::new();
    let mut selected = Summary::new();
    let selection = Selection {
        verdicts: Vec::new(),
        failed: false,
        slow_ms,
    };
    let mut buf = Vec::new();
    for (i, a) in records.iter().enumerate() {
        let id = i as u64 + 1;
        let r = Record::new(id, a, precision, detectors);
        let verdict = r.analysis.verdict;

        buf.clear();
        jsonl::write(&r, &mut buf);
        assert_printable("jsonl", &buf);
        assert_eq!(buf.iter().filter(|&&b| b == b'\n').count(), 1, "one line");
        let v: serde_json::Value = serde_json::from_slice(&buf).expect("a JSON object");
        assert_eq!(v["id"].as_u64(), Some(id));
        assert_eq!(v["verdict"].as_str(), Some(verdict.name()));

        buf.clear();
        csv.row(&r, &mut buf);
        assert_printable("csv", &buf);
        let mut rows = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(&buf[..]);
        let row = rows.records().next().expect("a row").expect("valid CSV");
        assert_eq!(row.len(), HEADER.len(), "fields of {row:?}");
        assert_eq!(&row[0], id.to_string());
        assert_eq!(&row[7], verdict.name());

        buf.clear();
        zeek.row(&r, &mut buf);
        assert_printable("zeek", &buf);
        let row = std::str::from_utf8(&buf)
            .unwrap()
            .lines()
            .last()
            .unwrap_or("");
        let columns: Vec<&str> = row.split('\t').collect();
        assert_eq!(columns.len(), conn_log::FIELDS.len(), "columns of {row:?}");
        assert_eq!(columns[21], id.to_string(), "the id column of {row:?}");
        assert_eq!(columns[22], verdict.name(), "the verdict column of {row:?}");
        assert!(buf.ends_with(b"\n"));
        zeek_out.extend_from_slice(&buf);

        buf.clear();
        table.row(&r, &mut buf);
        assert_printable("table", &buf);
        assert_eq!(buf.iter().filter(|&&b| b == b'\n').count(), 1, "one line");
        assert!(buf.ends_with(b"\n"));

        let none = AttemptPackets {
            precision,
            ..AttemptPackets::default()
        };
        match packets {
            Some(p) => {
                if let Some(p) = p.get(i) {
                    check_explained(&r, p);
                }
            }
            None => check_explained(&r, &none),
        }

        summary.add(&r);
        if selection.matches(&r) {
            selected.add(&r);
        }
    }
    let counted: u64 = Verdict::ALL.iter().map(|&v| summary.count(v)).sum();
    assert_eq!(
        counted,
        records.len() as u64,
        "the summary counts each record"
    );
    for v in Verdict::ALL {
        assert!(selected.count(v) <= summary.count(v));
    }
    zeek.close(&mut zeek_out);
    assert_printable("zeek", &zeek_out);
    assert!(zeek_out.starts_with(b"#separator \\x09\n"));
    assert!(std::str::from_utf8(&zeek_out)
        .unwrap()
        .lines()
        .last()
        .is_some_and(|l| l.starts_with("#close\t")));
    buf.clear();
    summary.write_text(stats, &mut buf);
    assert_printable("summary", &buf);
}
