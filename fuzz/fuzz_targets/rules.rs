//! The detection rules loader (user-supplied TOML overrides): any text is
//! a rule set or an error.
#![no_main]
use libfuzzer_sys::fuzz_target;
use osprey_analysis::detect::rules::RuleSet;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = RuleSet::with_override_text(text, "fuzz");
    }
});
