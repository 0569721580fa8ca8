//! Scalar functions: which names the emulator runs (`isnull`, `now`, `ago`, `to*()`, ...),
//! how a call is bound, and what each function computes.

use super::convert;
use super::expr::{Bound, Ctx};
use crate::kql::parser::Expr;
use crate::kql::tabular::INGESTION_TIME_COLUMN;
use crate::kql::{KqlError, SEM_UNSUPPORTED};
use crate::value::{KustoType, Value};

/// Real functions the emulator does not implement (a semantic "not supported" error rather than
/// "unknown function").
pub(super) const KNOWN_FUNCTIONS: [&str; 24] = [
    "strlen",
    "substring",
    "strcat",
    "tolower",
    "toupper",
    "bin",
    "floor",
    "round",
    "iff",
    "iif",
    "case",
    "coalesce",
    "parse_json",
    "todynamic",
    "array_length",
    "bag_keys",
    "format_datetime",
    "datetime_part",
    "startofday",
    "dcount",
    "countif",
    "sumif",
    "extract",
    "replace_string",
];

#[derive(Debug, Clone, Copy, PartialEq)]
pub(in crate::kql) enum Func {
    IsNull,
    IsNotNull,
    IsEmpty,
    IsNotEmpty,
    Now,
    Ago,
    To(KustoType),
}

impl Func {
    /// The value of the function for its (first) argument.
    pub(in crate::kql) fn call(self, arg: Value) -> Value {
        match self {
            Func::IsNull => Value::Bool(arg.is_null()),
            Func::IsNotNull => Value::Bool(!arg.is_null()),
            Func::IsEmpty => Value::Bool(arg.is_null() || arg == Value::String(String::new())),
            Func::IsNotEmpty => {
                Value::Bool(!(arg.is_null() || arg == Value::String(String::new())))
            }
            Func::Now => Value::Null,
            Func::Ago => Value::Null,
            Func::To(t) => convert(arg, t),
        }
    }
}

impl Ctx<'_> {
    pub(in crate::kql) fn bind_call(&self, name: &str, args: &[Expr]) -> Result<Bound, KqlError> {
        let func = match name {
            "isnull" => Func::IsNull,
            "isnotnull" => Func::IsNotNull,
            "isempty" => Func::IsEmpty,
            "isnotempty" => Func::IsNotEmpty,
            "now" | "ingestion_time" => Func::Now,
            "ago" => Func::Ago,
            "tostring" => Func::To(KustoType::String),
            "toint" => Func::To(KustoType::Int),
            "tolong" => Func::To(KustoType::Long),
            "toreal" | "todouble" => Func::To(KustoType::Real),
            "todecimal" => Func::To(KustoType::Decimal),
            "tobool" | "toboolean" => Func::To(KustoType::Bool),
            "todatetime" => Func::To(KustoType::DateTime),
            "totimespan" => Func::To(KustoType::TimeSpan),
            "toguid" => Func::To(KustoType::Guid),
            other if KNOWN_FUNCTIONS.contains(&other) || other == "count" => {
                return Err(KqlError::unsupported(&format!("Function '{other}'")));
            }
            other => {
                return Err(KqlError::semantic(
                    "SEM0260",
                    format!("Unknown function: '{other}'."),
                ));
            }
        };
        let expected = if matches!(func, Func::Now) { 0 } else { 1 };
        if args.len() != expected {
            return Err(KqlError::semantic(
                SEM_UNSUPPORTED,
                format!(
                    "Function '{name}' expects {expected} argument(s) but got {}",
                    args.len()
                ),
            ));
        }
        let bound: Vec<Bound> = args
            .iter()
            .map(|a| self.bind(a))
            .collect::<Result<_, _>>()?;
        Ok(match func {
            // The row's ingestion time: the hidden column while the rows are a table's.
            Func::Now if name == "ingestion_time" => {
                match self
                    .columns
                    .iter()
                    .position(|c| c.name == INGESTION_TIME_COLUMN)
                {
                    Some(i) => Bound::Col(i, KustoType::DateTime),
                    None => Bound::Const(Value::Null, Some(KustoType::DateTime)),
                }
            }
            Func::Now => Bound::Const(Value::DateTime(self.now), Some(KustoType::DateTime)),
            Func::Ago => match bound.first() {
                Some(Bound::Const(Value::TimeSpan(t), _)) => Bound::Const(
                    Value::DateTime(self.now.saturating_sub(*t)),
                    Some(KustoType::DateTime),
                ),
                _ => {
                    return Err(KqlError::semantic(
                        SEM_UNSUPPORTED,
                        "ago() expects a timespan literal or parameter",
                    ));
                }
            },
            f => Bound::Func(f, bound),
        })
    }
}
