//! Runnable examples for the Kusto SDK for Rust. They run against the local emulator by default.
//!
//! | example | what it shows | run it |
//! |---|---|---|
//! | `demo` | Azurite and the emulator started locally; a table created; data ingested by streaming, from memory and from a blob in Azurite; queried back with parameters, as typed rows and as structs | `cargo xtask demo` |

use kusto_data::KustoTable;

/// Renders a table as aligned text columns (for printing in examples).
pub fn render(table: &KustoTable) -> String {
    let headers: Vec<String> = table.columns().iter().map(|c| c.name.clone()).collect();
    let cells: Vec<Vec<String>> = table
        .rows()
        .map(|row| row.values().iter().map(|v| v.to_string()).collect())
        .collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &cells {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |values: &[String]| {
        values
            .iter()
            .zip(&widths)
            .map(|(v, w)| format!("{v:<w$}"))
            .collect::<Vec<_>>()
            .join(" | ")
            .trim_end()
            .to_owned()
    };
    let mut out = vec![line(&headers)];
    out.push(
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join("-+-"),
    );
    out.extend(cells.iter().map(|row| line(row)));
    out.join("\n")
}
