//! Runnable examples for the Kusto SDK for Rust. They run against the local emulator by default.
//!
//! No example exists yet: the SDK crates they would exercise are still being built.
