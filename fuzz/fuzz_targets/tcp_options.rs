//! TCP option bytes through the option iterator and summary.
#![no_main]

#[path = "../harness/tcp_options.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::run(data));
