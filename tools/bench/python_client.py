"""The Python side of `cargo xtask bench`: the official Python Kusto SDK (azure-kusto-data and
azure-kusto-ingest 6.0.4) timed on the same workloads as the Rust SDK, against a Kusto emulator.

    python python_client.py WORKLOAD --url URL --database DB --table TABLE --data DIR [--rows N]

WORKLOAD is one of B1 B2 B3 B4 B5. The table exists already (the harness creates it); this script
never creates or drops tables. On success the LAST line of stdout is one JSON object:

    {"client": "python", "workload": "B1", "seconds": <float, the timed region>,
     "rss_before_mb": <float>, "peak_rss_mb": <float>, "added_mb": <float>, "details": {...}}

Memory comes from /proc/self/status (kB / 1024 = MiB). Just before the timed region "5" is written
to /proc/self/clear_refs (resets VmHWM; errors ignored) and rss_before = VmRSS; after it,
peak = VmHWM and added = peak - rss_before. Any failure exits non-zero with a traceback on stderr.

The timed region is what a user would time: it starts before the client object is created (so
client construction and its lazy resource fetch are included) and ends when the last SDK call
returns. Reading input files and building the DataFrame happen before the clock.

Every ingestion uses IngestionProperties(database=DB, table=TABLE, data_format=...) and otherwise
the defaults (no reporting).

- B1: a DataFrame of N rows (--rows, default 1000000) with 10 columns, built before the clock;
  timed: QueuedIngestClient(kcsb).ingest_from_dataframe(df, props) with the SDK's default format
  (JSON in 6.0.4). Table: (Id:long, Amount:real, Note:string, Flag:bool, At:datetime,
  Span:timespan, State:string, Tags:dynamic, Count:int, Day:datetime). details: {"rows": N}.
- B2: DIR/b2/*.csv (no header); timed: one QueuedIngestClient and a sequential loop of
  ingest_from_file(path, CSV) over the files in sorted order. details: {"files", "bytes"}.
- B3: DIR/b3.csv (no header); timed: QueuedIngestClient(kcsb).ingest_from_file(path, CSV).
  details: {"bytes"}.
- B4: the table holds N rows; timed in two parts:
  KustoClient(kcsb).execute_query(DB, "set notruncation; TABLE") (the Rust side runs the same text)
  (query_seconds), then dataframe_from_result_table(primary_results[0]) (frame_seconds);
  seconds = their sum. details: {"rows", "columns", "query_seconds", "frame_seconds"}.
  Fails if --rows is given and the frame does not have that many rows.
- B5: DIR/b5/*.csv payloads read into memory before the clock; timed: one
  KustoStreamingIngestClient and a sequential loop of ingest_from_stream(BytesIO(payload), CSV).
  details: {"requests", "bytes"}.
"""

import argparse
import io
import json
import os
import sys
import time
from pathlib import Path

import numpy
import pandas
from azure.kusto.data import DataFormat, KustoClient, KustoConnectionStringBuilder
from azure.kusto.data.helpers import dataframe_from_result_table
from azure.kusto.ingest import IngestionProperties, KustoStreamingIngestClient, QueuedIngestClient


def memory_mb(field):
    """VmRSS or VmHWM of this process, in MiB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not found in /proc/self/status")


class Timed:
    """The timed region: resets the peak RSS and starts the clock on entry, reads both on exit."""

    def __enter__(self):
        try:
            with open("/proc/self/clear_refs", "w", encoding="ascii") as clear_refs:
                clear_refs.write("5")
        except OSError:
            pass
        self.rss_before_mb = memory_mb("VmRSS")
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start
        self.peak_rss_mb = memory_mb("VmHWM")
        return False


def properties(args, data_format):
    return IngestionProperties(database=args.database, table=args.table, data_format=data_format)


def input_files(args, name):
    if args.data is None:
        raise SystemExit(f"{args.workload} needs --data")
    files = sorted(Path(args.data, name).glob("*.csv"))
    if not files:
        raise SystemExit(f"no *.csv files in {Path(args.data, name)}")
    return files


def b1_frame(n):
    """N deterministic rows mixing the types a DataFrame ingestion has to serialize."""
    ids = numpy.arange(n, dtype=numpy.int64)
    rng = numpy.random.default_rng(20231114)
    amount = rng.normal(100.0, 50.0, n)
    amount[ids % 7 == 3] = numpy.nan
    notes = ["beta, gamma #{}", 'say "hi" #{}', "Café #{}", "日本語 #{}", "naïve résumé #{}"]
    flag = pandas.array(ids % 2 == 0, dtype="boolean")
    flag[ids % 7 == 5] = pandas.NA
    base = numpy.datetime64("2023-11-14T22:13:20", "ns")
    at = base + rng.integers(-86_400 * 10**9, 86_400 * 10**9, n).astype("timedelta64[ns]")
    span = rng.integers(-1_800 * 10**9, 1_800 * 10**9, n).astype("timedelta64[ns]")
    states = ["TEXAS", "KANSAS", "OKLAHOMA", "NEBRASKA", "IOWA", "OHIO"]
    tags = numpy.empty(n, dtype=object)
    tags[:] = [[f"tag{i % 10}", f"group{i % 3}"] for i in range(n)]
    day = (numpy.datetime64("2023-11-01", "D") + ids % 30).astype("datetime64[s]")
    return pandas.DataFrame({
        "Id": ids,
        "Amount": amount,
        "Note": [notes[i % 5].format(i) for i in range(n)],
        "Flag": flag,
        "At": pandas.Series(at).dt.tz_localize("UTC"),
        "Span": span,
        "State": pandas.Categorical.from_codes(ids % len(states), categories=states),
        "Tags": tags,
        "Count": rng.integers(-1_000_000, 1_000_000, n, dtype=numpy.int32),
        "Day": day,
    })


def b1(args, kcsb):
    rows = args.rows if args.rows is not None else 1_000_000
    frame = b1_frame(rows)
    # ingest_from_dataframe picks its own format (JSON unless given a CSV mapping) and overwrites
    # the properties' format; JSON is stated here only to match what is sent.
    props = properties(args, DataFormat.JSON)
    with Timed() as timed:
        QueuedIngestClient(kcsb).ingest_from_dataframe(frame, props)
    return timed, {"rows": rows}


def b2(args, kcsb):
    files = input_files(args, "b2")
    total = sum(path.stat().st_size for path in files)
    props = properties(args, DataFormat.CSV)
    with Timed() as timed:
        client = QueuedIngestClient(kcsb)
        for path in files:
            client.ingest_from_file(str(path), props)
    return timed, {"files": len(files), "bytes": total}


def b3(args, kcsb):
    if args.data is None:
        raise SystemExit("B3 needs --data")
    path = os.path.join(args.data, "b3.csv")
    size = os.path.getsize(path)
    props = properties(args, DataFormat.CSV)
    with Timed() as timed:
        QueuedIngestClient(kcsb).ingest_from_file(path, props)
    return timed, {"bytes": size}


def b4(args, kcsb):
    with Timed() as timed:
        start = time.perf_counter()
        query = f"set notruncation; {args.table}"
        response = KustoClient(kcsb).execute_query(args.database, query)
        middle = time.perf_counter()
        frame = dataframe_from_result_table(response.primary_results[0])
        end = time.perf_counter()
    query_seconds, frame_seconds = middle - start, end - middle
    timed.seconds = query_seconds + frame_seconds
    if args.rows is not None and len(frame) != args.rows:
        raise SystemExit(f"B4: expected {args.rows} rows, the frame has {len(frame)}")
    details = {"rows": len(frame), "columns": len(frame.columns),
               "query_seconds": query_seconds, "frame_seconds": frame_seconds}
    return timed, details


def b5(args, kcsb):
    payloads = [path.read_bytes() for path in input_files(args, "b5")]
    props = properties(args, DataFormat.CSV)
    with Timed() as timed:
        client = KustoStreamingIngestClient(kcsb)
        for payload in payloads:
            client.ingest_from_stream(io.BytesIO(payload), props)
    return timed, {"requests": len(payloads), "bytes": sum(len(p) for p in payloads)}


WORKLOADS = {"B1": b1, "B2": b2, "B3": b3, "B4": b4, "B5": b5}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workload", choices=sorted(WORKLOADS))
    parser.add_argument("--url", required=True, help="the emulator's URL, http://host:port")
    parser.add_argument("--database", required=True)
    parser.add_argument("--table", required=True, help="an existing table; never created here")
    parser.add_argument("--data", help="directory with b2/, b3.csv and b5/ (B2, B3, B5)")
    parser.add_argument("--rows", type=int, help="B1: rows to build (default 1000000); B4: rows expected")
    args = parser.parse_args()

    kcsb = KustoConnectionStringBuilder.with_no_authentication(args.url.rstrip("/"))
    timed, details = WORKLOADS[args.workload](args, kcsb)
    result = {
        "client": "python",
        "workload": args.workload,
        "seconds": timed.seconds,
        "rss_before_mb": timed.rss_before_mb,
        "peak_rss_mb": timed.peak_rss_mb,
        "added_mb": timed.peak_rss_mb - timed.rss_before_mb,
        "details": details,
    }
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
