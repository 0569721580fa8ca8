//! Management commands and the v1 format over HTTP, compared with the recorded v1 fixtures.

mod common;

use common::*;
use kusto_emulator::{Emulator, KustoType};
use serde_json::{Value, json};

/// `[(ColumnName, DataType, ColumnType)]` of a v1 table.
fn v1_columns(table: &Value) -> Vec<(String, String, String)> {
    table["Columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["ColumnName"].as_str().unwrap().to_string(),
                c["DataType"].as_str().unwrap().to_string(),
                c["ColumnType"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn names_and_data_types(table: &Value) -> Vec<(String, String)> {
    table["Columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["ColumnName"].as_str().unwrap().to_string(),
                c["DataType"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn data_type_and_column_type_pairs() {
    let emu = start().await;
    let a = mgmt(&emu, "Emu", ".create table T (b:bool, i:int, l:long, r:real, d:decimal, s:string, t:datetime, ts:timespan, g:guid, dy:dynamic)").await;
    assert_eq!(a.status, 200, "{}", a.text);
    mgmt_ok(&emu, "Emu", ".ingest inline into table T <| true,1,2,3.5,4.25,x,2020-01-01,01:00:00,00000000-0000-0000-0000-000000000001,[1]").await;
    let v1 = post(
        &format!("{}/v1/rest/query", emu.url()),
        json!({"db": "Emu", "csl": "T"}),
    )
    .await
    .json();
    assert_eq!(
        v1_columns(&v1["Tables"][0]),
        [
            ("b", "Boolean", "bool"),
            ("i", "Int32", "int"),
            ("l", "Int64", "long"),
            ("r", "Double", "real"),
            ("d", "SqlDecimal", "decimal"),
            ("s", "String", "string"),
            ("t", "DateTime", "datetime"),
            ("ts", "TimeSpan", "timespan"),
            ("g", "Guid", "guid"),
            ("dy", "Object", "dynamic"),
        ]
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    );
    assert_eq!(
        v1["Tables"][0]["Rows"],
        json!([[
            true,
            1,
            2,
            3.5,
            "4.25",
            "x",
            "2020-01-01T00:00:00Z",
            "01:00:00",
            "00000000-0000-0000-0000-000000000001",
            [1]
        ]])
    );
    for t in KustoType::ALL {
        assert_eq!(KustoType::parse(t.v1_data_type()), Some(t));
    }
}

#[tokio::test]
async fn v1_query_has_the_recorded_secondary_tables() {
    let emu = start().await;
    table_with(
        &emu,
        "Emu",
        "T",
        "DatabaseName:string, TableName:string",
        "Kuskus,KustoLogs\nKuskus,LiorTmp",
    )
    .await;
    let a = post_with(
        &format!("{}/v1/rest/query", emu.url()),
        json!({"db": "Emu", "csl": "T"}),
        &[("x-ms-client-request-id", "KPC.execute;v1")],
    )
    .await;
    assert_eq!(a.status, 200);
    let ours = a.json();
    let recorded: Value =
        serde_json::from_str(&fixture("azure-kusto-python/adminthenquery.json")).unwrap();
    let ours_tables = ours["Tables"].as_array().unwrap();
    let recorded_tables = recorded["Tables"].as_array().unwrap();
    assert_eq!(ours_tables.len(), recorded_tables.len());
    for (i, (o, r)) in ours_tables.iter().zip(recorded_tables).enumerate() {
        assert_eq!(o["TableName"], format!("Table_{i}"));
        assert_eq!(
            names_and_data_types(o),
            names_and_data_types(r),
            "table {i}"
        );
        assert_eq!(keys_in_order(&o.to_string()).len(), 3);
    }
    assert_eq!(ours_tables[0]["Rows"], recorded_tables[0]["Rows"]);
    let status = &ours_tables[2]["Rows"][0];
    assert_eq!(status[1], 4);
    assert_eq!(status[2], "Info");
    assert_eq!(status[9], "KPC.execute;v1");
    let toc: Vec<(Value, Value, Value)> = ours_tables[3]["Rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r[0].clone(), r[1].clone(), r[2].clone()))
        .collect();
    let recorded_toc: Vec<(Value, Value, Value)> = recorded_tables[3]["Rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r[0].clone(), r[1].clone(), r[2].clone()))
        .collect();
    assert_eq!(toc, recorded_toc);
    assert_eq!(
        ours_tables[3]["Rows"][2][3],
        "00000000-0000-0000-0000-000000000000"
    );
    // Key order of the document and of a table: Tables; TableName, Columns, Rows.
    assert_eq!(keys_in_order(&a.text), ["Tables"]);
    // Truncation in v1: an Exceptions row and a top-level Exceptions.
    let t = post(
        &format!("{}/v1/rest/query", emu.url()),
        json!({"db": "Emu", "csl": "T", "properties": {"Options": {"truncationmaxrecords": 1}}}),
    )
    .await
    .json();
    let rows = t["Tables"][0]["Rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert!(
        rows[1]["Exceptions"][0]
            .as_str()
            .unwrap()
            .contains("E_QUERY_RESULT_SET_TOO_LARGE")
    );
    assert_eq!(t["Exceptions"], rows[1]["Exceptions"]);
}

#[tokio::test]
async fn show_version_databases_and_tables() {
    let emu = start().await;
    let a = mgmt(&emu, "Emu", ".show version").await;
    let ours = a.json();
    let recorded: Value =
        serde_json::from_str(&fixture("azure-kusto-python/versionshowcommandresult.json")).unwrap();
    assert_eq!(
        names_and_data_types(&ours["Tables"][0]),
        names_and_data_types(&recorded["Tables"][0])
    );
    assert_eq!(ours["Tables"][0]["Rows"][0][2], "Engine");
    assert_eq!(ours["Tables"].as_array().unwrap().len(), 1);

    mgmt_ok(&emu, "Other", ".create table B (x:long)").await;
    mgmt_ok(&emu, "Emu", ".create table A (x:long)").await;
    mgmt_ok(&emu, "Emu", ".create database Third volatile").await;
    let dbs: Vec<Value> = mgmt_ok(&emu, "Emu", ".show databases")
        .await
        .iter()
        .map(|r| r[0].clone())
        .collect();
    assert_eq!(dbs, [json!("Emu"), json!("Other"), json!("Third")]);
    let tables = mgmt_ok(&emu, "Emu", ".show tables").await;
    assert_eq!(tables, vec![json!(["A", "Emu", "", ""])]);
    mgmt_ok(&emu, "Third", ".drop database Third").await;
    let a = mgmt(&emu, "Emu", ".drop database Third").await;
    assert_eq!(a.error()["code"], "BadRequest_DatabaseNotExist");
}

#[tokio::test]
async fn create_merge_drop_and_schema() {
    let emu = start().await;
    let rows = mgmt_ok(&emu, "Emu", ".create table T (a:int, ['b c']:string)").await;
    assert_eq!(rows[0][0], "T");
    assert_eq!(
        rows[0][1],
        r#"{"Name":"T","OrderedColumns":[{"Name":"a","Type":"System.Int32","CslType":"int"},{"Name":"b c","Type":"System.String","CslType":"string"}]}"#
    );
    // Idempotent with the same schema; an error with another.
    mgmt_ok(&emu, "Emu", ".create table T (a:int, ['b c']:string)").await;
    assert_eq!(
        mgmt(&emu, "Emu", ".create table T (a:long)").await.status,
        400
    );
    mgmt_ok(&emu, "Emu", ".ingest inline into table T <| 1,x").await;
    mgmt_ok(&emu, "Emu", ".create-merge table T (a:int, d:datetime)").await;
    let schema = mgmt_ok(&emu, "Emu", ".show table T schema as json").await;
    let parsed: Value = serde_json::from_str(schema[0][1].as_str().unwrap()).unwrap();
    let cols: Vec<&str> = parsed["OrderedColumns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["CslType"].as_str().unwrap())
        .collect();
    assert_eq!(cols, ["int", "string", "datetime"]);
    assert_eq!(
        query_rows(&emu, "Emu", "T").await,
        vec![json!([1, "x", null])]
    );
    let conflict = mgmt(&emu, "Emu", ".create-merge table T (a:string)").await;
    assert_eq!(conflict.status, 400);
    assert_eq!(
        mgmt_ok(&emu, "Emu", ".show table T cslschema").await[0][1],
        "a:int,b c:string,d:datetime"
    );
    let rows = mgmt_ok(&emu, "Emu", ".clear table T data").await;
    assert_eq!(rows[0][2], 1);
    assert_eq!(query_rows(&emu, "Emu", "T | count").await, vec![json!([0])]);
    mgmt_ok(&emu, "Emu", ".drop table T").await;
    let missing = mgmt(&emu, "Emu", ".drop table T").await;
    assert_eq!(missing.status, 400);
    assert_eq!(missing.error()["code"], "BadRequest_EntityNotFound");
    assert_eq!(
        missing.error()["@message"],
        "Entity ID 'T' of kind 'Table' was not found."
    );
    mgmt_ok(&emu, "Emu", ".drop table T ifexists").await;
    let bad_name = mgmt(&emu, "Emu", ".create table ['a;b'] (x:int)").await;
    assert_eq!(bad_name.error()["code"], "BadRequest_EntityNameIsNotValid");
}

#[tokio::test]
async fn mappings_and_streaming_policies() {
    let emu = start().await;
    mgmt_ok(&emu, "Emu", ".create table T (a:long, b:string)").await;
    let rows = mgmt_ok(&emu, "Emu", r#".create table T ingestion csv mapping "m1" '[{"column":"a","Properties":{"Ordinal":"1"}},{"column":"b","Properties":{"Ordinal":"0"}}]'"#).await;
    assert_eq!(rows[0][0], "m1");
    assert_eq!(rows[0][1], "Csv");
    mgmt_ok(
        &emu,
        "Emu",
        r#".create table T ingestion json mapping 'j1' '[{"column":"a","path":"$.a"}]'"#,
    )
    .await;
    let all = mgmt_ok(&emu, "Emu", ".show table T ingestion mappings").await;
    assert_eq!(
        all.iter()
            .map(|r| (r[0].clone(), r[1].clone()))
            .collect::<Vec<_>>(),
        [(json!("m1"), json!("Csv")), (json!("j1"), json!("Json"))]
    );
    let json_only = mgmt_ok(&emu, "Emu", ".show table T ingestion json mappings").await;
    assert_eq!(json_only.len(), 1);
    let stored: Value = serde_json::from_str(json_only[0][2].as_str().unwrap()).unwrap();
    assert_eq!(
        stored,
        json!([{"Column": "a", "Properties": {"Path": "$.a"}}])
    );
    let bad = mgmt(
        &emu,
        "Emu",
        r#".create table T ingestion csv mapping "m2" '[{"column":"a"}]'"#,
    )
    .await;
    assert_eq!(bad.error()["code"], "BadRequest_InvalidMapping");
    mgmt_ok(
        &emu,
        "Emu",
        ".ingest inline into table T with (format=csv, ingestionMappingReference='m1') <| x,7",
    )
    .await;
    assert_eq!(query_rows(&emu, "Emu", "T").await, vec![json!([7, "x"])]);
    mgmt_ok(&emu, "Emu", ".drop table T ingestion csv mapping \"m1\"").await;
    assert_eq!(
        mgmt(&emu, "Emu", ".drop table T ingestion csv mapping \"m1\"")
            .await
            .error()["code"],
        "BadRequest_MappingReferenceWasNotFound"
    );

    let p = mgmt_ok(
        &emu,
        "Emu",
        ".alter table T policy streamingingestion disable",
    )
    .await;
    assert_eq!(
        p[0],
        json!([
            "StreamingIngestionPolicy",
            "[Emu].[T]",
            "{\"IsEnabled\":false,\"HintAllocatedRate\":null}",
            "",
            "Table"
        ])
    );
    let p = mgmt_ok(
        &emu,
        "Emu",
        ".alter database Emu policy streamingingestion '{\"IsEnabled\": true}'",
    )
    .await;
    assert_eq!(p[0][4], "Database");
    assert_eq!(
        mgmt_ok(&emu, "Emu", ".show table T policy streamingingestion").await[0][2],
        "{\"IsEnabled\":false,\"HintAllocatedRate\":null}"
    );
    assert_eq!(
        mgmt_ok(&emu, "Emu", ".show database Emu policy streamingingestion").await[0][2],
        "{\"IsEnabled\":true,\"HintAllocatedRate\":null}"
    );
    mgmt_ok(&emu, "Emu", ".delete table T policy streamingingestion").await;
    assert_eq!(
        mgmt_ok(&emu, "Emu", ".show table T policy streamingingestion").await[0][2],
        Value::Null
    );
}

#[tokio::test]
async fn ingest_inline_and_ingestion_failures() {
    let emu = start().await;
    mgmt_ok(&emu, "Emu", ".create table T (a:long, b:string)").await;
    let rows = mgmt_ok(&emu, "Emu", ".ingest inline into table T with (format='psv', ignoreFirstRecord=true) <|\na|b\n1|one\n2|two").await;
    assert_eq!(rows[0][1], "inline");
    assert_eq!(rows[0][3], false);
    assert_eq!(
        query_rows(&emu, "Emu", "T | order by a asc").await,
        vec![json!([1, "one"]), json!([2, "two"])]
    );
    let bad = mgmt(&emu, "Emu", ".ingest inline into table T <| 1,x\n2").await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.error()["code"], "Stream_WrongNumberOfFields");
    let a = mgmt(&emu, "Emu", ".show ingestion failures").await;
    let table = &a.json()["Tables"][0];
    let cols: Vec<&str> = table["Columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["ColumnName"].as_str().unwrap())
        .collect();
    assert_eq!(
        cols,
        [
            "OperationId",
            "Database",
            "Table",
            "FailedOn",
            "IngestionSourcePath",
            "Details",
            "FailureKind",
            "RootActivityId",
            "OperationKind",
            "OriginatesFromUpdatePolicy",
            "ErrorCode",
            "Principal",
            "ShouldRetry",
            "User",
            "IngestionProperties",
            "NumberOfSources"
        ]
    );
    let row = &table["Rows"][0];
    assert_eq!(row[1], "Emu");
    assert_eq!(row[2], "T");
    assert_eq!(row[6], "Permanent");
    assert_eq!(row[8], "DataIngestPull");
    assert_eq!(row[10], "Stream_WrongNumberOfFields");
    assert_eq!(row[12], false);
    assert!(
        row[5]
            .as_str()
            .unwrap()
            .contains("E_WRONG_NUMBER_OF_FIELDS")
    );
    assert_eq!(emu.store().ingestion_failures().len(), 1);
    assert_eq!(
        query_rows(&emu, "Emu", "T | count").await,
        vec![json!([2])],
        "nothing from the bad source"
    );
    let unknown_format = mgmt(
        &emu,
        "Emu",
        ".ingest inline into table T with (format='xml') <| 1",
    )
    .await;
    assert_eq!(
        unknown_format.error()["code"],
        "BadRequest_FormatNotSupported"
    );
}

#[tokio::test]
async fn command_errors_and_endpoints() {
    let emu = start().await;
    let a = mgmt(&emu, "Emu", ".frobnicate").await;
    assert_eq!(a.status, 400);
    let e = a.error();
    assert_eq!(e["code"], "BadRequest_SyntaxError");
    assert_eq!(e["@type"], "Kusto.Data.Exceptions.SyntaxException");
    assert_eq!(
        e["@message"],
        "Syntax error: Query could not be parsed: . Query: '.frobnicate'"
    );
    assert_eq!(e["@permanent"], true);
    assert_eq!(e["@context"]["activityType"], "DN.FE.ExecuteControlCommand");
    assert!(
        e.get("innererror").is_none(),
        "command errors are not wrapped"
    );
    assert!(a.text.starts_with("{\"error\":{\"code\":\"BadRequest_SyntaxError\",\"message\":\"Request is invalid and cannot be executed.\",\"@type\":"));
    // A query on the mgmt endpoint is not a command.
    assert_eq!(
        mgmt(&emu, "Emu", "T | take 1").await.error()["code"],
        "BadRequest_SyntaxError"
    );
    // Commands on the query endpoints: gateway-style errors.
    let v2 = query(&emu, "Emu", ".show tables", json!({})).await;
    assert_eq!(v2.status, 400);
    assert_eq!(
        v2.json(),
        json!({"error": {"code": "Bad request", "message": "Control commands (starting with a dot '.') do not support api_version=v2", "@context": v2.error()["@context"]}})
    );
    let v1 = post(
        &format!("{}/v1/rest/query", emu.url()),
        json!({"db": "Emu", "csl": ".create table X (a:int)"}),
    )
    .await;
    assert_eq!(v1.status, 400);
    assert_eq!(
        v1.error()["message"],
        "Control commands (starting with a dot '.') cannot be served from the query endpoint unless they are .show control commands."
    );
    let plain = kusto_emulator::http_client_builder()
        .build()
        .unwrap()
        .post(format!("{}/v2/rest/query", emu.url()))
        .body(json!({"db": "Emu", "csl": ".show tables"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 400);
    assert_eq!(
        plain.text().await.unwrap(),
        "Bad request: Control commands (starting with a dot '.') do not support api_version=v2"
    );
    // .show commands are served by /v1/rest/query.
    let show = post(
        &format!("{}/v1/rest/query", emu.url()),
        json!({"db": "Emu", "csl": ".show version"}),
    )
    .await;
    assert_eq!(show.status, 200);
    assert_eq!(show.json()["Tables"][0]["Rows"][0][2], "Engine");
}

#[tokio::test]
async fn databases_can_be_required_to_exist() {
    let emu = Emulator::builder()
        .auto_create_databases(false)
        .database("Known")
        .start()
        .await
        .unwrap();
    assert_eq!(mgmt(&emu, "Known", ".show tables").await.status, 200);
    let a = mgmt(&emu, "Unknown", ".show tables").await;
    assert_eq!(a.status, 400);
    assert_eq!(a.error()["code"], "BadRequest_DatabaseNotExist");
    assert_eq!(
        a.error()["@type"],
        "Kusto.Data.Exceptions.DatabaseNotFoundException"
    );
    mgmt_ok(&emu, "Known", ".create database Unknown").await;
    assert_eq!(mgmt(&emu, "Unknown", ".show tables").await.status, 200);
}

/// Regression: a non-ASCII character outside quotes in a command (`.create table Café ...`)
/// panicked the connection task, and the client got an empty reply. Kusto identifiers may
/// contain Unicode letters, so the table is created, filled and queried like any other; a
/// character that is not a letter (an emoji) is a syntax error with a proper 400 body.
#[tokio::test]
async fn non_ascii_names_in_commands_work_and_never_break_the_connection() {
    let emu = start().await;
    let created = mgmt_ok(&emu, "Emu", ".create table Café (a:long, Größe:string)").await;
    assert_eq!(created[0][0], "Café");
    mgmt_ok(&emu, "Emu", ".ingest inline into table Café <| 1,groß").await;
    assert_eq!(
        query_rows(&emu, "Emu", "Café | where Größe == 'groß' | count").await,
        [json!([1])]
    );
    assert_eq!(
        query_rows(&emu, "Emu", "['Café'] | project a").await,
        [json!([1])]
    );
    let tables = mgmt_ok(&emu, "Emu", ".show tables").await;
    assert!(tables.iter().any(|r| r[0] == "Café"), "{tables:?}");
    let extents = mgmt_ok(
        &emu,
        "Emu",
        ".show table Café extents where tags !has 'ünïcode'",
    )
    .await;
    assert_eq!(extents.len(), 1);
    let schema = mgmt_ok(&emu, "Emu", ".show table Café cslschema").await;
    assert_eq!(schema[0][1], "a:long,Größe:string");
    for bad in [
        ".create table Ca😀fé (a:long)",
        ".show table 😀 extents where tags has 'x'",
        ".😀",
    ] {
        let a = mgmt(&emu, "Emu", bad).await;
        assert_eq!(a.status, 400, "{bad}: {}", a.text);
        assert_eq!(a.error()["code"], "BadRequest_SyntaxError", "{bad}");
    }
    mgmt_ok(&emu, "Emu", ".drop table Café").await;
}
