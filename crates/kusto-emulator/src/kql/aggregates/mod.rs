//! The registry of aggregation functions (`summarize`, `make-series`, `top-nested`): one entry
//! per function with its parameters, the columns it produces (names and types, as Kusto names
//! them: `count_`, `sum_x`, `list_x`, `percentile_x_50`, ...) and a constructor of its
//! accumulator. Families live in their own files (`basic.rs`, `collect.rs`, `stats.rs`), each
//! with a `register` function.

mod basic;
mod collect;
mod stats;

use std::collections::HashMap;
use std::sync::OnceLock;

use super::functions::Param;
use crate::value::{KustoType, Value};

/// Accumulates the rows of one group and gives the aggregate's value(s).
pub(crate) trait Accumulator {
    /// Adds one row: the aggregate's evaluated arguments.
    fn add(&mut self, args: &[Value]);
    /// The result columns' values (one per output column).
    fn finish(&self) -> Vec<Value>;
}

/// What an aggregate's outputs and accumulator depend on.
#[derive(Debug, Clone)]
pub(crate) struct AggSetup {
    /// The argument types.
    pub(crate) types: Vec<KustoType>,
    /// Each argument's derived name (`x` for `x`, `a_b` for `a.b`, empty when none).
    pub(crate) names: Vec<String>,
    /// Each argument's value when it is a constant.
    pub(crate) consts: Vec<Option<Value>>,
}

impl AggSetup {
    /// The derived name of argument `i` (empty when none).
    pub(crate) fn name(&self, i: usize) -> &str {
        self.names.get(i).map_or("", String::as_str)
    }

    /// The type of argument `i` (`string` when absent).
    pub(crate) fn ty(&self, i: usize) -> KustoType {
        self.types.get(i).copied().unwrap_or(KustoType::String)
    }

    /// A constant integer argument.
    pub(crate) fn const_int(&self, i: usize) -> Option<i64> {
        self.consts
            .get(i)
            .and_then(Option::as_ref)
            .and_then(super::scalar::as_i64)
    }
}

/// The result columns (names and types), or an error message.
pub(crate) type Outputs = fn(&AggSetup) -> Result<Vec<(String, KustoType)>, String>;
/// Builds an accumulator.
pub(crate) type New = fn(&AggSetup) -> Box<dyn Accumulator>;

/// One aggregation function.
pub(crate) struct AggregateDef {
    pub(crate) name: &'static str,
    pub(crate) params: &'static [Param],
    pub(crate) variadic: bool,
    /// `arg_max(x, *)`-style: `*` expands to every input column.
    pub(crate) star: bool,
    /// Parameters that must be constants (by index).
    pub(crate) constant: &'static [usize],
    pub(crate) outputs: Outputs,
    pub(crate) new: New,
}

impl std::fmt::Debug for AggregateDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AggregateDef({})", self.name)
    }
}

impl AggregateDef {
    /// Whether the aggregate takes `n` arguments.
    pub(crate) fn takes(&self, n: usize) -> bool {
        let required = self.params.iter().filter(|p| !p.optional).count();
        n >= required && (n <= self.params.len() || self.variadic)
    }

    /// Whether argument `i` may have type `t`.
    pub(crate) fn accepts(&self, i: usize, t: KustoType) -> bool {
        let param = self
            .params
            .get(i)
            .or_else(|| self.variadic.then(|| self.params.last()).flatten());
        param.is_some_and(|p| {
            p.types.contains(t)
                || t == KustoType::Dynamic
                || t == KustoType::Int && p.types.contains(KustoType::Long)
                || matches!(t, KustoType::Int | KustoType::Long)
                    && p.types.contains(KustoType::Real)
        })
    }
}

/// The registry of aggregation functions.
#[derive(Default)]
pub(crate) struct AggRegistry {
    aggregates: HashMap<&'static str, AggregateDef>,
}

impl std::fmt::Debug for AggRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AggRegistry({} aggregates)", self.aggregates.len())
    }
}

impl AggRegistry {
    /// Adds an aggregate with `outputs` and `new`; adjust the returned entry for `*`, variadic
    /// parameters or constants.
    pub(crate) fn add(
        &mut self,
        name: &'static str,
        params: &'static [Param],
        outputs: Outputs,
        new: New,
    ) -> &mut AggregateDef {
        self.aggregates
            .entry(name)
            .insert_entry(AggregateDef {
                name,
                params,
                variadic: false,
                star: false,
                constant: &[],
                outputs,
                new,
            })
            .into_mut()
    }

    pub(crate) fn get(&self, name: &str) -> Option<&AggregateDef> {
        self.aggregates.get(name)
    }

    /// Every aggregate's name, sorted.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn names(&self) -> Vec<&'static str> {
        let mut names: Vec<_> = self.aggregates.keys().copied().collect();
        names.sort_unstable();
        names
    }
}

impl AggregateDef {
    pub(crate) fn variadic(&mut self) -> &mut Self {
        self.variadic = true;
        self
    }

    pub(crate) fn star(&mut self) -> &mut Self {
        self.star = true;
        self
    }

    pub(crate) fn constant(&mut self, indexes: &'static [usize]) -> &mut Self {
        self.constant = indexes;
        self
    }
}

/// The registry of every aggregate, built once.
pub(crate) fn aggregates() -> &'static AggRegistry {
    static REGISTRY: OnceLock<AggRegistry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut r = AggRegistry::default();
        basic::register(&mut r);
        collect::register(&mut r);
        stats::register(&mut r);
        r
    })
}

/// One output column `prefix_name` of type `ty`.
pub(crate) fn named(prefix: &str, setup: &AggSetup, ty: KustoType) -> Vec<(String, KustoType)> {
    vec![(format!("{prefix}_{}", setup.name(0)), ty)]
}

/// Whether a predicate argument is true.
pub(crate) fn is_true(v: Option<&Value>) -> bool {
    matches!(v, Some(Value::Bool(true)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_aggregate_is_consistent() {
        let r = aggregates();
        assert!(r.names().len() >= 30);
        for name in r.names() {
            let def = r.get(name).unwrap_or_else(|| panic!("{name}"));
            assert_eq!(def.name, name);
            let first_optional = def.params.iter().position(|p| p.optional);
            if let Some(i) = first_optional {
                assert!(def.params[i..].iter().all(|p| p.optional), "{name}");
            }
            assert!(def.constant.iter().all(|&i| i < def.params.len()), "{name}");
        }
    }
}
