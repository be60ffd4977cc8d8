//! TCP option bytes through the option iterator and summary.

use synack::wire::tcp::{options, OptionSummary};

pub fn run(data: &[u8]) {
    let data = &data[..data.len().min(40)];
    let n = options(data).count();
    assert!(n <= data.len());
    let _ = OptionSummary::parse(data);
}
