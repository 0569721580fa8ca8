//! The evaluator: runs a parsed query's statements (`declare`, `set`, `let`, outputs) and its
//! tabular expressions (sources here and in `sources.rs`, operators in `kql/ops/`), with `let`
//! bindings and user functions in a [`Scope`].

#[cfg(test)]
mod properties;
mod sources;
#[cfg(test)]
mod tests;

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;

use serde_json::{Map, Value as Json};

use super::ast::{Expr, ExprKind, FunctionDef, ParamType, Statement};
use super::binder::{Binder, Bound, Cx};
use super::functions::Env;
use super::parser::parse;
use super::scalar::{convert, fit};
use super::{INGESTION_TIME_COLUMN, KqlError, SEM_UNSUPPORTED};
use crate::store::{Column, Row, Store};
use crate::value::{KustoType, Value};

/// One result table of a query.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ResultTable {
    /// Table name (`PrimaryResult`).
    pub name: String,
    /// Columns.
    pub columns: Vec<Column>,
    /// Rows.
    pub rows: Vec<Row>,
}

/// A table flowing between operators: columns and rows (shared until an operator changes them).
#[derive(Debug, Clone, Default)]
pub(crate) struct Table {
    pub(crate) columns: Vec<Column>,
    pub(crate) rows: Arc<Vec<Row>>,
    /// The name `as` gave it.
    pub(crate) name: Option<String>,
    /// The table or `let` it comes from (what `union withsource=` shows), kept through the
    /// operators that follow.
    pub(crate) source: Option<String>,
}

impl Table {
    pub(crate) fn new(columns: Vec<Column>, rows: Vec<Row>) -> Self {
        Table {
            columns,
            rows: Arc::new(rows),
            name: None,
            source: None,
        }
    }

    /// Drops the hidden ingestion-time column.
    pub(crate) fn strip_hidden(&mut self) {
        if let Some(i) = self
            .columns
            .iter()
            .position(|c| c.name == INGESTION_TIME_COLUMN)
        {
            self.columns.remove(i);
            for row in Arc::make_mut(&mut self.rows) {
                if i < row.len() {
                    row.remove(i);
                }
            }
        }
    }
}

/// What a name is bound to.
#[derive(Debug, Clone)]
pub(crate) enum Binding {
    Scalar(Value, KustoType),
    /// A function parameter or body `let` bound to an expression (evaluated per row).
    Expr(Rc<Bound>),
    Table(Table),
    Function(Rc<FunctionDef>, Scope),
}

#[derive(Debug)]
struct ScopeNode {
    parent: Scope,
    name: String,
    binding: Binding,
}

/// The `let` bindings and parameters visible at a point of the query.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scope(Option<Rc<ScopeNode>>);

impl Scope {
    pub(crate) fn lookup(&self, name: &str) -> Option<&Binding> {
        let mut node = self.0.as_ref();
        while let Some(n) = node {
            if n.name == name {
                return Some(&n.binding);
            }
            node = n.parent.0.as_ref();
        }
        None
    }

    pub(crate) fn with(&self, name: &str, binding: Binding) -> Scope {
        Scope(Some(Rc::new(ScopeNode {
            parent: self.clone(),
            name: name.to_string(),
            binding,
        })))
    }
}

/// A `let` value or a function result: a table or a scalar.
pub(crate) enum Evaluated {
    Table(Table),
    Scalar(Value, KustoType),
}

/// How deep binding and evaluation may recurse.
const MAX_EVAL_DEPTH: usize = 512;
/// How deep user functions may call each other (recursion is not supported).
const MAX_CALL_DEPTH: usize = 32;

/// A running query: the store, the database, the environment of functions.
pub(crate) struct Engine<'a> {
    pub(crate) store: &'a Store,
    pub(crate) db: &'a str,
    pub(crate) env: Env,
    /// Whether table sources carry the hidden ingestion-time column.
    pub(crate) ingestion_times: bool,
    depth: Cell<usize>,
    calls: Cell<usize>,
}

/// Decrements the function-call depth when dropped.
pub(crate) struct CallGuard<'e> {
    calls: &'e Cell<usize>,
}

impl Drop for CallGuard<'_> {
    fn drop(&mut self) {
        self.calls.set(self.calls.get().saturating_sub(1));
    }
}

/// The options of a script's `set` statements: name and value as written (`None`: bare
/// `set name;`).
pub(crate) type SetOptions = Vec<(String, Option<String>)>;

/// Parses and runs `text` against database `db`, binding declared parameters from `params`.
pub(crate) fn run(
    text: &str,
    params: &Map<String, Json>,
    store: &Store,
    db: &str,
    now: i64,
) -> Result<Vec<ResultTable>, KqlError> {
    run_script(text, params, store, db, now).map(|(tables, _)| tables)
}

/// The stack of the thread a query runs on: parsing, binding and evaluation recurse once per
/// level of nesting (bounded by `parser::MAX_DEPTH`), and a debug build's frames are large.
const QUERY_STACK: usize = 64 * 1024 * 1024;

/// As [`run`], and also returns the script's `set` statements (request options such as
/// `notruncation` that the caller applies). The query runs on a thread of its own with a large
/// stack, so that deeply nested queries end in a typed error whatever stack the caller has.
pub(crate) fn run_script(
    text: &str,
    params: &Map<String, Json>,
    store: &Store,
    db: &str,
    now: i64,
) -> Result<(Vec<ResultTable>, SetOptions), KqlError> {
    std::thread::scope(|scope| {
        let worker = std::thread::Builder::new()
            .name("kql-query".into())
            .stack_size(QUERY_STACK)
            .spawn_scoped(scope, || run_on_this_thread(text, params, store, db, now));
        match worker {
            // A panic is a bug: it goes on to the caller (and to the fuzz targets and tests
            // that look for them) as if the query had run on the caller's thread.
            Ok(handle) => handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            // No thread available: run here.
            Err(_) => run_on_this_thread(text, params, store, db, now),
        }
    })
}

fn run_on_this_thread(
    text: &str,
    params: &Map<String, Json>,
    store: &Store,
    db: &str,
    now: i64,
) -> Result<(Vec<ResultTable>, SetOptions), KqlError> {
    let script = parse(text)?;
    let eng = Engine {
        store,
        db,
        env: Env::new(now),
        ingestion_times: text.contains("ingestion_time"),
        depth: Cell::new(0),
        calls: Cell::new(0),
    };
    let mut scope = Scope::default();
    let mut options = Vec::new();
    let mut tables = Vec::new();
    for statement in &script.statements {
        match statement {
            Statement::Declare(decls) => {
                for decl in decls {
                    let ParamType::Scalar(ty) = decl.ty else {
                        return Err(KqlError::unsupported("A tabular query parameter"));
                    };
                    let value = match params.get(&decl.name) {
                        Some(raw) => super::params::bind_parameter(&decl.name, ty, raw)?,
                        None => match &decl.default {
                            Some(expr) => {
                                let (v, _) =
                                    Binder::new(&eng, &scope, &[], "declare").constant(expr)?;
                                convert(&v, ty)
                            }
                            None => {
                                return Err(KqlError::semantic(
                                    SEM_UNSUPPORTED,
                                    format!(
                                        "Query parameter '{}' was declared without a default value and the request provides no value for it",
                                        decl.name
                                    ),
                                ));
                            }
                        },
                    };
                    scope = scope.with(&decl.name, Binding::Scalar(value, ty));
                }
            }
            Statement::Set(name, value) => options.push((name.clone(), value.clone())),
            Statement::Let { name, value } => {
                let binding = eng.let_binding(value, &scope)?;
                scope = scope.with(name, binding);
            }
            Statement::Output(e) => {
                let t = eng.eval_tabular(e, &scope)?;
                tables.push(result_table(t));
            }
        }
    }
    Ok((tables, options))
}

/// The result of an output statement: hidden columns dropped, every value of its column's type
/// (nulls stay null: a real cluster writes `null` also in string columns of stored nulls).
fn result_table(mut t: Table) -> ResultTable {
    t.strip_hidden();
    let columns = t.columns;
    let mut rows = Arc::try_unwrap(t.rows).unwrap_or_else(|shared| shared.as_ref().clone());
    for row in &mut rows {
        row.resize(columns.len(), Value::Null);
        for (v, c) in row.iter_mut().zip(&columns) {
            let fits = match &*v {
                Value::Null => true,
                other => other.kusto_type() == Some(c.ty),
            };
            if !fits {
                let taken = std::mem::replace(v, Value::Null);
                *v = fit(taken, c.ty);
            }
        }
    }
    ResultTable {
        name: t.name.unwrap_or_else(|| "PrimaryResult".to_string()),
        columns,
        rows,
    }
}

/// Whether an expression denotes a table (rather than a scalar).
pub(crate) fn is_tabular(eng: &Engine<'_>, e: &Expr, scope: &Scope) -> bool {
    match &e.kind {
        ExprKind::Pipe(..)
        | ExprKind::Paren(_)
        | ExprKind::Datatable { .. }
        | ExprKind::Range { .. }
        | ExprKind::Print(_)
        | ExprKind::Union(_) => true,
        ExprKind::Name(n) => match scope.lookup(n) {
            Some(Binding::Table(_)) => true,
            Some(_) => false,
            None => eng.store.table_schema(eng.db, n).is_ok(),
        },
        ExprKind::Member(target, _) => {
            matches!(&target.kind, ExprKind::Call(f, _) if f == "database")
        }
        ExprKind::Call(f, args) => match scope.lookup(f) {
            Some(Binding::Function(def, closure)) => returns_table(eng, def, closure),
            Some(_) => false,
            None => match f.as_str() {
                "materialize" => args.first().is_some_and(|a| is_tabular(eng, a, scope)),
                "table" | "view" => true,
                _ => false,
            },
        },
        _ => false,
    }
}

/// Whether a user function's result is a table: its result expression, with its tabular
/// parameters and tabular body `let`s known as tables.
fn returns_table(eng: &Engine<'_>, def: &FunctionDef, closure: &Scope) -> bool {
    let mut scope = closure.clone();
    for p in &def.params {
        let binding = match p.ty {
            ParamType::Table(_) => Binding::Table(Table::default()),
            ParamType::Scalar(t) => Binding::Scalar(Value::Null, t),
        };
        scope = scope.with(&p.name, binding);
    }
    for st in &def.body {
        if let Statement::Let { name, value } = st {
            let binding = match &value.kind {
                ExprKind::Function(f) => Binding::Function(Rc::new(f.clone()), scope.clone()),
                _ if is_tabular(eng, value, &scope) => Binding::Table(Table::default()),
                _ => Binding::Scalar(Value::Null, KustoType::Dynamic),
            };
            scope = scope.with(name, binding);
        }
    }
    is_tabular(eng, &def.result, &scope)
}

impl<'a> Engine<'a> {
    /// Enters one level of binding or evaluation; an error when the query recurses too deeply.
    pub(crate) fn enter(&self) -> Result<(), KqlError> {
        let d = self.depth.get() + 1;
        self.depth.set(d);
        if d > MAX_EVAL_DEPTH {
            self.depth.set(d - 1);
            return Err(KqlError::semantic(
                SEM_UNSUPPORTED,
                format!("The query is nested too deeply (more than {MAX_EVAL_DEPTH} levels)"),
            ));
        }
        Ok(())
    }

    pub(crate) fn leave(&self) {
        self.depth.set(self.depth.get().saturating_sub(1));
    }

    /// Counts one user-function call; an error beyond [`MAX_CALL_DEPTH`] (recursion).
    pub(crate) fn call_guard(&self, name: &str) -> Result<CallGuard<'_>, KqlError> {
        let n = self.calls.get() + 1;
        if n > MAX_CALL_DEPTH {
            return Err(KqlError::semantic(
                SEM_UNSUPPORTED,
                format!(
                    "The function '{name}' calls functions more than {MAX_CALL_DEPTH} levels deep \
                     (recursion is not supported)"
                ),
            ));
        }
        self.calls.set(n);
        Ok(CallGuard { calls: &self.calls })
    }

    /// The binding of `let name = value`.
    pub(crate) fn let_binding(&self, value: &Expr, scope: &Scope) -> Result<Binding, KqlError> {
        if let ExprKind::Function(def) = &value.kind {
            return Ok(Binding::Function(Rc::new(def.clone()), scope.clone()));
        }
        Ok(match self.eval_any(value, scope)? {
            Evaluated::Table(t) => Binding::Table(t),
            Evaluated::Scalar(v, ty) => Binding::Scalar(v, ty),
        })
    }

    /// Evaluates an expression that may be a table or a scalar constant.
    pub(crate) fn eval_any(&self, e: &Expr, scope: &Scope) -> Result<Evaluated, KqlError> {
        if is_tabular(self, e, scope) {
            return self.eval_tabular(e, scope).map(Evaluated::Table);
        }
        let b = Binder::new(self, scope, &[], "let").bind(e)?;
        Ok(Evaluated::Scalar(b.eval(&Cx::constant(&self.env)), b.ty))
    }

    /// Runs a function body's `let`s; the scope for its result expression. In a scalar call
    /// (`per_row`) scalar `let`s stay expressions of the parameters.
    pub(crate) fn function_body<'d>(
        &self,
        def: &'d FunctionDef,
        mut scope: Scope,
        per_row: bool,
    ) -> Result<(Scope, &'d Expr), KqlError> {
        for st in &def.body {
            if let Statement::Let { name, value } = st {
                let binding = if let ExprKind::Function(f) = &value.kind {
                    Binding::Function(Rc::new(f.clone()), scope.clone())
                } else if is_tabular(self, value, &scope) {
                    Binding::Table(self.eval_tabular(value, &scope)?)
                } else if per_row {
                    Binding::Expr(Rc::new(Binder::new(self, &scope, &[], "let").bind(value)?))
                } else {
                    self.let_binding(value, &scope)?
                };
                scope = scope.with(name, binding);
            }
        }
        Ok((scope, &def.result))
    }

    /// Evaluates a tabular expression.
    pub(crate) fn eval_tabular(&self, e: &Expr, scope: &Scope) -> Result<Table, KqlError> {
        self.enter()?;
        let result = self.eval_tabular_inner(e, scope);
        self.leave();
        result
    }

    fn eval_tabular_inner(&self, e: &Expr, scope: &Scope) -> Result<Table, KqlError> {
        match &e.kind {
            ExprKind::Pipe(..) => self.eval_chain(e, scope).map(|(t, _)| t),
            ExprKind::Paren(inner) => self.eval_tabular(inner, scope),
            ExprKind::Name(n) => self.table_by_name(n, scope, None),
            ExprKind::Datatable { columns, values } => self.datatable(columns, values, scope),
            ExprKind::Range {
                column,
                from,
                to,
                step,
            } => self.range(column, from, to, step, scope),
            ExprKind::Print(items) => self.print(items, scope),
            ExprKind::Union(spec) => self.union(spec, None, scope),
            ExprKind::Call(name, args) => self.tabular_call(name, args, scope, None),
            ExprKind::Member(target, table) => match &target.kind {
                ExprKind::Call(f, args) if f == "database" => {
                    let db = self.database_name(args, scope)?;
                    self.store_table(&db, table, None)
                }
                _ => Err(not_tabular(e)),
            },
            _ => Err(not_tabular(e)),
        }
    }

    /// A pipeline: its source, then each operator in order. `as Name` binds the table so far to
    /// `Name` for the operators after it (`T | as X | join (X | ...) on k`).
    fn eval_chain(&self, e: &Expr, scope: &Scope) -> Result<(Table, Scope), KqlError> {
        let ExprKind::Pipe(source, op) = &e.kind else {
            return Ok((self.eval_tabular(e, scope)?, scope.clone()));
        };
        self.enter()?;
        let result = (|| {
            let (input, scope) = match &source.kind {
                ExprKind::Name(n) => (self.table_by_name(n, scope, Some(op.name))?, scope.clone()),
                _ => self.eval_chain(source, scope)?,
            };
            let out = super::ops::apply(self, &scope, input, op)?;
            let scope = match &op.kind {
                super::ast::OpKind::As(name) => scope.with(name, Binding::Table(out.clone())),
                _ => scope,
            };
            Ok((out, scope))
        })();
        self.leave();
        result
    }

    /// A tabular call: `materialize(T)`, `table("T")`, a user function.
    pub(crate) fn tabular_call(
        &self,
        name: &str,
        args: &[Expr],
        scope: &Scope,
        piped: Option<Table>,
    ) -> Result<Table, KqlError> {
        if let Some(Binding::Function(def, closure)) = scope.lookup(name) {
            return self.invoke_tabular(name, def, closure, args, scope, piped);
        }
        match (name, args) {
            ("materialize", [inner]) => self.eval_tabular(inner, scope),
            ("table", [inner, ..]) => {
                let (v, _) = Binder::new(self, scope, &[], "table").constant(inner)?;
                self.table_by_name(&super::scalar::to_text(&v), scope, None)
            }
            _ => Err(KqlError::semantic(
                SEM_UNSUPPORTED,
                format!("'{name}(...)' is not a tabular expression"),
            )),
        }
    }

    /// Runs a user function whose result is a table; with `piped`, the input of `invoke` is its
    /// first parameter.
    fn invoke_tabular(
        &self,
        name: &str,
        def: &Rc<FunctionDef>,
        closure: &Scope,
        args: &[Expr],
        scope: &Scope,
        piped: Option<Table>,
    ) -> Result<Table, KqlError> {
        let _guard = self.call_guard(name)?;
        let binder = Binder::new(self, scope, &[], "invoke");
        let (mut fscope, params) = match piped {
            Some(t) => {
                let Some(first) = def.params.first() else {
                    return Err(
                        binder.error(format!("the function '{name}' takes no tabular input"))
                    );
                };
                (
                    closure.with(&first.name, Binding::Table(t)),
                    &def.params[1..],
                )
            }
            None => (closure.clone(), &def.params[..]),
        };
        let rest = FunctionDef {
            params: params.to_vec(),
            body: Vec::new(),
            result: def.result.clone(),
        };
        fscope = binder.bind_params(name, &rest, &fscope, args, |arg| {
            let (v, ty) = binder.constant(arg)?;
            Ok(Binding::Scalar(v, ty))
        })?;
        let (fscope, result) = self.function_body(def, fscope, false)?;
        self.eval_tabular(result, &fscope)
    }

    fn database_name(&self, args: &[Expr], scope: &Scope) -> Result<String, KqlError> {
        let Some(arg) = args.first() else {
            return Err(KqlError::semantic(
                SEM_UNSUPPORTED,
                "database() expects the database name",
            ));
        };
        let (v, _) = Binder::new(self, scope, &[], "database").constant(arg)?;
        Ok(super::scalar::to_text(&v))
    }

    /// A table by name: a tabular `let`, else a table of the current database.
    pub(crate) fn table_by_name(
        &self,
        name: &str,
        scope: &Scope,
        op: Option<&str>,
    ) -> Result<Table, KqlError> {
        let mut t = match scope.lookup(name) {
            Some(Binding::Table(t)) => t.clone(),
            Some(Binding::Function(def, closure)) if def.params.is_empty() => {
                self.invoke_tabular(name, def, closure, &[], scope, None)?
            }
            Some(_) => {
                return Err(KqlError::semantic(
                    SEM_UNSUPPORTED,
                    format!("'{name}' is a scalar, not a table"),
                ));
            }
            None => self.store_table(self.db, name, op)?,
        };
        t.source = Some(name.to_string());
        Ok(t)
    }

    /// A table of the store.
    pub(crate) fn store_table(
        &self,
        db: &str,
        name: &str,
        op: Option<&str>,
    ) -> Result<Table, KqlError> {
        let snapshot = if self.ingestion_times {
            self.store
                .snapshot_with_ingestion_times(db, name)
                .map(|(s, times)| {
                    let mut columns = s.columns;
                    columns.push(Column::new(INGESTION_TIME_COLUMN, KustoType::DateTime));
                    let rows: Vec<Row> = s
                        .rows
                        .iter()
                        .zip(times)
                        .map(|(row, time)| {
                            let mut row = row.clone();
                            row.push(Value::DateTime(time));
                            row
                        })
                        .collect();
                    (columns, Arc::new(rows))
                })
        } else {
            self.store.snapshot(db, name).map(|s| (s.columns, s.rows))
        };
        match snapshot {
            Ok((columns, rows)) => Ok(Table {
                columns,
                rows,
                name: None,
                source: None,
            }),
            Err(crate::store::StoreError::DatabaseNotFound(d)) => Err(KqlError::semantic(
                "SEM0100",
                format!("'database' operator: Failed to resolve database expression named '{d}'"),
            )),
            Err(_) => Err(KqlError::semantic(
                "SEM0100",
                match op {
                    None => {
                        format!(
                            "'table' operator: Failed to resolve table expression named '{name}'"
                        )
                    }
                    Some(op) => format!(
                        "'{op}' operator: Failed to resolve table or column expression named '{name}'"
                    ),
                },
            )),
        }
    }
}

fn not_tabular(e: &Expr) -> KqlError {
    KqlError::semantic(
        SEM_UNSUPPORTED,
        format!(
            "The expression at offset {} is a scalar where a table is expected (use print to \
             make a table of scalars)",
            e.pos
        ),
    )
}
