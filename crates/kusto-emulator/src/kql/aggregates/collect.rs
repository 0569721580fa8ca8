//! Aggregates that pick or collect values: `take_any`/`any`, `take_anyif`, `arg_max`,
//! `arg_min`, `make_list`, `make_list_if`, `make_list_with_nulls`, `make_set`, `make_set_if`,
//! `make_bag`, `make_bag_if`, `hll`, `hll_merge` (exact here: the "sketch" is the set of
//! distinct values, which `dcount_hll` counts).

use std::cmp::Ordering;
use std::collections::HashSet;

use serde_json::{Map, Value as Json};

use super::{Accumulator, AggRegistry, AggSetup, is_true};
use crate::kql::functions::params;
use crate::kql::functions::{ANY, BOOL, DYNAMIC, INTEGER, SCALAR, opt, p};
use crate::kql::scalar::{compare, key_text};
use crate::value::{KustoType, Value};

/// Largest number of elements `make_list`/`make_set` keep by default.
const DEFAULT_MAX: usize = 1_048_576;

/// `take_any`: the first row (with one argument, the first non-empty value).
struct TakeAny {
    picked: Option<Vec<Value>>,
    prefer_non_empty: bool,
    predicate: bool,
    width: usize,
}

impl Accumulator for TakeAny {
    fn add(&mut self, args: &[Value]) {
        let values = if self.predicate {
            if !is_true(args.last()) {
                return;
            }
            &args[..args.len().saturating_sub(1)]
        } else {
            args
        };
        let empty = |v: &Value| v.is_null() || matches!(v, Value::String(s) if s.is_empty());
        let replace = match &self.picked {
            None => true,
            Some(p) => self.prefer_non_empty && p.first().is_some_and(empty),
        };
        if replace && !(self.picked.is_some() && values.first().is_some_and(empty)) {
            self.picked = Some(values.to_vec());
        }
    }
    fn finish(&self) -> Vec<Value> {
        self.picked
            .clone()
            .unwrap_or_else(|| vec![Value::Null; self.width])
    }
}

/// `arg_max`/`arg_min`: the row where the first argument is largest/smallest.
struct ArgExtreme {
    best: Option<Vec<Value>>,
    want: Ordering,
    width: usize,
}

impl Accumulator for ArgExtreme {
    fn add(&mut self, args: &[Value]) {
        let Some(v) = args.first() else { return };
        if v.is_null() {
            return;
        }
        let better = match &self.best {
            None => true,
            Some(b) => b.first().is_some_and(|x| compare(v, x) == Some(self.want)),
        };
        if better {
            self.best = Some(args.to_vec());
        }
    }
    fn finish(&self) -> Vec<Value> {
        self.best
            .clone()
            .unwrap_or_else(|| vec![Value::Null; self.width])
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Collect {
    List,
    ListWithNulls,
    Set,
    Bag,
}

/// `make_list`, `make_set`, `make_bag` and their `_if` forms.
struct Collector {
    kind: Collect,
    predicate: bool,
    max: usize,
    items: Vec<Json>,
    bag: Map<String, Json>,
    seen: HashSet<String>,
}

impl Collector {
    fn push_set(&mut self, j: Json) {
        if self.items.len() >= self.max {
            return;
        }
        let mut key = String::new();
        key_text(&[Value::Dynamic(j.clone())], &mut key);
        if self.seen.insert(key) {
            self.items.push(j);
        }
    }
}

impl Accumulator for Collector {
    fn add(&mut self, args: &[Value]) {
        let Some(v) = args.first() else { return };
        if self.predicate && !is_true(args.get(1)) {
            return;
        }
        if v.is_null() && self.kind != Collect::ListWithNulls {
            return;
        }
        match self.kind {
            Collect::List | Collect::ListWithNulls => {
                if self.items.len() < self.max {
                    self.items.push(v.to_json());
                }
            }
            Collect::Set => match v {
                // The elements of an array are added one by one.
                Value::Dynamic(Json::Array(items)) => {
                    for item in items.clone() {
                        self.push_set(item);
                    }
                }
                other => self.push_set(other.to_json()),
            },
            Collect::Bag => {
                if let Value::Dynamic(Json::Object(map)) = v {
                    for (k, val) in map {
                        if self.bag.len() < self.max && !self.bag.contains_key(k) {
                            self.bag.insert(k.clone(), val.clone());
                        }
                    }
                }
            }
        }
    }
    fn finish(&self) -> Vec<Value> {
        vec![Value::Dynamic(match self.kind {
            Collect::Bag => Json::Object(self.bag.clone()),
            _ => Json::Array(self.items.clone()),
        })]
    }
}

fn collector(kind: Collect, predicate: bool, setup: &AggSetup) -> Box<dyn Accumulator> {
    let max_at = if predicate { 2 } else { 1 };
    let max = setup
        .const_int(max_at)
        .and_then(|m| usize::try_from(m).ok())
        .unwrap_or(DEFAULT_MAX);
    Box::new(Collector {
        kind,
        predicate,
        max,
        items: Vec::new(),
        bag: Map::new(),
        seen: HashSet::new(),
    })
}

fn set_collector() -> Collector {
    Collector {
        kind: Collect::Set,
        predicate: false,
        max: DEFAULT_MAX,
        items: Vec::new(),
        bag: Map::new(),
        seen: HashSet::new(),
    }
}

/// The distinct values an `hll` "sketch" holds.
struct Hll {
    inner: Collector,
    merge: bool,
}

impl Accumulator for Hll {
    fn add(&mut self, args: &[Value]) {
        let Some(v) = args.first() else { return };
        if self.merge {
            if let Value::Dynamic(Json::Object(map)) = v
                && let Some(Json::Array(items)) = map.get("hll_values")
            {
                for item in items.clone() {
                    self.inner.push_set(item);
                }
            }
        } else if !v.is_null() {
            self.inner.push_set(v.to_json());
        }
    }
    fn finish(&self) -> Vec<Value> {
        let mut map = Map::new();
        map.insert("hll_values".into(), Json::Array(self.inner.items.clone()));
        vec![Value::Dynamic(Json::Object(map))]
    }
}

/// The columns of `arg_max(x, a, b)`: `x`, `a`, `b` (by their names).
fn arg_outputs(prefix: &str, s: &AggSetup) -> Vec<(String, KustoType)> {
    (0..s.types.len())
        .map(|i| {
            let name = if s.name(i).is_empty() {
                if i == 0 {
                    format!("{prefix}_")
                } else {
                    format!("{prefix}_{i}")
                }
            } else {
                s.name(i).to_string()
            };
            (name, s.ty(i))
        })
        .collect()
}

pub(super) fn register(r: &mut AggRegistry) {
    r.add(
        "take_any",
        params![p("expr", ANY)],
        |s| Ok(arg_outputs("take_any", s)),
        |s| {
            Box::new(TakeAny {
                picked: None,
                prefer_non_empty: s.types.len() == 1,
                predicate: false,
                width: s.types.len(),
            })
        },
    )
    .variadic()
    .star();
    r.add(
        "any",
        params![p("expr", ANY)],
        |s| {
            Ok(arg_outputs("any", s)
                .into_iter()
                .map(|(n, t)| (format!("any_{n}"), t))
                .collect())
        },
        |s| {
            Box::new(TakeAny {
                picked: None,
                prefer_non_empty: s.types.len() == 1,
                predicate: false,
                width: s.types.len(),
            })
        },
    )
    .variadic()
    .star();
    r.add(
        "take_anyif",
        params![p("expr", ANY), p("predicate", BOOL)],
        |s| Ok(arg_outputs("take_anyif", s).into_iter().take(1).collect()),
        |_| {
            Box::new(TakeAny {
                picked: None,
                prefer_non_empty: true,
                predicate: true,
                width: 1,
            })
        },
    );
    for (name, want) in [("arg_max", Ordering::Greater), ("arg_min", Ordering::Less)] {
        let new: super::New = if want == Ordering::Greater {
            |s| {
                Box::new(ArgExtreme {
                    best: None,
                    want: Ordering::Greater,
                    width: s.types.len(),
                })
            }
        } else {
            |s| {
                Box::new(ArgExtreme {
                    best: None,
                    want: Ordering::Less,
                    width: s.types.len(),
                })
            }
        };
        let outputs: super::Outputs = if want == Ordering::Greater {
            |s| Ok(arg_outputs("max", s))
        } else {
            |s| Ok(arg_outputs("min", s))
        };
        r.add(
            name,
            params![p("expr", SCALAR), p("column", ANY)],
            outputs,
            new,
        )
        .variadic()
        .star();
    }
    let lists: [(&'static str, &'static str, Collect, bool); 7] = [
        ("make_list", "list", Collect::List, false),
        ("make_list_if", "list", Collect::List, true),
        (
            "make_list_with_nulls",
            "list",
            Collect::ListWithNulls,
            false,
        ),
        ("make_set", "set", Collect::Set, false),
        ("make_set_if", "set", Collect::Set, true),
        ("make_bag", "bag", Collect::Bag, false),
        ("make_bag_if", "bag", Collect::Bag, true),
    ];
    for (name, prefix, kind, predicate) in lists {
        const PLAIN: &[crate::kql::functions::Param] =
            params![p("expr", ANY), opt("maxSize", INTEGER)];
        const IF: &[crate::kql::functions::Param] = params![
            p("expr", ANY),
            p("predicate", BOOL),
            opt("maxSize", INTEGER)
        ];
        let outputs: super::Outputs = match prefix {
            "list" => |s| Ok(vec![(format!("list_{}", s.name(0)), KustoType::Dynamic)]),
            "set" => |s| Ok(vec![(format!("set_{}", s.name(0)), KustoType::Dynamic)]),
            _ => |s| Ok(vec![(format!("bag_{}", s.name(0)), KustoType::Dynamic)]),
        };
        let new: super::New = match (kind, predicate) {
            (Collect::List, false) => |s| collector(Collect::List, false, s),
            (Collect::List, true) => |s| collector(Collect::List, true, s),
            (Collect::ListWithNulls, _) => |s| collector(Collect::ListWithNulls, false, s),
            (Collect::Set, false) => |s| collector(Collect::Set, false, s),
            (Collect::Set, true) => |s| collector(Collect::Set, true, s),
            (Collect::Bag, false) => |s| collector(Collect::Bag, false, s),
            (Collect::Bag, true) => |s| collector(Collect::Bag, true, s),
        };
        r.add(name, if predicate { IF } else { PLAIN }, outputs, new)
            .constant(if predicate { &[2] } else { &[1] });
    }
    r.add(
        "hll",
        params![p("expr", SCALAR), opt("accuracy", INTEGER)],
        |s| Ok(vec![(format!("hll_{}", s.name(0)), KustoType::Dynamic)]),
        |_| {
            Box::new(Hll {
                inner: set_collector(),
                merge: false,
            })
        },
    );
    r.add(
        "hll_merge",
        params![p("hll", DYNAMIC)],
        |s| {
            Ok(vec![(
                format!("hll_merge_{}", s.name(0)),
                KustoType::Dynamic,
            )])
        },
        |_| {
            Box::new(Hll {
                inner: set_collector(),
                merge: true,
            })
        },
    );
}
