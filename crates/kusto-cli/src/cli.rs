//! The command line (clap).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use kusto_data::DataFormat;

/// The exit codes, shown at the end of every `--help`.
const EXIT_CODES: &str = "\
Exit codes:
  0  everything succeeded
  1  some sources failed (the report says which)
  2  usage error (bad arguments, a path or pattern that matches nothing)
  3  authentication failure (no token, or the service answered 401/403)
  4  any other error (cluster unreachable, query failed, report not writable)
  5  interrupted by Ctrl-C (sources not yet started were skipped)
  6  some sources may or may not have been ingested (outcome unknown; wins over 1)";

/// `kusto`: bulk ingestion, queries and a local emulator for Azure Data Explorer (Kusto).
#[derive(Debug, Parser)]
#[command(name = "kusto", version, after_help = EXIT_CODES)]
pub(crate) struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Ingest files, directories, glob patterns, blob containers or stdin into a table.
    #[command(after_help = INGEST_HELP)]
    Ingest(Box<IngestArgs>),
    /// Run a query or a management command and print the primary result.
    #[command(after_help = EXIT_CODES)]
    Query(QueryArgs),
    /// Start a local Kusto emulator with Azurite (queued ingestion included) until Ctrl-C.
    #[command(after_help = EXIT_CODES)]
    Emulator(EmulatorArgs),
    /// Forget every sign-in saved by --auth browser or device-code (the file in the user's
    /// cache directory and the keyring entries it lists).
    Logout(LogoutArgs),
}

const INGEST_HELP: &str = "\
Sources:
  FILE         a file; its format comes from its name (data.csv, data.csv.gz, x.parquet, ...)
  DIRECTORY    every file below it, recursively, in name order
  PATTERN      a glob pattern ('logs/**/*.json', quoted so the shell leaves it alone)
  -            standard input (needs --format)
  CONTAINER    a blob container URL with a SAS that may read and list (sp=rl), quoted:
                 'https://ACCOUNT.blob.core.windows.net/CONTAINER?sv=...&sig=...'
                 'http://127.0.0.1:10000/devstoreaccount1/CONTAINER?sv=...'  (Azurite, path style:
                 with an IP address or a host name without dots, such as localhost, as host,
                 the first path segment is the account)
               A path after the container is a name prefix ('.../CONTAINER/logs/2024/?sv=...').
               The container is listed page by page (bounded memory for any number of blobs) and
               never downloaded: each blob whose name starts with the prefix (--blob-prefix, or
               the URL's path) and matches --blob-pattern is sent to the service as its URL with
               the SAS, and the service reads it. Its format comes from its name; its key in the
               report and the progress is its URL without the SAS (the signature is never shown).
               Every mode takes blobs: queued sends the URL in the ingestion message; streaming
               and managed pass it by reference (the engine reads the blob, sourceKind=uri).
               A container with no matching blob is a usage error (2); listing refused (401/403)
               is an authentication failure (3).

Creation-time patterns (--creation-time-pattern), matched anywhere in the source path
(with / as separator); the first match gives the creation time (UTC):
  brace form:        '{yyyy}/{MM}/{dd}'   'year={yyyy}/month={MM}/day={dd}'   'log-{yyyy}{MM}{dd}-{HH}{mm}'
                     (text outside braces is literal)
  LightIngest form:  \"'year='yyyy'/month='MM'/day='dd\"    (text in single quotes is literal)
  fields: yyyy (year), MM (month), dd (day), HH (hour), mm (minute), ss (second); missing ones
  are 1 (month, day) or 0. A path that does not match is ingested without a creation time.

Report (--report FILE, JSON lines, appended): one record per source when it is sent or fails,
and with --wait a second one with its final status; the last record of a path counts. Fields:
path (for a blob its URL without the SAS), source_id, outcome (submitted, streamed, queued,
succeeded, partially-succeeded, failed, pending, canceled, skipped, untracked, unknown), bytes,
format, creation_time, error,
operation (the serialized ingestion operation, to read its status later), mode, time.
unknown: the source may or may not have been ingested. Its queue message, REST submission or
streaming request went out and no answer came back (the error says which); sending it again
could ingest it twice. The run exits with 6. Before that, with --wait over storage queues, the
source's status entry is read for up to --resolve-within (60 s): once the service has taken the
message the source goes on as usual. A streaming request or REST submission whose success answer
was cut short is not unknown: the service said it took the data.

--resume FILE skips every source whose last record in FILE is submitted, streamed, queued,
succeeded, partially-succeeded, pending, skipped or untracked; failed and canceled sources are
tried again. A source whose last record is unknown is never sent again blindly: first its status
is read once (within 60 s), when the first run tracked it (queued with --wait: its status-table
entry); the outcome read is recorded (succeeded, skipped, partially-succeeded, or submitted when
the service has it queued or in progress: not sent again; failed, canceled: sent again). A source still unknown (its status still Pending, unreadable, or
never recorded: queued without --wait, REST without an answer, streamed) is recorded as unknown
again and not sent; the run exits with 6. Check the table for its rows, then run with
--resend-unknown to send the still-unknown sources again. Without --report, the new records are
appended to the same FILE. Reports of earlier versions read as before; their failed records with
the SDK's \"may or may not have been\" error are taken as unknown.

Exit codes:
  0  everything succeeded
  1  some sources failed (the report says which)
  2  usage error (bad arguments, a path, pattern or blob container that matches nothing)
  3  authentication failure (no token, the service answered 401/403, or a blob container's
     SAS was refused)
  4  any other error (cluster unreachable, report not writable)
  5  interrupted by Ctrl-C (sources not yet started were skipped)
  6  some sources may or may not have been ingested (outcome unknown in the report; --resume does
     not send them again unless their status shows they were not ingested, or with
     --resend-unknown). Wins over 1 when a run has both: failed sources are retried by --resume,
     unknown ones need a decision";

/// Where and as whom to connect.
#[derive(Debug, Args)]
pub(crate) struct ClusterArgs {
    /// The cluster: a URL (`https://mycluster.region.kusto.windows.net`) or a connection string
    /// (Data Source=...;Fed=True;...).
    #[arg(
        short,
        long,
        env = "KUSTO_CLUSTER",
        hide_env_values = true,
        value_name = "URL|CONNECTION STRING"
    )]
    pub(crate) cluster: String,
    /// How to authenticate, instead of the connection string's own method.
    #[arg(long, value_enum, value_name = "METHOD")]
    pub(crate) auth: Option<AuthMethod>,
    /// The application (client) id for --auth app-key, or a user-assigned managed identity's
    /// client id for --auth managed-identity.
    #[arg(long, value_name = "ID")]
    pub(crate) client_id: Option<String>,
    /// The tenant (id or domain) for --auth app-key, browser, device-code or az-cli.
    #[arg(long, value_name = "TENANT")]
    pub(crate) authority: Option<String>,
    /// The account to sign in with, for --auth browser (a login hint; default: the connection
    /// string's User ID).
    #[arg(long, value_name = "USER")]
    pub(crate) login_hint: Option<String>,
    /// For --auth browser: open the sign-in page with this command instead of the system
    /// browser; the URL is added as its last argument (split at spaces, no quoting), e.g.
    /// `firefox`, or `echo` to have the URL printed on stderr on a remote terminal.
    #[arg(long, value_name = "COMMAND", env = "KUSTO_BROWSER_COMMAND")]
    pub(crate) browser_command: Option<String>,
    /// Where --auth browser and device-code keep the sign-in between runs: auto (the refresh
    /// token in the platform's keyring, or in the file when no keyring answers), keyring, file
    /// (the file kusto-rs/sign-ins.json in the user's cache directory, owner-only) or off (this run only).
    #[arg(
        long,
        value_enum,
        value_name = "WHERE",
        default_value = "auto",
        env = "KUSTO_TOKEN_CACHE"
    )]
    pub(crate) token_cache: TokenCacheMode,
    /// The environment variable holding the client secret of --auth app-key (never a
    /// command-line argument, so that it stays out of shell history and process lists).
    #[arg(long, value_name = "VAR", default_value = "KUSTO_CLIENT_SECRET")]
    pub(crate) secret_env: String,
}

/// `--auth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum AuthMethod {
    /// The Azure CLI's signed-in account (`az login`).
    AzCli,
    /// An Azure managed identity (system-assigned, or --client-id).
    ManagedIdentity,
    /// Sign in in the system browser (or --browser-command); the sign-in is kept between runs
    /// (--token-cache).
    Browser,
    /// The device-code flow: a code to enter in a browser is printed on stderr; the sign-in is
    /// kept between runs (--token-cache).
    DeviceCode,
    /// A service principal: --client-id, --authority and the secret from --secret-env.
    AppKey,
    /// No authentication (the local emulator).
    None,
}

/// `--token-cache`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum TokenCacheMode {
    /// The keyring when one answers, else the file.
    Auto,
    /// The platform's keyring only (the file keeps the index, without the token).
    Keyring,
    /// The file only (the refresh token in plain text, readable by the owner only).
    File,
    /// Nothing saved: the sign-in lasts for this run.
    Off,
}

/// `kusto logout`.
#[derive(Debug, Args)]
pub(crate) struct LogoutArgs {}

/// How sources are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Mode {
    /// Queued ingestion through the data-management service (any size, batched by the service).
    Queued,
    /// Streaming ingestion to the engine (small sources, low latency, no fallback).
    Streaming,
    /// Streaming when it can, queued when it must (too large, throttled, streaming disabled).
    Managed,
}

/// `--protocol` of queued ingestion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Protocol {
    /// Ask the service (REST when offered and preferred, else storage queues).
    Auto,
    /// Storage queues.
    Queue,
    /// The REST ingestion API.
    Rest,
}

/// `--progress`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ProgressMode {
    /// A bar when stderr is a terminal, plain lines otherwise.
    Auto,
    /// Always the bar.
    Bar,
    /// Plain periodic lines.
    Lines,
    /// Nothing but the final summary.
    None,
}

/// `kusto ingest`.
#[derive(Debug, Args)]
pub(crate) struct IngestArgs {
    /// Where and as whom to connect.
    #[command(flatten)]
    pub(crate) cluster: ClusterArgs,
    /// The target database.
    #[arg(short, long)]
    pub(crate) database: String,
    /// The target table.
    #[arg(short, long)]
    pub(crate) table: String,
    /// Files, directories, glob patterns, blob container URLs (with a SAS), or - for standard
    /// input.
    #[arg(required = true, value_name = "SOURCES")]
    pub(crate) sources: Vec<String>,
    /// Blob containers: only blobs whose names start with this (listed by the service).
    #[arg(long, value_name = "PREFIX")]
    pub(crate) blob_prefix: Option<String>,
    /// Blob containers: only blobs whose names match this glob pattern ('*' stays within one
    /// '/'-separated level, '**' spans levels: '*.csv', '**/*.json', 'day=2024-0[1-3]*/*').
    #[arg(long, value_name = "PATTERN", value_parser = parse_blob_pattern)]
    pub(crate) blob_pattern: Option<glob::Pattern>,
    /// The data format (csv, tsv, json, multijson, parquet, avro, ...); by default each file's
    /// name tells it, and a source whose name tells none fails.
    #[arg(short, long, value_parser = parse_format)]
    pub(crate) format: Option<DataFormat>,
    /// A mapping defined on the table (`.create table T ingestion csv mapping "NAME" ...`).
    #[arg(long, value_name = "NAME")]
    pub(crate) mapping: Option<String>,
    /// A tag for the extents (repeatable).
    #[arg(long, value_name = "TAG")]
    pub(crate) tag: Vec<String>,
    /// An ingest-by tag (repeatable).
    #[arg(long, value_name = "TAG")]
    pub(crate) ingest_by: Vec<String>,
    /// A drop-by tag (repeatable).
    #[arg(long, value_name = "TAG")]
    pub(crate) drop_by: Vec<String>,
    /// Skip the source when an extent already has this ingest-by tag (repeatable).
    #[arg(long, value_name = "TAG")]
    pub(crate) ingest_if_not_exists: Vec<String>,
    /// Skip the first record of each source (a header line).
    #[arg(long)]
    pub(crate) ignore_first_record: bool,
    /// Read each source's creation time from its path (see below).
    #[arg(long, value_name = "PATTERN")]
    pub(crate) creation_time_pattern: Option<String>,
    /// How sources are sent.
    #[arg(long, value_enum, default_value_t = Mode::Queued)]
    pub(crate) mode: Mode,
    /// The protocol of queued ingestion (queued mode and managed fallback).
    #[arg(long, value_enum, default_value_t = Protocol::Auto)]
    pub(crate) protocol: Protocol,
    /// How many sources are sent at once.
    #[arg(short = 'p', long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub(crate) parallelism: u16,
    /// The gzip level of queued uploads (0-9, default the SDK's).
    #[arg(long, value_parser = clap::value_parser!(u32).range(0..=9))]
    pub(crate) compression_level: Option<u32>,
    /// The block size of queued uploads (64K to 100M, e.g. 256K or 8M; default the SDK's,
    /// 4M). A source larger than one block is uploaded in blocks, two at a time, and the
    /// progress moves as each block is stored.
    #[arg(long, value_parser = parse_size, value_name = "SIZE")]
    pub(crate) block_size: Option<usize>,
    /// Wait for each queued source's final status (succeeded, skipped or failed). Asks the
    /// service to track every source (one status entry each); without --wait nothing is
    /// tracked, as the service advises for high volumes.
    #[arg(long)]
    pub(crate) wait: bool,
    /// How long --wait waits for each source (e.g. 90s, 10m, 1h; a number is seconds).
    #[arg(long, value_parser = parse_duration, default_value = "10m", requires = "wait")]
    pub(crate) timeout: Duration,
    /// With --wait, over storage queues: how long a source whose queue message got no answer
    /// is looked for in its status entry (the message was queued once the service updates it)
    /// before it is reported unknown (e.g. 30s, 5m; 0 turns the look off).
    #[arg(long, value_parser = parse_duration, default_value = "60s", value_name = "DURATION")]
    pub(crate) resolve_within: Duration,
    /// List what would be ingested (path, format, size, creation time) and send nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Append each source's outcome to this JSON-lines file.
    #[arg(long, value_name = "FILE")]
    pub(crate) report: Option<PathBuf>,
    /// Skip the sources this report lists as sent (see below).
    #[arg(long, value_name = "FILE")]
    pub(crate) resume: Option<PathBuf>,
    /// With --resume: send again the sources whose outcome is still unknown after their
    /// status was read (they may have been ingested already: check the table first).
    #[arg(long, requires = "resume")]
    pub(crate) resend_unknown: bool,
    /// Progress display on stderr, by bytes: the sources sent count whole, and a queued upload
    /// under way counts as its blocks are stored, so the bar (its rate and ETA) moves inside a
    /// large file. Streamed sources and blob URLs count once sent.
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
    pub(crate) progress: ProgressMode,
    /// Seconds between plain progress lines.
    #[arg(long, value_name = "SECONDS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) progress_interval: u64,
}

/// `--output` of `kusto query`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OutputFormat {
    /// Aligned columns (the default on a terminal).
    Table,
    /// CSV with a header line (the default when stdout is not a terminal).
    Csv,
    /// One JSON object per row.
    Jsonl,
    /// An Arrow IPC file (binary; use --out or a pipe).
    Arrow,
    /// A Parquet file (binary, Snappy-compressed; use --out or a pipe).
    Parquet,
}

/// `kusto query`.
#[derive(Debug, Args)]
pub(crate) struct QueryArgs {
    /// Where and as whom to connect.
    #[command(flatten)]
    pub(crate) cluster: ClusterArgs,
    /// The database (default: the connection string's).
    #[arg(short, long)]
    pub(crate) database: Option<String>,
    /// The query, or a management command starting with `.`.
    #[arg(value_name = "QUERY")]
    pub(crate) query: String,
    /// The output format (default: table on a terminal, csv otherwise).
    #[arg(short, long, value_enum)]
    pub(crate) output: Option<OutputFormat>,
    /// Write to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
}

/// `kusto emulator`.
#[derive(Debug, Args)]
pub(crate) struct EmulatorArgs {
    /// The port (0 = any free port).
    #[arg(short, long, default_value_t = 8080)]
    pub(crate) port: u16,
    /// Create this database at start (repeatable; others are created on first use).
    #[arg(long = "database", value_name = "NAME")]
    pub(crate) databases: Vec<String>,
    /// How long queued sources wait to be batched, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    pub(crate) batching_window_ms: u64,
}

fn parse_blob_pattern(text: &str) -> Result<glob::Pattern, String> {
    glob::Pattern::new(text).map_err(|e| format!("'{text}' is not a valid glob pattern: {e}"))
}

fn parse_format(text: &str) -> Result<DataFormat, String> {
    text.parse::<DataFormat>().map_err(|e| e.to_string())
}

/// `90`, `90s`, `10m`, `1h`, `500ms`.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not a duration (e.g. 90s, 10m, 1h)"))?;
    let seconds = |factor: u64| {
        number
            .checked_mul(factor)
            .map(Duration::from_secs)
            .ok_or_else(|| format!("'{text}' is too long"))
    };
    match unit.trim() {
        "" | "s" => seconds(1),
        "m" => seconds(60),
        "h" => seconds(3600),
        "ms" => Ok(Duration::from_millis(number)),
        _ => Err(format!(
            "'{text}': unknown unit '{unit}' (use ms, s, m or h)"
        )),
    }
}

/// A block size: bytes, or with K or M (KiB, MiB), 64K to 100M.
pub(crate) fn parse_size(text: &str) -> Result<usize, String> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let number: usize = number
        .parse()
        .map_err(|_| format!("'{text}' is not a size (e.g. 256K, 8M)"))?;
    let factor: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        _ => return Err(format!("'{text}': unknown unit '{unit}' (use K or M)")),
    };
    let bytes = number
        .checked_mul(factor)
        .filter(|b| (64 << 10..=100 << 20).contains(b))
        .ok_or_else(|| format!("'{text}': the block size must be 64K to 100M"))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64K"), Ok(64 << 10));
        assert_eq!(parse_size("8m"), Ok(8 << 20));
        assert_eq!(parse_size("262144"), Ok(256 << 10));
        assert!(parse_size("1K").unwrap_err().contains("64K to 100M"));
        assert!(parse_size("101M").is_err());
        assert!(parse_size("99999999999999999999M").is_err());
        assert!(parse_size("5G").unwrap_err().contains("unknown unit"));
        assert!(parse_size("M").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5d").is_err());
        assert!(parse_duration("99999999999999999999h").is_err());
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
