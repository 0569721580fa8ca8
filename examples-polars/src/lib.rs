//! Runnable Polars examples for the Kusto SDK for Rust, kept apart from `kusto-examples` so
//! that the other examples and the demo build without Polars.
//!
//! | example | what it shows |
//! |---|---|
//! | `query_polars` | `kusto_ingest_polars::query_dataframe`: a result as a Polars DataFrame |
//! | `polars_roundtrip` | a Polars DataFrame into a table created from its schema (`ingest_from_dataframe`, queued, status waited for) and queried back as a DataFrame with the same dtypes |
//!
//! Run one with `cargo run -p kusto-examples-polars --bin NAME`; `cargo test -p
//! kusto-examples-polars` runs both and checks what they print. Like the other examples they
//! run against a local emulator with Azurite by default, or against the cluster named by
//! `KUSTO_CLUSTER_URL` (see `kusto-examples`).
