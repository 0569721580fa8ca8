"""What the official Python SDK's `ingest_from_dataframe` (azure-kusto-ingest 6.0.4, pandas)
does to the values that the Rust crate kusto-ingest-polars ingests exactly.

Run by `cargo xtask conformance` against the emulator (with Azurite):

    python test_dataframe_fidelity.py http://127.0.0.1:PORT

The frame holds the extreme values of tests/tests/polars_roundtrip.rs (the Rust round trip,
which must match every value) that pandas can express. Python ingests it with its default
(JSON lines); the rows are read back as the raw wire values and compared with the exact ones.
The columns Python changes or loses must be exactly `PYTHON_DIFFERENCES`: if a new SDK version
fixes one (or breaks another), this fails and docs/migrating-from-python.md, which lists them
as reasons to use the Rust crate, is brought up to date.
"""

import datetime
import decimal
import math
import re
import sys
import time

import numpy as np
import pandas
from azure.kusto.data import KustoClient, KustoConnectionStringBuilder
from azure.kusto.ingest import IngestionProperties, QueuedIngestClient

from harness import check, equal, main, test

URL = sys.argv[1].rstrip("/") if len(sys.argv) > 1 else ""
DB = "FrameFidelity"
I64_MIN, I64_MAX = -(2**63), 2**63 - 1

# Column -> what Python 6.0.4 does to it (docs/migrating-from-python.md, "DataFrames").
PYTHON_DIFFERENCES = {
    "f32": "widened to double and printed with 10 significant digits (-0.1 becomes -0.1000000015); NaN and infinity become null",
    "f64": "printed with 10 significant digits (0.12345678901234566 becomes 0.123456789; the largest double rounds up beyond the largest double and fails the ingestion); NaN and -infinity become null",
    "dt_ns": "truncated to milliseconds",
    "dur_ns": "written as ISO 8601 durations (P-1DT23H59M59.999999999S), which Kusto does not read as timespans: null",
}

ROWS = 6


def kcsb():
    return KustoConnectionStringBuilder.with_no_authentication(URL)


def client():
    return KustoClient(kcsb())


def mgmt(text):
    return client().execute_mgmt(DB, text)


def frame():
    return pandas.DataFrame({
        "id": pandas.array(range(ROWS), dtype="Int64"),
        "i64": pandas.array([I64_MIN, -1, 0, I64_MAX, 7, None], dtype="Int64"),
        "u64": pandas.array([0, I64_MAX, 1, 2, 3, None], dtype="UInt64"),
        "f32": np.array([1.5, -0.1, np.nan, np.inf, 0.25, np.nan], dtype="float32"),
        "f64": [0.12345678901234566, -1.2345678901234567e300, float("nan"), float("-inf"), 5e-324, None],
        "b": pandas.array([True, False, True, False, True, None], dtype="boolean"),
        "s": ["", "a,b \"q\"\nline2\r\nx", "Caf\u00e9 \u2615 \u65e5\u672c", " lead and trail ", "tab\there\\back", None],
        "cat": pandas.Categorical(["x", "y", "x", "z", "y", None]),
        "dt_ns": pandas.to_datetime(
            [-9223372036854775708, I64_MAX, 0, -1, 1_700_000_000_123_456_789, None], unit="ns", utc=True),
        "date": [datetime.date(1, 1, 1), datetime.date(9999, 12, 31), datetime.date(1970, 1, 1),
                 datetime.date(1969, 12, 31), datetime.date(2000, 2, 29), None],
        "time": [datetime.time(0), datetime.time(23, 59, 59, 999999), datetime.time(12, 34, 56, 123456),
                 datetime.time(0), datetime.time(0, 0, 1), None],
        "dur_ns": pandas.to_timedelta([-1, I64_MAX, -86_400_000_000_001, 0, 123_456_789_012_345, None], unit="ns"),
        "dec": [decimal.Decimal("12.3400"), decimal.Decimal("-0.0001"),
                decimal.Decimal("1234567890123456789012.3456"), decimal.Decimal("0"),
                decimal.Decimal("9999.9999"), None],
        "list_s": [["a", "b"], [], ["x,y\"z", None], ["\u00fcn\u00ef"], ["nested\nline"], None],
        "st": [{"a": 1, "b": "x"}, {"a": None, "b": "y"}, {"a": -5, "b": None}, {"a": 0, "b": ""},
               {"a": 7, "b": "\u00e9"}, None],
    })


SCHEMA = ("id:long, i64:long, u64:long, f32:real, f64:real, b:bool, s:string, cat:string, "
          "dt_ns:datetime, date:datetime, time:timespan, dur_ns:timespan, dec:decimal, "
          "list_s:dynamic, st:dynamic")

TICKS_1970 = 621355968000000000


def ticks(text):
    """A Kusto datetime string as 100 ns ticks since 1970."""
    m = re.fullmatch(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,7}))?Z?", text)
    check(m is not None, f"not a datetime: {text!r}")
    y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
    fraction = int((m.group(7) or "").ljust(7, "0"))
    days = (datetime.date(y, mo, d) - datetime.date(1970, 1, 1)).days
    return ((days * 86400 + h * 3600 + mi * 60 + s) * 10_000_000) + fraction


def span(text):
    """A Kusto timespan string as 100 ns ticks."""
    m = re.fullmatch(r"(-)?(?:(\d+)\.)?(\d\d):(\d\d):(\d\d)(?:\.(\d{1,7}))?", text)
    check(m is not None, f"not a timespan: {text!r}")
    sign = -1 if m.group(1) else 1
    days = int(m.group(2) or 0)
    h, mi, s = int(m.group(3)), int(m.group(4)), int(m.group(5))
    fraction = int((m.group(6) or "").ljust(7, "0"))
    return sign * (((days * 86400 + h * 3600 + mi * 60 + s) * 10_000_000) + fraction)


def real(value):
    if isinstance(value, str):
        return {"NaN": "NaN", "Infinity": "Infinity", "-Infinity": "-Infinity"}[value]
    return value


def canonical(column, value):
    if value is None:
        return None
    if column in ("dt_ns", "date"):
        return ticks(value)
    if column in ("time", "dur_ns"):
        return span(value)
    if column in ("f32", "f64"):
        return real(value)
    if column == "dec":
        text = str(decimal.Decimal(value).normalize())
        return "0" if decimal.Decimal(text) == 0 else text
    return value


# The exact values (what kusto-ingest-polars stores for the same data), in canonical form.
EXACT = {
    "id": list(range(ROWS)),
    "i64": [I64_MIN, -1, 0, I64_MAX, 7, None],
    "u64": [0, I64_MAX, 1, 2, 3, None],
    "f32": [1.5, -0.1, "NaN", "Infinity", 0.25, None],
    "f64": [0.12345678901234566, -1.2345678901234567e300, "NaN", "-Infinity", 5e-324, None],
    "b": [True, False, True, False, True, None],
    # Kusto strings have no null: a null string is the empty string, for every client.
    "s": ["", "a,b \"q\"\nline2\r\nx", "Caf\u00e9 \u2615 \u65e5\u672c", " lead and trail ", "tab\there\\back", ""],
    "cat": ["x", "y", "x", "z", "y", ""],
    "dt_ns": [(-9223372036854775708) // 100, I64_MAX // 100, 0, -1, 17_000_000_001_234_567, None],
    "date": [ticks("0001-01-01T00:00:00Z"), ticks("9999-12-31T00:00:00Z"), 0, ticks("1969-12-31T00:00:00Z"),
             ticks("2000-02-29T00:00:00Z"), None],
    "time": [0, 863_999_999_990, 452_961_234_560, 0, 10_000_000, None],
    "dur_ns": [-1, I64_MAX // 100, -864_000_000_001, 0, 1_234_567_890_123, None],
    "dec": ["12.34", "-0.0001", "1234567890123456789012.3456", "0", "9999.9999", None],
    "list_s": [["a", "b"], [], ["x,y\"z", None], ["\u00fcn\u00ef"], ["nested\nline"], None],
    "st": [{"a": 1, "b": "x"}, {"a": None, "b": "y"}, {"a": -5, "b": None}, {"a": 0, "b": ""},
           {"a": 7, "b": "\u00e9"}, None],
}


def same(a, b):
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b


@test
def setup():
    mgmt(f".create database {DB} volatile")


@test
def python_changes_exactly_the_documented_columns():
    mgmt(".drop table Py ifexists")
    mgmt(f".create table Py ({SCHEMA})")
    QueuedIngestClient(kcsb()).ingest_from_dataframe(
        frame(), IngestionProperties(database=DB, table="Py", flush_immediately=True))
    deadline = time.monotonic() + 60
    while client().execute_query(DB, "Py | count").primary_results[0].raw_rows[0][0] < ROWS:
        check(time.monotonic() < deadline, "the Python frame did not arrive")
        time.sleep(0.2)
    result = client().execute_query(DB, "Py | order by id asc").primary_results[0]
    names = [c.column_name for c in result.columns]
    differences = {}
    for column, exact in EXACT.items():
        index = names.index(column)
        got = [canonical(column, row[index]) for row in result.raw_rows]
        bad = [f"row {i}: {g!r} instead of {e!r}" for i, (g, e) in enumerate(zip(got, exact)) if not same(g, e)]
        if bad:
            differences[column] = bad
            print(f"    {column}: " + "; ".join(bad))
    equal(set(differences), set(PYTHON_DIFFERENCES), "columns the Python SDK changes")


@test
def python_rounds_the_largest_double_into_an_overflow():
    # 1.7976931348623157e308 printed with 10 digits is 1.797693135e+308: beyond the largest
    # double, so the record is malformed and the ingestion fails.
    mgmt(".drop table PyMax ifexists")
    mgmt(".create table PyMax (x:real)")
    QueuedIngestClient(kcsb()).ingest_from_dataframe(
        pandas.DataFrame({"x": [1.7976931348623157e308]}),
        IngestionProperties(database=DB, table="PyMax", flush_immediately=True))
    deadline = time.monotonic() + 60
    while True:
        failures = [r for r in mgmt(".show ingestion failures").primary_results[0].raw_rows if r[2] == "PyMax"]
        if failures:
            break
        check(time.monotonic() < deadline, "no ingestion failure for the largest double")
        time.sleep(0.2)
    equal(client().execute_query(DB, "PyMax | count").primary_results[0].raw_rows[0][0], 0, "rows of PyMax")


@test
def python_cannot_ingest_binary_columns():
    mgmt(".create table PyBin (b:string)")
    frame_with_bytes = pandas.DataFrame({"b": [b"\x00\xff", b"x"]})
    try:
        QueuedIngestClient(kcsb()).ingest_from_dataframe(
            frame_with_bytes, IngestionProperties(database=DB, table="PyBin", flush_immediately=True))
    except UnicodeDecodeError:
        return
    raise AssertionError("Python 6.0.4 was expected to fail on bytes (UnicodeDecodeError)")


if __name__ == "__main__":
    sys.exit(main("test_dataframe_fidelity.py", URL))
