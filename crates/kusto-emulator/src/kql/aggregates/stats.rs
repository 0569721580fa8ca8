//! Statistics: `stdev`, `stdevp`, `stdevif`, `variance`, `variancep`, `varianceif`,
//! `percentile`, `percentiles`, `percentiles_array`. Percentiles are exact here, by the
//! nearest-rank method over all values (the service estimates them with a t-digest): the value
//! at rank `ceil(p/100 * n)` of the sorted values (the smallest for `p = 0`).

use super::{Accumulator, AggRegistry, AggSetup, is_true, named};
use crate::kql::functions::params;
use crate::kql::functions::{BOOL, DATETIME, NUMBER, TIMESPAN, p};
use crate::kql::scalar::{as_f64, compare, format_real};
use crate::value::{KustoType, Value};

/// Variance and standard deviation (sample or population).
struct Moments {
    values: Vec<f64>,
    sample: bool,
    root: bool,
    predicate: bool,
}

impl Accumulator for Moments {
    fn add(&mut self, args: &[Value]) {
        if self.predicate && !is_true(args.get(1)) {
            return;
        }
        if let Some(x) = args.first().and_then(as_f64) {
            self.values.push(x);
        }
    }
    fn finish(&self) -> Vec<Value> {
        let n = self.values.len();
        if n == 0 {
            return vec![Value::Real(0.0)];
        }
        let mean = self.values.iter().sum::<f64>() / n as f64;
        let squares: f64 = self.values.iter().map(|x| (x - mean) * (x - mean)).sum();
        let divisor = if self.sample { n - 1 } else { n };
        let variance = if divisor == 0 {
            0.0
        } else {
            squares / divisor as f64
        };
        vec![Value::Real(if self.root {
            variance.sqrt()
        } else {
            variance
        })]
    }
}

/// The percentile values requested (constants), as reals.
fn levels(s: &AggSetup) -> Vec<f64> {
    s.consts
        .iter()
        .skip(1)
        .map(|c| c.as_ref().and_then(as_f64).unwrap_or(f64::NAN))
        .collect()
}

/// Nearest-rank percentiles of the non-null values.
struct Percentiles {
    values: Vec<Value>,
    levels: Vec<f64>,
    array: bool,
}

impl Accumulator for Percentiles {
    fn add(&mut self, args: &[Value]) {
        if let Some(v) = args.first()
            && !v.is_null()
        {
            self.values.push(v.clone());
        }
    }
    fn finish(&self) -> Vec<Value> {
        let mut sorted = self.values.clone();
        sorted.sort_by(|a, b| compare(a, b).unwrap_or(std::cmp::Ordering::Equal));
        let n = sorted.len();
        let pick = |level: f64| -> Value {
            if n == 0 || !(0.0..=100.0).contains(&level) {
                return Value::Null;
            }
            let rank = (level / 100.0 * n as f64).ceil() as usize;
            sorted.get(rank.max(1) - 1).cloned().unwrap_or(Value::Null)
        };
        let picked: Vec<Value> = self.levels.iter().map(|l| pick(*l)).collect();
        if self.array {
            vec![Value::Dynamic(serde_json::Value::Array(
                picked.iter().map(Value::to_json).collect(),
            ))]
        } else {
            picked
        }
    }
}

/// `50` for 50, `99_9` for 99.9.
fn level_name(level: f64) -> String {
    format_real(level).replace(['.', '-'], "_")
}

fn moments(sample: bool, root: bool, predicate: bool) -> Box<dyn Accumulator> {
    Box::new(Moments {
        values: Vec::new(),
        sample,
        root,
        predicate,
    })
}

fn check_levels(s: &AggSetup) -> Result<(), String> {
    if s.consts.iter().skip(1).any(Option::is_none) {
        return Err("the percentile must be a constant number".into());
    }
    Ok(())
}

pub(super) fn register(r: &mut AggRegistry) {
    const ARG: &[crate::kql::functions::Param] = params![p("expr", NUMBER)];
    const ARG_IF: &[crate::kql::functions::Param] =
        params![p("expr", NUMBER), p("predicate", BOOL)];
    r.add(
        "stdev",
        ARG,
        |s| Ok(named("stdev", s, KustoType::Real)),
        |_| moments(true, true, false),
    );
    r.add(
        "stdevp",
        ARG,
        |s| Ok(named("stdevp", s, KustoType::Real)),
        |_| moments(false, true, false),
    );
    r.add(
        "stdevif",
        ARG_IF,
        |s| Ok(named("stdevif", s, KustoType::Real)),
        |_| moments(true, true, true),
    );
    r.add(
        "variance",
        ARG,
        |s| Ok(named("variance", s, KustoType::Real)),
        |_| moments(true, false, false),
    );
    r.add(
        "variancep",
        ARG,
        |s| Ok(named("variancep", s, KustoType::Real)),
        |_| moments(false, false, false),
    );
    r.add(
        "varianceif",
        ARG_IF,
        |s| Ok(named("varianceif", s, KustoType::Real)),
        |_| moments(true, false, true),
    );
    const SORTABLE: crate::kql::functions::Types = NUMBER.or(DATETIME).or(TIMESPAN);
    const PCT: &[crate::kql::functions::Param] =
        params![p("expr", SORTABLE), p("percentile", NUMBER)];
    r.add(
        "percentile",
        PCT,
        |s| {
            check_levels(s)?;
            let level = levels(s).first().copied().unwrap_or(f64::NAN);
            Ok(vec![(
                format!("percentile_{}_{}", s.name(0), level_name(level)),
                s.ty(0),
            )])
        },
        |s| {
            Box::new(Percentiles {
                values: Vec::new(),
                levels: levels(s),
                array: false,
            })
        },
    )
    .constant(&[1]);
    r.add(
        "percentiles",
        PCT,
        |s| {
            check_levels(s)?;
            Ok(levels(s)
                .into_iter()
                .map(|l| {
                    (
                        format!("percentile_{}_{}", s.name(0), level_name(l)),
                        s.ty(0),
                    )
                })
                .collect())
        },
        |s| {
            Box::new(Percentiles {
                values: Vec::new(),
                levels: levels(s),
                array: false,
            })
        },
    )
    .variadic();
    r.add(
        "percentiles_array",
        PCT,
        |s| {
            check_levels(s)?;
            Ok(vec![(
                format!("percentiles_{}", s.name(0)),
                KustoType::Dynamic,
            )])
        },
        |s| {
            Box::new(Percentiles {
                values: Vec::new(),
                levels: levels(s),
                array: true,
            })
        },
    )
    .variadic();
}
