//! Arbitrary segment sequences through the tracker with tiny caps and
//! timeouts, then every record through the reports.
#![no_main]

#[path = "../harness/tracker.rs"]
mod harness;
#[path = "../harness/render.rs"]
mod render;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::run(data));
