//! The flow filter language (`osprey flows --filter`, the GUI's filter
//! bar): any text parses to a filter or an error with a position.
#![no_main]
use libfuzzer_sys::fuzz_target;
use osprey_analysis::filter::Filter;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Filter::parse(text);
    }
});
