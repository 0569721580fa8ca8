//! The parser: tokens to the syntax tree of [`crate::kql::ast`]. Statements and tabular sources
//! are here, scalar expressions in `expr.rs`, tabular operators in `ops.rs` and `ops_more.rs`.
//!
//! Recursion is bounded: every nested construct counts against [`MAX_DEPTH`], and a query nested
//! deeper gets a typed error (never a stack overflow).

mod expr;
mod ops;
mod ops_more;
#[cfg(test)]
mod tests;

use super::KqlError;
use super::ast::{Expr, ExprKind, FunctionDef, ParamDecl, ParamType, Script, Statement};
use super::lexer::{Tok, Token, tokenize};
use crate::value::KustoType;

/// How deep expressions may nest (parentheses, calls, operator chains) before the parser gives up
/// with an error. Deep enough for any hand-written query, small enough for the stack.
pub(crate) const MAX_DEPTH: usize = 200;

/// Parses a whole query.
pub(crate) fn parse(src: &str) -> Result<Script, KqlError> {
    let tokens = tokenize(src).map_err(|e| KqlError::Syntax {
        offset: e.offset,
        token: e.text,
    })?;
    let mut p = Parser {
        tokens,
        pos: 0,
        depth: 0,
    };
    p.script()
}

pub(super) struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

pub(super) fn is_word(tok: &Tok, word: &str) -> bool {
    matches!(tok, Tok::Ident(w) if w == word)
}

impl Parser {
    pub(super) fn peek(&self) -> &Tok {
        self.tokens.get(self.pos).map_or(&Tok::Eof, |t| &t.tok)
    }

    pub(super) fn peek_at(&self, n: usize) -> &Tok {
        self.tokens.get(self.pos + n).map_or(&Tok::Eof, |t| &t.tok)
    }

    /// The byte offset of the current token.
    pub(super) fn offset(&self) -> usize {
        self.tokens
            .get(self.pos)
            .or(self.tokens.last())
            .map_or(0, |t| t.offset)
    }

    pub(super) fn advance(&mut self) -> Tok {
        let tok = self.peek().clone();
        if self.pos < self.tokens.len() {
            self.pos += 1;
        }
        tok
    }

    /// A syntax error at the current token.
    pub(super) fn error(&self) -> KqlError {
        match self.tokens.get(self.pos) {
            Some(t) => KqlError::Syntax {
                offset: t.offset,
                token: if t.tok == Tok::Eof {
                    "<EOF>".into()
                } else {
                    t.text.clone()
                },
            },
            None => KqlError::Syntax {
                offset: 0,
                token: "<EOF>".into(),
            },
        }
    }

    /// Enters one level of nesting; an error when the query is nested too deeply.
    pub(super) fn enter(&mut self) -> Result<(), KqlError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(KqlError::semantic(
                "SEM0001",
                format!(
                    "The query is nested too deeply (more than {MAX_DEPTH} levels of \
                     parentheses, calls or operators) at offset {}",
                    self.offset()
                ),
            ));
        }
        Ok(())
    }

    pub(super) fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    pub(super) fn is_punct(&self, p: &str) -> bool {
        matches!(self.peek(), Tok::Punct(q) if *q == p)
    }

    pub(super) fn eat_punct(&mut self, p: &str) -> bool {
        if self.is_punct(p) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub(super) fn expect_punct(&mut self, p: &str) -> Result<(), KqlError> {
        if self.eat_punct(p) {
            Ok(())
        } else {
            Err(self.error())
        }
    }

    pub(super) fn eat_word(&mut self, word: &str) -> bool {
        if is_word(self.peek(), word) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub(super) fn expect_word(&mut self, word: &str) -> Result<(), KqlError> {
        if self.eat_word(word) {
            Ok(())
        } else {
            Err(self.error())
        }
    }

    /// An identifier (plain or quoted).
    pub(super) fn name(&mut self) -> Result<String, KqlError> {
        match self.peek().clone() {
            Tok::Ident(w) | Tok::QuotedIdent(w) => {
                self.pos += 1;
                Ok(w)
            }
            _ => Err(self.error()),
        }
    }

    /// A scalar type name (`long`, `string`, ...).
    pub(super) fn type_name(&mut self) -> Result<KustoType, KqlError> {
        match self.peek().clone() {
            Tok::Ident(t) => match KustoType::parse(&t) {
                Some(ty) if !t.contains('.') => {
                    self.pos += 1;
                    Ok(ty)
                }
                _ => Err(self.error()),
            },
            _ => Err(self.error()),
        }
    }

    /// `name = ` ahead (an assignment, not `==`).
    pub(super) fn at_assignment(&self) -> bool {
        matches!(self.peek(), Tok::Ident(_) | Tok::QuotedIdent(_))
            && matches!(self.peek_at(1), Tok::Punct("="))
    }

    fn script(&mut self) -> Result<Script, KqlError> {
        let mut statements = Vec::new();
        loop {
            while self.eat_punct(";") {}
            if *self.peek() == Tok::Eof {
                break;
            }
            statements.push(self.statement()?);
            match self.peek() {
                Tok::Eof => break,
                Tok::Punct(";") => {}
                _ => return Err(self.error()),
            }
        }
        if !statements.iter().any(|s| matches!(s, Statement::Output(_))) {
            return Err(self.error());
        }
        Ok(Script { statements })
    }

    fn statement(&mut self) -> Result<Statement, KqlError> {
        if self.eat_word("declare") {
            if !self.eat_word("query_parameters") {
                return Err(self.error());
            }
            self.expect_punct("(")?;
            let params = self.param_decls()?;
            return Ok(Statement::Declare(params));
        }
        if is_word(self.peek(), "set") && !matches!(self.peek_at(1), Tok::Punct("|" | "(")) {
            self.pos += 1;
            let (name, value) = self.set_option()?;
            return Ok(Statement::Set(name, value));
        }
        if is_word(self.peek(), "let")
            && matches!(self.peek_at(1), Tok::Ident(_) | Tok::QuotedIdent(_))
        {
            return self.let_statement();
        }
        if is_word(self.peek(), "alias") || is_word(self.peek(), "pattern") {
            let word = self.name()?;
            return Err(KqlError::unsupported(&format!("'{word}' statement")));
        }
        Ok(Statement::Output(self.pipe_expr()?))
    }

    fn let_statement(&mut self) -> Result<Statement, KqlError> {
        self.expect_word("let")?;
        let name = self.name()?;
        self.expect_punct("=")?;
        // `view` before a function literal changes nothing here.
        if is_word(self.peek(), "view") && matches!(self.peek_at(1), Tok::Punct("(")) {
            self.pos += 1;
        }
        let value = if self.at_function_literal() {
            let pos = self.offset();
            Expr::new(ExprKind::Function(self.function_literal()?), pos)
        } else {
            self.pipe_expr()?
        };
        Ok(Statement::Let { name, value })
    }

    /// `(` `)` `{` or `(` name `:` ahead: a function literal.
    fn at_function_literal(&self) -> bool {
        matches!(self.peek(), Tok::Punct("("))
            && (matches!(self.peek_at(1), Tok::Punct(")"))
                && matches!(self.peek_at(2), Tok::Punct("{"))
                || matches!(self.peek_at(1), Tok::Ident(_) | Tok::QuotedIdent(_))
                    && matches!(self.peek_at(2), Tok::Punct(":")))
    }

    fn function_literal(&mut self) -> Result<FunctionDef, KqlError> {
        self.expect_punct("(")?;
        let params = if self.eat_punct(")") {
            Vec::new()
        } else {
            self.param_decls()?
        };
        self.expect_punct("{")?;
        self.enter()?;
        let mut body = Vec::new();
        let result = loop {
            while self.eat_punct(";") {}
            if is_word(self.peek(), "let")
                && matches!(self.peek_at(1), Tok::Ident(_) | Tok::QuotedIdent(_))
            {
                body.push(self.let_statement()?);
                continue;
            }
            let e = self.pipe_expr()?;
            while self.eat_punct(";") {}
            break e;
        };
        self.expect_punct("}")?;
        self.leave();
        Ok(FunctionDef {
            params,
            body,
            result: Box::new(result),
        })
    }

    /// `name [= value]` after `set`: the value a literal or a word (`true`, `false`).
    fn set_option(&mut self) -> Result<(String, Option<String>), KqlError> {
        let name = self.name()?;
        if !self.eat_punct("=") {
            return Ok((name, None));
        }
        let value = match self.peek().clone() {
            Tok::Ident(w) | Tok::Str(w) => w,
            Tok::Long(n) => n.to_string(),
            Tok::Real(r) => r.to_string(),
            _ => return Err(self.error()),
        };
        self.pos += 1;
        Ok((name, Some(value)))
    }

    /// Parameter declarations after `(`, up to and including `)`.
    fn param_decls(&mut self) -> Result<Vec<ParamDecl>, KqlError> {
        let mut out = Vec::new();
        loop {
            let name = self.name()?;
            self.expect_punct(":")?;
            let ty = if self.eat_punct("(") {
                let mut columns = Vec::new();
                if self.eat_punct("*") {
                    self.expect_punct(")")?;
                } else {
                    loop {
                        let c = self.name()?;
                        self.expect_punct(":")?;
                        columns.push((c, self.type_name()?));
                        if self.eat_punct(")") {
                            break;
                        }
                        self.expect_punct(",")?;
                        if self.eat_punct("*") {
                            self.expect_punct(")")?;
                            break;
                        }
                    }
                }
                ParamType::Table(columns)
            } else {
                ParamType::Scalar(self.type_name()?)
            };
            let default = if self.eat_punct("=") {
                Some(self.unary()?)
            } else {
                None
            };
            out.push(ParamDecl { name, ty, default });
            if self.eat_punct(")") {
                return Ok(out);
            }
            self.expect_punct(",")?;
        }
    }

    /// A possibly tabular expression: a source or scalar expression, then `| operator`s.
    pub(super) fn pipe_expr(&mut self) -> Result<Expr, KqlError> {
        self.enter()?;
        let mut e = self.source_or_expr()?;
        let depth = self.depth;
        while self.is_punct("|") {
            self.pos += 1;
            // Each operator nests the expression one level deeper.
            self.enter()?;
            let op = self.operator()?;
            let pos = e.pos;
            e = Expr::new(ExprKind::Pipe(Box::new(e), Box::new(op)), pos);
        }
        self.depth = depth;
        self.leave();
        Ok(e)
    }

    /// A tabular source (`print`, `datatable`, `range`, `union`, ...) or a scalar expression.
    fn source_or_expr(&mut self) -> Result<Expr, KqlError> {
        let pos = self.offset();
        let word = match self.peek() {
            Tok::Ident(w) => w.clone(),
            _ => return self.expr(),
        };
        let next = self.peek_at(1).clone();
        match word.as_str() {
            "print" => {
                self.pos += 1;
                let mut items = Vec::new();
                if !matches!(self.peek(), Tok::Punct("|" | ";" | ")") | Tok::Eof) {
                    loop {
                        items.push(self.named_expr()?);
                        if !self.eat_punct(",") {
                            break;
                        }
                    }
                }
                Ok(Expr::new(ExprKind::Print(items), pos))
            }
            "datatable" if next == Tok::Punct("(") => self.datatable(),
            "range" if matches!(next, Tok::Ident(_) | Tok::QuotedIdent(_)) => {
                self.pos += 1;
                let column = self.name()?;
                self.expect_word("from")?;
                let from = self.expr()?;
                self.expect_word("to")?;
                let to = self.expr()?;
                let step = if self.eat_word("step") {
                    self.expr()?
                } else {
                    Expr::new(
                        ExprKind::Literal(crate::value::Value::Long(1), KustoType::Long),
                        pos,
                    )
                };
                Ok(Expr::new(
                    ExprKind::Range {
                        column,
                        from: Box::new(from),
                        to: Box::new(to),
                        step: Box::new(step),
                    },
                    pos,
                ))
            }
            "union"
                if !matches!(
                    next,
                    Tok::Punct("=" | "." | "[" | "|" | ";" | ")") | Tok::Eof
                ) =>
            {
                self.pos += 1;
                Ok(Expr::new(ExprKind::Union(self.union_spec()?), pos))
            }
            "find" | "search" | "externaldata" | "external_table" | "materialized_view"
            | "graph" | "macro-expand"
                if !matches!(next, Tok::Punct("|" | ";" | ",") | Tok::Eof) =>
            {
                Err(KqlError::unsupported_at(&format!("'{word}' operator"), pos))
            }
            _ => self.expr(),
        }
    }

    fn datatable(&mut self) -> Result<Expr, KqlError> {
        let pos = self.offset();
        self.pos += 1;
        self.expect_punct("(")?;
        let mut columns = Vec::new();
        loop {
            let c = self.name()?;
            self.expect_punct(":")?;
            columns.push((c, self.type_name()?));
            if self.eat_punct(")") {
                break;
            }
            self.expect_punct(",")?;
        }
        // `["x"]` lexes as a quoted identifier: one string value.
        if let Tok::QuotedIdent(only) = self.peek().clone() {
            let at = self.offset();
            self.pos += 1;
            let value = Expr::new(
                ExprKind::Literal(crate::value::Value::String(only), KustoType::String),
                at,
            );
            return Ok(Expr::new(
                ExprKind::Datatable {
                    columns,
                    values: vec![value],
                },
                pos,
            ));
        }
        self.expect_punct("[")?;
        let mut values = Vec::new();
        if !self.eat_punct("]") {
            loop {
                values.push(self.expr()?);
                if self.eat_punct("]") {
                    break;
                }
                self.expect_punct(",")?;
                if self.eat_punct("]") {
                    break;
                }
            }
        }
        Ok(Expr::new(ExprKind::Datatable { columns, values }, pos))
    }

    /// The rest of `union`: parameters, then the tables.
    pub(super) fn union_spec(&mut self) -> Result<super::ast::UnionSpec, KqlError> {
        let mut spec = super::ast::UnionSpec {
            inner: false,
            with_source: None,
            tables: Vec::new(),
        };
        loop {
            if self.eat_word("kind") {
                self.expect_punct("=")?;
                let k = self.name()?;
                spec.inner = match k.as_str() {
                    "inner" => true,
                    "outer" => false,
                    _ => {
                        self.pos -= 1;
                        return Err(self.error());
                    }
                };
            } else if is_word(self.peek(), "withsource") && self.peek_at(1) == &Tok::Punct("=") {
                self.pos += 2;
                spec.with_source = Some(self.name()?);
            } else if matches!(self.peek(), Tok::Ident(w) if w == "isfuzzy" || w.starts_with("hint."))
                && self.peek_at(1) == &Tok::Punct("=")
            {
                self.pos += 3;
            } else {
                break;
            }
        }
        loop {
            spec.tables.push(self.union_table()?);
            if !self.eat_punct(",") {
                break;
            }
        }
        Ok(spec)
    }

    /// A table of `union`: a parenthesized expression, a name or a `*` pattern.
    fn union_table(&mut self) -> Result<Expr, KqlError> {
        let pos = self.offset();
        if self.is_punct("(") {
            return self.expr();
        }
        if matches!(
            self.peek(),
            Tok::Ident(_) | Tok::QuotedIdent(_) | Tok::Punct("*")
        ) {
            // A pattern: adjacent name and `*` tokens (`Storm*`), or a plain name / call.
            let is_call = matches!(self.peek_at(1), Tok::Punct("(" | "."));
            if !is_call {
                let pattern = self.column_pattern()?;
                return Ok(Expr::new(ExprKind::Name(pattern), pos));
            }
            return self.expr();
        }
        Err(self.error())
    }

    /// A column name or a wildcard pattern (`Col*`, `*_id`, `*`): adjacent name and `*` tokens.
    pub(super) fn column_pattern(&mut self) -> Result<String, KqlError> {
        let mut pattern = String::new();
        let mut end = None;
        while let Some(token) = self.tokens.get(self.pos) {
            if end.is_some_and(|e| e != token.offset) {
                break;
            }
            match &token.tok {
                Tok::Ident(w) | Tok::QuotedIdent(w) => pattern.push_str(w),
                Tok::Punct("*") => pattern.push('*'),
                _ => break,
            }
            end = Some(token.offset + token.text.len());
            self.pos += 1;
        }
        if pattern.is_empty() {
            return Err(self.error());
        }
        Ok(pattern)
    }
}
