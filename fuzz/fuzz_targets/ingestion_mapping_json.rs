#![no_main]
//! libFuzzer entry of `ingestion_mapping_json`; the body and its properties are in kusto-fuzz-targets.

libfuzzer_sys::fuzz_target!(|data: &[u8]| kusto_fuzz_targets::ingestion_mapping_json(data));
