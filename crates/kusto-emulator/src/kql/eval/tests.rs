//! Tests of query evaluation.

use super::*;
use crate::kql::binder::bound::has_term;
use crate::kql::params::bind_parameter;
use crate::time::ticks_from_parts;
use serde_json::Value as Json;

fn store() -> Store {
    let s = Store::new();
    s.ensure_database("Db").unwrap();
    s.create_table(
        "Db",
        "T",
        &[
            Column::new("a", KustoType::Long),
            Column::new("s", KustoType::String),
            Column::new("d", KustoType::DateTime),
        ],
        false,
    )
    .unwrap();
    let d = |y| Value::DateTime(ticks_from_parts(y, 1, 1, 0, 0, 0, 0).unwrap());
    s.append_rows(
        "Db",
        "T",
        vec![
            vec![Value::Long(3), Value::String("x".into()), d(2020)],
            vec![Value::Long(1), Value::String("y".into()), d(2021)],
            vec![Value::Null, Value::String("x".into()), Value::Null],
            vec![Value::Long(2), Value::String("z".into()), d(2022)],
        ],
    )
    .unwrap();
    s
}

fn q(text: &str) -> Result<Vec<ResultTable>, KqlError> {
    run(text, &Map::new(), &store(), "Db", 0)
}

fn longs(t: &ResultTable, col: usize) -> Vec<Value> {
    t.rows.iter().map(|r| r[col].clone()).collect()
}

#[test]
fn operators() {
    assert_eq!(q("T | count").unwrap()[0].rows, vec![vec![Value::Long(4)]]);
    assert_eq!(q("T | take 2").unwrap()[0].rows.len(), 2);
    assert_eq!(q("T | limit 0").unwrap()[0].rows.len(), 0);
    let t = &q("T | where a >= 2 | project a").unwrap()[0];
    assert_eq!(longs(t, 0), vec![Value::Long(3), Value::Long(2)]);
    let t = &q("T | where isnull(a) or s == 'y' | project s").unwrap()[0];
    assert_eq!(t.rows.len(), 2);
    let t = &q("T | order by a").unwrap()[0];
    assert_eq!(
        longs(t, 0),
        vec![Value::Long(3), Value::Long(2), Value::Long(1), Value::Null]
    );
    let t = &q("T | sort by a asc").unwrap()[0];
    assert_eq!(
        longs(t, 0),
        vec![Value::Null, Value::Long(1), Value::Long(2), Value::Long(3)]
    );
    let t = &q("T | summarize count() by s").unwrap()[0];
    assert_eq!(
        t.columns,
        vec![
            Column::new("s", KustoType::String),
            Column::new("count_", KustoType::Long)
        ]
    );
    assert_eq!(t.rows[0], vec![Value::String("x".into()), Value::Long(2)]);
    let t = &q("T | summarize n = count(), m = max(a), total = sum(a)").unwrap()[0];
    assert_eq!(
        t.rows,
        vec![vec![Value::Long(4), Value::Long(3), Value::Long(6)]]
    );
    let t = &q("T | where d > datetime(2020-06-01) | count").unwrap()[0];
    assert_eq!(t.rows, vec![vec![Value::Long(2)]]);
    let t = &q("T | where s in ('x', 'z') and a != 3 | project b = a").unwrap()[0];
    assert_eq!(t.columns[0].name, "b");
    assert_eq!(longs(t, 0), vec![Value::Long(2)]);
    let t = &q("print 1, x = 'a', real(nan), timespan(1d)").unwrap()[0];
    assert_eq!(
        t.columns.iter().map(|c| c.ty).collect::<Vec<_>>(),
        vec![
            KustoType::Long,
            KustoType::String,
            KustoType::Real,
            KustoType::TimeSpan
        ]
    );
    assert_eq!(t.columns[0].name, "print_0");
    assert_eq!(q("T | take 1; T | count").unwrap().len(), 2);
}

#[test]
fn errors() {
    assert_eq!(
        q("Nope"),
        Err(KqlError::semantic(
            "SEM0100",
            "'table' operator: Failed to resolve table expression named 'Nope'"
        ))
    );
    assert_eq!(
        q("Nope | take 1"),
        Err(KqlError::semantic(
            "SEM0100",
            "'take' operator: Failed to resolve table or column expression named 'Nope'"
        ))
    );
    assert_eq!(
        q("T | where x > 1"),
        Err(KqlError::semantic(
            "SEM0100",
            "'where' operator: Failed to resolve scalar expression named 'x'"
        ))
    );
    assert_eq!(
        q("T | where foo(a)"),
        Err(KqlError::semantic("SEM0260", "Unknown function: 'foo'."))
    );
    assert!(matches!(
        q("T | where a == 'x'"),
        Err(KqlError::Semantic {
            code: SEM_UNSUPPORTED,
            ..
        })
    ));
    assert!(
        matches!(q("T | evaluate autocluster()"), Err(KqlError::Semantic { message, .. }) if message.contains("'evaluate autocluster'"))
    );
}

fn print(text: &str) -> (Vec<KustoType>, Vec<Value>) {
    let t = &q(&format!("print {text}")).unwrap()[0];
    (t.columns.iter().map(|c| c.ty).collect(), t.rows[0].clone())
}

#[test]
fn arithmetic() {
    use KustoType as K;
    let d = |y, day| Value::DateTime(ticks_from_parts(y, 1, day, 0, 0, 0, 0).unwrap());
    let day = crate::time::TICKS_PER_DAY;
    let hour = crate::time::TICKS_PER_HOUR;
    assert_eq!(
        print("1 + 2 * 3, (1 + 2) * 3, 7 / 2, -7 / 2, 7 % 3, -7 % 3, 10 - 2 - 3"),
        (
            vec![K::Long; 7],
            [7, 9, 3, -3, 1, 2, 5].map(Value::Long).to_vec()
        )
    );
    assert_eq!(
        print("7.0 / 2, 1 + 0.5, 5.5 % 2, 1.0 / 0, -(2.5)"),
        (
            vec![K::Real; 5],
            [3.5, 1.5, 1.5, f64::INFINITY, -2.5]
                .map(Value::Real)
                .to_vec()
        )
    );
    // int with int stays int (and wraps); int with long is long.
    assert_eq!(
        print("int(2147483647) + int(1), int(2) * 3, int(5) / int(2)"),
        (
            vec![K::Int, K::Long, K::Int],
            vec![Value::Int(i32::MIN), Value::Long(6), Value::Int(2)]
        )
    );
    assert_eq!(
        print("9223372036854775807 + 1, 1 / 0, 1 % 0"),
        (
            vec![K::Long; 3],
            vec![Value::Long(i64::MIN), Value::Null, Value::Null]
        )
    );
    assert_eq!(
        print(
            "datetime(2020-01-03) - datetime(2020-01-01), datetime(2020-01-01) + 2d, \
             1d + datetime(2020-01-01), datetime(2020-01-03) - 1d, 1d - 1h, 2h * 3, 3 * 2h, \
             1d / 2, 1d / 1h, 1h * 0.5, -1d"
        ),
        (
            vec![
                K::TimeSpan,
                K::DateTime,
                K::DateTime,
                K::DateTime,
                K::TimeSpan,
                K::TimeSpan,
                K::TimeSpan,
                K::TimeSpan,
                K::Real,
                K::TimeSpan,
                K::TimeSpan
            ],
            vec![
                Value::TimeSpan(2 * day),
                d(2020, 3),
                d(2020, 2),
                d(2020, 2),
                Value::TimeSpan(23 * hour),
                Value::TimeSpan(6 * hour),
                Value::TimeSpan(6 * hour),
                Value::TimeSpan(12 * hour),
                Value::Real(24.0),
                Value::TimeSpan(hour / 2),
                Value::TimeSpan(-day),
            ]
        )
    );
    // Out of the datetime range: null.
    assert_eq!(print("datetime(0001-01-01) - 1d").1, vec![Value::Null]);
    // On columns, with nulls propagating; constants fold for ago() and take.
    let t = &q("T | project x = a * 10 + 1, y = -a, z = d + 1d").unwrap()[0];
    assert_eq!(
        t.columns,
        vec![
            Column::new("x", K::Long),
            Column::new("y", K::Long),
            Column::new("z", K::DateTime)
        ]
    );
    assert_eq!(
        t.rows.iter().map(|r| r[0].clone()).collect::<Vec<_>>(),
        vec![
            Value::Long(31),
            Value::Long(11),
            Value::Null,
            Value::Long(21)
        ]
    );
    assert_eq!(t.rows[1][1], Value::Long(-1));
    assert_eq!(t.rows[0][2], d(2020, 2));
    assert_eq!(q("T | take 1 + 1").unwrap()[0].rows.len(), 2);
    assert_eq!(
        q("T | where a % 2 == 1 | project a").unwrap()[0].rows,
        vec![vec![Value::Long(3)], vec![Value::Long(1)]]
    );
    let now = ticks_from_parts(2024, 6, 1, 0, 0, 0, 0).unwrap();
    let t = &run(
        "print ago(1d + 1h) == now() - 25h, ago(-1h)",
        &Map::new(),
        &store(),
        "Db",
        now,
    )
    .unwrap()[0];
    assert_eq!(
        t.rows,
        vec![vec![Value::Bool(true), Value::DateTime(now + hour)]]
    );
    let summed = &q("T | summarize s = sum(a * 2)").unwrap()[0];
    assert_eq!(summed.rows, vec![vec![Value::Long(12)]]);
    // Types that do not combine, and what the emulator does not run.
    for text in [
        "print 'a' + 'b'",
        "print 1 + true",
        "print datetime(2020-01-01) + datetime(2020-01-01)",
        "print 1d / datetime(2020-01-01)",
        "print 2 / 1d",
        "print -'a'",
        "T | where s + 1 > 0",
    ] {
        assert!(
            matches!(q(text), Err(KqlError::Semantic { code: SEM_UNSUPPORTED, ref message }) if message.contains("Cannot apply")),
            "{text}: {:?}",
            q(text)
        );
    }
    // Decimal and dynamic arithmetic.
    assert_eq!(
        print("decimal(1.5) + 1, -decimal(1), dynamic(1) * 2"),
        (
            vec![K::Decimal, K::Decimal, K::Dynamic],
            vec![
                Value::Decimal(crate::value::Decimal::parse("2.5").unwrap()),
                Value::Decimal(crate::value::Decimal::parse("-1").unwrap()),
                Value::Dynamic(serde_json::json!(2)),
            ]
        )
    );
    assert!(
        matches!(q("T | where a + 1"), Err(KqlError::Semantic { message, .. }) if message.contains("boolean"))
    );
}

#[test]
fn string_operators() {
    let s = Store::new();
    s.ensure_database("Db").unwrap();
    s.create_table("Db", "W", &[Column::new("s", KustoType::String)], false)
        .unwrap();
    let texts = [
        "Hello World",
        "hello-world.log",
        "HELLOWORLD",
        "say hello",
        "",
    ];
    s.append_rows(
        "Db",
        "W",
        texts
            .iter()
            .map(|t| vec![Value::String((*t).into())])
            .collect(),
    )
    .unwrap();
    let matching = |predicate: &str| -> Vec<String> {
        let t = &run(&format!("W | where {predicate}"), &Map::new(), &s, "Db", 0).unwrap()[0];
        t.rows.iter().map(|r| r[0].to_text()).collect()
    };
    let all = |list: &[&str]| list.iter().map(|t| (*t).to_string()).collect::<Vec<_>>();
    assert_eq!(
        matching("s has 'world'"),
        all(&["Hello World", "hello-world.log"])
    );
    assert_eq!(
        matching("s !has 'world'"),
        all(&["HELLOWORLD", "say hello", ""])
    );
    assert_eq!(matching("s has_cs 'World'"), all(&["Hello World"]));
    assert_eq!(
        matching("s !has_cs 'World'"),
        all(&["hello-world.log", "HELLOWORLD", "say hello", ""])
    );
    // A term is not found inside a longer one, a phrase is found at term boundaries.
    assert_eq!(matching("s has 'orld'"), Vec::<String>::new());
    assert_eq!(matching("s has 'world.log'"), all(&["hello-world.log"]));
    assert_eq!(matching("s has 'o w'"), Vec::<String>::new());
    assert_eq!(
        matching("s contains 'WORLD'"),
        all(&["Hello World", "hello-world.log", "HELLOWORLD"])
    );
    assert_eq!(matching("s contains_cs 'WORLD'"), all(&["HELLOWORLD"]));
    assert_eq!(matching("s !contains 'world'"), all(&["say hello", ""]));
    assert_eq!(
        matching("s !contains_cs 'World'"),
        all(&["hello-world.log", "HELLOWORLD", "say hello", ""])
    );
    assert_eq!(
        matching("s startswith 'hello'"),
        all(&["Hello World", "hello-world.log", "HELLOWORLD"])
    );
    assert_eq!(
        matching("s startswith_cs 'hello'"),
        all(&["hello-world.log"])
    );
    assert_eq!(matching("s !startswith 'hello'"), all(&["say hello", ""]));
    assert_eq!(
        matching("s !startswith_cs 'hello'"),
        all(&["Hello World", "HELLOWORLD", "say hello", ""])
    );
    assert_eq!(matching("s endswith 'HELLO'"), all(&["say hello"]));
    assert_eq!(matching("s endswith_cs 'HELLO'"), Vec::<String>::new());
    assert_eq!(
        matching("s !endswith '.LOG'"),
        all(&["Hello World", "HELLOWORLD", "say hello", ""])
    );
    assert_eq!(
        matching("s !endswith_cs 'World'"),
        all(&["hello-world.log", "HELLOWORLD", "say hello", ""])
    );
    assert_eq!(
        matching("s in~ ('hello world', 'SAY HELLO')"),
        all(&["Hello World", "say hello"])
    );
    assert_eq!(
        matching("s in ('hello world', 'say hello')"),
        all(&["say hello"])
    );
    assert_eq!(
        matching("s !in~ ('hello world', 'SAY HELLO')"),
        all(&["hello-world.log", "HELLOWORLD", ""])
    );
    // On a non-string column: the value's text, null being the empty string.
    assert_eq!(
        q("T | where a has '3' | count").unwrap()[0].rows,
        vec![vec![Value::Long(1)]]
    );
    assert_eq!(
        q("T | where a !contains '3' | count").unwrap()[0].rows,
        vec![vec![Value::Long(3)]]
    );
}

#[test]
fn has_term_boundaries() {
    assert!(has_term("a.b", "a"));
    assert!(has_term("a.b", "b"));
    assert!(has_term("x", "x"));
    assert!(!has_term("ab", "a"));
    assert!(!has_term("ba", "a"));
    assert!(has_term("ba a", "a"), "a later occurrence counts");
    assert!(has_term("é b", "é"));
    assert!(!has_term("", "a"));
    assert!(has_term("anything", ""));
    // A term with punctuation at its ends needs no boundary there.
    assert!(has_term("key=value", "=value"));
    assert!(
        !has_term("key=value", "=val"),
        "ends inside a term: not a whole term"
    );
    assert!(!has_term("key=value", "y=value"), "starts inside a term");
}

#[test]
fn parameters() {
    let mut params = Map::new();
    params.insert("n".into(), Json::String("long(2)".into()));
    params.insert("s".into(), Json::String("\"x\"".into()));
    params.insert("raw".into(), Json::String("Two".into()));
    params.insert("d".into(), Json::String("2021-01-01".into()));
    params.insert("j".into(), serde_json::json!(1));
    let r = run(
        "declare query_parameters(n:long, s:string, raw:string, d:datetime, j:long, k:int = 7);\nT | where s == s and d >= d | take n | project a, raw, j, k",
        &params,
        &store(),
        "Db",
        0,
    );
    // `s == s` compares the column with itself: column names win over parameters.
    let t = &r.unwrap()[0];
    assert_eq!(t.rows.len(), 2);
    assert_eq!(t.rows[0][1], Value::String("Two".into()));
    assert_eq!(t.rows[0][2], Value::Long(1));
    assert_eq!(t.rows[0][3], Value::Int(7));
    assert_eq!(
        bind_parameter("p", KustoType::String, &Json::String("'q'".into())),
        Ok(Value::String("q".into()))
    );
    assert_eq!(
        bind_parameter("p", KustoType::Long, &Json::String("10".into())),
        Ok(Value::Long(10))
    );
    assert_eq!(
        bind_parameter("p", KustoType::Bool, &Json::Bool(true)),
        Ok(Value::Bool(true))
    );
    assert_eq!(
        bind_parameter(
            "p",
            KustoType::Dynamic,
            &Json::String("dynamic([1,\"x\"])".into())
        ),
        Ok(Value::Dynamic(serde_json::json!([1, "x"])))
    );
    assert!(bind_parameter("p", KustoType::Long, &Json::String("abc".into())).is_err());
    let missing = run(
        "declare query_parameters(q:long); T | take q",
        &Map::new(),
        &store(),
        "Db",
        0,
    );
    assert!(matches!(missing, Err(KqlError::Semantic { .. })));
}

/// Every query, with a multi-byte character inserted at (or the text cut after) every
/// character boundary, gets a result or an error, never a panic.
#[test]
fn no_query_panics_on_multi_byte_characters() {
    let queries = [
        "T | where s has 'x' and a > 1 | project a, s | take 2",
        "T | where s contains_cs \"y\" or s !startswith @'z' | order by a desc nulls last",
        "T | summarize n = count(), m = max(a) by s | sort by n asc",
        "declare query_parameters(p:string = 'x'); T | where s == p | count",
        "print x = datetime(2020-01-01) + 1d, y = dynamic({\"a\":1}), z = ['q'] // c",
        "T | where d > ago(1h) and isnotempty(s) | limit 1",
    ];
    let store = store();
    for query in queries {
        for insert in ["é", "€", "😀", "\u{301}"] {
            let boundaries = query.char_indices().map(|(i, _)| i).chain([query.len()]);
            for at in boundaries {
                let variant = format!("{}{insert}{}", &query[..at], &query[at..]);
                let cut = format!("{}{insert}", &query[..at]);
                for text in [variant, cut] {
                    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        let _ = run(&text, &Map::new(), &store, "Db", 0);
                    }));
                    assert!(outcome.is_ok(), "panicked on {text:?}");
                }
            }
        }
    }
}

/// Adversarial nesting (20,000 parentheses, unary minus, operators, dynamic brackets, nested
/// calls) ends in a typed error or an answer, never a stack overflow.
#[test]
fn deep_nesting_is_a_typed_error() {
    // fuzz/regressions/emulator_kql holds the same shapes 100,000 deep.
    let n = 20_000;
    let cases = [
        format!("print {}1{}", "(".repeat(n), ")".repeat(n)),
        format!("print {}1", "-".repeat(n)),
        format!("print 1{}", "+1".repeat(n)),
        format!("print dynamic({}{})", "[".repeat(n), "]".repeat(n)),
        format!("print {}1{}", "strlen(".repeat(n), ")".repeat(n)),
        format!("print {}", "toscalar(print ".repeat(n)),
        format!("print x = 1 {}", "| extend y = 1 ".repeat(n)),
    ];
    for text in cases {
        match q(&text) {
            Err(KqlError::Semantic { message, .. }) => {
                assert!(
                    message.contains("nested too deeply") || message.contains("Invalid"),
                    "{message}"
                )
            }
            Err(KqlError::Syntax { .. }) | Ok(_) => {}
        }
    }
    // Within the limit, nesting works.
    let t = &q(&format!("print {}1{}", "(".repeat(50), ")".repeat(50))).unwrap()[0];
    assert_eq!(t.rows, vec![vec![Value::Long(1)]]);
}

#[test]
fn expansions_over_the_budget_are_typed_errors() {
    // Each of the 1,000,000 expanded rows would carry a copy of a 1,000,000-element array: the
    // operator fails before it builds them (instead of running for hours or exhausting memory).
    for text in [
        "print big = range(1, 1000000), r = range(1, 1000000) | mv-expand r | count",
        "print big = range(1, 1000000), r = range(1, 1000000) | mv-apply r on (take 1000000) \
         | count",
    ] {
        match q(text) {
            Err(KqlError::Semantic { message, .. }) => {
                assert!(message.contains("exceeded the memory budget"), "{message}");
            }
            other => panic!("{text}: expected the budget error, got {other:?}"),
        }
    }
    // Below the budget, the same shape of query runs: 1,000 rows carrying 1,000 elements each.
    let t = &q(
        "print big = range(1, 1000), r = range(1, 1000) | mv-expand r \
                | summarize count(), sum(array_length(big))",
    )
    .unwrap()[0];
    assert_eq!(
        t.rows,
        vec![vec![Value::Long(1000), Value::Long(1_000_000)]]
    );
}
