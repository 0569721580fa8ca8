//! The KQL subset over HTTP: every operator, parameters, and the error shapes of bad requests.

mod common;

use common::*;
use kusto_emulator::Emulator;
use serde_json::{Value, json};

async fn events(emu: &kusto_emulator::EmulatorHandle) {
    let csv: Vec<String> = (1..=6)
        .map(|i| {
            let level = ["Info", "Warning", "Error"][i % 3];
            let amount = if i == 6 {
                String::new()
            } else {
                format!("{}", i as f64 * 1.5)
            };
            format!("{i},name{i},{level},{amount},2024-01-0{i}T00:00:00Z")
        })
        .collect();
    table_with(
        emu,
        "Emu",
        "Events",
        "Id:long, Name:string, Level:string, Amount:real, When:datetime",
        &csv.join("\n"),
    )
    .await;
}

async fn ids(emu: &kusto_emulator::EmulatorHandle, csl: &str) -> Vec<Value> {
    query_rows(emu, "Emu", csl)
        .await
        .into_iter()
        .map(|r| r[0].clone())
        .collect()
}

#[tokio::test]
async fn operators() {
    let emu = start().await;
    events(&emu).await;
    assert_eq!(
        query_rows(&emu, "Emu", "Events | count").await,
        vec![json!([6])]
    );
    assert_eq!(ids(&emu, "Events | take 2").await, [json!(1), json!(2)]);
    assert_eq!(ids(&emu, "Events | limit 1").await, [json!(1)]);
    assert_eq!(
        query_rows(&emu, "Emu", "Events | project Name, Id | take 1").await,
        vec![json!(["name1", 1])]
    );
    assert_eq!(
        query_rows(&emu, "Emu", "Events | project n = Name | take 1").await,
        vec![json!(["name1"])]
    );
    assert_eq!(ids(&emu, "Events | where Id == 3").await, [json!(3)]);
    assert_eq!(
        ids(&emu, "Events | where Id != 3 and Id < 3").await,
        [json!(1), json!(2)]
    );
    assert_eq!(
        ids(&emu, "Events | where Id <= 2 or Id >= 6").await,
        [json!(1), json!(2), json!(6)]
    );
    assert_eq!(
        ids(&emu, "Events | where Id > 4").await,
        [json!(5), json!(6)]
    );
    assert_eq!(ids(&emu, "Events | where isnull(Amount)").await, [json!(6)]);
    assert_eq!(
        ids(&emu, "Events | where isnotnull(Amount) and Amount >= 6").await,
        [json!(4), json!(5)]
    );
    assert_eq!(
        ids(&emu, "Events | where Level == 'Error' | order by Id desc").await,
        [json!(5), json!(2)]
    );
    assert_eq!(
        ids(&emu, "Events | where Level =~ 'error' | sort by Id asc").await,
        [json!(2), json!(5)]
    );
    assert_eq!(
        ids(&emu, "Events | where When >= datetime(2024-01-05)").await,
        [json!(5), json!(6)]
    );
    assert_eq!(
        ids(&emu, "Events | where Name contains 'E4' or Id in (1, 2)").await,
        [json!(1), json!(2), json!(4)]
    );
    assert_eq!(ids(&emu, "Events | where not(Id > 1)").await, [json!(1)]);
    assert_eq!(
        ids(&emu, "Events | order by Amount asc | take 2").await,
        [json!(6), json!(1)],
        "nulls first in asc"
    );
    assert_eq!(
        ids(&emu, "Events | order by Amount").await[5],
        json!(6),
        "desc by default, nulls last"
    );
    let a = query(
        &emu,
        "Emu",
        "Events | summarize count() by Level | order by Level asc",
        json!({}),
    )
    .await;
    let f = a.frames();
    assert_eq!(
        columns(&f[2]),
        [
            ("Level".to_string(), "string".to_string()),
            ("count_".to_string(), "long".to_string())
        ]
    );
    assert_eq!(
        f[2]["Rows"],
        json!([["Error", 2], ["Info", 2], ["Warning", 2]])
    );
    assert_eq!(
        query_rows(
            &emu,
            "Emu",
            "Events | summarize n = count(), m = max(Id), s = sum(Id), lo = min(When)"
        )
        .await,
        vec![json!([6, 6, 21, "2024-01-01T00:00:00Z"])]
    );
    assert_eq!(
        query_rows(&emu, "Emu", "Events | where Id > 100 | summarize count()").await,
        vec![json!([0])]
    );
    let p = query(&emu, "Emu", "print 1, s = 'x', r = real(nan), d = datetime(2024-01-01), t = 1h, g = guid(00000000-0000-0000-0000-000000000001), dy = dynamic({\"a\":1}), b = true", json!({})).await.frames();
    assert_eq!(
        columns(&p[2])
            .into_iter()
            .map(|(n, t)| format!("{n}:{t}"))
            .collect::<Vec<_>>(),
        [
            "print_0:long",
            "s:string",
            "r:real",
            "d:datetime",
            "t:timespan",
            "g:guid",
            "dy:dynamic",
            "b:bool"
        ]
    );
    assert_eq!(
        p[2]["Rows"],
        json!([[1, "x", "NaN", "2024-01-01T00:00:00Z", "01:00:00", "00000000-0000-0000-0000-000000000001", {"a": 1}, true]])
    );
    assert_eq!(
        query_rows(&emu, "Emu", "database('Emu').Events | count").await,
        vec![json!([6])]
    );
    assert_eq!(
        query_rows(&emu, "Emu", "['Events'] | count // a comment").await,
        vec![json!([6])]
    );
}

#[tokio::test]
async fn string_and_arithmetic_operators() {
    let emu = start().await;
    events(&emu).await;
    // Levels by Id: 1 Warning, 2 Error, 3 Info, 4 Warning, 5 Error, 6 Info.
    let cases: [(&str, Vec<i64>); 17] = [
        ("Events | where Name has 'NAME3'", vec![3]),
        ("Events | where Name has 'name'", vec![]),
        ("Events | where Level !has 'info'", vec![1, 2, 4, 5]),
        ("Events | where Level has_cs 'Error'", vec![2, 5]),
        ("Events | where Level has_cs 'error'", vec![]),
        ("Events | where Level !has_cs 'Error'", vec![1, 3, 4, 6]),
        (
            "Events | where Name startswith 'NAME'",
            vec![1, 2, 3, 4, 5, 6],
        ),
        ("Events | where Name startswith_cs 'NAME'", vec![]),
        (
            "Events | where Name !startswith 'name1'",
            vec![2, 3, 4, 5, 6],
        ),
        ("Events | where Level contains_cs 'arn'", vec![1, 4]),
        ("Events | where Level !contains 'R'", vec![3, 6]),
        ("Events | where Level endswith_cs 'or'", vec![2, 5]),
        (
            "Events | where Level in~ ('error', 'INFO')",
            vec![2, 3, 5, 6],
        ),
        ("Events | where Level !in~ ('error', 'INFO')", vec![1, 4]),
        ("Events | where Id * 2 - 1 > 7", vec![5, 6]),
        ("Events | where Id % 3 == 0 or -Id < -5", vec![3, 6]),
        (
            "Events | where When - datetime(2024-01-01) >= 2d + 12h",
            vec![4, 5, 6],
        ),
    ];
    for (csl, expected) in cases {
        let expected: Vec<Value> = expected.into_iter().map(Value::from).collect();
        assert_eq!(ids(&emu, csl).await, expected, "{csl}");
    }
    let a = query(
        &emu,
        "Emu",
        "Events | where Id == 2 | project Id, Half = Id / 2, Frac = Id / 4.0, Later = When + 12h, Gap = When - datetime(2024-01-01), Neg = -Amount",
        json!({}),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let f = a.frames();
    assert_eq!(
        columns(&f[2])
            .into_iter()
            .map(|(n, t)| format!("{n}:{t}"))
            .collect::<Vec<_>>(),
        [
            "Id:long",
            "Half:long",
            "Frac:real",
            "Later:datetime",
            "Gap:timespan",
            "Neg:real"
        ]
    );
    assert!(
        frame_lines(&a.text)[2]
            .contains(r#""Rows":[[2,1,0.5,"2024-01-02T12:00:00Z","1.00:00:00",-3.0]]"#),
        "{}",
        a.text
    );
    assert_eq!(
        query_rows(
            &emu,
            "Emu",
            "Events | summarize s = sum(Id * 10) | project s, t = s / 7"
        )
        .await,
        vec![json!([210, 30])]
    );
    assert_eq!(
        query_rows(
            &emu,
            "Emu",
            "print x = 1 + 2 * 3, y = (1 + 2) * 3, z = 1 / 0"
        )
        .await,
        vec![json!([7, 9, null])]
    );
}

#[tokio::test]
async fn query_parameters() {
    let emu = start().await;
    events(&emu).await;
    let body = json!({
        "db": "Emu",
        "csl": "declare query_parameters(n:long, lvl:string, q:string, since:datetime, dflt:int = 3, on:bool, span:timespan);\nEvents | where Level == lvl and When >= since | take n | project Id, q, dflt, on, span",
        "properties": "{\"Parameters\":{\"n\":\"long(1)\",\"lvl\":\"Warning\",\"q\":\"'quoted'\",\"since\":\"2024-01-02\",\"on\":true,\"span\":\"1d\"}}"
    });
    let a = post(&format!("{}/v2/rest/query", emu.url()), body).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(
        a.frames()[2]["Rows"],
        json!([[4, "quoted", 3, true, "1.00:00:00"]])
    );
    let missing = post(
        &format!("{}/v2/rest/query", emu.url()),
        json!({"db": "Emu", "csl": "declare query_parameters(n:long); Events | take n"}),
    )
    .await;
    assert_eq!(missing.status, 400);
    assert!(
        missing.error()["@message"]
            .as_str()
            .unwrap()
            .contains("'n'")
    );
    let bad = post(
        &format!("{}/v2/rest/query", emu.url()),
        json!({"db": "Emu", "csl": "declare query_parameters(n:long); Events | take n", "properties": {"parameters": {"n": "ten"}}}),
    )
    .await;
    assert_eq!(bad.status, 400);
    assert!(
        bad.error()["innererror"]["message"]
            .as_str()
            .unwrap()
            .contains("invalid value 'ten'")
    );
    // GET with the query string.
    let url = format!(
        "{}/v2/rest/query?db=Emu&csl=Events%20%7C%20count",
        emu.url()
    );
    let got = answer(client().get(url).send().await.unwrap()).await;
    assert_eq!(got.frames()[2]["Rows"], json!([[6]]));
}

#[tokio::test]
async fn query_errors_have_the_real_shapes() {
    let emu = start().await;
    events(&emu).await;
    // Syntax error: the recorded example of kusto-protocol.md 5.2.
    table_with(&emu, "PerfTest", "PerfTest", "x:int", "").await;
    let a = query(&emu, "PerfTest", "PerfTest take 5", json!({})).await;
    assert_eq!(a.status, 400);
    let e = a.error();
    assert_eq!(e["code"], "General_BadRequest");
    assert_eq!(e["message"], "Request is invalid and cannot be executed.");
    assert_eq!(e["@type"], "Kusto.Data.Exceptions.KustoBadRequestException");
    assert_eq!(
        e["@message"],
        "Request is invalid and cannot be processed: Syntax error: SYN0002: A recognition error occurred. [line:position=1:9]. Query: 'PerfTest take 5'"
    );
    assert_eq!(e["@permanent"], true);
    assert_eq!(e["@text"], "PerfTest take 5");
    assert_eq!(e["@database"], "PerfTest");
    let inner = &e["innererror"];
    assert_eq!(inner["code"], "SYN0002");
    assert_eq!(inner["@type"], "Kusto.Data.Exceptions.SyntaxException");
    assert_eq!(
        (
            inner["@line"].clone(),
            inner["@pos"].clone(),
            inner["@token"].clone()
        ),
        (json!("1"), json!("9"), json!("take"))
    );
    assert_eq!(inner["@errorCode"], "SYN0002");
    assert_eq!(keys_in_order(&a.text), ["error"]);
    let error_text = &a.text[9..];
    assert_eq!(
        keys_in_order(error_text),
        [
            "code",
            "message",
            "@type",
            "@message",
            "@context",
            "@permanent",
            "@text",
            "@database",
            "@ClientRequestLogger",
            "innererror"
        ]
    );
    // Second line of a multi-line query.
    let e = query(&emu, "Emu", "Events\n| where Id >", json!({}))
        .await
        .error();
    assert_eq!(
        (
            e["innererror"]["@line"].clone(),
            e["innererror"]["@pos"].clone()
        ),
        (json!("2"), json!("12"))
    );
    // Semantic errors.
    let cases = [
        (
            "Nope",
            "SEM0100",
            "'table' operator: Failed to resolve table expression named 'Nope'",
        ),
        (
            "Nope | take 1",
            "SEM0100",
            "'take' operator: Failed to resolve table or column expression named 'Nope'",
        ),
        (
            "Events | where x == 1",
            "SEM0100",
            "'where' operator: Failed to resolve scalar expression named 'x'",
        ),
        (
            "Events | project Id, y",
            "SEM0100",
            "'project' operator: Failed to resolve scalar expression named 'y'",
        ),
        (
            "Events | where foo(Id)",
            "SEM0260",
            "Unknown function: 'foo'.",
        ),
    ];
    for (csl, code, message) in cases {
        let e = query(&emu, "Emu", csl, json!({})).await.error();
        assert_eq!(e["code"], "General_BadRequest", "{csl}");
        assert_eq!(e["innererror"]["code"], code, "{csl}");
        assert_eq!(e["innererror"]["message"], message, "{csl}");
        assert_eq!(
            e["innererror"]["@type"],
            "Kusto.Data.Exceptions.SemanticException"
        );
        assert_eq!(
            e["innererror"]["@message"],
            format!("Semantic error: {code}: {message}")
        );
        assert_eq!(
            e["@message"],
            format!(
                "Request is invalid and cannot be processed: Semantic error: {code}: {message}"
            )
        );
    }
    // Real KQL the emulator does not run: a semantic error naming it.
    for (csl, named) in [
        (
            "Events | evaluate autocluster()",
            "The plugin 'evaluate autocluster'",
        ),
        ("Events | fork (take 1)", "'fork' operator"),
        ("Events | facet by Name", "'facet' operator"),
        ("Events | reduce by Name", "'reduce' operator"),
        (
            "Events | partition by Name (take 1)",
            "'partition' operator",
        ),
        ("search 'x'", "'search' operator"),
        ("find 'x'", "'find' operator"),
        (
            "alias database x = cluster('c').database('d'); Events",
            "'alias' statement",
        ),
    ] {
        let e = query(&emu, "Emu", csl, json!({})).await.error();
        let message = e["innererror"]["message"].as_str().unwrap().to_string();
        assert!(
            message.starts_with(named) && message.contains("not supported by the Kusto emulator"),
            "{csl}: {message}"
        );
        assert!(e["@message"].as_str().unwrap().contains("Semantic error:"));
    }
    let e = query(&emu, "Emu", "Events | where Id == 'x'", json!({}))
        .await
        .error();
    assert!(
        e["innererror"]["message"]
            .as_str()
            .unwrap()
            .contains("Cannot compare values of types long and string")
    );
    let e = query(&emu, "Emu", "Events | where Name + 1 == 2", json!({})).await;
    assert_eq!(e.status, 400);
    assert_eq!(
        e.error()["innererror"]["@type"],
        "Kusto.Data.Exceptions.SemanticException"
    );
    assert_eq!(
        e.error()["innererror"]["message"],
        "'where' operator: Cannot apply the arithmetic operator '+' to values of types string and long"
    );
    // Operator tokens lex: a misplaced one is a syntax error at that token, not at the lexer.
    let e = query(&emu, "Emu", "Events | where Id * * 2", json!({}))
        .await
        .error();
    assert_eq!(e["innererror"]["code"], "SYN0002");
    assert_eq!(e["innererror"]["@token"], "*");
    assert_eq!(e["innererror"]["@pos"], "20");
}

#[tokio::test]
async fn malformed_requests() {
    let emu = Emulator::builder()
        .max_request_body(1024)
        .start()
        .await
        .unwrap();
    let url = format!("{}/v2/rest/query", emu.url());
    let raw = |body: &'static str| {
        let url = url.clone();
        async move {
            answer(
                client()
                    .post(url)
                    .header("Accept", "application/json")
                    .body(body)
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    let a = raw("{not json").await;
    assert_eq!(a.status, 400);
    assert_eq!(a.error()["code"], "General_BadRequest");
    assert_eq!(
        a.error()["@type"],
        "Kusto.Data.Exceptions.KustoBadRequestException"
    );
    assert!(
        a.error()["@message"]
            .as_str()
            .unwrap()
            .contains("not valid JSON")
    );
    assert_eq!(raw("[1,2]").await.status, 400);
    let no_csl = raw("{\"db\":\"Emu\"}").await;
    assert!(no_csl.error()["@message"].as_str().unwrap().contains("csl"));
    assert_eq!(
        raw("{\"db\":\"Emu\",\"csl\":\"print 1\",\"properties\":\"{oops\"}")
            .await
            .status,
        400
    );
    assert_eq!(
        raw("{\"db\":\"Emu\",\"csl\":\"print 1\",\"properties\":{\"Options\":[]}}")
            .await
            .status,
        400
    );
    // Oversized body: 413 with the real type.
    let big = format!(
        "{{\"db\":\"Emu\",\"csl\":\"print '{}'\"}}",
        "x".repeat(4096)
    );
    let a = answer(client().post(&url).body(big).send().await.unwrap()).await;
    assert_eq!(a.status, 413);
    assert_eq!(
        a.error()["@type"],
        "Kusto.Data.Exceptions.KustoRequestPayloadTooLargeException"
    );
    assert_eq!(a.error()["code"], "Payload too large");
    // Unknown paths and methods.
    let a = answer(
        client()
            .get(format!("{}/v3/rest/query", emu.url()))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, 404);
    let a = answer(
        client()
            .delete(format!("{}/v1/rest/mgmt", emu.url()))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, 405);
    // A gzip-compressed request body is accepted.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, br#"{"db":"Emu","csl":"print 7"}"#).unwrap();
    let a = answer(
        client()
            .post(&url)
            .header("Content-Encoding", "gzip")
            .body(gz.finish().unwrap())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(a.frames()[2]["Rows"], json!([[7]]));
}

#[tokio::test]
async fn authorization_is_ignored_without_a_token_check() {
    let emu = Emulator::builder().start().await.unwrap();
    for auth in ["Bearer anything", "Basic dXNlcjpwYXNz", "garbage"] {
        let a = post_with(
            &format!("{}/v2/rest/query", emu.url()),
            json!({"db": "Emu", "csl": "print 1"}),
            &[("Authorization", auth)],
        )
        .await;
        assert_eq!(a.status, 200, "{auth}: {}", a.text);
        assert_eq!(a.frames()[2]["Rows"], json!([[1]]));
        let m = post_with(
            &format!("{}/v1/rest/mgmt", emu.url()),
            json!({"db": "Emu", "csl": ".show version"}),
            &[("Authorization", auth)],
        )
        .await;
        assert_eq!(m.status, 200, "{auth}: {}", m.text);
    }
}

#[tokio::test]
async fn auth_metadata_and_token_check() {
    let emu = Emulator::builder()
        .require_token("s3cret")
        .start()
        .await
        .unwrap();
    let meta = answer(
        client()
            .get(format!("{}/v1/rest/auth/metadata", emu.url()))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(meta.status, 200);
    assert_eq!(
        meta.json()["AzureAD"]["LoginEndpoint"],
        "https://login.microsoftonline.com"
    );
    let denied = query(&emu, "Emu", "print 1", json!({})).await;
    assert_eq!(denied.status, 401);
    assert_eq!(denied.error()["code"], "Unauthorized");
    assert!(!denied.text.contains("s3cret"));
    let wrong = post_with(
        &format!("{}/v2/rest/query", emu.url()),
        json!({"db": "Emu", "csl": "print 1"}),
        &[("Authorization", "Bearer nope")],
    )
    .await;
    assert_eq!(wrong.status, 401);
    let ok = post_with(
        &format!("{}/v2/rest/query", emu.url()),
        json!({"db": "Emu", "csl": "print 1"}),
        &[("Authorization", "Bearer s3cret")],
    )
    .await;
    assert_eq!(ok.status, 200);
    assert!(
        !format!("{emu:?}").contains("s3cret"),
        "the token is not in Debug output"
    );
}

/// The names and types of the columns of the primary result of a v2 query.
async fn result_columns(emu: &kusto_emulator::EmulatorHandle, csl: &str) -> Vec<(String, String)> {
    let a = query(emu, "Emu", csl, json!({})).await;
    assert_eq!(a.status, 200, "{csl}: {}", a.text);
    let frames = a.frames();
    let primary = frames
        .iter()
        .find(|f| f["FrameType"] == "DataTable" && f["TableKind"] == "PrimaryResult")
        .expect("a primary result");
    primary["Columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["ColumnName"].as_str().unwrap().to_owned(),
                c["ColumnType"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn named(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
        .collect()
}

async fn semantic_error(emu: &kusto_emulator::EmulatorHandle, csl: &str) -> String {
    let a = query(emu, "Emu", csl, json!({})).await;
    assert_eq!(a.status, 400, "{csl}: {}", a.text);
    a.error()["innererror"]["message"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn extend_adds_and_replaces_columns() {
    let emu = start().await;
    events(&emu).await;
    assert_eq!(
        query_rows(
            &emu,
            "Emu",
            "Events | extend Double = Amount * 2, Id = Id + 100 | project Id, Double | take 2"
        )
        .await,
        [json!([101, 3.0]), json!([102, 6.0])]
    );
    // A replaced column keeps its place and takes the new type; a new one goes last.
    assert_eq!(
        result_columns(&emu, "Events | extend Id = tostring(Id), Big = Amount > 4").await,
        named(&[
            ("Id", "string"),
            ("Name", "string"),
            ("Level", "string"),
            ("Amount", "real"),
            ("When", "datetime"),
            ("Big", "bool"),
        ])
    );
    // Unnamed expressions are Column1, Column2, ...; later items see earlier ones.
    assert_eq!(
        query_rows(
            &emu,
            "Emu",
            "Events | extend Id * 2, a = Id, b = a + 1, Id - 1 | project Column1, b, Column2 | take 1"
        )
        .await,
        [json!([2, 2, 0])]
    );
    assert_eq!(
        ids(&emu, "Events | extend Twice = Id * 2 | where Twice > 10").await,
        [json!(6)]
    );
    let message = semantic_error(&emu, "Events | extend x = Nope + 1").await;
    assert!(message.contains("'Nope'"), "{message}");
}

#[tokio::test]
async fn distinct_top_project_away_and_project_rename() {
    let emu = start().await;
    events(&emu).await;
    assert_eq!(
        query_rows(&emu, "Emu", "Events | distinct Level | order by Level asc").await,
        [json!(["Error"]), json!(["Info"]), json!(["Warning"])]
    );
    assert_eq!(
        query_rows(
            &emu,
            "Emu",
            "Events | project Level, Odd = Id % 2 | distinct * | count"
        )
        .await,
        [json!([6])]
    );
    assert_eq!(
        query_rows(
            &emu,
            "Emu",
            "Events | extend Odd = Id % 2 | distinct Odd, Level"
        )
        .await,
        [
            json!([1, "Warning"]),
            json!([0, "Error"]),
            json!([1, "Info"]),
            json!([0, "Warning"]),
            json!([1, "Error"]),
            json!([0, "Info"]),
        ]
    );
    assert_eq!(
        result_columns(&emu, "Events | distinct Level, Id").await,
        named(&[("Level", "string"), ("Id", "long")])
    );
    // top: descending unless asc; nulls last when descending, first when ascending.
    assert_eq!(
        ids(&emu, "Events | top 2 by Amount").await,
        [json!(5), json!(4)]
    );
    assert_eq!(
        ids(&emu, "Events | top 2 by Amount desc").await,
        [json!(5), json!(4)]
    );
    assert_eq!(
        ids(&emu, "Events | top 2 by Amount asc").await,
        [json!(6), json!(1)]
    );
    assert_eq!(
        ids(&emu, "Events | top 2 by Amount asc nulls last").await,
        [json!(1), json!(2)]
    );
    assert_eq!(
        ids(&emu, "Events | top 1 by Amount nulls first").await,
        [json!(6)]
    );
    assert_eq!(ids(&emu, "Events | top 10 by Id - 0 desc").await.len(), 6);
    assert_eq!(ids(&emu, "Events | top 0 by Id").await.len(), 0);
    // project-away: names and wildcards.
    assert_eq!(
        result_columns(&emu, "Events | project-away Name, Am*").await,
        named(&[("Id", "long"), ("Level", "string"), ("When", "datetime")])
    );
    assert_eq!(
        result_columns(&emu, "Events | project-away *e*, ['Id']").await,
        named(&[("Amount", "real")])
    );
    assert_eq!(
        query_rows(
            &emu,
            "Emu",
            "Events | project-away Nothing* | project-away When, Amount, Level | take 1"
        )
        .await,
        [json!([1, "name1"])]
    );
    let message = semantic_error(&emu, "Events | project-away Nope").await;
    assert!(
        message.contains("'project-away' operator") && message.contains("'Nope'"),
        "{message}"
    );
    // project-rename.
    assert_eq!(
        result_columns(
            &emu,
            "Events | project-rename Ident = Id, Who = Name | project-away When"
        )
        .await,
        named(&[
            ("Ident", "long"),
            ("Who", "string"),
            ("Level", "string"),
            ("Amount", "real"),
        ])
    );
    assert_eq!(
        query_rows(
            &emu,
            "Emu",
            "Events | project-rename Ident = Id | where Ident == 2 | project Ident"
        )
        .await,
        [json!([2])]
    );
    let message = semantic_error(&emu, "Events | project-rename A = Nope").await;
    assert!(message.contains("'Nope'"), "{message}");
    let message = semantic_error(&emu, "Events | project-rename Name = Id").await;
    assert!(message.contains("'Name' already exists"), "{message}");
}

#[tokio::test]
async fn ingestion_time_is_the_time_the_row_s_extent_was_ingested() {
    let emu = start().await;
    table_with(&emu, "Emu", "T", "a:long", "1\n2").await;
    mgmt_ok(&emu, "Emu", ".ingest inline into table T <| 3").await;
    let rows = query_rows(
        &emu,
        "Emu",
        "T | extend t = ingestion_time() | order by a asc | project a, t",
    )
    .await;
    let times: Vec<String> = rows
        .iter()
        .map(|r| r[1].as_str().expect("a datetime").to_owned())
        .collect();
    assert_eq!(times.len(), 3);
    // The rows of one ingestion share a time; the next ingestion is later.
    assert_eq!(times[0], times[1]);
    assert!(times[1] < times[2], "{times:?}");
    // Without a creationTime, the extents' creation times are the ingestion times.
    let mut created: Vec<String> = mgmt_ok(&emu, "Emu", ".show table T extents")
        .await
        .iter()
        .map(|r| r[3].as_str().unwrap().to_owned())
        .collect();
    created.sort();
    assert_eq!(created, [times[0].clone(), times[2].clone()]);
    assert_eq!(
        result_columns(&emu, "T | extend t = ingestion_time()").await,
        named(&[("a", "long"), ("t", "datetime")])
    );
    // Usable in where, order by and top; carried through take, where and extend.
    assert_eq!(
        ids(
            &emu,
            "T | where ingestion_time() > datetime(2000-01-01) | top 1 by ingestion_time() desc"
        )
        .await,
        [json!(3)]
    );
    assert_eq!(
        query_rows(
            &emu,
            "Emu",
            &format!(
                "T | take 3 | where ingestion_time() == datetime({}) | count",
                times[2]
            )
        )
        .await,
        [json!([1])]
    );
    // Once rows are new (summarize, project, print), there is no ingestion time.
    assert_eq!(
        query_rows(
            &emu,
            "Emu",
            "T | summarize m = max(a) | extend t = ingestion_time()"
        )
        .await,
        [json!([3, null])]
    );
    assert_eq!(
        query_rows(
            &emu,
            "Emu",
            "T | project a | extend t = ingestion_time() | take 1"
        )
        .await,
        [json!([1, null])]
    );
    assert_eq!(
        query_rows(&emu, "Emu", "print t = ingestion_time()").await,
        [json!([null])]
    );
    // The hidden column is not a name a query can use.
    let message = semantic_error(&emu, "T | project ['$IngestionTime']").await;
    assert!(message.contains("$IngestionTime"), "{message}");
}
