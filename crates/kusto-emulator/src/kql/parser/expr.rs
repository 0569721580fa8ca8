//! Scalar expressions: `or` < `and` < comparisons and string predicates < `+ -` < `* / %` <
//! unary minus < member access and indexing < primaries (literals, names, calls, parentheses).

use super::{Parser, is_word};
use crate::kql::KqlError;
use crate::kql::ast::{BinOp, Expr, ExprKind, ListOp, NamedExpr, StrOp};
use crate::kql::lexer::Tok;
use crate::kql::literals;
use crate::value::{KustoType, Value};

/// The string predicate spelled `word` (`has`, `!startswith_cs`, ...): operator, case-sensitive,
/// negated.
fn string_operator(word: &str) -> Option<(StrOp, bool, bool)> {
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
        "hasprefix" => StrOp::HasPrefix,
        "hassuffix" => StrOp::HasSuffix,
        _ => return None,
    };
    Some((op, case_sensitive, negated))
}

impl Parser {
    /// `[name =] expr` or `(a, b) = expr`.
    pub(in crate::kql) fn named_expr(&mut self) -> Result<NamedExpr, KqlError> {
        if self.at_assignment() {
            let name = self.name()?;
            self.pos += 1;
            return Ok(NamedExpr {
                names: vec![name],
                expr: self.expr()?,
            });
        }
        // `(a, b) = expr`
        if self.is_punct("(") {
            let save = self.pos;
            self.pos += 1;
            let mut names = Vec::new();
            let ok = loop {
                match self.name() {
                    Ok(n) => names.push(n),
                    Err(_) => break false,
                }
                if self.eat_punct(",") {
                    continue;
                }
                break self.eat_punct(")") && self.eat_punct("=");
            };
            if ok {
                return Ok(NamedExpr {
                    names,
                    expr: self.expr()?,
                });
            }
            self.pos = save;
        }
        Ok(NamedExpr {
            names: Vec::new(),
            expr: self.expr()?,
        })
    }

    /// A scalar expression (no `|`).
    pub(in crate::kql) fn expr(&mut self) -> Result<Expr, KqlError> {
        self.enter()?;
        let mut left = self.and_expr()?;
        let depth = self.depth;
        while self.eat_word("or") {
            self.enter()?;
            let right = self.and_expr()?;
            let pos = left.pos;
            left = Expr::new(
                ExprKind::Binary(BinOp::Or, Box::new(left), Box::new(right)),
                pos,
            );
        }
        self.depth = depth;
        self.leave();
        Ok(left)
    }

    fn and_expr(&mut self) -> Result<Expr, KqlError> {
        let mut left = self.comparison()?;
        let depth = self.depth;
        while self.eat_word("and") {
            self.enter()?;
            let right = self.comparison()?;
            let pos = left.pos;
            left = Expr::new(
                ExprKind::Binary(BinOp::And, Box::new(left), Box::new(right)),
                pos,
            );
        }
        self.depth = depth;
        Ok(left)
    }

    fn comparison(&mut self) -> Result<Expr, KqlError> {
        let left = self.additive()?;
        let pos = left.pos;
        let op = match self.peek() {
            Tok::Punct("==") => Some(BinOp::Eq),
            Tok::Punct("!=") | Tok::Punct("<>") => Some(BinOp::Ne),
            Tok::Punct("<") => Some(BinOp::Lt),
            Tok::Punct("<=") => Some(BinOp::Le),
            Tok::Punct(">") => Some(BinOp::Gt),
            Tok::Punct(">=") => Some(BinOp::Ge),
            Tok::Punct("=~") => Some(BinOp::EqCi),
            Tok::Punct("!~") => Some(BinOp::NeCi),
            _ => None,
        };
        if let Some(op) = op {
            self.pos += 1;
            let right = self.additive()?;
            return Ok(Expr::new(
                ExprKind::Binary(op, Box::new(left), Box::new(right)),
                pos,
            ));
        }
        let word = match self.peek() {
            Tok::Ident(w) => w.clone(),
            _ => return Ok(left),
        };
        if let Some((op, case_sensitive, negated)) = string_operator(&word) {
            self.pos += 1;
            let right = self.additive()?;
            return Ok(Expr::new(
                ExprKind::StrPred {
                    op,
                    case_sensitive,
                    negated,
                    left: Box::new(left),
                    right: Box::new(right),
                },
                pos,
            ));
        }
        if word == "matches" && is_word(self.peek_at(1), "regex") {
            self.pos += 2;
            let right = self.additive()?;
            return Ok(Expr::new(
                ExprKind::StrPred {
                    op: StrOp::MatchesRegex,
                    case_sensitive: true,
                    negated: false,
                    left: Box::new(left),
                    right: Box::new(right),
                },
                pos,
            ));
        }
        let list_op = match word.as_str() {
            "in" | "!in" | "in~" | "!in~" => Some(ListOp::In),
            "has_any" => Some(ListOp::HasAny),
            "has_all" => Some(ListOp::HasAll),
            _ => None,
        };
        if let Some(op) = list_op {
            self.pos += 1;
            self.expect_punct("(")?;
            self.enter()?;
            let mut list = Vec::new();
            if !self.is_punct(")") {
                loop {
                    list.push(self.pipe_expr()?);
                    if !self.eat_punct(",") {
                        break;
                    }
                }
            }
            self.expect_punct(")")?;
            self.leave();
            return Ok(Expr::new(
                ExprKind::InList {
                    op,
                    negated: word.starts_with('!'),
                    case_insensitive: word.ends_with('~'),
                    left: Box::new(left),
                    list,
                },
                pos,
            ));
        }
        if word == "between" || word == "!between" {
            self.pos += 1;
            self.expect_punct("(")?;
            let low = self.additive()?;
            self.expect_punct("..")?;
            let high = self.additive()?;
            self.expect_punct(")")?;
            return Ok(Expr::new(
                ExprKind::Between {
                    negated: word.starts_with('!'),
                    left: Box::new(left),
                    low: Box::new(low),
                    high: Box::new(high),
                },
                pos,
            ));
        }
        Ok(left)
    }

    /// `a + b`, `a - b` (left-associative).
    pub(in crate::kql) fn additive(&mut self) -> Result<Expr, KqlError> {
        let mut left = self.multiplicative()?;
        let depth = self.depth;
        loop {
            let op = match self.peek() {
                Tok::Punct("+") => BinOp::Add,
                Tok::Punct("-") => BinOp::Sub,
                _ => break,
            };
            self.pos += 1;
            self.enter()?;
            let right = self.multiplicative()?;
            let pos = left.pos;
            left = Expr::new(ExprKind::Binary(op, Box::new(left), Box::new(right)), pos);
        }
        self.depth = depth;
        Ok(left)
    }

    /// `a * b`, `a / b`, `a % b` (left-associative).
    fn multiplicative(&mut self) -> Result<Expr, KqlError> {
        let mut left = self.unary()?;
        let depth = self.depth;
        loop {
            let op = match self.peek() {
                Tok::Punct("*") => BinOp::Mul,
                Tok::Punct("/") => BinOp::Div,
                Tok::Punct("%") => BinOp::Mod,
                _ => break,
            };
            self.pos += 1;
            self.enter()?;
            let right = self.unary()?;
            let pos = left.pos;
            left = Expr::new(ExprKind::Binary(op, Box::new(left), Box::new(right)), pos);
        }
        self.depth = depth;
        Ok(left)
    }

    /// `-x`, `+x` or a postfix expression.
    pub(in crate::kql) fn unary(&mut self) -> Result<Expr, KqlError> {
        let pos = self.offset();
        if self.eat_punct("-") {
            self.enter()?;
            let inner = self.unary()?;
            self.leave();
            // A negative numeric literal stays a literal.
            return Ok(match inner.kind {
                ExprKind::Literal(Value::Long(v), t) if v != i64::MIN => {
                    Expr::new(ExprKind::Literal(Value::Long(-v), t), pos)
                }
                ExprKind::Literal(Value::Real(v), t) => {
                    Expr::new(ExprKind::Literal(Value::Real(-v), t), pos)
                }
                ExprKind::Literal(Value::TimeSpan(v), t) => {
                    Expr::new(ExprKind::Literal(Value::TimeSpan(v.wrapping_neg()), t), pos)
                }
                kind => Expr::new(ExprKind::Neg(Box::new(Expr::new(kind, inner.pos))), pos),
            });
        }
        if self.eat_punct("+") {
            self.enter()?;
            let e = self.unary();
            self.leave();
            return e;
        }
        self.postfix()
    }

    /// Member access and indexing: `x.a`, `x["a"]`, `x[0]`, `x['a']`.
    fn postfix(&mut self) -> Result<Expr, KqlError> {
        let mut e = self.primary()?;
        let depth = self.depth;
        loop {
            let pos = e.pos;
            match self.peek().clone() {
                Tok::Punct(".") => {
                    self.pos += 1;
                    self.enter()?;
                    let name = self.name()?;
                    e = Expr::new(ExprKind::Member(Box::new(e), name), pos);
                }
                Tok::Punct("[") => {
                    self.pos += 1;
                    self.enter()?;
                    let index = self.expr()?;
                    self.expect_punct("]")?;
                    e = Expr::new(ExprKind::Index(Box::new(e), Box::new(index)), pos);
                }
                Tok::QuotedIdent(key) => {
                    // `x['a']` lexes as a quoted identifier.
                    let at = self.offset();
                    self.pos += 1;
                    self.enter()?;
                    let index =
                        Expr::new(ExprKind::Literal(Value::String(key), KustoType::String), at);
                    e = Expr::new(ExprKind::Index(Box::new(e), Box::new(index)), pos);
                }
                _ => break,
            }
        }
        self.depth = depth;
        Ok(e)
    }

    fn primary(&mut self) -> Result<Expr, KqlError> {
        let pos = self.offset();
        match self.peek().clone() {
            Tok::Punct("(") => {
                self.pos += 1;
                self.enter()?;
                let e = self.pipe_expr()?;
                self.expect_punct(")")?;
                self.leave();
                let tabular = matches!(
                    e.kind,
                    ExprKind::Pipe(..)
                        | ExprKind::Print(_)
                        | ExprKind::Range { .. }
                        | ExprKind::Datatable { .. }
                        | ExprKind::Union(_)
                );
                Ok(if tabular {
                    Expr::new(ExprKind::Paren(Box::new(e)), pos)
                } else {
                    e
                })
            }
            Tok::Long(v) => {
                self.pos += 1;
                Ok(Expr::new(
                    ExprKind::Literal(Value::Long(v), KustoType::Long),
                    pos,
                ))
            }
            Tok::Real(v) => {
                self.pos += 1;
                Ok(Expr::new(
                    ExprKind::Literal(Value::Real(v), KustoType::Real),
                    pos,
                ))
            }
            Tok::Timespan(v) => {
                self.pos += 1;
                Ok(Expr::new(
                    ExprKind::Literal(Value::TimeSpan(v), KustoType::TimeSpan),
                    pos,
                ))
            }
            Tok::Str(s) => {
                self.pos += 1;
                Ok(Expr::new(
                    ExprKind::Literal(Value::String(s), KustoType::String),
                    pos,
                ))
            }
            Tok::Typed(name, raw) => {
                let (value, ty) = literals::typed(&name, &raw).map_err(|_| self.error())?;
                self.pos += 1;
                Ok(Expr::new(ExprKind::Literal(value, ty), pos))
            }
            Tok::Ident(w) if w == "true" || w == "false" => {
                self.pos += 1;
                Ok(Expr::new(
                    ExprKind::Literal(Value::Bool(w == "true"), KustoType::Bool),
                    pos,
                ))
            }
            Tok::Ident(w) if matches!(self.peek_at(1), Tok::Punct("(")) => {
                self.pos += 2;
                self.enter()?;
                let mut args = Vec::new();
                if !self.eat_punct(")") {
                    loop {
                        args.push(self.call_arg()?);
                        if !self.eat_punct(",") {
                            break;
                        }
                    }
                    self.expect_punct(")")?;
                }
                self.leave();
                Ok(Expr::new(ExprKind::Call(w, args), pos))
            }
            Tok::Ident(w) | Tok::QuotedIdent(w) => {
                self.pos += 1;
                Ok(Expr::new(ExprKind::Name(w), pos))
            }
            _ => Err(self.error()),
        }
    }

    /// A call argument: an expression (possibly tabular) or `*`; `name = value` arguments of
    /// a few functions are taken as their value.
    fn call_arg(&mut self) -> Result<Expr, KqlError> {
        if self.is_punct("*") && matches!(self.peek_at(1), Tok::Punct(")" | ",")) {
            let pos = self.offset();
            self.pos += 1;
            return Ok(Expr::new(ExprKind::Star, pos));
        }
        self.pipe_expr()
    }
}
