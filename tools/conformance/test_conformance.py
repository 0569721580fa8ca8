"""Conformance of the Kusto emulator with the official Python SDK (azure-kusto-data 6.0.4).

Run by `cargo xtask conformance`, which starts the emulator and passes its URL:

    python test_conformance.py http://127.0.0.1:PORT

Every check talks to the emulator through the SDK's own client and parsers (or, for the
response modes the SDK cannot request, through `requests` and the SDK's response classes).
Prints one line per test and a closing `N passed, N failed`; exits non-zero on any failure.
"""

import datetime
import decimal
import gzip
import io
import json
import sys
import uuid

import requests
from azure.kusto.data import ClientRequestProperties, KustoClient, KustoConnectionStringBuilder
from azure.kusto.data.exceptions import (
    KustoApiError,
    KustoMultiApiError,
    KustoNetworkError,
    KustoServiceError,
    KustoThrottlingError,
    KustoUnsupportedApiError,
)
from azure.kusto.data.response import KustoResponseDataSetV1, KustoResponseDataSetV2

from harness import check, equal, main, test

URL = sys.argv[1].rstrip("/") if len(sys.argv) > 1 else ""
DB = "Conformance"


def client():
    return KustoClient(KustoConnectionStringBuilder.with_no_authentication(URL))


def mgmt(text, db=DB):
    return client().execute_mgmt(db, text)


def rows(result):
    return [row.to_list() for row in result.primary_results[0]]


def raw_query(csl, options=None, parameters=None, path="/v2/rest/query", db=DB):
    properties = {"Options": options or {}, "Parameters": parameters or {}}
    body = {"db": db, "csl": csl, "properties": json.dumps(properties)}
    headers = {"Accept": "application/json", "x-ms-client-request-id": "KPC.execute;conformance"}
    return requests.post(URL + path, json=body, headers=headers, timeout=30)


def expect_error(fn, kind, text=None):
    try:
        fn()
    except kind as e:
        if text is not None:
            check(text in str(e), f"error text {str(e)!r} lacks {text!r}")
        return e
    except Exception as e:  # noqa: BLE001 - any other type is a failure with its name
        raise AssertionError(f"expected {kind.__name__}, got {type(e).__name__}: {e}")
    raise AssertionError(f"expected {kind.__name__}, nothing was raised")


ALL_TYPES = "b:bool, i:int, l:long, r:real, d:decimal, s:string, g:guid, t:datetime, ts:timespan, dy:dynamic"


@test
def setup_tables():
    mgmt(".create database Conformance volatile")
    mgmt(".drop table AllTypes ifexists")
    mgmt(f".create table AllTypes ({ALL_TYPES})")
    mgmt(
        ".ingest inline into table AllTypes <|\n"
        'true,-7,9007199254740993,2.5,12.3400,"h\u00e9llo ""q""",c9b2d3a4-5e6f-4a1b-8c2d-3e4f5a6b7c8d,'
        '2024-05-01T10:20:30.1234567Z,1.02:03:04.5000000,"{""k"":[1,""x""]}"\n'
        ",,,NaN,,,,,,\n"
        "0,1,-1,-Infinity,-0.5,plain,00000000-0000-0000-0000-000000000001,2007-01-01,-00:00:02.0020002,[1]\n"
    )
    mgmt(".drop table Events ifexists")
    mgmt(".create table Events (Id:long, Name:string, Level:string, Amount:real)")
    lines = [f"{i},name{i},{['Info', 'Warning', 'Error'][i % 3]},{i * 1.5}" for i in range(1, 11)]
    mgmt(".ingest inline into table Events <|\n" + "\n".join(lines))
    equal(rows(client().execute_query(DB, "Events | count")), [[10]], "Events row count")


@test
def every_type_round_trips():
    result = client().execute_query(DB, "AllTypes")
    table = result.primary_results[0]
    equal(
        [(c.column_name, c.column_type) for c in table.columns],
        [("b", "bool"), ("i", "int"), ("l", "long"), ("r", "real"), ("d", "decimal"), ("s", "string"),
         ("g", "guid"), ("t", "datetime"), ("ts", "timespan"), ("dy", "dynamic")],
        "columns",
    )
    first, nulls, third = [row.to_list() for row in table]
    equal(first[0], True, "bool")
    equal(first[1], -7, "int")
    equal(first[2], 9007199254740993, "long beyond 2^53")
    equal(first[3], 2.5, "real")
    equal(first[4], decimal.Decimal("12.3400"), "decimal")
    equal(first[5], 'h\u00e9llo "q"', "string")
    equal(first[6], "c9b2d3a4-5e6f-4a1b-8c2d-3e4f5a6b7c8d", "guid")
    equal(first[7], datetime.datetime(2024, 5, 1, 10, 20, 30, 123456, tzinfo=datetime.timezone.utc), "datetime")
    equal(first[8], datetime.timedelta(days=1, hours=2, minutes=3, seconds=4, microseconds=500000), "timespan")
    equal(first[9], {"k": [1, "x"]}, "dynamic")
    equal(nulls[0], None, "null bool")
    equal(nulls[3], "NaN", "NaN is a string in python's row")
    equal(nulls[5], "", "empty string")
    equal(nulls[9], None, "null dynamic")
    equal(third[3], "-Infinity", "-Infinity")
    equal(third[7], datetime.datetime(2007, 1, 1, tzinfo=datetime.timezone.utc), "date-only datetime")
    equal(third[8], -datetime.timedelta(seconds=2, microseconds=2000), "negative timespan (python rounds to ms here)")
    raw = raw_query("AllTypes | take 1").text
    check('"2024-05-01T10:20:30.1234567Z"' in raw, "datetime text with 7 digits")
    check('"1.02:03:04.5000000"' in raw, "timespan text")
    check('"12.3400"' in raw, "decimal as a string")


@test
def query_operators():
    c = client()
    equal(rows(c.execute_query(DB, "Events | take 3 | count")), [[3]], "take")
    equal(rows(c.execute_query(DB, "Events | limit 2 | count")), [[2]], "limit")
    equal(rows(c.execute_query(DB, "Events | where Id > 8 | project Id, Name | order by Id asc")),
          [[9, "name9"], [10, "name10"]], "where/project/order asc")
    equal(rows(c.execute_query(DB, "Events | where Level == 'Error' or Id == 1 | project Id | order by Id desc")),
          [[8], [5], [2], [1]], "or, order desc")
    equal(rows(c.execute_query(DB, "Events | where Id >= 2 and Id <= 3 and Level != 'Info' | project Id")),
          [[2]], "and, !=")
    equal(rows(c.execute_query(DB, "Events | where isnotnull(Amount) and Amount < 3 | count")), [[1]], "isnotnull, <")
    equal(rows(c.execute_query(DB, "AllTypes | where isnull(i) | count")), [[1]], "isnull")
    summary = rows(c.execute_query(DB, "Events | summarize count() by Level | order by Level asc"))
    equal(summary, [["Error", 3], ["Info", 3], ["Warning", 4]], "summarize count() by")
    equal(rows(c.execute_query(DB, "print x = 1, y = 'two'")), [[1, "two"]], "print")
    multi = c.execute_query(DB, "Events | count; Events | take 1 | project Id")
    equal(len(multi.primary_results), 2, "two statements, two primary results")


@test
def streaming_query_reader():
    result = client().execute_streaming_query(DB, "Events | order by Id asc | take 4 | project Id")
    ids = [row[0] for table in result.iter_primary_results() for row in table]
    equal(ids, [1, 2, 3, 4], "streamed rows")


@test
def parameters():
    crp = ClientRequestProperties()
    crp.set_parameter("n", "2")
    crp.set_parameter("lvl", "Warning")
    crp.set_parameter("quoted", '"name5"')
    crp.set_parameter("since", "datetime(2000-01-01)")
    crp.set_parameter("flag", "true")
    text = (
        "declare query_parameters(n:long, lvl:string, quoted:string, since:datetime, flag:bool, dflt:int = 7);\n"
        "Events | where Level == lvl | order by Id asc | take n | project Id, lvl, since, flag, dflt"
    )
    got = rows(client().execute_query(DB, text, crp))
    since = datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)
    equal(got, [[1, "Warning", since, True, 7], [4, "Warning", since, True, 7]], "typed parameters")
    crp2 = ClientRequestProperties()
    crp2.set_parameter("quoted", '"name5"')
    equal(rows(client().execute_query(DB, "declare query_parameters(quoted:string); Events | where Name == quoted | project Id", crp2)),
          [[5]], "a quoted string literal parameter is unquoted")


@test
def management_commands():
    c = client()
    mgmt(".drop table Mgmt ifexists")
    created = mgmt(".create table Mgmt (a:int, b:string)").primary_results[0]
    equal([col.column_name for col in created.columns], ["TableName", "Schema", "DatabaseName", "Folder", "DocString"], "create result")
    mgmt(".create-merge table Mgmt (c:datetime)")
    schema = json.loads(rows(mgmt(".show table Mgmt schema as json"))[0][1])
    equal([(x["Name"], x["CslType"]) for x in schema["OrderedColumns"]], [("a", "int"), ("b", "string"), ("c", "datetime")], "schema")
    equal(schema["OrderedColumns"][0]["Type"], "System.Int32", "CLR type")
    tables = [r[0] for r in rows(mgmt(".show tables"))]
    check("Mgmt" in tables and "Events" in tables, f".show tables lists tables: {tables}")
    dbs = [r[0] for r in rows(mgmt(".show databases"))]
    check(DB in dbs, f".show databases lists {DB}: {dbs}")
    version = mgmt(".show version")
    equal([col.column_name for col in version.primary_results[0].columns], ["BuildVersion", "BuildTime", "ServiceType", "ProductVersion"], ".show version")
    equal(rows(version)[0][2], "Engine", "ServiceType")
    mapping = '[{"column":"a","Properties":{"Ordinal":"1"}},{"column":"b","Properties":{"Ordinal":"0"}}]'
    mgmt(f".create table Mgmt ingestion csv mapping \"swap\" '{mapping}'")
    shown = rows(mgmt(".show table Mgmt ingestion mappings"))
    equal([(r[0], r[1]) for r in shown], [("swap", "Csv")], "mappings")
    mgmt(".alter table Mgmt policy streamingingestion enable")
    mgmt(".ingest inline into table Mgmt with (format='csv', ingestionMappingReference='swap') <| x,5")
    equal(rows(c.execute_query(DB, "Mgmt | project a, b")), [[5, "x"]], "ingest inline with mapping")
    mgmt(".clear table Mgmt data")
    equal(rows(c.execute_query(DB, "Mgmt | count")), [[0]], ".clear table data")
    mgmt(".drop table Mgmt")
    check("Mgmt" not in [r[0] for r in rows(mgmt(".show tables"))], ".drop table")
    v1_types = {col.column_name: col.column_type for col in mgmt(".show ingestion failures").primary_results[0].columns}
    equal(v1_types["FailedOn"], "datetime", "FailedOn type")
    equal(v1_types["ShouldRetry"], "bool", "ShouldRetry type")


@test
def v1_query_endpoint_satisfies_the_toc_heuristic():
    response = raw_query("Events | take 2 | project Id", path="/v1/rest/query")
    equal(response.status_code, 200, "status")
    body = response.json()
    equal(len(body["Tables"]), 4, "result + @ExtendedProperties + QueryStatus + TOC")
    data = KustoResponseDataSetV1(body)
    primary = data.primary_results
    equal(len(primary), 1, "one primary result")
    equal([r.to_list() for r in primary[0]], [[1], [2]], "rows")
    equal(data.errors_count, 0, "no errors in QueryStatus")
    toc = body["Tables"][-1]
    equal([c["ColumnName"] for c in toc["Columns"]], ["Ordinal", "Kind", "Name", "Id", "PrettyName"], "TOC columns")


@test
def fragmented_and_progressive_modes():
    for options, progressive in (({"results_v2_fragment_primary_tables": True}, False), ({"results_progressive_enabled": True}, True)):
        response = raw_query("Events | order by Id asc | project Id", options)
        equal(response.status_code, 200, "status")
        lines = response.text.split("\n")
        check(lines[0].startswith("[{") and all(l.startswith(",{") for l in lines[1:-1]) and lines[-1] == "]", "one frame per line")
        frames = [json.loads(l[1:]) for l in lines[:-1]]
        kinds = [f["FrameType"] for f in frames]
        equal(frames[0]["IsProgressive"], progressive, "IsProgressive")
        check("TableHeader" in kinds and "TableFragment" in kinds and "TableCompletion" in kinds, f"fragment frames: {kinds}")
        equal("TableProgress" in kinds, progressive, "TableProgress only when progressive")
        fragment_rows = [r[0] for f in frames if f["FrameType"] == "TableFragment" for r in f["Rows"]]
        equal(fragment_rows, list(range(1, 11)), "rows across fragments")
        # The SDK's eager parser keeps DataTable frames only (its documented behaviour).
        data = KustoResponseDataSetV2(frames)
        check(all(t.table_kind.value != "PrimaryResult" for t in data.tables), "no DataTable primary in fragmented mode")
    crp = ClientRequestProperties()
    crp.set_option("results_progressive_enabled", True)
    expect_error(lambda: list(client().execute_streaming_query(DB, "Events | take 1", properties=crp).iter_primary_results()), KustoUnsupportedApiError)


@test
def truncation_partial_failures():
    crp = ClientRequestProperties()
    crp.set_option("truncationmaxrecords", 3)
    e = expect_error(lambda: client().execute_query(DB, "Events", crp), KustoMultiApiError, "E_QUERY_RESULT_SET_TOO_LARGE")
    equal(e.get_api_errors()[0].code, "LimitsExceeded", "in_data error code")
    equal(e.get_api_errors()[0].permanent, False, "@permanent false")
    crp.set_option("deferpartialqueryfailures", True)
    result = client().execute_query(DB, "Events", crp)
    equal(len(rows(result)), 3, "truncated rows")
    check(result.errors_count >= 1, "deferred failure counted in QueryCompletionInformation")
    frames = raw_query("Events", {"truncationmaxrecords": 3, "results_v2_fragment_primary_tables": True,
                                   "results_error_reporting_placement": "end_of_table"}).json()
    completion = [f for f in frames if f["FrameType"] == "TableCompletion"][0]
    equal(completion["OneApiErrors"][0]["error"]["code"], "LimitsExceeded", "end_of_table placement")
    equal(frames[-1]["HasErrors"], True, "DataSetCompletion.HasErrors")
    frames = raw_query("Events", {"truncationmaxrecords": 3, "results_error_reporting_placement": "end_of_dataset"}).json()
    check(all(isinstance(r, list) for f in frames if f["FrameType"] == "DataTable" for r in f["Rows"]), "no in-data error row")
    equal(frames[-1]["OneApiErrors"][0]["error"]["code"], "LimitsExceeded", "end_of_dataset placement")
    crp = ClientRequestProperties()
    crp.set_option("notruncation", True)
    equal(len(rows(client().execute_query(DB, "Events", crp))), 10, "notruncation")


@test
def errors_have_the_real_shapes():
    c = client()
    e = expect_error(lambda: c.execute_query(DB, "Events | take"), KustoApiError, "SYN0002")
    equal(e.get_api_error().code, "General_BadRequest", "syntax error code")
    check(not e.is_semantic_error(), "a syntax error is not semantic")
    e = expect_error(lambda: c.execute_query(DB, "NoSuchTable | take 1"), KustoApiError, "Failed to resolve table or column expression named 'NoSuchTable'")
    check(e.is_semantic_error(), "unknown table is a semantic error")
    e = expect_error(lambda: c.execute_query(DB, "Events | where Nope > 1"), KustoApiError, "Failed to resolve scalar expression named 'Nope'")
    e = expect_error(lambda: c.execute_query(DB, "Events | evaluate autocluster()"), KustoApiError, "'evaluate autocluster'")
    check(e.is_semantic_error(), "unsupported operator is a semantic error")
    e = expect_error(lambda: c.execute_mgmt(DB, ".frobnicate things"), KustoApiError, "Syntax error")
    equal(e.get_api_error().code, "BadRequest_SyntaxError", "command syntax error code")
    e = expect_error(lambda: c.execute_query(DB, ".show tables"), KustoApiError)
    equal(e.http_response.status_code, 400, "command on v2 status")
    check("do not support api_version=v2" in e.get_api_error().message, "gateway message")
    response = raw_query(".drop table Events", path="/v1/rest/query")
    equal(response.status_code, 400, "non-.show command on /v1/rest/query")
    equal(response.json()["error"]["code"], "Bad request", "gateway code")
    bad = requests.post(URL + "/v2/rest/query", data=b"{not json", headers={"Accept": "application/json"}, timeout=30)
    equal(bad.status_code, 400, "bad JSON status")
    equal(bad.json()["error"]["@type"], "Kusto.Data.Exceptions.KustoBadRequestException", "bad JSON @type")


@test
def streaming_ingestion_through_the_sdk():
    c = client()
    mgmt(".drop table Stream ifexists")
    mgmt(".create table Stream (Id:long, Name:string, When:datetime)")
    # Python sets Content-Encoding: gzip even on plain bytes; the emulator sniffs the content.
    c.execute_streaming_ingest(DB, "Stream", io.BytesIO(b"1,one,2024-01-01\n2,\"t,wo\",\n"), None, "csv")
    c.execute_streaming_ingest(DB, "Stream", io.BytesIO(gzip.compress(b"3\tthree\t2024-01-03T00:00:00Z\n")), None, "tsv")
    mapping = '[{"column":"Id","Properties":{"Path":"$.id"}},{"column":"Name","Properties":{"Path":"$.who.name"}}]'
    mgmt(f".create table Stream ingestion json mapping \"m\" '{mapping}'")
    c.execute_streaming_ingest(DB, "Stream", io.BytesIO(b'{"id":4,"who":{"name":"four"}}\n'), None, "json", mapping_name="m")
    c.execute_streaming_ingest(DB, "Stream", io.BytesIO(b'[{"Id":5,"Name":"five"},{"Id":6,"Name":"six"}]'), None, "multijson")
    got = rows(c.execute_query(DB, "Stream | order by Id asc | project Id, Name"))
    equal(got, [[1, "one"], [2, "t,wo"], [3, "three"], [4, "four"], [5, "five"], [6, "six"]], "streamed rows")
    when = rows(c.execute_query(DB, "Stream | where Id == 1 | project When"))[0][0]
    equal(when, datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc), "datetime parsed from csv")


@test
def streaming_ingestion_failures():
    c = client()
    mgmt(".drop table Strict ifexists")
    mgmt(".create table Strict (a:long, b:string)")
    before = len(rows(mgmt(".show ingestion failures")))
    e = expect_error(lambda: c.execute_streaming_ingest(DB, "Strict", io.BytesIO(b"1,x\n2\n"), None, "csv"), KustoApiError, "Stream_WrongNumberOfFields")
    equal(e.get_api_error().permanent, True, "malformed data is permanent")
    failures = rows(mgmt(".show ingestion failures"))
    equal(len(failures), before + 1, "failure recorded")
    equal(failures[-1][10], "Stream_WrongNumberOfFields", "ErrorCode column")
    equal(rows(c.execute_query(DB, "Strict | count")), [[0]], "nothing ingested from a bad source")
    expect_error(lambda: c.execute_streaming_ingest(DB, "NoSuchTable", io.BytesIO(b"1"), None, "csv"), KustoApiError, "of kind 'Table' was not found")
    mgmt(".alter table Strict policy streamingingestion disable")
    e = expect_error(lambda: c.execute_streaming_ingest(DB, "Strict", io.BytesIO(b"1,x"), None, "csv"), KustoApiError, "not enabled")
    equal(e.get_api_error().code, "BadRequest_StreamingIngestionPolicyNotEnabled", "policy error code")
    expect_error(lambda: c.execute_streaming_ingest(DB, "Events", io.BytesIO(b"x"), None, "avro"), KustoApiError, "not supported by the Kusto emulator")


def add_fault(rule):
    response = requests.post(URL + "/_emulator/faults", json=rule, timeout=30)
    equal(response.status_code, 200, "fault accepted")


@test
def injected_faults():
    c = client()
    try:
        add_fault({"path": "/v2/rest/query", "action": "throttle", "retryAfterSeconds": 2, "times": 1})
        expect_error(lambda: c.execute_query(DB, "Events | count"), KustoThrottlingError)
        add_fault({"path": "/v2/rest/query", "action": "status", "status": 503, "code": "ServiceUnavailable", "permanent": False, "times": 1})
        e = expect_error(lambda: c.execute_query(DB, "Events | count"), KustoApiError)
        equal(e.get_api_error().permanent, False, "@permanent of the injected error")
        equal(e.http_response.status_code, 503, "injected status")
        add_fault({"path": "/v1/rest/mgmt", "action": "drop", "times": 1})
        expect_error(lambda: c.execute_mgmt(DB, ".show tables"), KustoNetworkError)
        add_fault({"path": "/v1/rest/mgmt", "action": "delay", "delayMs": 50, "times": 1})
        check(len(rows(c.execute_mgmt(DB, ".show version"))) == 1, "a delayed request still succeeds")
        equal(rows(c.execute_query(DB, "Events | count")), [[10]], "faults used up")
    finally:
        requests.delete(URL + "/_emulator/faults", timeout=30)


@test
def correlation_headers_and_gzip():
    response = raw_query("Events | count")
    equal(response.headers.get("x-ms-client-request-id"), "KPC.execute;conformance", "echoed request id")
    uuid.UUID(response.headers.get("x-ms-activity-id", ""))
    equal(response.headers.get("Content-Encoding"), "gzip", "gzip when asked (requests sends Accept-Encoding: gzip)")


if __name__ == "__main__":
    sys.exit(main("test_conformance.py", URL))
