//! The larger tabular operators: `join`, `lookup`, `union`, `mv-expand`, `mv-apply`, `parse`,
//! `parse-where`, `parse-kv`, `make-series`, `top-nested`.

use super::{Parser, is_word};
use crate::kql::KqlError;
use crate::kql::ast::{
    BinOp, ExpandItem, Expr, ExprKind, JoinKey, JoinKind, OpKind, ParseKind, ParsePart,
    TopNestedLevel,
};
use crate::kql::lexer::Tok;

impl Parser {
    pub(super) fn more_operators(&mut self, name: &'static str) -> Result<OpKind, KqlError> {
        Ok(match name {
            "join" => self.join()?,
            "lookup" => self.lookup()?,
            "union" => OpKind::Union(self.union_spec()?),
            "mv-expand" => {
                let (items, item_index, limit, array) = self.expand_spec()?;
                OpKind::MvExpand {
                    items,
                    item_index,
                    limit,
                    bagexpansion_array: array,
                }
            }
            "mv-apply" => {
                let (items, item_index, limit, _) = self.expand_spec()?;
                self.expect_word("on")?;
                self.expect_punct("(")?;
                let mut on = Vec::new();
                loop {
                    self.eat_punct("|");
                    on.push(self.operator()?);
                    if !self.is_punct("|") {
                        break;
                    }
                }
                self.expect_punct(")")?;
                OpKind::MvApply {
                    items,
                    item_index,
                    limit,
                    on,
                }
            }
            "parse" | "parse-where" => self.parse_op(name == "parse-where")?,
            "parse-kv" => self.parse_kv()?,
            "make-series" => self.make_series()?,
            "top-nested" => self.top_nested()?,
            _ => return Err(self.error()),
        })
    }

    fn join_kind(&mut self) -> Result<Option<JoinKind>, KqlError> {
        let mut kind = None;
        loop {
            if is_word(self.peek(), "kind") && self.peek_at(1) == &Tok::Punct("=") {
                self.pos += 2;
                let k = self.name()?;
                kind = Some(match k.as_str() {
                    "innerunique" => JoinKind::InnerUnique,
                    "inner" => JoinKind::Inner,
                    "leftouter" => JoinKind::LeftOuter,
                    "rightouter" => JoinKind::RightOuter,
                    "fullouter" | "outer" => JoinKind::FullOuter,
                    "leftanti" | "anti" | "leftantisemi" => JoinKind::LeftAnti,
                    "rightanti" | "rightantisemi" => JoinKind::RightAnti,
                    "leftsemi" | "semi" => JoinKind::LeftSemi,
                    "rightsemi" => JoinKind::RightSemi,
                    _ => {
                        self.pos -= 1;
                        return Err(self.error());
                    }
                });
            } else if matches!(self.peek(), Tok::Ident(w) if w.starts_with("hint."))
                && self.peek_at(1) == &Tok::Punct("=")
            {
                self.pos += 3;
            } else {
                return Ok(kind);
            }
        }
    }

    /// The right side of `join`/`lookup`: a parenthesized expression or a name.
    fn right_table(&mut self) -> Result<Expr, KqlError> {
        self.unary()
    }

    /// `on key, $left.a == $right.b and ...`
    fn join_keys(&mut self) -> Result<Vec<JoinKey>, KqlError> {
        self.expect_word("on")?;
        let mut keys = Vec::new();
        loop {
            let e = self.expr()?;
            flatten_keys(e, &mut keys)?;
            if !self.eat_punct(",") {
                break;
            }
        }
        Ok(keys)
    }

    fn join(&mut self) -> Result<OpKind, KqlError> {
        let kind = self.join_kind()?.unwrap_or(JoinKind::InnerUnique);
        let right = self.right_table()?;
        let on = self.join_keys()?;
        Ok(OpKind::Join { kind, right, on })
    }

    fn lookup(&mut self) -> Result<OpKind, KqlError> {
        let kind = self.join_kind()?;
        let left_outer = match kind {
            None | Some(JoinKind::LeftOuter) => true,
            Some(JoinKind::Inner) => false,
            Some(_) => return Err(self.error()),
        };
        let right = self.right_table()?;
        let on = self.join_keys()?;
        Ok(OpKind::Lookup {
            left_outer,
            right,
            on,
        })
    }

    /// The parameters and items of `mv-expand` and `mv-apply`.
    #[allow(clippy::type_complexity)]
    fn expand_spec(
        &mut self,
    ) -> Result<(Vec<ExpandItem>, Option<String>, Option<Expr>, bool), KqlError> {
        let mut item_index = None;
        let mut array = false;
        loop {
            if (is_word(self.peek(), "bagexpansion") || is_word(self.peek(), "kind"))
                && self.peek_at(1) == &Tok::Punct("=")
            {
                self.pos += 2;
                array = self.name()? == "array";
            } else if is_word(self.peek(), "with_itemindex") && self.peek_at(1) == &Tok::Punct("=")
            {
                self.pos += 2;
                item_index = Some(self.name()?);
            } else if matches!(self.peek(), Tok::Ident(w) if w.starts_with("hint."))
                && self.peek_at(1) == &Tok::Punct("=")
            {
                self.pos += 3;
            } else {
                break;
            }
        }
        let mut items = Vec::new();
        loop {
            let named = self.named_expr()?;
            let to_type = if self.eat_word("to") {
                self.expect_word("typeof")?;
                self.expect_punct("(")?;
                let t = self.type_name()?;
                self.expect_punct(")")?;
                Some(t)
            } else {
                None
            };
            items.push(ExpandItem {
                name: named.names.into_iter().next(),
                expr: named.expr,
                to_type,
            });
            if !self.eat_punct(",") {
                break;
            }
        }
        let limit = if self.eat_word("limit") {
            Some(self.expr()?)
        } else {
            None
        };
        Ok((items, item_index, limit, array))
    }

    fn parse_op(&mut self, filter: bool) -> Result<OpKind, KqlError> {
        let mut kind = ParseKind::Simple;
        let mut flags = None;
        loop {
            if is_word(self.peek(), "kind") && self.peek_at(1) == &Tok::Punct("=") {
                self.pos += 2;
                kind = match self.name()?.as_str() {
                    "simple" => ParseKind::Simple,
                    "regex" => ParseKind::Regex,
                    "relaxed" => ParseKind::Relaxed,
                    _ => {
                        self.pos -= 1;
                        return Err(self.error());
                    }
                };
            } else if is_word(self.peek(), "flags") && self.peek_at(1) == &Tok::Punct("=") {
                self.pos += 2;
                flags = Some(self.name()?);
            } else {
                break;
            }
        }
        let source = self.expr()?;
        self.expect_word("with")?;
        let mut pattern = Vec::new();
        loop {
            match self.peek().clone() {
                Tok::Str(s) => {
                    self.pos += 1;
                    pattern.push(ParsePart::Text(s));
                }
                Tok::Punct("*") => {
                    self.pos += 1;
                    pattern.push(ParsePart::Any);
                }
                Tok::Ident(_) | Tok::QuotedIdent(_) => {
                    let name = self.name()?;
                    let ty = if self.eat_punct(":") {
                        Some(self.type_name()?)
                    } else {
                        None
                    };
                    pattern.push(ParsePart::Column(name, ty));
                }
                _ => break,
            }
        }
        if pattern.is_empty() {
            return Err(self.error());
        }
        Ok(OpKind::Parse {
            kind,
            flags,
            source,
            pattern,
            filter,
        })
    }

    fn parse_kv(&mut self) -> Result<OpKind, KqlError> {
        let source = self.expr()?;
        self.expect_word("as")?;
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
        let mut op = OpKind::ParseKv {
            source,
            columns,
            pair_delimiter: None,
            kv_delimiter: None,
            quote: None,
            escape: None,
            greedy: false,
            regex: None,
        };
        if self.eat_word("with") {
            self.expect_punct("(")?;
            loop {
                let key = self.name()?;
                self.expect_punct("=")?;
                let value = match self.advance() {
                    Tok::Str(s) => s,
                    Tok::Ident(w) => w,
                    _ => {
                        self.pos -= 1;
                        return Err(self.error());
                    }
                };
                if let OpKind::ParseKv {
                    pair_delimiter,
                    kv_delimiter,
                    quote,
                    escape,
                    greedy,
                    regex,
                    ..
                } = &mut op
                {
                    match key.as_str() {
                        "pair_delimiter" => *pair_delimiter = Some(value),
                        "kv_delimiter" => *kv_delimiter = Some(value),
                        "quote" => *quote = Some(value),
                        "escape" => *escape = Some(value),
                        "greedy" => *greedy = value == "true",
                        "regex" => *regex = Some(value),
                        _ => {}
                    }
                }
                if self.eat_punct(")") {
                    break;
                }
                self.expect_punct(",")?;
            }
        }
        Ok(op)
    }

    fn make_series(&mut self) -> Result<OpKind, KqlError> {
        self.skip_hints();
        if is_word(self.peek(), "kind") && self.peek_at(1) == &Tok::Punct("=") {
            self.pos += 3;
        }
        let mut aggregates = Vec::new();
        loop {
            let agg = self.named_expr()?;
            let default = if is_word(self.peek(), "default") && self.peek_at(1) == &Tok::Punct("=")
            {
                self.pos += 2;
                Some(self.unary()?)
            } else {
                None
            };
            aggregates.push((agg, default));
            if !self.eat_punct(",") {
                break;
            }
        }
        self.expect_word("on")?;
        let on = self.additive()?;
        let (mut from, mut to, step, in_range);
        if self.eat_word("in") {
            // `in range(start, stop, step)`
            let pos = self.offset();
            let call = self.expr()?;
            let ExprKind::Call(f, args) = call.kind else {
                return Err(KqlError::Syntax {
                    offset: pos,
                    token: "in".into(),
                });
            };
            let mut args = args.into_iter();
            match (f.as_str(), args.next(), args.next(), args.next()) {
                ("range", Some(a), Some(b), Some(c)) => {
                    from = Some(a);
                    to = Some(b);
                    step = c;
                }
                _ => {
                    return Err(KqlError::Syntax {
                        offset: pos,
                        token: f,
                    });
                }
            }
            in_range = true;
        } else {
            from = None;
            to = None;
            if self.eat_word("from") {
                from = Some(self.expr()?);
            }
            if self.eat_word("to") {
                to = Some(self.expr()?);
            }
            self.expect_word("step")?;
            step = self.expr()?;
            in_range = false;
        }
        let by = if self.eat_word("by") {
            self.named_list()?
        } else {
            Vec::new()
        };
        Ok(OpKind::MakeSeries {
            aggregates,
            on,
            from,
            to,
            step,
            by,
            in_range,
        })
    }

    fn top_nested(&mut self) -> Result<OpKind, KqlError> {
        let mut levels = Vec::new();
        loop {
            let count = if is_word(self.peek(), "of") {
                None
            } else {
                Some(self.expr()?)
            };
            self.expect_word("of")?;
            let of = self.named_expr()?;
            let others = if is_word(self.peek(), "with") {
                self.pos += 1;
                self.expect_word("others")?;
                self.expect_punct("=")?;
                Some(self.unary()?)
            } else {
                None
            };
            self.expect_word("by")?;
            let by = self.named_expr()?;
            let descending = if self.eat_word("asc") {
                false
            } else {
                self.eat_word("desc");
                true
            };
            levels.push(TopNestedLevel {
                count,
                of,
                others,
                by,
                descending,
            });
            if self.is_punct(",") && is_word(self.peek_at(1), "top-nested") {
                self.pos += 2;
                continue;
            }
            break;
        }
        Ok(OpKind::TopNested(levels))
    }
}

/// Splits `a and b` join conditions into keys: `x` (same name on both sides), `$left.a ==
/// $right.b` (either order), or `a == b` (left a, right b).
fn flatten_keys(e: Expr, keys: &mut Vec<JoinKey>) -> Result<(), KqlError> {
    match e.kind {
        ExprKind::Binary(BinOp::And, a, b) => {
            flatten_keys(*a, keys)?;
            flatten_keys(*b, keys)
        }
        ExprKind::Binary(BinOp::Eq, a, b) => {
            let side = |x: &Expr| match &x.kind {
                ExprKind::Member(inner, _) => match &inner.kind {
                    ExprKind::Name(n) if n == "$left" => Some(true),
                    ExprKind::Name(n) if n == "$right" => Some(false),
                    _ => None,
                },
                _ => None,
            };
            let (left, right) = match (side(&a), side(&b)) {
                (Some(false), Some(true)) => (*b, *a),
                _ => (*a, *b),
            };
            keys.push(JoinKey { left, right });
            Ok(())
        }
        ExprKind::Name(_) => {
            keys.push(JoinKey {
                left: e.clone(),
                right: e,
            });
            Ok(())
        }
        _ => Err(KqlError::Syntax {
            offset: e.pos,
            token: "on".into(),
        }),
    }
}
