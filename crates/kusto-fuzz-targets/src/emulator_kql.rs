//! `emulator_kql`: KQL queries against the emulator's engine, as text or as a "token soup"
//! built from KQL's vocabulary so that most inputs get past the lexer and into the parser,
//! binder and operators.

use kusto_emulator::fuzz as emu;

/// Fragments the token soup is made of: sources, operators, functions, literals, punctuation.
const VOCABULARY: &[&str] = &[
    "T",
    "print x = 1",
    "range i from 1 to 5 step 1",
    "datatable(a:long, b:string)[1, 'x', 2, 'y']",
    "union T, (print c = 2)",
    "let v = 3;",
    "let f = (n:long, s:string = 'a') { n * 2 };",
    "let g = (t:(*)) { t | take 1 };",
    "toscalar(",
    "materialize(",
    "database('FuzzDb').T",
    "|",
    "| where",
    "| extend",
    "| project",
    "| project-away",
    "| project-keep",
    "| summarize",
    "| summarize count() by",
    "| order by",
    "| top 3 by",
    "| take 2",
    "| distinct",
    "| count",
    "| join kind=inner (",
    "| join kind=leftouter (",
    "| join kind=fullouter (",
    "| join kind=leftanti (",
    "| join kind=rightsemi (",
    "| lookup (",
    "| union",
    "| mv-expand",
    "| mv-expand kind=array with_itemindex=ix",
    "| mv-apply",
    "on (",
    "on",
    "| parse",
    "| parse kind=regex",
    "| parse-where",
    "| parse-kv",
    "with",
    "as (",
    "| make-series",
    "| top-nested 2 of",
    "| serialize",
    "| sample 2",
    "| sample-distinct 2 of",
    "| getschema",
    "| as X",
    "| invoke g()",
    "| consume",
    "| render",
    "| extend rn = row_number()",
    "$left.a == $right.a",
    "$left.",
    "$right.",
    "step",
    "from",
    "to",
    "default =",
    "by",
    "typeof(long)",
    "to typeof(string)",
    "limit 2",
    "in",
    "!in",
    "in~",
    "has",
    "!has",
    "contains",
    "startswith",
    "matches regex",
    "between (1 .. 3)",
    "has_any (",
    "and",
    "or",
    "not(",
    "==",
    "!=",
    "<",
    ">=",
    "=~",
    "+",
    "-",
    "*",
    "/",
    "%",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ";",
    "=",
    ".",
    ":",
    "..",
    "a",
    "b",
    "x",
    "i",
    "n",
    "c0_bool",
    "c1_int",
    "c2_long",
    "c3_real",
    "c4_decimal",
    "c5_string",
    "c6_datetime",
    "c7_timespan",
    "c8_guid",
    "c9_dynamic",
    "c9_dynamic.a",
    "c9_dynamic['a'][0]",
    "0",
    "1",
    "-1",
    "2.5",
    "1e308",
    "9223372036854775807",
    "'s'",
    "\"t\"",
    "@'v'",
    "1d",
    "2h",
    "datetime(2024-01-01)",
    "timespan(1.02:03:04)",
    "dynamic([1, 'a', {'k': 2}])",
    "dynamic({'a': [1, 2]})",
    "guid(00000000-0000-0000-0000-000000000001)",
    "decimal(1.5)",
    "real(nan)",
    "int(null)",
    "true",
    "count()",
    "countif(",
    "dcount(",
    "sum(",
    "avg(",
    "min(",
    "max(",
    "make_list(",
    "make_set(",
    "make_bag(",
    "arg_max(",
    "take_any(",
    "percentile(",
    "percentiles(",
    "stdev(",
    "variance(",
    "hll(",
    "strcat(",
    "strlen(",
    "substring(",
    "tostring(",
    "toint(",
    "todouble(",
    "todatetime(",
    "bin(",
    "iff(",
    "case(",
    "coalesce(",
    "pack_array(",
    "bag_pack(",
    "array_length(",
    "parse_json(",
    "split(",
    "extract(",
    "replace_string(",
    "now(",
    "ago(",
    "startofday(",
    "datetime_add('day', ",
    "prev(",
    "next(",
    "row_cumsum(",
    "range(",
    "*",
];

/// A query from the token soup: each byte picks a fragment.
fn soup(bytes: &[u8]) -> String {
    let mut out = String::new();
    for &b in bytes.iter().take(256) {
        out.push_str(VOCABULARY[usize::from(b) % VOCABULARY.len()]);
        out.push(' ');
    }
    out
}

/// `emulator_kql`: the first byte picks raw text (odd) or the token soup (even) for the rest;
/// the query runs against a store with one table of every type. Never a panic; an answer's
/// tables have rows as wide as their columns. Inputs whose soup opens many parentheses also
/// check that deep nesting ends in a typed error.
pub fn emulator_kql(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let query = if selector % 2 == 1 {
        match std::str::from_utf8(rest) {
            Ok(q) => q.to_string(),
            Err(_) => return,
        }
    } else {
        soup(rest)
    };
    let store = crate::seeded_store();
    if let Ok(tables) = emu::query_shapes(&store, crate::DB, &query) {
        for t in tables {
            for w in &t.row_widths {
                assert_eq!(
                    *w, t.columns,
                    "a row of {w} cells in a table of {} columns: {query:?}",
                    t.columns
                );
            }
        }
    }
    if selector == 0 && !rest.is_empty() {
        // Nesting as deep as the input is long (times 64): an answer or a typed error.
        let depth = rest.len() * 64;
        let nested = format!("print {}1{}", "(".repeat(depth), ")".repeat(depth));
        let _ = emu::query_shapes(&store, crate::DB, &nested);
    }
}
