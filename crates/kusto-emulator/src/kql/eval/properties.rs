//! Property tests where semantics compose, over random tables (a fixed seed, so runs repeat):
//! `join kind=leftsemi` and `kind=leftanti` partition the left side; `summarize count() by k`
//! gives the group sizes; `inner` join rows are the left/right pairs with equal keys;
//! `innerunique` keeps one left row per key; `union` has every row of its inputs;
//! `order by` sorts and keeps the rows; `distinct` gives each combination once;
//! `mv-expand` of `make_list` gives the rows back.

use std::collections::HashMap;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::Map;

use super::run;
use crate::store::Store;
use crate::value::Value;

/// A random `datatable(k:long, v:long)` literal with keys in `0..keys` (some null).
fn table(rng: &mut StdRng, rows: usize, keys: i64) -> (String, Vec<(Option<i64>, i64)>) {
    let mut data = Vec::new();
    let mut text = String::from("datatable(k:long, v:long) [");
    for i in 0..rows {
        let k = if rng.random_range(0..10) == 0 {
            None
        } else {
            Some(rng.random_range(0..keys))
        };
        let v = rng.random_range(-100..100);
        if i > 0 {
            text.push_str(", ");
        }
        match k {
            Some(k) => text.push_str(&format!("{k}, {v}")),
            None => text.push_str(&format!("long(null), {v}")),
        }
        data.push((k, v));
    }
    text.push(']');
    (text, data)
}

fn rows(store: &Store, query: &str) -> Vec<Vec<Value>> {
    let mut tables =
        run(query, &Map::new(), store, "Db", 0).unwrap_or_else(|e| panic!("{query}: {e}"));
    tables.remove(0).rows
}

fn long(v: &Value) -> Option<i64> {
    match v {
        Value::Long(l) => Some(*l),
        _ => None,
    }
}

#[test]
fn semantics_compose() {
    let store = Store::new();
    store.ensure_database("Db").unwrap();
    let mut rng = StdRng::seed_from_u64(32);
    for round in 0..40 {
        let (ln, rn) = (rng.random_range(0..30), rng.random_range(0..30));
        let (left, ldata) = table(&mut rng, ln, 8);
        let (right, rdata) = table(&mut rng, rn, 8);
        let lets = format!("let L = {left}; let R = {right};");
        let matches = |k: Option<i64>| k.is_some() && rdata.iter().any(|(rk, _)| *rk == k);
        // leftsemi + leftanti partition the left side, in order.
        let semi = rows(&store, &format!("{lets} L | join kind=leftsemi R on k"));
        let anti = rows(&store, &format!("{lets} L | join kind=leftanti R on k"));
        assert_eq!(semi.len() + anti.len(), ldata.len(), "round {round}");
        let expected_semi: Vec<_> = ldata.iter().filter(|(k, _)| matches(*k)).collect();
        assert_eq!(semi.len(), expected_semi.len());
        for (row, (k, v)) in semi.iter().zip(&expected_semi) {
            assert_eq!((long(&row[0]), long(&row[1])), (*k, Some(*v)));
        }
        // summarize count() by k: the group sizes.
        let counts = rows(&store, &format!("{lets} L | summarize n = count() by k"));
        let mut expected: HashMap<Option<i64>, i64> = HashMap::new();
        for (k, _) in &ldata {
            *expected.entry(*k).or_default() += 1;
        }
        assert_eq!(counts.len(), expected.len());
        for row in &counts {
            assert_eq!(long(&row[1]), expected.get(&long(&row[0])).copied());
        }
        // inner join: every pair with equal (non-null) keys.
        let inner = rows(&store, &format!("{lets} L | join kind=inner R on k"));
        let pairs: usize = ldata
            .iter()
            .map(|(k, _)| {
                rdata
                    .iter()
                    .filter(|(rk, _)| k.is_some() && rk == k)
                    .count()
            })
            .sum();
        assert_eq!(inner.len(), pairs);
        assert!(inner.iter().all(|r| r[0] == r[2]));
        // innerunique: one left row per matching key.
        let unique = rows(
            &store,
            &format!("{lets} L | join R on k | summarize dcount(v) by k"),
        );
        assert!(unique.iter().all(|r| long(&r[1]) == Some(1)), "{unique:?}");
        // leftouter has every left row at least once; fullouter every row of both.
        let outer = rows(
            &store,
            &format!("{lets} L | join kind=leftouter R on k | count"),
        );
        let unmatched = ldata.iter().filter(|(k, _)| !matches(*k)).count();
        assert_eq!(long(&outer[0][0]), Some((pairs + unmatched) as i64));
        // union has every row of both, in order.
        let union = rows(&store, &format!("{lets} union L, R"));
        assert_eq!(union.len(), ldata.len() + rdata.len());
        // order by sorts (nulls last in descending order) and keeps the rows.
        let sorted = rows(&store, &format!("{lets} L | order by k desc, v asc"));
        assert_eq!(sorted.len(), ldata.len());
        for pair in sorted.windows(2) {
            let (a, b) = (long(&pair[0][0]), long(&pair[1][0]));
            assert!(b.is_none() || a >= b, "{a:?} before {b:?}");
        }
        // distinct: each combination once.
        let distinct = rows(&store, &format!("{lets} L | distinct k"));
        assert_eq!(distinct.len(), expected.len());
        // mv-expand undoes make_list.
        let back = rows(
            &store,
            &format!("{lets} L | summarize l = make_list(v) by k | mv-expand l | count"),
        );
        assert_eq!(long(&back[0][0]), Some(ldata.len() as i64));
    }
}
