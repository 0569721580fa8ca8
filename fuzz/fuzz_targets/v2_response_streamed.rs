#![no_main]
//! libFuzzer entry of `v2_response_streamed`; the body and its properties are in kusto-fuzz-targets.

libfuzzer_sys::fuzz_target!(|data: &[u8]| kusto_fuzz_targets::v2_response_streamed(data));
