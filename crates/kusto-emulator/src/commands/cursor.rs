//! A cursor over the tokens of a command: words, names, literals and punctuation.

use crate::errors::ServiceError;
use crate::kql::Tok;

pub(super) struct Cursor<'a> {
    pub(super) tokens: Vec<crate::kql::Token>,
    pub(super) pos: usize,
    pub(super) command: &'a str,
}

impl Cursor<'_> {
    pub(super) fn peek(&self) -> &Tok {
        self.tokens.get(self.pos).map_or(&Tok::Eof, |t| &t.tok)
    }

    pub(super) fn syntax(&self) -> ServiceError {
        ServiceError::command_syntax(self.command, "")
    }

    pub(super) fn word(&mut self, w: &str) -> bool {
        if matches!(self.peek(), Tok::Ident(x) if x.eq_ignore_ascii_case(w)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub(super) fn expect_word(&mut self, w: &str) -> Result<(), ServiceError> {
        if self.word(w) {
            Ok(())
        } else {
            Err(self.syntax())
        }
    }

    pub(super) fn punct(&mut self, p: &str) -> bool {
        if matches!(self.peek(), Tok::Punct(x) if *x == p) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub(super) fn expect_punct(&mut self, p: &str) -> Result<(), ServiceError> {
        if self.punct(p) {
            Ok(())
        } else {
            Err(self.syntax())
        }
    }

    pub(super) fn name(&mut self) -> Result<String, ServiceError> {
        match self.peek().clone() {
            Tok::Ident(s) | Tok::QuotedIdent(s) | Tok::Str(s) => {
                self.pos += 1;
                Ok(s)
            }
            _ => Err(self.syntax()),
        }
    }

    pub(super) fn string(&mut self) -> Result<String, ServiceError> {
        match self.peek().clone() {
            Tok::Str(s) => {
                self.pos += 1;
                Ok(s)
            }
            _ => Err(self.syntax()),
        }
    }

    pub(super) fn end(&self) -> Result<(), ServiceError> {
        if *self.peek() == Tok::Eof {
            Ok(())
        } else {
            Err(self.syntax())
        }
    }

    /// `with (k=v, ...)` → pairs with lower-cased keys.
    pub(super) fn with_properties(&mut self) -> Result<Vec<(String, String)>, ServiceError> {
        let mut out = Vec::new();
        if !self.word("with") {
            return Ok(out);
        }
        self.expect_punct("(")?;
        loop {
            let key = self.name()?.to_ascii_lowercase();
            self.expect_punct("=")?;
            let value = match self.peek().clone() {
                Tok::Str(s) | Tok::Ident(s) | Tok::QuotedIdent(s) => s,
                Tok::Long(l) => l.to_string(),
                Tok::Real(r) => r.to_string(),
                Tok::Typed(n, raw) => format!("{n}({raw})"),
                _ => return Err(self.syntax()),
            };
            self.pos += 1;
            out.push((key, value));
            if self.punct(")") {
                return Ok(out);
            }
            self.expect_punct(",")?;
        }
    }
}
