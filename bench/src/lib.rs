//! What the benchmark programs share: the generated workloads (the B1 frame, the B2/B3 CSV
//! rows, the B5 payloads), memory readings of the process, and a byte-counting sink.
//!
//! The data is deterministic (a xorshift generator with a fixed seed), so that every run and
//! every client gets the same bytes.

use std::io::{BufWriter, Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use kusto_ingest_polars::polars::prelude::*;

/// The schema of the B1 frame as a Kusto table (what `create_table_command` gives for it).
pub const FRAME_SCHEMA: &str = "(Id:long, Amount:real, Note:string, Flag:bool, At:datetime, \
     Span:timespan, State:string, Tags:dynamic, Count:int, Day:datetime)";

/// The schema of the CSV rows written by [`write_csv_rows`].
pub const CSV_SCHEMA: &str =
    "(Id:long, At:datetime, Key:string, State:string, Amount:real, Flag:bool, Note:string)";

/// The schema of the streaming payloads written by [`payload`].
pub const PAYLOAD_SCHEMA: &str = "(Payload:long, N:long, Text:string)";

const STATES: [&str; 6] = ["TEXAS", "KANSAS", "OKLAHOMA", "NEBRASKA", "IOWA", "OHIO"];

/// A xorshift64 generator: cheap, deterministic, good enough for test data.
#[derive(Debug, Clone)]
pub struct XorShift(u64);

impl Default for XorShift {
    fn default() -> Self {
        XorShift(0x9E37_79B9_7F4A_7C15)
    }
}

impl XorShift {
    /// The next value.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// The resident set and its peak (`VmRSS`, `VmHWM`), in bytes, from `/proc/self/status`
/// (zeros where that file does not exist).
pub fn memory() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Resets the peak resident set to the current one (Linux: `5` written to `clear_refs`).
pub fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Bytes in MiB.
pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1u64 << 20) as f64
}

/// A writer that counts bytes and drops them.
#[derive(Debug, Default)]
pub struct CountingSink(pub u64);

impl Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The B1 frame of `rows` rows: i64, f64 with nulls, strings with commas, quotes and non-ASCII
/// text, bool with nulls, datetime (ns, UTC), duration, categorical, list of strings, i32 and
/// date; about one null in seven where nullable.
pub fn frame(rows: usize) -> PolarsResult<DataFrame> {
    let mut random = XorShift::default();
    let words = [
        "alpha",
        "beta, gamma",
        "say \"hi\"",
        "Café",
        "日本語",
        "naïve résumé",
    ];
    let mut ids = Vec::with_capacity(rows);
    let mut amounts = Vec::with_capacity(rows);
    let mut notes = Vec::with_capacity(rows);
    let mut flags = Vec::with_capacity(rows);
    let mut times = Vec::with_capacity(rows);
    let mut spans = Vec::with_capacity(rows);
    let mut cats = Vec::with_capacity(rows);
    let mut lists = ListStringChunkedBuilder::new("Tags".into(), rows, 2 * rows);
    let mut counts = Vec::with_capacity(rows);
    let mut days = Vec::with_capacity(rows);
    for i in 0..rows {
        let r = random.next_u64();
        ids.push(i as i64);
        amounts.push((r % 7 != 0).then(|| (r % 1_000_000) as f64 / 100.0));
        notes.push(format!("{} #{}", words[(r % 6) as usize], r % 997));
        flags.push((r % 7 != 1).then_some(r % 2 == 0));
        times.push(1_700_000_000_000_000_000i64 + (r % 86_400_000_000_000) as i64);
        spans.push((r % 3_600_000_000_000) as i64 - 1_800_000_000_000);
        cats.push(STATES[(r >> 8) as usize % 6]);
        // A builder, not a Series per row: a million small Series would cost the process more
        // than a gigabyte before the measurement starts.
        lists.append_values_iter(
            [words[(r >> 3) as usize % 6], STATES[(r >> 5) as usize % 6]].into_iter(),
        );
        counts.push((r % 100_000) as i32);
        days.push(19_000 + (r % 1000) as i32);
    }
    let list = lists.finish();
    let columns = vec![
        Series::new("Id".into(), ids),
        Series::new("Amount".into(), amounts),
        Series::new("Note".into(), notes),
        Series::new("Flag".into(), flags),
        Series::new("At".into(), times).into_datetime(TimeUnit::Nanoseconds, Some(TimeZone::UTC)),
        Series::new("Span".into(), spans).into_duration(TimeUnit::Nanoseconds),
        Series::new("State".into(), cats).cast(&DataType::from_categories(Categories::global()))?,
        list.into_series(),
        Series::new("Count".into(), counts),
        Series::new("Day".into(), days).into_date(),
    ];
    DataFrame::new(rows, columns.into_iter().map(Column::from).collect())
}

/// Writes CSV rows (no header) of about 120 bytes each until `size` bytes are written, numbering
/// them from `first_id`: id, a 7-digit datetime, guid-like text, a state, an amount, a bool and
/// a quoted note with a comma. Returns the bytes and rows written.
pub fn write_csv_rows(
    out: &mut impl Write,
    size: u64,
    first_id: u64,
    random: &mut XorShift,
) -> std::io::Result<(u64, u64)> {
    let mut written = 0u64;
    let mut rows = 0u64;
    let mut line = String::with_capacity(160);
    while written < size {
        let x = random.next_u64();
        line.clear();
        use std::fmt::Write as _;
        let _ = writeln!(
            line,
            "{},2024-05-{:02}T{:02}:{:02}:{:02}.{:07}Z,{:08x}-{:04x}-4{:03x},{},{}.{:02},{},\"note {}, seen {} times\"",
            first_id + rows,
            1 + (x % 28),
            (x >> 5) % 24,
            (x >> 11) % 60,
            (x >> 17) % 60,
            (x >> 23) % 10_000_000,
            x as u32,
            (x >> 32) as u16,
            (x >> 48) & 0xfff,
            STATES[(x % 6) as usize],
            (x >> 20) % 100_000,
            (x >> 40) % 100,
            x.is_multiple_of(2),
            (x >> 8) % 997,
            (x >> 3) % 50,
        );
        out.write_all(line.as_bytes())?;
        written += line.len() as u64;
        rows += 1;
    }
    Ok((written, rows))
}

/// Writes a CSV file of about `size` bytes (see [`write_csv_rows`]); returns its rows.
pub fn write_csv_file(path: &Path, size: u64) -> std::io::Result<u64> {
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let (_, rows) = write_csv_rows(&mut out, size, 0, &mut XorShift::default())?;
    out.flush()?;
    Ok(rows)
}

/// One streaming payload of about `size` bytes: CSV rows `i,<n>,<text>`.
pub fn payload(i: usize, size: usize) -> String {
    use std::fmt::Write as _;
    let mut text = String::with_capacity(size + 64);
    let mut n = 0;
    while text.len() < size {
        let _ = writeln!(text, "{i},{n},row {n} of payload {i} with some text");
        n += 1;
    }
    text
}

/// gzip of `data` at `level`, in memory.
pub fn gzip(data: &[u8], level: u32) -> std::io::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
    encoder.write_all(data)?;
    encoder.finish()
}

/// gzip of a file at `level` in one thread, 1 MiB reads, output counted and dropped: the time
/// and the compressed size.
pub fn gzip_file(path: &Path, level: u32) -> std::io::Result<(Duration, u64)> {
    let started = Instant::now();
    let mut input = std::fs::File::open(path)?;
    let mut encoder =
        flate2::write::GzEncoder::new(CountingSink(0), flate2::Compression::new(level));
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = input.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        encoder.write_all(&buffer[..n])?;
    }
    let sink = encoder.finish()?;
    Ok((started.elapsed(), sink.0))
}
