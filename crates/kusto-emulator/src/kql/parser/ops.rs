//! Tabular operators after `|`: the common ones here, the rest in `ops_more.rs`.

use super::{Parser, is_word};
use crate::kql::KqlError;
use crate::kql::ast::{NamedExpr, OpKind, Operator, SortKey};
use crate::kql::lexer::Tok;

/// Real KQL operators the emulator does not run: a semantic error names them.
pub(crate) const UNSUPPORTED_OPERATORS: [&str; 15] = [
    "externaldata",
    "facet",
    "find",
    "fork",
    "make-graph",
    "graph-match",
    "partition",
    "project-smart",
    "reduce",
    "scan",
    "search",
    "top-hitters",
    "macro-expand",
    "graph-merge",
    "graph-to-table",
];

/// Operator names as Kusto spells them in messages.
fn canonical(word: &str) -> Option<&'static str> {
    Some(match word {
        "where" | "filter" => "where",
        "take" => "take",
        "limit" => "limit",
        "count" => "count",
        "project" => "project",
        "extend" => "extend",
        "project-away" => "project-away",
        "project-keep" => "project-keep",
        "project-rename" => "project-rename",
        "project-reorder" => "project-reorder",
        "distinct" => "distinct",
        "order" => "order",
        "sort" => "sort",
        "top" => "top",
        "summarize" => "summarize",
        "join" => "join",
        "lookup" => "lookup",
        "union" => "union",
        "mv-expand" => "mv-expand",
        "mv-apply" => "mv-apply",
        "parse" => "parse",
        "parse-where" => "parse-where",
        "parse-kv" => "parse-kv",
        "make-series" => "make-series",
        "top-nested" => "top-nested",
        "serialize" => "serialize",
        "sample" => "sample",
        "sample-distinct" => "sample-distinct",
        "getschema" => "getschema",
        "as" => "as",
        "invoke" => "invoke",
        "consume" => "consume",
        "render" => "render",
        "evaluate" => "evaluate",
        _ => return None,
    })
}

impl Parser {
    /// One operator after `|`.
    pub(super) fn operator(&mut self) -> Result<Operator, KqlError> {
        let pos = self.offset();
        let word = match self.peek() {
            Tok::Ident(w) => w.clone(),
            _ => return Err(self.error()),
        };
        if UNSUPPORTED_OPERATORS.contains(&word.as_str()) {
            return Err(KqlError::unsupported_at(&format!("'{word}' operator"), pos));
        }
        let Some(name) = canonical(&word) else {
            return Err(self.error());
        };
        self.pos += 1;
        self.enter()?;
        let kind = self.operator_body(name)?;
        self.leave();
        Ok(Operator { name, pos, kind })
    }

    fn operator_body(&mut self, name: &'static str) -> Result<OpKind, KqlError> {
        Ok(match name {
            "where" => OpKind::Where(self.expr()?),
            "take" | "limit" => {
                self.skip_hints();
                OpKind::Take(self.expr()?)
            }
            "count" => {
                let alias = if is_word(self.peek(), "as") {
                    self.pos += 1;
                    Some(self.name()?)
                } else {
                    None
                };
                OpKind::Count(alias)
            }
            "project" => OpKind::Project(self.named_list()?),
            "extend" => OpKind::Extend(self.named_list()?),
            "project-away" => OpKind::ProjectAway(self.pattern_list()?),
            "project-keep" => OpKind::ProjectKeep(self.pattern_list()?),
            "project-rename" => {
                let mut pairs = Vec::new();
                loop {
                    let new = self.name()?;
                    self.expect_punct("=")?;
                    pairs.push((new, self.name()?));
                    if !self.eat_punct(",") {
                        break;
                    }
                }
                OpKind::ProjectRename(pairs)
            }
            "project-reorder" => {
                let mut items = Vec::new();
                loop {
                    let p = self.column_pattern()?;
                    let order = if self.eat_word("asc") || self.eat_word("granny-asc") {
                        Some(false)
                    } else if self.eat_word("desc") || self.eat_word("granny-desc") {
                        Some(true)
                    } else {
                        None
                    };
                    items.push((p, order));
                    if !self.eat_punct(",") {
                        break;
                    }
                }
                OpKind::ProjectReorder(items)
            }
            "distinct" => {
                self.skip_hints();
                if self.eat_punct("*") {
                    OpKind::Distinct(Vec::new())
                } else {
                    let mut items = Vec::new();
                    loop {
                        items.push(self.expr()?);
                        if !self.eat_punct(",") {
                            break;
                        }
                    }
                    OpKind::Distinct(items)
                }
            }
            "order" | "sort" => {
                self.expect_word("by")?;
                OpKind::Order(self.sort_keys()?)
            }
            "top" => {
                let count = self.expr()?;
                self.expect_word("by")?;
                let keys = self.sort_keys()?;
                OpKind::Top {
                    count,
                    keys,
                    with_others: None,
                }
            }
            "summarize" => {
                self.skip_hints();
                let mut aggregates = Vec::new();
                if !is_word(self.peek(), "by") {
                    loop {
                        aggregates.push(self.named_expr()?);
                        if !self.eat_punct(",") {
                            break;
                        }
                    }
                }
                let by = if self.eat_word("by") {
                    self.named_list()?
                } else {
                    Vec::new()
                };
                OpKind::Summarize { aggregates, by }
            }
            "serialize" => {
                let items = if matches!(self.peek(), Tok::Punct("|" | ";" | ")") | Tok::Eof) {
                    Vec::new()
                } else {
                    self.named_list()?
                };
                OpKind::Serialize(items)
            }
            "sample" => OpKind::Sample(self.expr()?),
            "sample-distinct" => {
                let count = self.expr()?;
                self.expect_word("of")?;
                OpKind::SampleDistinct {
                    count,
                    column: self.expr()?,
                }
            }
            "getschema" => OpKind::GetSchema,
            "evaluate" => {
                self.skip_hints();
                let call = self.unary()?;
                match call.kind {
                    crate::kql::ast::ExprKind::Call(plugin, args) => {
                        OpKind::Evaluate { plugin, args }
                    }
                    _ => return Err(self.error()),
                }
            }
            "as" => {
                self.skip_hints();
                OpKind::As(self.name()?)
            }
            "invoke" => OpKind::Invoke(self.expr()?),
            "consume" => {
                self.skip_hints();
                OpKind::Consume
            }
            "render" => {
                // Visualization only: the rows are unchanged. Skip its arguments.
                let mut depth = 0usize;
                loop {
                    match self.peek() {
                        Tok::Eof => break,
                        Tok::Punct("|" | ";") if depth == 0 => break,
                        Tok::Punct(")") if depth == 0 => break,
                        Tok::Punct("(") => depth += 1,
                        Tok::Punct(")") => depth = depth.saturating_sub(1),
                        _ => {}
                    }
                    self.pos += 1;
                }
                OpKind::Consume
            }
            other => self.more_operators(other)?,
        })
    }

    /// `hint.x = y` and `kind = z`-style parameters that change nothing here.
    pub(super) fn skip_hints(&mut self) {
        while matches!(self.peek(), Tok::Ident(w) if w.starts_with("hint.") || w == "decodeblocks" || w == "with_source")
            && self.peek_at(1) == &Tok::Punct("=")
        {
            self.pos += 3;
        }
    }

    /// `[name =] expr, ...`
    pub(super) fn named_list(&mut self) -> Result<Vec<NamedExpr>, KqlError> {
        let mut items = Vec::new();
        loop {
            items.push(self.named_expr()?);
            if !self.eat_punct(",") {
                break;
            }
        }
        Ok(items)
    }

    fn pattern_list(&mut self) -> Result<Vec<String>, KqlError> {
        let mut items = Vec::new();
        loop {
            items.push(self.column_pattern()?);
            if !self.eat_punct(",") {
                break;
            }
        }
        Ok(items)
    }

    pub(super) fn sort_keys(&mut self) -> Result<Vec<SortKey>, KqlError> {
        let mut keys = Vec::new();
        loop {
            keys.push(self.sort_key()?);
            if !self.eat_punct(",") {
                break;
            }
        }
        Ok(keys)
    }

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
}
