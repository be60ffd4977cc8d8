//! One frame under a link type chosen by the first byte, through every
//! printer mode and the decoder.
#![no_main]

#[path = "../harness/frame.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::run(data));
