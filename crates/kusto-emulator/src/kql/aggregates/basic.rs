//! Counting and arithmetic aggregates: `count`, `countif`, `dcount`, `dcountif`,
//! `count_distinct`, `count_distinctif`, `sum`, `sumif`, `avg`, `avgif`, `min`, `max`, `minif`,
//! `maxif`. `dcount` is exact here (the service estimates with HyperLogLog).

use std::cmp::Ordering;
use std::collections::HashSet;

use super::{Accumulator, AggRegistry, AggSetup, is_true, named};
use crate::kql::functions::params;
use crate::kql::functions::{ANY, BOOL, DATETIME, INTEGER, NUMBER, SCALAR, TIMESPAN, opt, p};
use crate::kql::scalar::{as_f64, as_i64, compare, key_text};
use crate::value::{Decimal, KustoType, Value};

/// `count()`, `countif(p)`: rows (with a predicate: rows where it is true).
struct Count {
    n: i64,
    predicate: bool,
}

impl Accumulator for Count {
    fn add(&mut self, args: &[Value]) {
        let counted = if self.predicate {
            is_true(args.first())
        } else {
            args.first().is_none_or(|v| !v.is_null())
        };
        if counted {
            self.n += 1;
        }
    }
    fn finish(&self) -> Vec<Value> {
        vec![Value::Long(self.n)]
    }
}

/// Distinct non-null values (with a predicate in the second argument).
struct Distinct {
    seen: HashSet<String>,
    predicate: bool,
}

impl Accumulator for Distinct {
    fn add(&mut self, args: &[Value]) {
        let Some(v) = args.first() else { return };
        if v.is_null() || self.predicate && !is_true(args.get(1)) {
            return;
        }
        let mut key = String::new();
        key_text(std::slice::from_ref(v), &mut key);
        self.seen.insert(key);
    }
    fn finish(&self) -> Vec<Value> {
        vec![Value::Long(
            i64::try_from(self.seen.len()).unwrap_or(i64::MAX),
        )]
    }
}

/// `sum`, `sumif` and `avg`, `avgif` in the type of the input.
struct Sum {
    ty: KustoType,
    long: i64,
    real: f64,
    decimal: Option<Decimal>,
    n: usize,
    predicate: bool,
    average: bool,
}

impl Accumulator for Sum {
    fn add(&mut self, args: &[Value]) {
        let Some(v) = args.first() else { return };
        if v.is_null() || self.predicate && !is_true(args.get(1)) {
            return;
        }
        self.n += 1;
        match v {
            Value::TimeSpan(t) | Value::DateTime(t) => self.long = self.long.wrapping_add(*t),
            Value::Decimal(d) => {
                self.decimal = match self.decimal {
                    None => Some(*d),
                    Some(acc) => acc.checked_add(*d),
                }
            }
            other => {
                if let Some(i) = as_i64(other) {
                    self.long = self.long.wrapping_add(i);
                }
                if let Some(f) = as_f64(other) {
                    self.real += f;
                }
            }
        }
    }
    fn finish(&self) -> Vec<Value> {
        let n = self.n;
        let v = if self.average {
            if n == 0 {
                Value::Null
            } else {
                match self.ty {
                    KustoType::TimeSpan => Value::TimeSpan(self.long / n as i64),
                    KustoType::DateTime => Value::DateTime(self.long / n as i64),
                    KustoType::Decimal => self
                        .decimal
                        .and_then(|d| d.checked_div(Decimal::from_i64(n as i64)))
                        .map_or(Value::Null, Value::Decimal),
                    _ => Value::Real(self.real / n as f64),
                }
            }
        } else {
            match self.ty {
                KustoType::Int | KustoType::Long => Value::Long(self.long),
                KustoType::TimeSpan => Value::TimeSpan(self.long),
                KustoType::Decimal => Value::Decimal(self.decimal.unwrap_or(Decimal::from_i64(0))),
                _ => Value::Real(self.real),
            }
        };
        vec![v]
    }
}

/// `min`, `max`, `minif`, `maxif`.
struct Extreme {
    best: Option<Value>,
    want: Ordering,
    predicate: bool,
}

impl Accumulator for Extreme {
    fn add(&mut self, args: &[Value]) {
        let Some(v) = args.first() else { return };
        if v.is_null() || self.predicate && !is_true(args.get(1)) {
            return;
        }
        let better = match &self.best {
            None => true,
            Some(b) => compare(v, b) == Some(self.want),
        };
        if better {
            self.best = Some(v.clone());
        }
    }
    fn finish(&self) -> Vec<Value> {
        vec![self.best.clone().unwrap_or(Value::Null)]
    }
}

fn sum_type(t: KustoType) -> KustoType {
    match t {
        KustoType::Int | KustoType::Long => KustoType::Long,
        KustoType::TimeSpan | KustoType::Decimal => t,
        _ => KustoType::Real,
    }
}

fn avg_type(t: KustoType) -> KustoType {
    match t {
        KustoType::TimeSpan | KustoType::DateTime | KustoType::Decimal => t,
        _ => KustoType::Real,
    }
}

fn sum(setup: &AggSetup, predicate: bool, average: bool) -> Box<dyn Accumulator> {
    Box::new(Sum {
        ty: setup.ty(0),
        long: 0,
        real: 0.0,
        decimal: None,
        n: 0,
        predicate,
        average,
    })
}

fn extreme(want: Ordering, predicate: bool) -> Box<dyn Accumulator> {
    Box::new(Extreme {
        best: None,
        want,
        predicate,
    })
}

fn distinct(predicate: bool) -> Box<dyn Accumulator> {
    Box::new(Distinct {
        seen: HashSet::new(),
        predicate,
    })
}

pub(super) fn register(r: &mut AggRegistry) {
    const SUMMABLE: crate::kql::functions::Types = NUMBER.or(TIMESPAN);
    const AVERAGEABLE: crate::kql::functions::Types = NUMBER.or(TIMESPAN).or(DATETIME);
    r.add(
        "count",
        params![opt("expr", ANY)],
        |s| Ok(named("count", s, KustoType::Long)),
        |_| {
            Box::new(Count {
                n: 0,
                predicate: false,
            })
        },
    );
    r.add(
        "countif",
        params![p("predicate", BOOL)],
        |_| Ok(vec![("countif_".into(), KustoType::Long)]),
        |_| {
            Box::new(Count {
                n: 0,
                predicate: true,
            })
        },
    );
    r.add(
        "dcount",
        params![p("expr", SCALAR), opt("accuracy", INTEGER)],
        |s| Ok(named("dcount", s, KustoType::Long)),
        |_| distinct(false),
    );
    r.add(
        "dcountif",
        params![
            p("expr", SCALAR),
            p("predicate", BOOL),
            opt("accuracy", INTEGER)
        ],
        |s| Ok(named("dcountif", s, KustoType::Long)),
        |_| distinct(true),
    );
    r.add(
        "count_distinct",
        params![p("expr", SCALAR)],
        |s| Ok(named("count_distinct", s, KustoType::Long)),
        |_| distinct(false),
    );
    r.add(
        "count_distinctif",
        params![p("expr", SCALAR), p("predicate", BOOL)],
        |s| Ok(named("count_distinctif", s, KustoType::Long)),
        |_| distinct(true),
    );
    r.add(
        "sum",
        params![p("expr", SUMMABLE)],
        |s| Ok(named("sum", s, sum_type(s.ty(0)))),
        |s| sum(s, false, false),
    );
    r.add(
        "sumif",
        params![p("expr", SUMMABLE), p("predicate", BOOL)],
        |s| Ok(named("sumif", s, sum_type(s.ty(0)))),
        |s| sum(s, true, false),
    );
    r.add(
        "avg",
        params![p("expr", AVERAGEABLE)],
        |s| Ok(named("avg", s, avg_type(s.ty(0)))),
        |s| sum(s, false, true),
    );
    r.add(
        "avgif",
        params![p("expr", AVERAGEABLE), p("predicate", BOOL)],
        |s| Ok(named("avgif", s, avg_type(s.ty(0)))),
        |s| sum(s, true, true),
    );
    r.add(
        "min",
        params![p("expr", SCALAR)],
        |s| Ok(named("min", s, s.ty(0))),
        |_| extreme(Ordering::Less, false),
    );
    r.add(
        "max",
        params![p("expr", SCALAR)],
        |s| Ok(named("max", s, s.ty(0))),
        |_| extreme(Ordering::Greater, false),
    );
    r.add(
        "minif",
        params![p("expr", SCALAR), p("predicate", BOOL)],
        |s| Ok(named("minif", s, s.ty(0))),
        |_| extreme(Ordering::Less, true),
    );
    r.add(
        "maxif",
        params![p("expr", SCALAR), p("predicate", BOOL)],
        |s| Ok(named("maxif", s, s.ty(0))),
        |_| extreme(Ordering::Greater, true),
    );
}
