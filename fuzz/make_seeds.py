#!/usr/bin/env python3
"""Writes the seed inputs of every fuzz target to fuzz/seeds/<target>/ (run from anywhere).

Seeds: the recorded responses in ../shared/fixtures (v1 and v2 bodies, their cells as values)
plus hand-written connection strings, values, mappings, requests, commands and data. The fuzz
runs start from these; fuzz/corpus/<target>/ holds the minimized corpus the runs produced.
"""
import gzip, json, os, pathlib, shutil

ROOT = pathlib.Path(__file__).resolve().parent
FIXTURES = ROOT.parent.parent / "shared" / "fixtures"
if not FIXTURES.is_dir():
    FIXTURES = ROOT.parent / "fixtures"
OUT = ROOT / "seeds"

seeds = {}
def add(target, data):
    if isinstance(data, str):
        data = data.encode()
    seeds.setdefault(target, []).append(data)

v1, v2 = [], []
for path in sorted(FIXTURES.rglob("*.json")):
    body = path.read_bytes()
    text = body.decode().lstrip()
    if text.startswith("["):
        v2.append(body)
    elif '"Tables"' in text:
        v1.append(body)
for i, body in enumerate(v2):
    add("v2_response_streamed", bytes([i * 37 % 256]) + body)
for i, body in enumerate(v1):
    add("v1_response", bytes([i * 53 % 256]) + body)

# Cells of the fixtures as values.
values = {"datetime": set(), "timespan": set(), "decimal": set(), "dynamic": set()}
for body in v2:
    for frame in json.loads(body):
        if frame.get("FrameType") != "DataTable":
            continue
        cols = [c["ColumnType"] for c in frame["Columns"]]
        for row in frame["Rows"]:
            if not isinstance(row, list):
                continue
            for ty, cell in zip(cols, row):
                if ty in ("datetime", "timespan", "decimal") and isinstance(cell, str):
                    values[ty].add(cell)
                elif ty == "dynamic":
                    values["dynamic"].add(json.dumps(cell))
values["datetime"] |= {"2024-01-02T03:04:05.1234567Z", "0001-01-01T00:00:00Z",
                       "9999-12-31T23:59:59.9999999Z", "2024-02-29", "2024-01-02 03:04:05"}
values["timespan"] |= {"1.02:03:04.5678901", "-00:00:00.0000001", "10675199.02:48:05.4775807",
                       "00:00:00", "P1DT2H"}
values["decimal"] |= {"0", "-1.5", "79228162514264337593543950335", "1e10", "0.0000000001",
                      "99999999999999999999999999999999999999"}
values["dynamic"] |= {'{"a":[1,2,{"b":null}]}', "1.5e300", '"text"', "[]", "true"}
for sel, ty in enumerate(["datetime", "timespan", "decimal", "dynamic"]):
    for v in sorted(values[ty])[:12]:
        add("kusto_values", bytes([sel]) + v.encode())

for cs in [
    "Data Source=https://help.kusto.windows.net/Samples;Fed=True",
    "https://help.kusto.windows.net",
    "http://127.0.0.1:8080/Samples",
    "Data Source=https://c.kusto.windows.net;AppClientId=11111111-2222-3333-4444-555555555555;AppKey=s3cr3t=x;Authority Id=contoso.com",
    "Addr=https://c.kusto.windows.net;Initial Catalog=db;User ID=u@contoso.com;Password=p@ss;Authority Id=organizations",
    "Data Source=https://c.kusto.windows.net;UserToken=eyJ0eXAi.abc.def",
    "Data Source=https://c.kusto.windows.net;ApplicationToken=tok",
    "Data Source=http://localhost:8080;AAD Federated Security=False;Application Name for Tracing=app;User Name for Tracing=me",
    "Data Source=https://[::1]:443/db%20x;Database=other",
]:
    add("connection_string", cs)

for sel, mapping in [
    (0, '[{"column":"a","datatype":"long","properties":{"Ordinal":"0"}},{"column":"b","datatype":"string","properties":{"ConstValue":"x"}}]'),
    (1, '[{"Column":"a","Properties":{"Path":"$.a.b[0]"}},{"Column":"s","Properties":{"Transform":"SourceLocation"}}]'),
    (1, '[{"Name":"a","DataType":"datetime","Path":"$[\'x y\']","Transform":"DateTimeFromUnixSeconds"}]'),
    (2, '[{"ColumnName":"a","Properties":"{\\"Field\\":\\"f\\"}"}]'),
    (6, '[{"Column":"a","Properties":{"Field":"date"}}]'),
]:
    add("ingestion_mapping_json", bytes([sel]) + mapping.encode())

body = {"db": "FuzzDb", "csl": "T | take 2", "properties": {"Options": {"servertimeout": "00:04:00", "truncationmaxrecords": 10}, "Parameters": {"x": "1"}}}
add("emulator_request", b"\x00" + json.dumps(body).encode())
add("emulator_request", b"\x00" + gzip.compress(json.dumps({"db": "FuzzDb", "csl": ".show tables"}).encode(), mtime=0))
add("emulator_request", b"\x00" + json.dumps({"csl": "declare query_parameters(n:long = 1); T | where c2_long > n | project c5_string", "properties": json.dumps({"Parameters": {"n": "0"}})}).encode())
add("emulator_request", b"\x00" + json.dumps({"db": "FuzzDb", "csl": ".create table Café (a:long)"}).encode())
add("emulator_request", b"\x01db=FuzzDb&csl=T%20%7C%20count&properties=%7B%22Options%22%3A%7B%7D%7D")

for lines in [
    [".create table Café (a:long)"],
    [".create table X (a:long, b:string, ['c d']:dynamic)", ".alter table X (a:long)", ".show table X schema as json", ".drop table X"],
    [".create-merge table T (n:int)", ".show tables", ".show table T cslschema", "T | count"],
    [".create table T ingestion csv mapping 'm' '[{\"column\":\"c2_long\",\"properties\":{\"Ordinal\":\"0\"}}]'", ".show table T ingestion mappings"],
    [".alter table T policy streamingingestion '{\"IsEnabled\": true}'", ".show table T policy streamingingestion"],
    [".ingest inline into table T <| true,1,2,3,4,s,2024-01-01,00:00:01,00000000-0000-0000-0000-000000000000,{}", ".show extents", "T | summarize count() by c0_bool"],
    [".set-or-append T2 <| T | where c1_int > 0", ".show version", ".show databases"],
    ["T | where c5_string has 'ex' | extend x = c2_long * 2 | sort by x desc | take 5", "T | project c6_datetime, c7_timespan | where c6_datetime > ago(1d)"],
    [".clear table T data", ".drop extents <| .show table T extents"],
]:
    add("emulator_commands", "\n".join(lines))

csv_line = "true,1,2,3.5,4.25,text,2024-01-02T03:04:05.1234567Z,1.02:03:04,11111111-2222-3333-4444-555555555555,\"{\"\"a\"\":1}\"\n"
formats = ["csv", "tsv", "tsve", "scsv", "psv", "sohsv", "txt", "raw", "json", "multijson", "singlejson"]
rec = {"c0_bool": True, "c1_int": 1, "c2_long": 2, "c3_real": "NaN", "c4_decimal": "1.5", "c5_string": "s", "c6_datetime": "2024-01-01T00:00:00Z", "c7_timespan": "00:00:01", "c8_guid": "11111111-2222-3333-4444-555555555555", "c9_dynamic": {"a": [1]}}
add("emulator_ingest", bytes([0]) + csv_line.encode() * 2)
add("emulator_ingest", bytes([0x80]) + b"header\n" + csv_line.encode())
add("emulator_ingest", bytes([1]) + csv_line.replace(",", "\t").encode())
add("emulator_ingest", bytes([2]) + b"a\\tb\\n\t1\n")
add("emulator_ingest", bytes([8]) + (json.dumps(rec) + "\n").encode() * 2)
add("emulator_ingest", bytes([9]) + json.dumps([rec, rec], indent=1).encode())
add("emulator_ingest", bytes([10]) + json.dumps(rec).encode())
add("emulator_ingest", bytes([8]) + b'[{"column":"c2_long","properties":{"Path":"$.x.y"}}]\0{"x":{"y":5}}\n')
add("emulator_ingest", bytes([0]) + b'[{"column":"c5_string","properties":{"Ordinal":"1"}}]\0a,b\nc,d\n')
add("emulator_ingest", bytes([0]) + gzip.compress(csv_line.encode(), mtime=0))
add("emulator_ingest", bytes([6]) + b"line one\nline two\n")

# scalar_parsers: selector byte (0 decimal, 1 datetime, 2 timespan) + text, where
# 0xFF n c stands for the byte c repeated (n + 1) * 1024 times (see scalar_parsers::expand).
def run(c, n=0):
    return bytes([0xFF, n, ord(c)])
for v in sorted(values["decimal"])[:8] + ["0e2147483647", "-0.00e-2147483648", "1e37", "1e-38",
                                          "5e2147483647", "12.3400", "+7.", "1.5E-3"]:
    add("scalar_parsers", b"\0" + v.encode())
for v in sorted(values["datetime"])[:6] + ["2024-01-02 03:04:05.123456789+00:00", "2024-02-29t23:59:59z"]:
    add("scalar_parsers", b"\1" + v.encode())
for v in sorted(values["timespan"])[:6] + ["1:2:3.123456789", "-99999999.23:59:59.9999999"]:
    add("scalar_parsers", b"\2" + v.encode())
add("scalar_parsers", b"\0" + b"1." + run("0", 255))
add("scalar_parsers", b"\0" + b"0." + run("0", 15) + b"1")
add("scalar_parsers", b"\0" + b"-" + run("0", 15) + b"1.5" + run("0", 15) + b"e-40")
add("scalar_parsers", b"\0" + run("9", 3) + b".5")
add("scalar_parsers", b"\0" + b"1e" + run("0", 3) + b"7")
add("scalar_parsers", b"\1" + b"2024-01-02T03:04:05." + run("1", 3) + b"Z")
add("scalar_parsers", b"\1" + run("2", 3) + b"-01-02")
add("scalar_parsers", b"\2" + b"00:00:00." + run("0", 3))
add("scalar_parsers", b"\2" + run("9", 3) + b".00:00:00")
add("scalar_parsers", b"\2" + b"1." + run("0", 3) + b"1:00:00")

if OUT.exists():
    shutil.rmtree(OUT)
for target, items in seeds.items():
    d = OUT / target
    d.mkdir(parents=True)
    for i, data in enumerate(items):
        (d / f"seed-{i:03}").write_bytes(data)
    print(target, len(items))
