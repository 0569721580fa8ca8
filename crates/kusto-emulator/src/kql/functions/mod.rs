//! The registry of scalar functions: one entry per function (name, parameters with the types
//! each accepts, result type, null rule, column-naming rule, implementation). Each family of
//! functions lives in its own file with a `register` function; [`registry`] calls them all.
//!
//! Adding a function is one entry in its family's `register` (see docs/emulator-kql.md):
//!
//! ```text
//! r.add("strlen", params![p("source", STRING)], Ret::Fixed(KustoType::Long), |a, _| {
//!     Value::Long(text(&a[0]).chars().count() as i64)
//! });
//! ```
//!
//! A function whose name is registered several times has overloads: the first entry whose
//! parameters accept the argument types is used.

mod arrays;
mod bags;
mod bits;
mod conversions;
mod datetime;
mod datetime_calc;
mod datetime_format;
mod datetime_zones;
mod dynamic;
mod geo;
mod logic;
mod math;
mod network;
mod numbers;
mod series;
mod series_fit;
mod sets;
mod strings;
pub(crate) mod text_common;
mod text_encode;
mod text_hash;
mod text_misc;
mod text_regex;
mod text_url;
mod text_xml;

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::OnceLock;

use crate::value::{KustoType, Value};

/// The scalar functions of the KQL documentation (`documented.txt`: one name per line, `#`
/// comments), whether or not the emulator runs them.
const DOCUMENTED: &str = include_str!("documented.txt");

/// The documented scalar function names, in file order.
pub(crate) fn documented() -> impl Iterator<Item = &'static str> {
    DOCUMENTED
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

/// Whether `name` is a scalar function of the KQL documentation.
pub(crate) fn is_documented(name: &str) -> bool {
    static SET: OnceLock<std::collections::HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| documented().collect()).contains(name)
}

/// A set of Kusto types, as a bit set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Types(u16);

impl Types {
    pub(crate) const fn of(t: KustoType) -> Types {
        Types(1 << (t as u16))
    }

    pub(crate) const fn or(self, other: Types) -> Types {
        Types(self.0 | other.0)
    }

    pub(crate) fn contains(self, t: KustoType) -> bool {
        self.0 & (1 << (t as u16)) != 0
    }

    /// The types in the set, in documentation order.
    pub(crate) fn names(self) -> Vec<&'static str> {
        KustoType::ALL
            .iter()
            .filter(|t| self.contains(**t))
            .map(|t| t.name())
            .collect()
    }
}

pub(crate) const BOOL: Types = Types::of(KustoType::Bool);
pub(crate) const INT: Types = Types::of(KustoType::Int);
pub(crate) const LONG: Types = Types::of(KustoType::Long);
pub(crate) const REAL: Types = Types::of(KustoType::Real);
pub(crate) const DECIMAL: Types = Types::of(KustoType::Decimal);
pub(crate) const STRING: Types = Types::of(KustoType::String);
pub(crate) const DATETIME: Types = Types::of(KustoType::DateTime);
pub(crate) const TIMESPAN: Types = Types::of(KustoType::TimeSpan);
pub(crate) const GUID: Types = Types::of(KustoType::Guid);
pub(crate) const DYNAMIC: Types = Types::of(KustoType::Dynamic);
/// `int` and `long`.
pub(crate) const INTEGER: Types = INT.or(LONG);
/// `int`, `long`, `real`, `decimal`.
pub(crate) const NUMBER: Types = INTEGER.or(REAL).or(DECIMAL);
/// Every type but `dynamic`.
pub(crate) const SCALAR: Types = NUMBER
    .or(BOOL)
    .or(STRING)
    .or(DATETIME)
    .or(TIMESPAN)
    .or(GUID);
/// Every type.
pub(crate) const ANY: Types = SCALAR.or(DYNAMIC);

/// A declared parameter.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Param {
    pub(crate) name: &'static str,
    pub(crate) types: Types,
    pub(crate) optional: bool,
}

/// A `&'static [Param]` from parameter expressions (`params![p("x", STRING), opt(...)]`).
macro_rules! params {
    ($($param:expr),* $(,)?) => {{
        const PARAMS: &[$crate::kql::functions::Param] = &[$($param),*];
        PARAMS
    }};
}
pub(crate) use params;

/// A required parameter.
pub(crate) const fn p(name: &'static str, types: Types) -> Param {
    Param {
        name,
        types,
        optional: false,
    }
}

/// An optional parameter.
pub(crate) const fn opt(name: &'static str, types: Types) -> Param {
    Param {
        name,
        types,
        optional: true,
    }
}

/// How the result type follows from the argument types.
#[derive(Clone, Copy)]
pub(crate) enum Ret {
    Fixed(KustoType),
    /// The type of argument `i`.
    Arg(usize),
    /// Computed (also for checks beyond the parameter types); an error message when the
    /// arguments do not fit.
    Custom(fn(&[KustoType]) -> Result<KustoType, String>),
}

/// What a null argument does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Nulls {
    /// A null in any argument makes the result null without calling the implementation.
    Propagate,
    /// The implementation sees nulls.
    Handled,
}

/// How a column computed by the function is named when the query gives no name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Naming {
    /// `Column1`, `print_0`, ...
    Default,
    /// After its first argument (`bin(Timestamp, 1h)` is `Timestamp`).
    FirstArg,
}

/// What an implementation may use besides its arguments.
#[derive(Debug, Default)]
pub(crate) struct Env {
    /// The query's time (`now()`), in ticks.
    pub(crate) now: i64,
    /// Compiled regular expressions by pattern.
    regexes: RefCell<HashMap<String, Option<regex::Regex>>>,
}

impl Env {
    pub(crate) fn new(now: i64) -> Self {
        Env {
            now,
            regexes: RefCell::new(HashMap::new()),
        }
    }

    /// Runs `f` with the compiled `pattern` (`None` when it is not a valid regular expression).
    pub(crate) fn with_regex<R>(
        &self,
        pattern: &str,
        f: impl FnOnce(Option<&regex::Regex>) -> R,
    ) -> R {
        let mut cache = self.regexes.borrow_mut();
        if cache.len() > 256 {
            cache.clear();
        }
        let compiled = cache.entry(pattern.to_string()).or_insert_with(|| {
            regex::RegexBuilder::new(pattern)
                .size_limit(1 << 22)
                .build()
                .ok()
        });
        f(compiled.as_ref())
    }
}

/// A function's implementation: its (evaluated) arguments to its value.
pub(crate) type Impl = fn(&[Value], &Env) -> Value;

/// A check of constant arguments at bind time (`Some` for each argument that is a constant):
/// an error message when they are invalid.
pub(crate) type Check = fn(&[Option<&Value>]) -> Result<(), String>;

/// One scalar function (or one overload of it).
pub(crate) struct FunctionDef {
    pub(crate) name: &'static str,
    pub(crate) params: &'static [Param],
    /// The last parameter repeats (`strcat(a, b, ...)`), up to 64 arguments.
    pub(crate) variadic: bool,
    pub(crate) ret: Ret,
    pub(crate) nulls: Nulls,
    pub(crate) naming: Naming,
    pub(crate) check: Option<Check>,
    /// The same arguments always give the same value (calls on constants are folded).
    pub(crate) pure: bool,
    pub(crate) eval: Impl,
}

impl std::fmt::Debug for FunctionDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FunctionDef({})", self.name)
    }
}

impl FunctionDef {
    /// Whether the function takes `n` arguments.
    pub(crate) fn takes(&self, n: usize) -> bool {
        let required = self.params.iter().filter(|p| !p.optional).count();
        n >= required && (n <= self.params.len() || self.variadic && n <= 64)
    }

    /// The parameter that argument `i` binds to.
    pub(crate) fn param(&self, i: usize) -> Option<&Param> {
        self.params
            .get(i)
            .or_else(|| self.variadic.then(|| self.params.last()).flatten())
    }

    /// Whether the function accepts these argument types: each is one the parameter takes, or
    /// widens to one (`int` to `long` to `real`), or is `dynamic` (its value is converted).
    pub(crate) fn accepts(&self, types: &[KustoType]) -> bool {
        self.takes(types.len())
            && types.iter().enumerate().all(|(i, t)| {
                self.param(i).is_some_and(|p| {
                    let ts = p.types;
                    ts.contains(*t)
                        || *t == KustoType::Dynamic
                        || *t == KustoType::Int && ts.contains(KustoType::Long)
                        || matches!(t, KustoType::Int | KustoType::Long)
                            && (ts.contains(KustoType::Real) || ts.contains(KustoType::Decimal))
                })
            })
    }

    /// The result type for these argument types.
    pub(crate) fn result_type(&self, types: &[KustoType]) -> Result<KustoType, String> {
        match self.ret {
            Ret::Fixed(t) => Ok(t),
            Ret::Arg(i) => types
                .get(i)
                .copied()
                .ok_or_else(|| format!("{}(): missing argument", self.name)),
            Ret::Custom(f) => f(types),
        }
    }

    /// Calls the function (applying its null rule).
    pub(crate) fn call(&self, args: &[Value], env: &Env) -> Value {
        let value =
            if self.nulls == Nulls::Propagate && args.iter().any(|a| matches!(a, Value::Null)) {
                Value::Null
            } else {
                (self.eval)(args, env)
            };
        // Strings are never null: a string function's null is the empty string.
        match (value, self.ret) {
            (Value::Null, Ret::Fixed(KustoType::String)) => Value::String(String::new()),
            (v, _) => v,
        }
    }
}

/// The registry: functions by name (several entries for overloads).
#[derive(Default)]
pub(crate) struct Registry {
    functions: HashMap<&'static str, Vec<FunctionDef>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Registry({} functions)", self.functions.len())
    }
}

impl Registry {
    /// Adds a function (or an overload) whose nulls propagate and whose column is named by
    /// default; the returned entry can be adjusted (`.handles_nulls()`, `.variadic()`, ...).
    pub(crate) fn add(
        &mut self,
        name: &'static str,
        params: &'static [Param],
        ret: Ret,
        eval: Impl,
    ) -> &mut FunctionDef {
        let list = self.functions.entry(name).or_default();
        list.push(FunctionDef {
            name,
            params,
            variadic: false,
            ret,
            nulls: Nulls::Propagate,
            naming: Naming::Default,
            check: None,
            pure: true,
            eval,
        });
        let last = list.len() - 1;
        &mut list[last]
    }

    /// The overloads of a function.
    pub(crate) fn get(&self, name: &str) -> Option<&[FunctionDef]> {
        self.functions.get(name).map(Vec::as_slice)
    }

    /// Every registered function name, sorted.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn names(&self) -> Vec<&'static str> {
        let mut names: Vec<_> = self.functions.keys().copied().collect();
        names.sort_unstable();
        names
    }
}

impl FunctionDef {
    /// The implementation sees null arguments.
    pub(crate) fn handles_nulls(&mut self) -> &mut Self {
        self.nulls = Nulls::Handled;
        self
    }

    /// The last parameter repeats.
    pub(crate) fn variadic(&mut self) -> &mut Self {
        self.variadic = true;
        self
    }

    /// An unnamed column computed by the function is named after its first argument.
    pub(crate) fn named_after_first_arg(&mut self) -> &mut Self {
        self.naming = Naming::FirstArg;
        self
    }

    /// The value may differ between calls with the same arguments (`rand()`, `new_guid()`):
    /// never folded into a constant.
    #[allow(dead_code)] // for the volatile functions of the scalar library (`rand`, `new_guid`)
    pub(crate) fn volatile(&mut self) -> &mut Self {
        self.pure = false;
        self
    }

    /// Checks constant arguments when the query is bound.
    pub(crate) fn check(&mut self, check: Check) -> &mut Self {
        self.check = Some(check);
        self
    }
}

/// The registry of every scalar function, built once.
pub(crate) fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut r = Registry::default();
        conversions::register(&mut r);
        logic::register(&mut r);
        strings::register(&mut r);
        text_regex::register(&mut r);
        text_misc::register(&mut r);
        text_encode::register(&mut r);
        text_hash::register(&mut r);
        text_url::register(&mut r);
        network::register(&mut r);
        text_xml::register(&mut r);
        numbers::register(&mut r);
        datetime::register(&mut r);
        dynamic::register(&mut r);
        bits::register(&mut r);
        math::register(&mut r);
        datetime_calc::register(&mut r);
        datetime_format::register(&mut r);
        datetime_zones::register(&mut r);
        arrays::register(&mut r);
        bags::register(&mut r);
        sets::register(&mut r);
        series::register(&mut r);
        geo::register(&mut r);
        r
    })
}

/// The text of a string argument (or of any value, as `tostring()` gives it).
pub(crate) fn text(v: &Value) -> String {
    super::scalar::to_text(v)
}

/// An integer argument.
pub(crate) fn int_arg(v: &Value) -> Option<i64> {
    super::scalar::as_i64(v)
}

/// A numeric argument as a real.
pub(crate) fn real_arg(v: &Value) -> Option<f64> {
    super::scalar::as_f64(v)
}

/// A `long` value from a count or length.
pub(crate) fn long(n: usize) -> Value {
    Value::Long(i64::try_from(n).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_is_consistent() {
        let r = registry();
        for name in r.names() {
            for f in r.get(name).unwrap_or_default() {
                assert_eq!(f.name, name);
                // Optional parameters come last.
                let first_optional = f.params.iter().position(|p| p.optional);
                if let Some(i) = first_optional {
                    assert!(f.params[i..].iter().all(|p| p.optional), "{name}");
                }
                assert!(!f.variadic || !f.params.is_empty(), "{name}");
            }
        }
    }
}
