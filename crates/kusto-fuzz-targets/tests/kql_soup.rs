//! Stable-Rust smoke run of the `emulator_kql` target: random token soups (a fixed seed, so
//! runs repeat) through the emulator's KQL engine. The libFuzzer runs (`cargo +nightly fuzz run
//! emulator_kql`) explore far more; this keeps a broad sample in every `cargo test`.

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

#[test]
fn random_token_soups_never_panic() {
    let iterations: usize = std::env::var("KQL_SOUP_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let mut rng = Rng(0x5eed_0032);
    for _ in 0..iterations {
        let len = 2 + (rng.next() % 24) as usize;
        let mut data = vec![0u8];
        data.extend((0..len).map(|_| (rng.next() % 256) as u8));
        let outcome = std::panic::catch_unwind(|| kusto_fuzz_targets::emulator_kql(&data));
        assert!(outcome.is_ok(), "emulator_kql panicked on {data:?}");
    }
}

const SOURCES: &[&str] = &[
    "T",
    "range i from 1 to 7 step 2",
    "datatable(a:long, s:string, d:dynamic)[1, 'x', dynamic([1, 2]), 2, 'y', dynamic({'k': 3}), long(null), '', dynamic(null)]",
    "print a = 1, s = 'p', d = dynamic([4, 'z'])",
    "union T, (range i from 1 to 2 step 1)",
];

const OPERATORS: &[&str] = &[
    "where {c} == {c}",
    "where isnotnull({c})",
    "extend n = {f}({c})",
    "extend n = {c}, m = tostring({c})",
    "project {c}",
    "project-away {c}",
    "summarize count() by {c}",
    "summarize make_list({c}), dcount({c}), take_any({c})",
    "summarize arg_max({c}, *) by {c}",
    "order by {c} asc",
    "top 2 by {c}",
    "distinct {c}",
    "mv-expand {c}",
    "mv-expand x = pack_array({c}, {c}) to typeof(string)",
    "mv-apply v = pack_array({c}) on (take 1)",
    "join kind={k} (T) on $left.{c} == $right.{c}",
    "lookup (range i from 1 to 2 step 1) on $left.{c} == $right.i",
    "parse tostring({c}) with * '1' rest",
    "parse-kv tostring({c}) as (a:long) with (pair_delimiter=',', kv_delimiter='=')",
    "make-series count() on {c} step 1 by {c}",
    "top-nested 2 of {c} by count()",
    "serialize r = row_number(), p = prev({c}), c = row_cumsum(1)",
    "sample 2",
    "getschema",
    "evaluate bag_unpack({c})",
    "evaluate narrow()",
    "count",
    "take 1",
];

const COLUMNS: &[&str] = &[
    "a",
    "s",
    "d",
    "i",
    "c1_int",
    "c2_long",
    "c3_real",
    "c4_decimal",
    "c5_string",
    "c6_datetime",
    "c7_timespan",
    "c8_guid",
    "c9_dynamic",
    "Count",
    "n",
];
const FUNCTIONS: &[&str] = &[
    "tostring",
    "toint",
    "todouble",
    "strlen",
    "isnull",
    "array_length",
    "bag_keys",
    "todatetime",
    "totimespan",
    "tolong",
    "parse_json",
    "gettype",
    "bin",
];
const KINDS: &[&str] = &[
    "inner",
    "innerunique",
    "leftouter",
    "rightouter",
    "fullouter",
    "leftanti",
    "rightanti",
    "leftsemi",
    "rightsemi",
];

/// Pipelines assembled from valid pieces: deeper into binding and the operators than a soup.
#[test]
fn random_pipelines_never_panic() {
    let iterations: usize = std::env::var("KQL_SOUP_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let mut rng = Rng(0x0bad_cafe_0032);
    let mut pick = |list: &[&'static str]| list[(rng.next() % list.len() as u64) as usize];
    let store = kusto_fuzz_targets::seeded_store();
    let mut answered = 0;
    for _ in 0..iterations {
        let mut query = pick(SOURCES).to_string();
        let ops = (pick(&["0", "1", "2", "3", "4"]).as_bytes()[0] - b'0') as usize;
        for _ in 0..ops {
            let mut op = pick(OPERATORS).to_string();
            while let Some(i) = op.find("{c}") {
                op.replace_range(i..i + 3, pick(COLUMNS));
            }
            op = op
                .replace("{f}", pick(FUNCTIONS))
                .replace("{k}", pick(KINDS));
            query.push_str(" | ");
            query.push_str(&op);
        }
        let mut data = vec![1u8];
        data.extend_from_slice(query.as_bytes());
        let outcome = std::panic::catch_unwind(|| kusto_fuzz_targets::emulator_kql(&data));
        assert!(outcome.is_ok(), "emulator_kql panicked on {query:?}");
        let shapes = kusto_emulator::fuzz::query_shapes(&store, kusto_fuzz_targets::DB, &query);
        answered += usize::from(shapes.is_ok());
    }
    // The pieces fit often enough for the operators to run, not only the binder's errors.
    assert!(
        answered * 5 >= iterations,
        "only {answered} of {iterations} pipelines ran"
    );
}
