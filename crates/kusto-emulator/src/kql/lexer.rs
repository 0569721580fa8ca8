//! Tokens of the KQL subset (kusto-protocol.md 10.1 to 10.3).

use crate::time;

/// A token kind.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// A plain identifier or keyword (possibly hyphenated, e.g. `project-away`).
    Ident(String),
    /// A quoted identifier: `['x']` or `["x"]`.
    QuotedIdent(String),
    /// A string literal (adjacent literals already concatenated).
    Str(String),
    /// An integer literal.
    Long(i64),
    /// A real literal.
    Real(f64),
    /// A timespan literal with a unit suffix (`2d`, `1.5h`), in ticks.
    Timespan(i64),
    /// A typed literal such as `datetime(2024-01-01)`: the type name and the raw text inside
    /// the parentheses.
    Typed(String, String),
    /// Punctuation or an operator.
    Punct(&'static str),
    /// End of input.
    Eof,
}

/// A token and the byte offset where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    pub(crate) offset: usize,
    /// The source text of the token.
    pub(crate) text: String,
}

/// A lexing error: the offset of the offending character.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LexError {
    pub(crate) offset: usize,
    pub(crate) text: String,
}

const TYPE_LITERALS: [&str; 16] = [
    "bool", "boolean", "int", "long", "real", "double", "decimal", "datetime", "date", "timespan",
    "time", "guid", "uuid", "uniqueid", "dynamic", "string",
];

const HYPHENATED: [&str; 18] = [
    "sample-distinct",
    "project-smart",
    "make-graph",
    "graph-match",
    "graph-merge",
    "graph-to-table",
    "project-away",
    "project-keep",
    "project-rename",
    "project-reorder",
    "mv-expand",
    "mv-apply",
    "make-series",
    "parse-where",
    "parse-kv",
    "top-nested",
    "top-hitters",
    "invoke-x",
];

/// Punctuation and operator tokens, longest first where one is a prefix of another. Every
/// token of the KQL grammar is here (also those of operators the emulator does not run, such as
/// `=>` or `..`), so that valid KQL gets past the lexer and is judged by the parser.
const PUNCTS: [&str; 28] = [
    "==", "!=", "<=", ">=", "=~", "!~", "<>", "=>", "..", "|", ";", ",", "(", ")", "[", "]", "{",
    "}", "=", "<", ">", ".", ":", "-", "+", "*", "/", "%",
];

pub(crate) fn tokenize(src: &str) -> Result<Vec<Token>, LexError> {
    tokenize_with(src, true)
}

/// Tokenizes; with `concat_strings` adjacent string literals are joined as in KQL queries
/// (management commands keep them apart: `mapping "name" '<json>'`).
pub(crate) fn tokenize_with(src: &str, concat_strings: bool) -> Result<Vec<Token>, LexError> {
    let mut lexer = Lexer { src, pos: 0 };
    let mut tokens: Vec<Token> = Vec::new();
    loop {
        let token = lexer.next()?;
        let end = token.tok == Tok::Eof;
        // Adjacent string literals concatenate.
        if let (
            true,
            Tok::Str(s),
            Some(Token {
                tok: Tok::Str(prev),
                text,
                ..
            }),
        ) = (concat_strings, &token.tok, tokens.last_mut())
        {
            prev.push_str(s);
            text.push(' ');
            text.push_str(&token.text);
            continue;
        }
        tokens.push(token);
        if end {
            return Ok(tokens);
        }
    }
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

impl Lexer<'_> {
    fn rest(&self) -> &str {
        self.src.get(self.pos..).unwrap_or("")
    }

    fn peek_char(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn char_at(&self, pos: usize) -> Option<char> {
        self.src.get(pos..).and_then(|s| s.chars().next())
    }

    fn error(&self, offset: usize) -> LexError {
        let text: String = self
            .src
            .get(offset..)
            .unwrap_or("")
            .chars()
            .take_while(|c| !c.is_whitespace())
            .take(20)
            .collect();
        LexError { offset, text }
    }

    fn skip_trivia(&mut self) {
        loop {
            let rest = self.rest();
            let trimmed = rest.trim_start();
            let skipped = rest.len() - trimmed.len();
            let comment = trimmed
                .starts_with("//")
                .then(|| trimmed.find('\n').unwrap_or(trimmed.len()));
            self.pos += skipped;
            if let Some(line_end) = comment {
                self.pos += line_end;
            } else {
                return;
            }
        }
    }

    fn token(&self, tok: Tok, start: usize) -> Token {
        Token {
            tok,
            offset: start,
            text: self.src.get(start..self.pos).unwrap_or("").to_string(),
        }
    }

    fn next(&mut self) -> Result<Token, LexError> {
        self.skip_trivia();
        let start = self.pos;
        let Some(c) = self.peek_char() else {
            return Ok(self.token(Tok::Eof, start));
        };
        // Obfuscated and verbatim string prefixes.
        if (c == 'h' || c == 'H') && matches!(self.char_at(start + 1), Some('"' | '\'' | '@')) {
            self.pos += 1;
            return self.string(start);
        }
        if c == '@' || c == '"' || c == '\'' || self.rest().starts_with("```") {
            return self.string(start);
        }
        if c == '[' && matches!(self.char_at(start + 1), Some('"' | '\'')) {
            // `['name']` is a quoted identifier; `["a", "b"]` (a list) is not: then `[` alone.
            self.pos += 1;
            if let Ok(s) = self.quoted_body(start) {
                self.skip_trivia();
                if self.peek_char() == Some(']') {
                    self.pos += 1;
                    return Ok(self.token(Tok::QuotedIdent(s), start));
                }
            }
            self.pos = start + 1;
            return Ok(self.token(Tok::Punct("["), start));
        }
        if c.is_ascii_digit() {
            return self.number(start);
        }
        if c.is_alphabetic() || c == '_' || c == '$' {
            return Ok(self.ident(start));
        }
        if c == '!' && self.char_at(start + 1).is_some_and(char::is_alphabetic) {
            // Negated word operators: `!in`, `!contains`, ...
            let mut token = self.ident(start + 1);
            token.offset = start;
            if let Tok::Ident(w) = &token.tok {
                let negated = format!("!{w}");
                token.text.clone_from(&negated);
                token.tok = Tok::Ident(negated);
            }
            return Ok(token);
        }
        for p in PUNCTS {
            if self.rest().starts_with(p) {
                self.pos += p.len();
                return Ok(self.token(Tok::Punct(p), start));
            }
        }
        Err(self.error(start))
    }

    fn ident(&mut self, start: usize) -> Token {
        let word_end = |from: usize| {
            let s = self.src.get(from..).unwrap_or("");
            from + s
                .char_indices()
                .find(|(_, ch)| !(ch.is_alphanumeric() || *ch == '_' || *ch == '$'))
                .map_or(s.len(), |(i, _)| i)
        };
        let mut end = word_end(start);
        // Hyphenated operator names.
        if self.char_at(end) == Some('-') && self.char_at(end + 1).is_some_and(char::is_alphabetic)
        {
            let longer = word_end(end + 1);
            let candidate = self.src.get(start..longer).unwrap_or("");
            if HYPHENATED.contains(&candidate) || candidate.starts_with("create-") {
                end = longer;
            }
        }
        // `in~` (and, after `!`, `!in~`): the case-insensitive list membership operator.
        if self.src.get(start..end) == Some("in") && self.char_at(end) == Some('~') {
            end += 1;
        }
        let word = self.src.get(start..end).unwrap_or("").to_string();
        self.pos = end;
        // Typed literal: `type(` ... `)`.
        if TYPE_LITERALS.contains(&word.as_str()) {
            let after = self.rest();
            let trimmed = after.trim_start();
            if trimmed.starts_with('(') {
                let open = self.pos + (after.len() - trimmed.len());
                if let Some(close) = matching_paren(self.src, open) {
                    let raw = self.src.get(open + 1..close).unwrap_or("").to_string();
                    self.pos = close + 1;
                    return self.token(Tok::Typed(word, raw), start);
                }
            }
        }
        self.token(Tok::Ident(word), start)
    }

    fn number(&mut self, start: usize) -> Result<Token, LexError> {
        let bytes = self.src.as_bytes();
        // Hexadecimal: `0x1F`.
        if bytes.get(start) == Some(&b'0') && matches!(bytes.get(start + 1), Some(b'x' | b'X')) {
            let digits = self
                .src
                .get(start + 2..)
                .unwrap_or("")
                .bytes()
                .take_while(u8::is_ascii_hexdigit)
                .count();
            let text = self.src.get(start + 2..start + 2 + digits).unwrap_or("");
            let value = i64::from_str_radix(text, 16)
                .or_else(|_| u64::from_str_radix(text, 16).map(|u| u as i64))
                .map_err(|_| self.error(start))?;
            self.pos = start + 2 + digits;
            return Ok(self.token(Tok::Long(value), start));
        }
        let mut end = start;
        let mut is_real = false;
        while end < bytes.len() && bytes[end].is_ascii_digit() {
            end += 1;
        }
        if end + 1 < bytes.len() && bytes[end] == b'.' && bytes[end + 1].is_ascii_digit() {
            is_real = true;
            end += 1;
            while end < bytes.len() && bytes[end].is_ascii_digit() {
                end += 1;
            }
        }
        if end < bytes.len() && (bytes[end] == b'e' || bytes[end] == b'E') {
            let mut e = end + 1;
            if e < bytes.len() && (bytes[e] == b'+' || bytes[e] == b'-') {
                e += 1;
            }
            if e < bytes.len() && bytes[e].is_ascii_digit() {
                while e < bytes.len() && bytes[e].is_ascii_digit() {
                    e += 1;
                }
                is_real = true;
                end = e;
            }
        }
        let number = self.src.get(start..end).unwrap_or("");
        // A unit suffix makes a timespan literal.
        let mut unit_end = end;
        while unit_end < bytes.len() && bytes[unit_end].is_ascii_alphabetic() {
            unit_end += 1;
        }
        if unit_end > end {
            let unit = self.src.get(end..unit_end).unwrap_or("");
            let text = self.src.get(start..unit_end).unwrap_or("");
            return match time::timespan_unit_ticks(unit).filter(|_| !unit.is_empty()) {
                Some(_) => {
                    let ticks = time::parse_timespan(text).ok_or_else(|| self.error(start))?;
                    self.pos = unit_end;
                    Ok(self.token(Tok::Timespan(ticks), start))
                }
                None => Err(self.error(start)),
            };
        }
        self.pos = end;
        let tok = if is_real {
            Tok::Real(number.parse().map_err(|_| self.error(start))?)
        } else {
            match number.parse::<i64>() {
                Ok(v) => Tok::Long(v),
                Err(_) => Tok::Real(number.parse().map_err(|_| self.error(start))?),
            }
        };
        Ok(self.token(tok, start))
    }

    /// A string literal starting at `self.pos` (after any `h` prefix).
    fn string(&mut self, start: usize) -> Result<Token, LexError> {
        if self.rest().starts_with("```") || self.rest().starts_with("~~~") {
            let fence = &self.rest()[..3];
            let body_start = self.pos + 3;
            let close = self
                .src
                .get(body_start..)
                .and_then(|s| s.find(fence))
                .ok_or_else(|| self.error(start))?;
            let body = self
                .src
                .get(body_start..body_start + close)
                .unwrap_or("")
                .to_string();
            self.pos = body_start + close + 3;
            return Ok(self.token(Tok::Str(body), start));
        }
        let s = self.quoted_body(start)?;
        Ok(self.token(Tok::Str(s), start))
    }

    /// Reads `"..."`, `'...'`, `@"..."` or `@'...'` at `self.pos`.
    fn quoted_body(&mut self, start: usize) -> Result<String, LexError> {
        let verbatim = self.peek_char() == Some('@');
        if verbatim {
            self.pos += 1;
        }
        let quote = self
            .peek_char()
            .filter(|q| *q == '"' || *q == '\'')
            .ok_or_else(|| self.error(start))?;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let c = self.peek_char().ok_or_else(|| self.error(start))?;
            self.pos += c.len_utf8();
            if c == quote {
                if verbatim && self.peek_char() == Some(quote) {
                    self.pos += 1;
                    out.push(quote);
                    continue;
                }
                return Ok(out);
            }
            if c == '\n' || c == '\r' {
                return Err(self.error(start));
            }
            if c == '\\' && !verbatim {
                let e = self.peek_char().ok_or_else(|| self.error(start))?;
                self.pos += e.len_utf8();
                match e {
                    'n' => out.push('\n'),
                    'r' => out.push('\r'),
                    't' => out.push('\t'),
                    '0' => out.push('\0'),
                    'a' => out.push('\u{7}'),
                    'b' => out.push('\u{8}'),
                    'f' => out.push('\u{c}'),
                    'v' => out.push('\u{b}'),
                    'u' => {
                        let code = self.hex4(self.pos).ok_or_else(|| self.error(start))?;
                        self.pos += 4;
                        // A UTF-16 surrogate pair (`\uD83D\uDE00`, as JSON encoders write
                        // characters above U+FFFF) is one character.
                        let low = (0xD800..0xDC00).contains(&code)
                            && self.src.get(self.pos..self.pos + 2) == Some("\\u")
                            && self
                                .hex4(self.pos + 2)
                                .is_some_and(|l| (0xDC00..0xE000).contains(&l));
                        let code = if low {
                            let l = self.hex4(self.pos + 2).unwrap_or(0xDC00);
                            self.pos += 6;
                            0x10000 + ((code - 0xD800) << 10) + (l - 0xDC00)
                        } else {
                            code
                        };
                        out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                    }
                    other => out.push(other),
                }
                continue;
            }
            out.push(c);
        }
    }
}

impl Lexer<'_> {
    /// Four hexadecimal digits at `at`, as a number.
    fn hex4(&self, at: usize) -> Option<u32> {
        let hex = self.src.get(at..at + 4)?;
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u32::from_str_radix(hex, 16).ok()
    }
}

/// The offset of the parenthesis closing the one at `open`, skipping string literals.
fn matching_paren(src: &str, open: usize) -> Option<usize> {
    let bytes = src.as_bytes();
    let mut depth = 0usize;
    let mut i = open;
    let mut quote: Option<u8> = None;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) => {
                if b == b'\\' {
                    i += 1;
                } else if b == q {
                    quote = None;
                }
            }
            None => match b {
                b'"' | b'\'' => quote = Some(b),
                b'(' => depth += 1,
                b')' => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        return Some(i);
                    }
                }
                _ => {}
            },
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(src: &str) -> Vec<Tok> {
        tokenize(src).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn unicode_escapes_and_surrogate_pairs() {
        let strings = |src: &str| -> Vec<String> {
            tokenize(src)
                .unwrap()
                .into_iter()
                .filter_map(|t| match t.tok {
                    Tok::Str(s) => Some(s),
                    _ => None,
                })
                .collect()
        };
        assert_eq!(strings(r#""\u00e9\ud83d\ude00x""#), ["\u{e9}\u{1f600}x"]);
        // A lone surrogate is a replacement character, not a panic.
        assert_eq!(strings(r#""\ud83dx""#), ["\u{fffd}x"]);
        assert_eq!(strings(r#""\ude00""#), ["\u{fffd}"]);
        assert!(tokenize(r#""\u+abc""#).is_err());
        assert!(tokenize(r#""\u12""#).is_err());
    }

    #[test]
    fn lexes_literals_and_operators() {
        assert_eq!(
            toks("T | where a >= 1.5 and b != 'x\\'y' // comment\n| take 10"),
            vec![
                Tok::Ident("T".into()),
                Tok::Punct("|"),
                Tok::Ident("where".into()),
                Tok::Ident("a".into()),
                Tok::Punct(">="),
                Tok::Real(1.5),
                Tok::Ident("and".into()),
                Tok::Ident("b".into()),
                Tok::Punct("!="),
                Tok::Str("x'y".into()),
                Tok::Punct("|"),
                Tok::Ident("take".into()),
                Tok::Long(10),
                Tok::Eof,
            ]
        );
        assert_eq!(
            toks("@'a''b' \"c\""),
            vec![Tok::Str("a'bc".into()), Tok::Eof]
        );
        assert_eq!(
            toks("h\"secret\""),
            vec![Tok::Str("secret".into()), Tok::Eof]
        );
        assert_eq!(
            toks("```multi\nline```"),
            vec![Tok::Str("multi\nline".into()), Tok::Eof]
        );
        assert_eq!(
            toks("datetime(2024-01-01 10:00) dynamic({\"a\":\")\"})"),
            vec![
                Tok::Typed("datetime".into(), "2024-01-01 10:00".into()),
                Tok::Typed("dynamic".into(), "{\"a\":\")\"}".into()),
                Tok::Eof
            ]
        );
        assert_eq!(
            toks("['my table']"),
            vec![Tok::QuotedIdent("my table".into()), Tok::Eof]
        );
        assert_eq!(
            toks("2d"),
            vec![Tok::Timespan(2 * crate::time::TICKS_PER_DAY), Tok::Eof]
        );
        assert_eq!(
            toks("T | project-away x")[2],
            Tok::Ident("project-away".into())
        );
        // Every operator token of KQL lexes, also of operators the emulator does not run.
        assert_eq!(
            toks("a+b-c*d/e%f"),
            vec![
                Tok::Ident("a".into()),
                Tok::Punct("+"),
                Tok::Ident("b".into()),
                Tok::Punct("-"),
                Tok::Ident("c".into()),
                Tok::Punct("*"),
                Tok::Ident("d".into()),
                Tok::Punct("/"),
                Tok::Ident("e".into()),
                Tok::Punct("%"),
                Tok::Ident("f".into()),
                Tok::Eof,
            ]
        );
        assert_eq!(
            toks("x-1 // c\n"),
            vec![
                Tok::Ident("x".into()),
                Tok::Punct("-"),
                Tok::Long(1),
                Tok::Eof
            ]
        );
        assert_eq!(
            toks("a in~ ('x') and b !in~ ('y') and c !has 'z'"),
            vec![
                Tok::Ident("a".into()),
                Tok::Ident("in~".into()),
                Tok::Punct("("),
                Tok::Str("x".into()),
                Tok::Punct(")"),
                Tok::Ident("and".into()),
                Tok::Ident("b".into()),
                Tok::Ident("!in~".into()),
                Tok::Punct("("),
                Tok::Str("y".into()),
                Tok::Punct(")"),
                Tok::Ident("and".into()),
                Tok::Ident("c".into()),
                Tok::Ident("!has".into()),
                Tok::Str("z".into()),
                Tok::Eof,
            ]
        );
        assert_eq!(
            toks("(1 .. 5) x => y")[2..4],
            [Tok::Punct(".."), Tok::Long(5)]
        );
        assert_eq!(toks("x => y")[1], Tok::Punct("=>"));
        assert!(tokenize("T | take 1x").is_err());
        assert!(tokenize("'unterminated").is_err());
        assert!(tokenize("a # b").is_err());
    }
}
