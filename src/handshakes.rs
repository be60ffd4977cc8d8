//! `synack handshakes`: records from [`crate::records`] go to the chosen
//! format.
//!
//! A capture file is read with [`crate::track::Emit::InOrder`] (records in the
//! order of their first packet, each once its connection is over); a live
//! source (one without a file position) gets `Emit::WhenFinal`: each record is
//! written and flushed as soon as its verdict is final. While a live source is
//! idle the tracker is advanced to the wall clock, so that unanswered attempts
//! are judged while the wire is quiet; an interrupt ends the input, and every
//! attempt still open is judged as of then.

use std::io::IsTerminal;

use crate::app::{Failure, Output};
use crate::cli::{HandshakeArgs, HandshakeFormat};
use crate::pipeline::Kept;
use crate::records::{self, RecordSink};
use crate::report::conn_log::{self, ConnLogWriter};
use crate::report::csv::CsvWriter;
use crate::report::table::TableWriter;
use crate::report::{jsonl, Record, RowFormat, Summary};
use crate::track::{Endpoint, TrackerStats, Verdict};

/// Buffered output is written once it holds this much.
const WRITE_AT: usize = 1 << 16;

/// Where records go: the chosen format, the summary.
struct Sink {
    format: HandshakeFormat,
    summary_only: bool,
    /// The rows of every format but Parquet.
    rows: Option<Rows>,
    conn_log: ConnLogWriter,
    #[cfg(feature = "parquet")]
    parquet: Option<crate::report::parquet::ParquetWriter>,
    summary: Summary,
    out: Output,
    buf: Vec<u8>,
    colour: bool,
}

/// Rows formatted away from the sink: every format but Parquet, whose
/// writer gathers rows into column chunks.
enum Rows {
    Table(TableWriter),
    Jsonl,
    Csv(CsvWriter),
    /// The rows alone: the sink writes the header before the first.
    Zeek,
}

impl Rows {
    /// The rows of `format`; none for Parquet.
    fn of(format: HandshakeFormat, colour: bool) -> Option<Rows> {
        Some(match format {
            HandshakeFormat::Table => Rows::Table(TableWriter::new(colour)),
            HandshakeFormat::Jsonl => Rows::Jsonl,
            HandshakeFormat::Csv => Rows::Csv(CsvWriter::new()),
            HandshakeFormat::Zeek => Rows::Zeek,
            HandshakeFormat::Parquet => return None,
        })
    }
}

impl RowFormat for Rows {
    fn row(&mut self, r: &Record<'_>, out: &mut Vec<u8>) {
        match self {
            Rows::Table(t) => t.row(r, out),
            Rows::Jsonl => jsonl::write(r, out),
            Rows::Csv(c) => c.row(r, out),
            Rows::Zeek => conn_log::row_fields(r, out),
        }
    }
}

impl Sink {
    /// The summary is written only with the table or alone: other formats
    /// need not count.
    fn summarised(&self) -> bool {
        self.summary_only || self.format == HandshakeFormat::Table
    }

    fn start(&mut self) {
        if self.summary_only {
            return;
        }
        match &self.rows {
            Some(Rows::Table(t)) => t.header(&mut self.buf),
            Some(Rows::Csv(c)) => c.header(&mut self.buf),
            // Zeek's header names the first record's time: written with it.
            Some(Rows::Jsonl | Rows::Zeek) | None => {}
        }
    }

    /// What is kept across rows, of each record written: the summary's
    /// counts, and the conn.log's header and closing time.
    fn keep(&mut self, k: &Kept) {
        if self.summarised() {
            self.summary
                .add_verdict(k.verdict, k.handshake_us, k.server);
        }
        if self.format == HandshakeFormat::Zeek && !self.summary_only {
            self.conn_log
                .before_row(k.first_time, k.last_time, &mut self.buf);
        }
    }

    fn end(&mut self, stats: &TrackerStats) -> Result<(), Failure> {
        if self.summarised() {
            if !self.summary_only {
                self.buf.push(b'\n');
            }
            self.summary.write_text(stats, &mut self.buf);
        } else if self.format == HandshakeFormat::Zeek {
            self.conn_log.close(&mut self.buf);
        }
        #[cfg(feature = "parquet")]
        if let Some(p) = self.parquet.take() {
            let bytes = p.finish()?;
            self.buf.extend_from_slice(&bytes);
        }
        self.out.write(&mut self.buf)?;
        self.out.flush()
    }
}

impl RecordSink for Sink {
    fn begin(&mut self) -> Result<(), Failure> {
        self.start();
        Ok(())
    }

    fn record(&mut self, r: &Record<'_>) -> Result<(), Failure> {
        self.keep(&Kept::of(r));
        if self.summary_only {
            return Ok(());
        }
        if let Some(rows) = &mut self.rows {
            rows.row(r, &mut self.buf);
        }
        // Parquet's writer (made for that format alone) gathers rows into
        // column chunks and gives back what it wrote.
        #[cfg(feature = "parquet")]
        if let Some(p) = self.parquet.as_mut() {
            p.row(r)?;
            if let Some(bytes) = p.take_written() {
                self.buf.extend_from_slice(&bytes);
            }
        }
        if self.buf.len() >= WRITE_AT {
            self.out.write(&mut self.buf)?;
        }
        Ok(())
    }

    fn after_frame(&mut self, streaming: bool) -> Result<(), Failure> {
        // Streamed records are written at once; a file's in large writes.
        if self.buf.len() >= WRITE_AT || (streaming && !self.buf.is_empty()) {
            self.out.write(&mut self.buf)?;
            if streaming {
                self.out.flush()?;
            }
        }
        Ok(())
    }

    fn stopped(&self) -> bool {
        self.out.closed
    }

    fn counts_only(&self) -> bool {
        self.summary_only
    }

    fn count(&mut self, verdict: Verdict, handshake_us: Option<f64>, server: Endpoint) {
        self.summary.add_verdict(verdict, handshake_us, server);
    }

    fn row_format(&self) -> Option<Box<dyn RowFormat>> {
        if self.summary_only {
            return None;
        }
        Rows::of(self.format, self.colour).map(|rows| Box::new(rows) as Box<dyn RowFormat>)
    }

    fn formatted(&mut self, rows: &mut Vec<u8>, kept: &[Kept]) -> Result<(), Failure> {
        for k in kept {
            self.keep(k);
        }
        // Large runs of rows are written as they are, after what is
        // buffered, rather than copied.
        if rows.len() < WRITE_AT {
            self.buf.extend_from_slice(rows);
        } else {
            if !self.buf.is_empty() {
                self.out.write(&mut self.buf)?;
            }
            self.out.write(rows)?;
        }
        if self.buf.len() >= WRITE_AT {
            self.out.write(&mut self.buf)?;
        }
        Ok(())
    }
}

pub fn run(args: &HandshakeArgs) -> Result<(), Failure> {
    let to_terminal = matches!(args.output.as_deref(), None | Some("-"));
    if args.format == HandshakeFormat::Parquet && !args.summary {
        if !cfg!(feature = "parquet") {
            return Err(Failure::new(
                "--format parquet: this build has no Parquet writer (cargo feature `parquet`)",
            ));
        }
        if to_terminal && std::io::stdout().is_terminal() {
            return Err(Failure::new(
                "--format parquet writes binary data: give -o FILE or redirect the output",
            ));
        }
    }
    let colour = to_terminal
        && std::io::stdout().is_terminal()
        && !std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let mut sink = Sink {
        format: args.format,
        summary_only: args.summary,
        rows: Rows::of(args.format, colour),
        conn_log: ConnLogWriter::new(),
        #[cfg(feature = "parquet")]
        parquet: (args.format == HandshakeFormat::Parquet && !args.summary)
            .then(crate::report::parquet::ParquetWriter::new)
            .transpose()?,
        summary: Summary::new(),
        out: Output::to(args.output.as_deref())?,
        buf: Vec::with_capacity(2 * WRITE_AT),
        colour,
    };
    let outcome = records::run(&args.input, &args.records, &mut sink)?;
    // Whatever was read before a damaged file's end is still reported.
    sink.end(&outcome.stats)?;
    outcome.into_result()
}
