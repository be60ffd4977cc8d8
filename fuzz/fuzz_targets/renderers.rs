//! Attempt records built field by field from the fuzz bytes, with values no
//! capture of sane length produces (times at the ends of the clock, counts at
#![no_main]

#[path = "../harness/renderers.rs"]
mod harness;
#[path = "../harness/render.rs"]
mod render;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::run(data));
