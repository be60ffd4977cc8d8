//! TCP option bytes through the option iterator and summary.
#![no_main]

use libfuzzer_sys::fuzz_target;
use synack::wire::tcp::{options, OptionSummary};

fuzz_target!(|data: &[u8]| {
    let data = &data[..data.len().min(40)];
    let n = options(data).count();
    assert!(n <= data.len());
    let _ = OptionSummary::parse(data);
});
