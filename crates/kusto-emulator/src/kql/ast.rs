//! The syntax tree of a KQL query, as the parser builds it: statements, scalar and tabular
//! expressions (one expression type, as in the language: `T | where x > 1` is an expression whose
//! value is a table), and the tabular operators. Every expression carries the byte offset where it
//! starts, for error messages.

use crate::value::{KustoType, Value};

/// A parsed query: its statements in order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Script {
    pub(crate) statements: Vec<Statement>,
}

/// One statement of a query.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Statement {
    /// `let name = expression;` (scalar, tabular or a function).
    Let { name: String, value: Expr },
    /// `declare query_parameters(name:type [= default], ...)`.
    Declare(Vec<ParamDecl>),
    /// `set name [= value];`: the option's name and its value as written.
    Set(String, Option<String>),
    /// A tabular expression whose result is returned.
    Output(Expr),
}

/// `name:type [= default]` in `declare query_parameters(...)` and in function parameters.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ParamDecl {
    pub(crate) name: String,
    pub(crate) ty: ParamType,
    pub(crate) default: Option<Expr>,
}

/// The type of a parameter: a scalar type, or a table (`(*)` or `(a:long, ...)`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ParamType {
    Scalar(KustoType),
    /// A tabular parameter with the columns it requires (none for `(*)`).
    Table(Vec<(String, KustoType)>),
}

/// A user-defined function: `(params) { statements; expression }`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FunctionDef {
    pub(crate) params: Vec<ParamDecl>,
    pub(crate) body: Vec<Statement>,
    /// The body's final expression (its value).
    pub(crate) result: Box<Expr>,
}

/// An expression and the byte offset where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Expr {
    pub(crate) kind: ExprKind,
    pub(crate) pos: usize,
}

impl Expr {
    pub(crate) fn new(kind: ExprKind, pos: usize) -> Self {
        Expr { kind, pos }
    }
}

/// Binary operators of scalar expressions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// `=~`
    EqCi,
    /// `!~`
    NeCi,
    And,
    Or,
}

impl BinOp {
    /// The operator as written.
    pub(crate) fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Mod => "%",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::EqCi => "=~",
            BinOp::NeCi => "!~",
            BinOp::And => "and",
            BinOp::Or => "or",
        }
    }
}

/// The string predicates (`has`, `contains`, ...), each with `_cs` and `!` forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StrOp {
    Contains,
    StartsWith,
    EndsWith,
    Has,
    HasPrefix,
    HasSuffix,
    /// `matches regex` (always case-sensitive).
    MatchesRegex,
}

/// List operators: `in`, `has_any`, ...
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ListOp {
    /// `in` (`case_insensitive` for `in~`).
    In,
    HasAny,
    HasAll,
}

/// A scalar or tabular expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ExprKind {
    /// A literal value and its type.
    Literal(Value, KustoType),
    /// A name: a column, a `let` binding, a parameter, a table.
    Name(String),
    /// `*` as a function argument (`arg_max(x, *)`, `pack_all`-style calls).
    Star,
    /// `expr.name`
    Member(Box<Expr>, String),
    /// `expr[index]`
    Index(Box<Expr>, Box<Expr>),
    /// `-expr`
    Neg(Box<Expr>),
    /// `not(expr)` is a function; `!` has no unary form in KQL. Kept for clarity.
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// A string predicate.
    StrPred {
        op: StrOp,
        case_sensitive: bool,
        negated: bool,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    /// `x in (a, b)`, `x !in~ (...)`, `x has_any (...)`: the list may hold one tabular or
    /// dynamic-array expression.
    InList {
        op: ListOp,
        negated: bool,
        case_insensitive: bool,
        left: Box<Expr>,
        list: Vec<Expr>,
    },
    /// `x between (a .. b)` and `!between`.
    Between {
        negated: bool,
        left: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
    },
    /// A function call (scalar, aggregate, or user-defined): name and arguments.
    Call(String, Vec<Expr>),
    /// `expr | operator`
    Pipe(Box<Expr>, Box<Operator>),
    /// `datatable(a:long, ...) [values]`
    Datatable {
        columns: Vec<(String, KustoType)>,
        values: Vec<Expr>,
    },
    /// `range name from a to b step s`
    Range {
        column: String,
        from: Box<Expr>,
        to: Box<Expr>,
        step: Box<Expr>,
    },
    /// `print [name =] expr, ...`
    Print(Vec<NamedExpr>),
    /// `union [kind=...] [withsource=Name] [isfuzzy=...] T1, T2, ...`
    Union(UnionSpec),
    /// A function literal `(params) { body }` (the value of a `let`).
    Function(FunctionDef),
    /// `materialize(expr)`-like wrappers are calls; this is a parenthesized tabular expression.
    Paren(Box<Expr>),
}

/// `[name =] expr`, also `(a, b) = expr` for operators producing several columns.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NamedExpr {
    pub(crate) names: Vec<String>,
    pub(crate) expr: Expr,
}

/// The parameters and inputs of `union`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct UnionSpec {
    /// `kind=outer` (default) or `kind=inner`.
    pub(crate) inner: bool,
    pub(crate) with_source: Option<String>,
    /// The tables: expressions, or name patterns with `*`.
    pub(crate) tables: Vec<Expr>,
}

/// A sort key: `expr [asc|desc] [nulls first|last]`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SortKey {
    pub(crate) expr: Expr,
    pub(crate) descending: bool,
    pub(crate) nulls_first: Option<bool>,
}

/// A tabular operator with the position of its name.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Operator {
    /// The operator's name as Kusto names it in errors (`where`, `join`, ...).
    pub(crate) name: &'static str,
    pub(crate) pos: usize,
    pub(crate) kind: OpKind,
}

/// The kinds of `join`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JoinKind {
    InnerUnique,
    Inner,
    LeftOuter,
    RightOuter,
    FullOuter,
    LeftAnti,
    RightAnti,
    LeftSemi,
    RightSemi,
}

/// A join condition: `col`, `$left.a == $right.b`, or `a == b` meaning left.a and right.b.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct JoinKey {
    pub(crate) left: Expr,
    pub(crate) right: Expr,
}

/// The `parse` kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParseKind {
    Simple,
    Regex,
    Relaxed,
}

/// One element of a `parse` pattern: a literal string or a column with an optional type.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ParsePart {
    Text(String),
    Column(String, Option<KustoType>),
    /// `*`: skip anything.
    Any,
}

/// `mv-expand` targets: `[name =] expr [to typeof(t)]`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ExpandItem {
    pub(crate) name: Option<String>,
    pub(crate) expr: Expr,
    pub(crate) to_type: Option<KustoType>,
}

/// An aggregation in `summarize`, `make-series`, `top-nested`: `[name =] aggregate(args)`.
pub(crate) type AggItem = NamedExpr;

/// Tabular operators.
// Built once per query and boxed in `ExprKind::Pipe`: the size difference costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum OpKind {
    Where(Expr),
    Take(Expr),
    Count(Option<String>),
    Project(Vec<NamedExpr>),
    Extend(Vec<NamedExpr>),
    ProjectAway(Vec<String>),
    ProjectKeep(Vec<String>),
    ProjectRename(Vec<(String, String)>),
    ProjectReorder(Vec<(String, Option<bool>)>),
    Distinct(Vec<Expr>),
    Order(Vec<SortKey>),
    Top {
        count: Expr,
        keys: Vec<SortKey>,
        with_others: Option<String>,
    },
    Summarize {
        aggregates: Vec<AggItem>,
        by: Vec<NamedExpr>,
    },
    Join {
        kind: JoinKind,
        right: Expr,
        on: Vec<JoinKey>,
    },
    Lookup {
        left_outer: bool,
        right: Expr,
        on: Vec<JoinKey>,
    },
    Union(UnionSpec),
    MvExpand {
        items: Vec<ExpandItem>,
        item_index: Option<String>,
        limit: Option<Expr>,
        bagexpansion_array: bool,
    },
    MvApply {
        items: Vec<ExpandItem>,
        item_index: Option<String>,
        limit: Option<Expr>,
        /// The subquery run on each row's expanded rows.
        on: Vec<Operator>,
    },
    Parse {
        kind: ParseKind,
        flags: Option<String>,
        source: Expr,
        pattern: Vec<ParsePart>,
        /// `parse-where`: rows that do not match are dropped.
        filter: bool,
    },
    ParseKv {
        source: Expr,
        columns: Vec<(String, KustoType)>,
        pair_delimiter: Option<String>,
        kv_delimiter: Option<String>,
        quote: Option<String>,
        escape: Option<String>,
        greedy: bool,
        regex: Option<String>,
    },
    MakeSeries {
        aggregates: Vec<(NamedExpr, Option<Expr>)>,
        on: Expr,
        from: Option<Expr>,
        to: Option<Expr>,
        step: Expr,
        by: Vec<NamedExpr>,
        in_range: bool,
    },
    TopNested(Vec<TopNestedLevel>),
    Serialize(Vec<NamedExpr>),
    Sample(Expr),
    SampleDistinct {
        count: Expr,
        column: Expr,
    },
    GetSchema,
    As(String),
    Invoke(Expr),
    Consume,
    /// `evaluate plugin(args)`.
    Evaluate {
        plugin: String,
        args: Vec<Expr>,
    },
}

/// One level of `top-nested`: `top-nested [N] of expr [with others = v] by agg [asc|desc]`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TopNestedLevel {
    pub(crate) count: Option<Expr>,
    pub(crate) of: NamedExpr,
    pub(crate) others: Option<Expr>,
    pub(crate) by: NamedExpr,
    pub(crate) descending: bool,
}
