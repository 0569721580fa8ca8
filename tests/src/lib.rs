//! End-to-end tests across the Kusto SDK crates, run against `kusto-emulator` and Azurite.
//!
//! The tests live in `tests/`; this library will hold their shared harness.
