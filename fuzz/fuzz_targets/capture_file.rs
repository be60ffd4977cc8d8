//! A whole capture file (pcap or pcapng) read and printed in several modes:
//! the reader must end every input with frames or one error, never a panic,
//! and a damaged file's error names a byte offset inside the file.
#![no_main]

#[path = "../harness/capture_file.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::run(data));
