#![no_main]
//! libFuzzer entry of `scalar_parsers`; the body and its properties are in kusto-fuzz-targets.

libfuzzer_sys::fuzz_target!(|data: &[u8]| kusto_fuzz_targets::scalar_parsers(data));
