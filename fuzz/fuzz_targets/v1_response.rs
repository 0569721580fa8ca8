#![no_main]
//! libFuzzer entry of `v1_response`; the body and its properties are in kusto-fuzz-targets.

libfuzzer_sys::fuzz_target!(|data: &[u8]| kusto_fuzz_targets::v1_response(data));
