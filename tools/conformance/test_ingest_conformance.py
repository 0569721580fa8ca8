"""Conformance of the Kusto emulator's ingestion with the official Python SDK
(azure-kusto-ingest 6.0.4).

Run by `cargo xtask conformance`, which starts the emulator with `--azurite` (queued ingestion
over Azurite) and passes its URL:

    python test_ingest_conformance.py http://127.0.0.1:PORT

The SDK's own clients do everything: `.get ingestion resources`, uploads to the handed-out
TempStorage SAS URLs, queue messages, streaming requests, managed streaming with its fall-back,
and reading the notification queues. The rows are then checked with a query.
Prints one line per test and a closing `N passed, N failed`; exits non-zero on any failure.
"""

import datetime
import io
import os
import sys
import tempfile
import time
import uuid

import pandas
import requests
from azure.kusto.data import DataFormat, KustoClient, KustoConnectionStringBuilder
from azure.kusto.data.exceptions import KustoApiError
from azure.kusto.ingest import (
    BlobDescriptor,
    ColumnMapping,
    FileDescriptor,
    IngestionProperties,
    KustoStreamingIngestClient,
    ManagedStreamingIngestClient,
    QueuedIngestClient,
    ReportLevel,
    StreamDescriptor,
)
from azure.kusto.ingest.ingestion_properties import IngestionMappingKind
from azure.kusto.ingest.status import KustoIngestStatusQueues

from harness import check, equal, main, test

URL = sys.argv[1].rstrip("/") if len(sys.argv) > 1 else ""
DB = "IngestConformance"
UTC = datetime.timezone.utc


def kcsb():
    return KustoConnectionStringBuilder.with_no_authentication(URL)


def client():
    return KustoClient(kcsb())


def rows(csl):
    return [row.to_list() for row in client().execute_query(DB, csl).primary_results[0]]


def mgmt(text):
    return client().execute_mgmt(DB, text)


def wait_for_count(table, expected, seconds=60):
    deadline = time.monotonic() + seconds
    while True:
        count = rows(f"{table} | count")[0][0]
        if count == expected:
            return
        if count > expected or time.monotonic() > deadline:
            raise AssertionError(f"{table}: expected {expected} rows, have {count}")
        time.sleep(0.2)


def props(table, **kwargs):
    kwargs.setdefault("flush_immediately", True)
    return IngestionProperties(database=DB, table=table, **kwargs)


def recreate(table, schema):
    mgmt(f".drop table {table} ifexists")
    mgmt(f".create table {table} ({schema})")


SCHEMA = "Id:long, Name:string, At:datetime, Score:real"


@test
def setup():
    mgmt(f".create database {DB} volatile")
    names = [r[0] for r in client().execute_mgmt("NetDefaultDB", ".get ingestion resources").primary_results[0]]
    for kind in ["SecuredReadyForAggregationQueue", "TempStorage", "FailedIngestionsQueue",
                 "SuccessfulIngestionsQueue", "IngestionsStatusTable"]:
        check(kind in names, f"{kind} missing from {names}")


@test
def queued_file_with_success_notification():
    recreate("QFile", SCHEMA)
    ingest = QueuedIngestClient(kcsb())
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "events.csv")
        with open(path, "w", encoding="utf-8") as f:
            f.write("1,alpha,2024-05-01T10:20:30.1234567Z,0.5\n2,\"be,ta\",,\n3,gamma,2024-05-03,-1.5\n")
        source_id = uuid.uuid4()
        result = ingest.ingest_from_file(
            FileDescriptor(path, source_id=source_id),
            props("QFile", data_format=DataFormat.CSV, report_level=ReportLevel.FailuresAndSuccesses),
        )
    equal(result.status.name, "QUEUED", "queued result")
    check("?" not in repr(result), "the result's repr hides the SAS")
    wait_for_count("QFile", 3)
    got = rows("QFile | order by Id asc")
    equal(got[0], [1, "alpha", datetime.datetime(2024, 5, 1, 10, 20, 30, 123456, tzinfo=UTC), 0.5], "row 1")
    equal(got[1], [2, "be,ta", None, None], "row 2 (quoted comma, nulls)")
    equal(got[2], [3, "gamma", datetime.datetime(2024, 5, 3, tzinfo=UTC), -1.5], "row 3")
    queues = KustoIngestStatusQueues(ingest)
    deadline = time.monotonic() + 30
    found = []
    while time.monotonic() < deadline and not found:
        found = [m for m in queues.success.pop(10) if m.IngestionSourceId == str(source_id)]
        time.sleep(0.2)
    check(found, "a success notification for the file's source id")
    equal(found[0].Database, DB, "notification database")
    equal(found[0].Table, "QFile", "notification table")
    check(found[0].SucceededOn, "SucceededOn is set")


@test
def queued_stream_with_json_mapping():
    recreate("QStream", SCHEMA)
    ingest = QueuedIngestClient(kcsb())
    data = b'{"e":{"id":7,"who":"json"},"t":"2024-06-01T00:00:00Z","s":2.25}\n{"e":{"id":8,"who":"x"},"t":null,"s":null}\n'
    mapping = [
        ColumnMapping("Id", "long", path="$.e.id"),
        ColumnMapping("Name", "string", path="$.e.who"),
        ColumnMapping("At", "datetime", path="$.t"),
        ColumnMapping("Score", "real", path="$.s"),
    ]
    ingest.ingest_from_stream(
        StreamDescriptor(io.BytesIO(data)),
        props("QStream", data_format=DataFormat.JSON, column_mappings=mapping,
              ingestion_mapping_kind=IngestionMappingKind.JSON, additional_tags=["conformance"]),
    )
    wait_for_count("QStream", 2)
    equal(
        rows("QStream | order by Id asc"),
        [[7, "json", datetime.datetime(2024, 6, 1, tzinfo=UTC), 2.25], [8, "x", None, None]],
        "rows from the JSON stream",
    )
    tags = [r[6] for r in mgmt(".show table QStream extents").primary_results[0]]
    equal(tags, ["conformance"], "extent tags")


@test
def queued_dataframe():
    recreate("QFrame", "Id:long, Name:string, At:datetime, Ok:bool, Amount:real")
    frame = pandas.DataFrame({
        "Id": pandas.array([1, 2, None], dtype="Int64"),
        "Name": ["a", "b\u00e9", None],
        "At": [pandas.Timestamp("2020-01-02 03:04:05.123"), pandas.NaT, pandas.Timestamp("2021-06-07")],
        "Ok": pandas.array([True, False, None], dtype="boolean"),
        "Amount": [1.5, float("nan"), -2.0],
    })
    QueuedIngestClient(kcsb()).ingest_from_dataframe(frame, props("QFrame"))
    wait_for_count("QFrame", 3)
    got = rows("QFrame | order by Name asc")
    # pandas writes NA/None/NaT/NaN as JSON null; Kusto strings are never null (empty instead).
    equal(got[0], [None, "", datetime.datetime(2021, 6, 7, tzinfo=UTC), None, -2.0], "row with nulls")
    equal(got[1], [1, "a", datetime.datetime(2020, 1, 2, 3, 4, 5, 123000, tzinfo=UTC), True, 1.5], "first row")
    equal(got[2], [2, "b\u00e9", None, False, None], "NaN row")


@test
def streaming_client_stream_and_dataframe():
    recreate("SStream", SCHEMA)
    streaming = KustoStreamingIngestClient(kcsb())
    result = streaming.ingest_from_stream(
        io.BytesIO(b"10,s1,2024-01-01T00:00:00Z,1\n11,s2,,\n"),
        props("SStream", data_format=DataFormat.CSV),
    )
    equal(result.status.name, "SUCCESS", "streaming result")
    equal(rows("SStream | count"), [[2]], "streamed rows are there at once")
    frame = pandas.DataFrame({"Id": [12], "Name": ["frame"], "At": [pandas.Timestamp("2024-02-02")], "Score": [3.5]})
    streaming.ingest_from_dataframe(frame, props("SStream"))
    equal(rows("SStream | where Id == 12"), [[12, "frame", datetime.datetime(2024, 2, 2, tzinfo=UTC), 3.5]],
          "dataframe row by streaming")


@test
def managed_streaming_and_its_fallback_to_queued():
    recreate("MStream", SCHEMA)
    managed = ManagedStreamingIngestClient(kcsb(), kcsb())
    result = managed.ingest_from_stream(io.BytesIO(b"20,direct,,\n"), props("MStream", data_format=DataFormat.CSV))
    equal(result.status.name, "SUCCESS", "small data goes by streaming")
    equal(rows("MStream | count"), [[1]], "streamed at once")
    # Transient failures of every streaming attempt: the client falls back to queued ingestion.
    fault = {"path": "/v1/rest/ingest/*", "action": "status", "status": 503, "code": "ServiceUnavailable",
             "permanent": False, "times": 3}
    requests.post(URL + "/_emulator/faults", json=fault, timeout=30).raise_for_status()
    try:
        managed._set_retry_settings(max_seconds_per_retry=0.05)
        result = managed.ingest_from_stream(io.BytesIO(b"21,fallback,,\n"), props("MStream", data_format=DataFormat.CSV))
    finally:
        requests.delete(URL + "/_emulator/faults", timeout=30)
    equal(result.status.name, "QUEUED", "fell back to queued")
    wait_for_count("MStream", 2)
    equal(rows("MStream | where Id == 21 | project Name"), [["fallback"]], "the fallback row arrived")


@test
def every_client_ingests_a_file_a_stream_and_a_dataframe():
    recreate("Matrix", "Id:long, Name:string")
    clients = [
        ("queued", QueuedIngestClient(kcsb())),
        ("streaming", KustoStreamingIngestClient(kcsb())),
        ("managed", ManagedStreamingIngestClient(kcsb(), kcsb())),
    ]
    expected = []
    with tempfile.TemporaryDirectory() as directory:
        for n, (name, ingest) in enumerate(clients):
            base = 100 * (n + 1)
            path = os.path.join(directory, f"{name}.csv")
            with open(path, "w", encoding="utf-8") as f:
                f.write(f"{base + 1},{name}-file\n")
            ingest.ingest_from_file(path, props("Matrix", data_format=DataFormat.CSV))
            ingest.ingest_from_stream(io.BytesIO(f"{base + 2},{name}-stream\n".encode()),
                                      props("Matrix", data_format=DataFormat.CSV))
            frame = pandas.DataFrame({"Id": [base + 3], "Name": [f"{name}-dataframe"]})
            ingest.ingest_from_dataframe(frame, props("Matrix"))
            expected += [[base + 1, f"{name}-file"], [base + 2, f"{name}-stream"], [base + 3, f"{name}-dataframe"]]
    wait_for_count("Matrix", 9)
    equal(rows("Matrix | order by Id asc"), expected, "a file, a stream and a DataFrame per client")


@test
def failure_notification_for_a_missing_blob():
    recreate("QFail", SCHEMA)
    ingest = QueuedIngestClient(kcsb())
    container = [r[1] for r in client().execute_mgmt("NetDefaultDB", ".get ingestion resources").primary_results[0]
                 if r[0] == "TempStorage"][0]
    base, sas = container.split("?", 1)
    source_id = uuid.uuid4()
    ingest.ingest_from_blob(
        BlobDescriptor(f"{base}/does-not-exist.csv?{sas}", 10, source_id),
        props("QFail", data_format=DataFormat.CSV, report_level=ReportLevel.FailuresAndSuccesses),
    )
    queues = KustoIngestStatusQueues(ingest)
    deadline = time.monotonic() + 30
    found = []
    while time.monotonic() < deadline and not found:
        found = [m for m in queues.failure.pop(10) if m.IngestionSourceId == str(source_id)]
        time.sleep(0.2)
    check(found, "a failure notification for the missing blob")
    equal(found[0].ErrorCode, "Download_SourceNotFound", "error code")
    equal(found[0].FailureStatus, "Permanent", "failure status")
    equal(found[0].ShouldRetry, False, "should retry")
    check("sig=" not in (found[0].IngestionSourcePath or ""), "no SAS in the notification")
    failures = mgmt(".show ingestion failures").primary_results[0]
    check(any("Download_SourceNotFound" in str(r.to_list()) for r in failures), "listed by .show ingestion failures")
    equal(rows("QFail | count"), [[0]], "nothing ingested")


@test
def permanent_streaming_errors_are_raised():
    recreate("SPolicy", SCHEMA)
    mgmt(".alter table SPolicy policy streamingingestion disable")
    streaming = KustoStreamingIngestClient(kcsb())
    try:
        streaming.ingest_from_stream(io.BytesIO(b"1,a,,\n"), props("SPolicy", data_format=DataFormat.CSV))
    except KustoApiError as e:
        equal(e.get_api_error().permanent, True, "@permanent of a disabled policy")
    else:
        raise AssertionError("streaming into a table with a disabled policy must fail")


if __name__ == "__main__":
    sys.exit(main("test_ingest_conformance.py", URL))
