//! tcpdump filter expressions, compiled by libpcap and run on each frame.
//!
//! A file may hold several link types (pcapng interfaces), so the expression is
//! compiled once per link type on first use, exactly as libpcap would compile it
//! for a live capture on that link.

use std::collections::HashMap;

use pcap::{BpfProgram, Capture};

use super::{Frame, Linktype};

/// A compiled filter expression.
pub struct BpfFilter {
    expression: String,
    programs: HashMap<Linktype, BpfProgram>,
}

/// libpcap's complaint about an expression, as tcpdump prints it.
#[derive(Debug)]
pub struct FilterError(pub String);

impl std::fmt::Display for FilterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FilterError {}

/// libpcap's own words for an error, without the `pcap` crate's decoration.
pub fn pcap_message(e: pcap::Error) -> String {
    match e {
        pcap::Error::PcapError(msg) => msg,
        other => other.to_string(),
    }
}

fn compile(expression: &str, linktype: Linktype) -> Result<BpfProgram, FilterError> {
    super::libpcap::load().map_err(FilterError)?;
    let dead =
        Capture::dead(pcap::Linktype(linktype.dlt())).map_err(|e| FilterError(e.to_string()))?;
    dead.compile(expression, true)
        .map_err(|e| FilterError(pcap_message(e)))
}

impl BpfFilter {
    /// Compile `expression` for `linktype` now, so that a bad expression is
    /// reported before any packet is read.
    pub fn new(expression: &str, linktype: Linktype) -> Result<BpfFilter, FilterError> {
        let program = compile(expression, linktype)?;
        let mut programs = HashMap::new();
        programs.insert(linktype, program);
        Ok(BpfFilter {
            expression: expression.to_string(),
            programs,
        })
    }

    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// Does the frame pass the filter? A link type the expression cannot be
    /// compiled for (no such field on that link) matches nothing.
    ///
    /// The `pcap` crate evaluates the program with the captured length standing in
    /// for the wire length, so `len`/`greater`/`less` see the captured size.
    pub fn matches(&mut self, frame: &Frame<'_>) -> bool {
        if !self.programs.contains_key(&frame.linktype) {
            match compile(&self.expression, frame.linktype) {
                Ok(p) => {
                    self.programs.insert(frame.linktype, p);
                }
                Err(_) => return false,
            }
        }
        self.programs[&frame.linktype].filter(frame.data)
    }
}

/// Join the words of a filter given on the command line, as tcpdump does.
pub fn join_expression(words: &[String]) -> Option<String> {
    if words.is_empty() {
        None
    } else {
        Some(words.join(" "))
    }
}
