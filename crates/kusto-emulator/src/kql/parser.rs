//! Parser of the KQL subset into an AST.

use super::lexer::{Tok, Token, tokenize};
use super::{KqlError, UNSUPPORTED_OPERATORS};
use crate::value::KustoType;

/// A parsed query: parameter declarations and tabular statements.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Script {
    pub(crate) params: Vec<ParamDecl>,
    /// `set name [= value];` statements: the option's name and its value as written (a string
    /// literal unquoted), `None` for a bare `set name;` (which means `true`).
    pub(crate) options: Vec<(String, Option<String>)>,
    pub(crate) statements: Vec<Pipeline>,
}

/// `name:type [= default]` in `declare query_parameters(...)`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ParamDecl {
    pub(crate) name: String,
    pub(crate) ty: KustoType,
    pub(crate) default: Option<Expr>,
}

/// A tabular expression: a source and piped operators.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pipeline {
    pub(crate) source: Source,
    pub(crate) ops: Vec<Operator>,
}

/// Where rows come from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Source {
    /// A table, optionally in another database (`database("db").T`).
    Table {
        database: Option<String>,
        name: String,
    },
    /// `print a, name = b`.
    Print(Vec<(Option<String>, Expr)>),
}

/// An operator and the name shown in error messages.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Operator {
    pub(crate) name: &'static str,
    pub(crate) kind: OpKind,
}

/// The supported operators.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum OpKind {
    Count,
    Take(Expr),
    Project(Vec<(String, Expr)>),
    Where(Expr),
    Order(Vec<SortKey>),
    Summarize {
        aggregates: Vec<(Option<String>, Aggregate)>,
        by: Vec<Expr>,
    },
    /// `extend [name =] expr, ...`: the name given, the column named, or `None` (`Column1`...).
    Extend(Vec<(Option<String>, Expr)>),
    /// `distinct a, b` (an empty list is `distinct *`).
    Distinct(Vec<String>),
    /// `top N by expr [asc|desc] [nulls first|last]`.
    Top {
        count: Expr,
        key: SortKey,
    },
    /// `project-away a, B*`: column names or `*` wildcard patterns.
    ProjectAway(Vec<String>),
    /// `project-rename new = old, ...`.
    ProjectRename(Vec<(String, String)>),
}

/// `col [asc|desc] [nulls first|last]`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SortKey {
    pub(crate) expr: Expr,
    pub(crate) descending: bool,
    pub(crate) nulls_first: Option<bool>,
}

/// An aggregation function of `summarize`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Aggregate {
    Count,
    Sum(Expr),
    Min(Expr),
    Max(Expr),
    Avg(Expr),
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    EqCi,
    NeCi,
    /// A string operator: `contains`, `startswith`, `endswith` or `has`, with its `_cs`
    /// (case-sensitive) and `!` (negated) variants.
    Str {
        op: StrOp,
        case_sensitive: bool,
        negated: bool,
    },
}

/// The string predicates of [`CmpOp::Str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StrOp {
    Contains,
    StartsWith,
    EndsWith,
    /// The right side is a whole term of the left side.
    Has,
}

impl CmpOp {
    /// The string operator spelled `word` (`has`, `!startswith_cs`, ...).
    fn string_operator(word: &str) -> Option<CmpOp> {
        let (negated, rest) = match word.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, word),
        };
        let (case_sensitive, base) = match rest.strip_suffix("_cs") {
            Some(base) => (true, base),
            None => (false, rest),
        };
        let op = match base {
            "contains" => StrOp::Contains,
            "startswith" => StrOp::StartsWith,
            "endswith" => StrOp::EndsWith,
            "has" => StrOp::Has,
            _ => return None,
        };
        Some(CmpOp::Str {
            op,
            case_sensitive,
            negated,
        })
    }
}

/// Arithmetic operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

impl ArithOp {
    /// The operator as written.
    pub(crate) fn symbol(self) -> &'static str {
        match self {
            ArithOp::Add => "+",
            ArithOp::Sub => "-",
            ArithOp::Mul => "*",
            ArithOp::Div => "/",
            ArithOp::Mod => "%",
        }
    }
}

/// Real KQL scalar operators that the emulator does not run: a semantic error names them.
const UNSUPPORTED_SCALAR_OPERATORS: [&str; 16] = [
    "between",
    "!between",
    "has_any",
    "has_all",
    "hasprefix",
    "!hasprefix",
    "hasprefix_cs",
    "!hasprefix_cs",
    "hassuffix",
    "!hassuffix",
    "hassuffix_cs",
    "!hassuffix_cs",
    "matches",
    "contains_any",
    "has_any_index",
    "like",
];

/// A scalar expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    /// A literal: its text (for typed parsing) and token.
    Literal(Tok),
    /// A column or parameter name and its offset.
    Name(String),
    Cmp(CmpOp, Box<Expr>, Box<Expr>),
    In {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
        /// `in~`: strings compare case-insensitively.
        case_insensitive: bool,
    },
    Arith(ArithOp, Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    Call(String, Vec<Expr>),
}

pub(crate) fn parse(src: &str) -> Result<Script, KqlError> {
    let tokens = tokenize(src).map_err(|e| KqlError::Syntax {
        offset: e.offset,
        token: e.text,
    })?;
    let mut p = Parser { tokens, pos: 0 };
    p.script()
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

fn is_word(tok: &Tok, word: &str) -> bool {
    matches!(tok, Tok::Ident(w) if w == word)
}

impl Parser {
    fn peek(&self) -> &Tok {
        self.tokens.get(self.pos).map_or(&Tok::Eof, |t| &t.tok)
    }

    fn peek_at(&self, n: usize) -> &Tok {
        self.tokens.get(self.pos + n).map_or(&Tok::Eof, |t| &t.tok)
    }

    fn advance(&mut self) -> Tok {
        let tok = self.peek().clone();
        if self.pos < self.tokens.len() {
            self.pos += 1;
        }
        tok
    }

    fn error(&self) -> KqlError {
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

    fn eat_punct(&mut self, p: &str) -> bool {
        if matches!(self.peek(), Tok::Punct(q) if *q == p) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect_punct(&mut self, p: &str) -> Result<(), KqlError> {
        if self.eat_punct(p) {
            Ok(())
        } else {
            Err(self.error())
        }
    }

    fn eat_word(&mut self, word: &str) -> bool {
        if is_word(self.peek(), word) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn name(&mut self) -> Result<String, KqlError> {
        match self.peek().clone() {
            Tok::Ident(w) | Tok::QuotedIdent(w) => {
                self.pos += 1;
                Ok(w)
            }
            _ => Err(self.error()),
        }
    }

    fn script(&mut self) -> Result<Script, KqlError> {
        let mut params = Vec::new();
        let mut options = Vec::new();
        let mut statements = Vec::new();
        loop {
            while self.eat_punct(";") {}
            if *self.peek() == Tok::Eof {
                break;
            }
            if is_word(self.peek(), "declare") {
                self.pos += 1;
                if !self.eat_word("query_parameters") {
                    return Err(self.error());
                }
                params.extend(self.param_decls()?);
            } else if is_word(self.peek(), "set") {
                self.pos += 1;
                options.push(self.set_option()?);
            } else if is_word(self.peek(), "let") || is_word(self.peek(), "alias") {
                let word = self.name()?;
                return Err(KqlError::unsupported(&format!("'{word}' statement")));
            } else {
                statements.push(self.pipeline()?);
            }
            match self.peek() {
                Tok::Eof => break,
                Tok::Punct(";") => {}
                _ => return Err(self.error()),
            }
        }
        if statements.is_empty() {
            return Err(self.error());
        }
        Ok(Script {
            params,
            options,
            statements,
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

    fn param_decls(&mut self) -> Result<Vec<ParamDecl>, KqlError> {
        self.expect_punct("(")?;
        let mut out = Vec::new();
        loop {
            let name = self.name()?;
            self.expect_punct(":")?;
            let ty = match self.advance() {
                Tok::Ident(t) => KustoType::parse(&t).ok_or_else(|| {
                    self.pos -= 1;
                    self.error()
                })?,
                _ => {
                    self.pos -= 1;
                    return Err(self.error());
                }
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

    fn pipeline(&mut self) -> Result<Pipeline, KqlError> {
        let source = if self.eat_word("print") {
            let mut items = Vec::new();
            loop {
                items.push(self.named_expr()?);
                if !self.eat_punct(",") {
                    break;
                }
            }
            Source::Print(items)
        } else if is_word(self.peek(), "database") && matches!(self.peek_at(1), Tok::Punct("(")) {
            self.pos += 2;
            let db = match self.advance() {
                Tok::Str(s) => s,
                _ => {
                    self.pos -= 1;
                    return Err(self.error());
                }
            };
            self.expect_punct(")")?;
            self.expect_punct(".")?;
            Source::Table {
                database: Some(db),
                name: self.name()?,
            }
        } else {
            match self.peek().clone() {
                Tok::Ident(w)
                    if UNSUPPORTED_OPERATORS.contains(&w.as_str())
                        || w == "datatable"
                        || w == "range"
                        || w == "union" =>
                {
                    return Err(KqlError::unsupported(&format!("'{w}' operator")));
                }
                Tok::Ident(_) | Tok::QuotedIdent(_) => Source::Table {
                    database: None,
                    name: self.name()?,
                },
                _ => return Err(self.error()),
            }
        };
        let mut ops = Vec::new();
        while self.eat_punct("|") {
            ops.push(self.operator()?);
        }
        Ok(Pipeline { source, ops })
    }

    fn named_expr(&mut self) -> Result<(Option<String>, Expr), KqlError> {
        if matches!(self.peek(), Tok::Ident(_) | Tok::QuotedIdent(_))
            && matches!(self.peek_at(1), Tok::Punct("="))
        {
            let name = self.name()?;
            self.pos += 1;
            return Ok((Some(name), self.expr()?));
        }
        Ok((None, self.expr()?))
    }

    fn operator(&mut self) -> Result<Operator, KqlError> {
        let word = match self.peek() {
            Tok::Ident(w) => w.clone(),
            _ => return Err(self.error()),
        };
        let (name, kind): (&'static str, OpKind) = match word.as_str() {
            "count" => {
                self.pos += 1;
                ("count", OpKind::Count)
            }
            "take" | "limit" => {
                self.pos += 1;
                let name = if word == "take" { "take" } else { "limit" };
                (name, OpKind::Take(self.expr()?))
            }
            "where" | "filter" => {
                self.pos += 1;
                ("where", OpKind::Where(self.expr()?))
            }
            "project" => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    let (alias, expr) = self.named_expr()?;
                    let out = match (&alias, &expr) {
                        (Some(a), _) => a.clone(),
                        (None, Expr::Name(n)) => n.clone(),
                        _ => {
                            return Err(KqlError::unsupported(
                                "A 'project' expression without a column name (write \
                                 'name = expression')",
                            ));
                        }
                    };
                    items.push((out, expr));
                    if !self.eat_punct(",") {
                        break;
                    }
                }
                ("project", OpKind::Project(items))
            }
            "order" | "sort" => {
                self.pos += 1;
                if !self.eat_word("by") {
                    return Err(self.error());
                }
                let mut keys = Vec::new();
                loop {
                    keys.push(self.sort_key()?);
                    if !self.eat_punct(",") {
                        break;
                    }
                }
                (
                    if word == "order" { "order" } else { "sort" },
                    OpKind::Order(keys),
                )
            }
            "top" => {
                self.pos += 1;
                let count = self.additive()?;
                if !self.eat_word("by") {
                    return Err(self.error());
                }
                let key = self.sort_key()?;
                ("top", OpKind::Top { count, key })
            }
            "extend" => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    items.push(self.named_expr()?);
                    if !self.eat_punct(",") {
                        break;
                    }
                }
                ("extend", OpKind::Extend(items))
            }
            "distinct" => {
                self.pos += 1;
                let mut names = Vec::new();
                if !self.eat_punct("*") {
                    loop {
                        names.push(self.name()?);
                        if !self.eat_punct(",") {
                            break;
                        }
                    }
                }
                ("distinct", OpKind::Distinct(names))
            }
            "project-away" => {
                self.pos += 1;
                let mut patterns = Vec::new();
                loop {
                    patterns.push(self.column_pattern()?);
                    if !self.eat_punct(",") {
                        break;
                    }
                }
                ("project-away", OpKind::ProjectAway(patterns))
            }
            "project-rename" => {
                self.pos += 1;
                let mut pairs = Vec::new();
                loop {
                    let new = self.name()?;
                    self.expect_punct("=")?;
                    let old = self.name()?;
                    pairs.push((new, old));
                    if !self.eat_punct(",") {
                        break;
                    }
                }
                ("project-rename", OpKind::ProjectRename(pairs))
            }
            "summarize" => {
                self.pos += 1;
                let mut aggregates = Vec::new();
                if !is_word(self.peek(), "by") {
                    loop {
                        aggregates.push(self.aggregate()?);
                        if !self.eat_punct(",") {
                            break;
                        }
                    }
                }
                let mut by = Vec::new();
                if self.eat_word("by") {
                    loop {
                        by.push(self.expr()?);
                        if !self.eat_punct(",") {
                            break;
                        }
                    }
                }
                if aggregates.is_empty() && by.is_empty() {
                    return Err(self.error());
                }
                ("summarize", OpKind::Summarize { aggregates, by })
            }
            w if UNSUPPORTED_OPERATORS.contains(&w) => {
                return Err(KqlError::unsupported(&format!("'{w}' operator")));
            }
            _ => return Err(self.error()),
        };
        Ok(Operator { name, kind })
    }

    /// `expr [asc|desc] [nulls first|last]` (descending unless `asc`).
    fn sort_key(&mut self) -> Result<SortKey, KqlError> {
        let expr = self.expr()?;
        let descending = if self.eat_word("asc") {
            false
        } else {
            self.eat_word("desc");
            true
        };
        let nulls_first = if self.eat_word("nulls") {
            if self.eat_word("first") {
                Some(true)
            } else if self.eat_word("last") {
                Some(false)
            } else {
                return Err(self.error());
            }
        } else {
            None
        };
        Ok(SortKey {
            expr,
            descending,
            nulls_first,
        })
    }

    /// A column name or a wildcard pattern (`Col*`, `*_id`, `*`): adjacent name and `*` tokens.
    fn column_pattern(&mut self) -> Result<String, KqlError> {
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

    fn aggregate(&mut self) -> Result<(Option<String>, Aggregate), KqlError> {
        let alias = if matches!(self.peek(), Tok::Ident(_) | Tok::QuotedIdent(_))
            && matches!(self.peek_at(1), Tok::Punct("="))
        {
            let a = self.name()?;
            self.pos += 1;
            Some(a)
        } else {
            None
        };
        let func = match self.peek() {
            Tok::Ident(f) if matches!(self.peek_at(1), Tok::Punct("(")) => f.clone(),
            _ => return Err(self.error()),
        };
        self.pos += 2;
        let agg = if func == "count" {
            Aggregate::Count
        } else {
            let arg = self.expr()?;
            match func.as_str() {
                "sum" => Aggregate::Sum(arg),
                "min" => Aggregate::Min(arg),
                "max" => Aggregate::Max(arg),
                "avg" => Aggregate::Avg(arg),
                other => {
                    return Err(KqlError::unsupported(&format!(
                        "aggregation function '{other}'"
                    )));
                }
            }
        };
        self.expect_punct(")")?;
        Ok((alias, agg))
    }

    fn expr(&mut self) -> Result<Expr, KqlError> {
        let mut left = self.and_expr()?;
        while self.eat_word("or") {
            let right = self.and_expr()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> Result<Expr, KqlError> {
        let mut left = self.comparison()?;
        while self.eat_word("and") {
            let right = self.comparison()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn comparison(&mut self) -> Result<Expr, KqlError> {
        let left = self.additive()?;
        let op = match self.peek() {
            Tok::Punct("==") => Some(CmpOp::Eq),
            Tok::Punct("!=") | Tok::Punct("<>") => Some(CmpOp::Ne),
            Tok::Punct("<") => Some(CmpOp::Lt),
            Tok::Punct("<=") => Some(CmpOp::Le),
            Tok::Punct(">") => Some(CmpOp::Gt),
            Tok::Punct(">=") => Some(CmpOp::Ge),
            Tok::Punct("=~") => Some(CmpOp::EqCi),
            Tok::Punct("!~") => Some(CmpOp::NeCi),
            Tok::Ident(w) => CmpOp::string_operator(w),
            _ => None,
        };
        if let Some(op) = op {
            self.pos += 1;
            let right = self.additive()?;
            return Ok(Expr::Cmp(op, Box::new(left), Box::new(right)));
        }
        let word = match self.peek() {
            Tok::Ident(w) => w.clone(),
            _ => return Ok(left),
        };
        if matches!(word.as_str(), "in" | "!in" | "in~" | "!in~") {
            self.pos += 1;
            self.expect_punct("(")?;
            let mut list = Vec::new();
            loop {
                list.push(self.additive()?);
                if !self.eat_punct(",") {
                    break;
                }
            }
            self.expect_punct(")")?;
            return Ok(Expr::In {
                expr: Box::new(left),
                list,
                negated: word.starts_with('!'),
                case_insensitive: word.ends_with('~'),
            });
        }
        if UNSUPPORTED_SCALAR_OPERATORS.contains(&word.as_str()) {
            let shown = if word == "matches" && is_word(self.peek_at(1), "regex") {
                "matches regex".to_string()
            } else {
                word
            };
            return Err(KqlError::unsupported(&format!("'{shown}' operator")));
        }
        Ok(left)
    }

    /// `a + b`, `a - b` (left-associative).
    fn additive(&mut self) -> Result<Expr, KqlError> {
        let mut left = self.multiplicative()?;
        loop {
            let op = match self.peek() {
                Tok::Punct("+") => ArithOp::Add,
                Tok::Punct("-") => ArithOp::Sub,
                _ => return Ok(left),
            };
            self.pos += 1;
            let right = self.multiplicative()?;
            left = Expr::Arith(op, Box::new(left), Box::new(right));
        }
    }

    /// `a * b`, `a / b`, `a % b` (left-associative).
    fn multiplicative(&mut self) -> Result<Expr, KqlError> {
        let mut left = self.unary()?;
        loop {
            let op = match self.peek() {
                Tok::Punct("*") => ArithOp::Mul,
                Tok::Punct("/") => ArithOp::Div,
                Tok::Punct("%") => ArithOp::Mod,
                _ => return Ok(left),
            };
            self.pos += 1;
            let right = self.unary()?;
            left = Expr::Arith(op, Box::new(left), Box::new(right));
        }
    }

    /// `-x`, `+x` or a primary expression.
    fn unary(&mut self) -> Result<Expr, KqlError> {
        if self.eat_punct("-") {
            return Ok(Expr::Neg(Box::new(self.unary()?)));
        }
        if self.eat_punct("+") {
            return self.unary();
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, KqlError> {
        match self.peek().clone() {
            Tok::Punct("(") => {
                self.pos += 1;
                let e = self.expr()?;
                self.expect_punct(")")?;
                Ok(e)
            }
            tok @ (Tok::Long(_)
            | Tok::Real(_)
            | Tok::Timespan(_)
            | Tok::Str(_)
            | Tok::Typed(..)) => {
                self.pos += 1;
                Ok(Expr::Literal(tok))
            }
            Tok::Ident(w) if w == "true" || w == "false" => {
                self.pos += 1;
                Ok(Expr::Literal(Tok::Ident(w)))
            }
            Tok::Ident(w) if w == "not" && matches!(self.peek_at(1), Tok::Punct("(")) => {
                self.pos += 2;
                let e = self.expr()?;
                self.expect_punct(")")?;
                Ok(Expr::Not(Box::new(e)))
            }
            Tok::Ident(w) if matches!(self.peek_at(1), Tok::Punct("(")) => {
                self.pos += 2;
                let mut args = Vec::new();
                if !self.eat_punct(")") {
                    loop {
                        args.push(self.expr()?);
                        if !self.eat_punct(",") {
                            break;
                        }
                    }
                    self.expect_punct(")")?;
                }
                Ok(Expr::Call(w, args))
            }
            Tok::Ident(w) | Tok::QuotedIdent(w) => {
                self.pos += 1;
                Ok(Expr::Name(w))
            }
            _ => Err(self.error()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pipelines() {
        let s = parse("declare query_parameters(n:long, s:string = 'x');\nT | where a > 1 and isnotnull(b) | order by a asc nulls last, b | take n | project a, c = b | summarize count() by a").unwrap();
        assert_eq!(s.params.len(), 2);
        assert_eq!(s.params[0].ty, KustoType::Long);
        assert!(s.params[1].default.is_some());
        let p = &s.statements[0];
        assert_eq!(
            p.source,
            Source::Table {
                database: None,
                name: "T".into()
            }
        );
        let names: Vec<_> = p.ops.iter().map(|o| o.name).collect();
        assert_eq!(names, ["where", "order", "take", "project", "summarize"]);
        let s = parse("print 1, x = 'a'; database('Db').['My T'] | count").unwrap();
        assert_eq!(s.statements.len(), 2);
        assert!(matches!(&s.statements[0].source, Source::Print(items) if items.len() == 2));
    }

    #[test]
    fn reports_syntax_errors_at_the_token() {
        assert_eq!(
            parse("PerfTest take 5"),
            Err(KqlError::Syntax {
                offset: 9,
                token: "take".into()
            })
        );
        assert_eq!(
            parse("T | take"),
            Err(KqlError::Syntax {
                offset: 8,
                token: "<EOF>".into()
            })
        );
        assert!(matches!(
            parse("T | frobnicate"),
            Err(KqlError::Syntax { offset: 4, .. })
        ));
        assert!(matches!(
            parse("T | join (U) on a"),
            Err(KqlError::Semantic { .. })
        ));
        assert!(matches!(parse(""), Err(KqlError::Syntax { .. })));
    }

    fn where_expr(text: &str) -> Expr {
        let s = parse(&format!("T | where {text}")).unwrap();
        match &s.statements[0].ops[0].kind {
            OpKind::Where(e) => e.clone(),
            other => panic!("not a where: {other:?}"),
        }
    }

    fn name(n: &str) -> Box<Expr> {
        Box::new(Expr::Name(n.into()))
    }

    fn long(v: i64) -> Box<Expr> {
        Box::new(Expr::Literal(Tok::Long(v)))
    }

    #[test]
    fn string_operators_and_their_variants() {
        for (word, op, case_sensitive, negated) in [
            ("has", StrOp::Has, false, false),
            ("!has", StrOp::Has, false, true),
            ("has_cs", StrOp::Has, true, false),
            ("!has_cs", StrOp::Has, true, true),
            ("contains", StrOp::Contains, false, false),
            ("!contains", StrOp::Contains, false, true),
            ("contains_cs", StrOp::Contains, true, false),
            ("!contains_cs", StrOp::Contains, true, true),
            ("startswith", StrOp::StartsWith, false, false),
            ("!startswith", StrOp::StartsWith, false, true),
            ("startswith_cs", StrOp::StartsWith, true, false),
            ("!startswith_cs", StrOp::StartsWith, true, true),
            ("endswith", StrOp::EndsWith, false, false),
            ("!endswith", StrOp::EndsWith, false, true),
            ("endswith_cs", StrOp::EndsWith, true, false),
            ("!endswith_cs", StrOp::EndsWith, true, true),
        ] {
            assert_eq!(
                where_expr(&format!("s {word} 'x'")),
                Expr::Cmp(
                    CmpOp::Str {
                        op,
                        case_sensitive,
                        negated
                    },
                    name("s"),
                    Box::new(Expr::Literal(Tok::Str("x".into())))
                ),
                "{word}"
            );
        }
        for (word, negated, case_insensitive) in [
            ("in", false, false),
            ("!in", true, false),
            ("in~", false, true),
            ("!in~", true, true),
        ] {
            assert_eq!(
                where_expr(&format!("s {word} ('a', 1 + 1)")),
                Expr::In {
                    expr: name("s"),
                    list: vec![
                        Expr::Literal(Tok::Str("a".into())),
                        Expr::Arith(ArithOp::Add, long(1), long(1))
                    ],
                    negated,
                    case_insensitive
                },
                "{word}"
            );
        }
    }

    #[test]
    fn arithmetic_precedence_and_associativity() {
        // a + b * c == a + (b * c); a - b - c == (a - b) - c; unary minus binds tightest.
        assert_eq!(
            where_expr("a + b * c > -d - 1 % 2"),
            Expr::Cmp(
                CmpOp::Gt,
                Box::new(Expr::Arith(
                    ArithOp::Add,
                    name("a"),
                    Box::new(Expr::Arith(ArithOp::Mul, name("b"), name("c")))
                )),
                Box::new(Expr::Arith(
                    ArithOp::Sub,
                    Box::new(Expr::Neg(name("d"))),
                    Box::new(Expr::Arith(ArithOp::Mod, long(1), long(2)))
                ))
            )
        );
        assert_eq!(
            where_expr("(a - b - c) / 2 == 0 and x"),
            Expr::And(
                Box::new(Expr::Cmp(
                    CmpOp::Eq,
                    Box::new(Expr::Arith(
                        ArithOp::Div,
                        Box::new(Expr::Arith(
                            ArithOp::Sub,
                            Box::new(Expr::Arith(ArithOp::Sub, name("a"), name("b"))),
                            name("c")
                        )),
                        long(2)
                    )),
                    long(0)
                )),
                name("x")
            )
        );
        let s = parse("declare query_parameters(n:long = -5); T | take n").unwrap();
        assert_eq!(s.params[0].default, Some(Expr::Neg(long(5))));
    }

    #[test]
    fn unsupported_scalar_operators_are_semantic_errors_naming_them() {
        for (text, named) in [
            ("a between (1 .. 5)", "'between' operator"),
            ("a !between (1 .. 5)", "'!between' operator"),
            ("s has_any ('a', 'b')", "'has_any' operator"),
            ("s has_all ('a', 'b')", "'has_all' operator"),
            ("s hasprefix 'a'", "'hasprefix' operator"),
            ("s !hassuffix_cs 'a'", "'!hassuffix_cs' operator"),
            ("s matches regex 'a.*'", "'matches regex' operator"),
        ] {
            match parse(&format!("T | where {text}")) {
                Err(KqlError::Semantic { message, .. }) => {
                    assert!(message.starts_with(named), "{text}: {message}")
                }
                other => panic!("{text}: {other:?}"),
            }
        }
        assert!(matches!(
            parse("T | project a + 1"),
            Err(KqlError::Semantic { message, .. }) if message.contains("'project' expression without a column name")
        ));
        // Still a syntax error: an operator with a missing operand.
        assert!(matches!(
            parse("T | where a + "),
            Err(KqlError::Syntax { token, .. }) if token == "<EOF>"
        ));
        assert!(matches!(
            parse("T | where a * * b"),
            Err(KqlError::Syntax { token, .. }) if token == "*"
        ));
    }
}
