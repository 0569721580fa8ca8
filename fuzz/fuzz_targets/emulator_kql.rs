#![no_main]
//! libFuzzer entry of `emulator_kql`; the body and its properties are in kusto-fuzz-targets.

libfuzzer_sys::fuzz_target!(|data: &[u8]| kusto_fuzz_targets::emulator_kql(data));
