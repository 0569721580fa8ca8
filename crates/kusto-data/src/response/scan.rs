//! A resumable JSON structural scanner: finds where one JSON value ends without parsing it.
//!
//! The v2 parser uses it to slice each row of a `Rows` array (and every other frame value) out of
//! the byte stream as it arrives; the slice is then handed to `serde_json`, which validates it.
//! The scanner keeps its position, so feeding more bytes never rescans what it already saw.

/// Fails with [`Error::ResponseTooLarge`](crate::Error::ResponseTooLarge) once an unfinished
/// value holds more than `limit` bytes: the parsers call it whenever a value needs more input.
pub(crate) fn check_value_size(held: usize, limit: usize) -> crate::Result<()> {
    if held > limit {
        return Err(crate::Error::ResponseTooLarge {
            limit: limit as u64,
            message: format!(
                "a single JSON value of the response (a row, a cell or frame metadata) is \
                 larger than {limit} bytes and still not complete; raise \
                 ParserOptions::with_max_value_bytes if the server is trusted to send it"
            ),
        });
    }
    Ok(())
}

/// Deepest nesting accepted inside one value.
const MAX_DEPTH: usize = 512;

/// The open brackets of a value: a bit per level for the first 64 levels (no allocation for
/// the usual row), a vector beyond.
#[derive(Debug, Default, Clone)]
struct Nesting {
    depth: usize,
    /// Bit `d` set: level `d` is an object (`{`), else an array.
    objects: u64,
    deeper: Vec<u8>,
}

impl Nesting {
    fn push(&mut self, open: u8) {
        if self.depth < 64 {
            if open == b'{' {
                self.objects |= 1 << self.depth;
            } else {
                self.objects &= !(1 << self.depth);
            }
        } else {
            self.deeper.push(open);
        }
        self.depth += 1;
    }

    fn pop(&mut self) -> Option<u8> {
        self.depth = self.depth.checked_sub(1)?;
        if self.depth < 64 {
            Some(if self.objects & (1 << self.depth) != 0 {
                b'{'
            } else {
                b'['
            })
        } else {
            self.deeper.pop()
        }
    }

    fn len(&self) -> usize {
        self.depth
    }

    fn is_empty(&self) -> bool {
        self.depth == 0
    }
}

/// The bytes that matter inside a container: quotes and brackets.
const STRUCTURAL: [bool; 256] = {
    let mut table = [false; 256];
    table[b'"' as usize] = true;
    table[b'{' as usize] = true;
    table[b'}' as usize] = true;
    table[b'[' as usize] = true;
    table[b']' as usize] = true;
    table
};

/// Where a value ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scan {
    /// The value is complete and `len` bytes long (from its first byte).
    Done(usize),
    /// More input is needed.
    More,
}

/// Scanner state for one value; `bytes` passed to [`ValueScanner::scan`] always start at the
/// value's first byte and grow as input arrives.
#[derive(Debug, Default, Clone)]
pub(crate) struct ValueScanner {
    pos: usize,
    stack: Nesting,
    in_string: bool,
    escape: bool,
    scalar: bool,
}

impl ValueScanner {
    /// Continues scanning `bytes` (the value so far). Errors describe the offending byte,
    /// whose index is returned with the message.
    pub(crate) fn scan(&mut self, bytes: &[u8]) -> Result<Scan, (usize, String)> {
        // The state lives in locals while scanning and is saved when more input is needed.
        let mut i = self.pos;
        let mut in_string = self.in_string;
        let mut escape = self.escape;
        let mut scalar = self.scalar;
        let result = loop {
            let Some(&b) = bytes.get(i) else {
                break Ok(Scan::More);
            };
            if in_string {
                if escape {
                    escape = false;
                    i += 1;
                    continue;
                }
                // Fast path over ordinary string bytes.
                match find_quote_or_backslash(&bytes[i..]) {
                    None => {
                        i = bytes.len();
                        break Ok(Scan::More);
                    }
                    Some(off) => {
                        let j = i + off;
                        i = j + 1;
                        if bytes[j] == b'\\' {
                            escape = true;
                        } else {
                            in_string = false;
                            if self.stack.is_empty() {
                                break Ok(Scan::Done(j + 1));
                            }
                        }
                        continue;
                    }
                }
            }
            if scalar {
                // The rest of a number or literal.
                let rest = &bytes[i..];
                let len = rest
                    .iter()
                    .position(|c| !(c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.')))
                    .unwrap_or(rest.len());
                i += len;
                match bytes.get(i) {
                    None => break Ok(Scan::More),
                    Some(b',' | b']' | b'}' | b' ' | b'\t' | b'\r' | b'\n') => {
                        break Ok(Scan::Done(i));
                    }
                    Some(&c) => {
                        break Err((i, format!("unexpected {} in a JSON literal", describe(c))));
                    }
                }
            }
            if i == 0 {
                match b {
                    b'"' => in_string = true,
                    b'{' | b'[' => self.stack.push(b),
                    b'-' | b'0'..=b'9' | b't' | b'f' | b'n' | b'N' | b'I' => scalar = true,
                    _ => {
                        break Err((i, format!("expected a JSON value, found {}", describe(b))));
                    }
                }
                i += 1;
                continue;
            }
            if !STRUCTURAL[usize::from(b)] {
                // Numbers, literals, commas, colons and whitespace change nothing: skip them.
                match bytes[i..].iter().position(|c| STRUCTURAL[usize::from(*c)]) {
                    Some(k) => {
                        i += k;
                        continue;
                    }
                    None => {
                        i = bytes.len();
                        break Ok(Scan::More);
                    }
                }
            }
            match b {
                b'"' => in_string = true,
                b'{' | b'[' => {
                    if self.stack.len() >= MAX_DEPTH {
                        break Err((i, format!("JSON nested deeper than {MAX_DEPTH} levels")));
                    }
                    self.stack.push(b);
                }
                b'}' | b']' => {
                    let open = if b == b'}' { b'{' } else { b'[' };
                    if self.stack.pop() != Some(open) {
                        break Err((i, format!("unbalanced {}", describe(b))));
                    }
                    if self.stack.is_empty() {
                        i += 1;
                        break Ok(Scan::Done(i));
                    }
                }
                _ => {}
            }
            i += 1;
        };
        self.pos = i;
        self.in_string = in_string;
        self.escape = escape;
        self.scalar = scalar;
        result
    }
}

/// Index of the first `"` or `\\` in `bytes`, eight bytes at a time.
pub(crate) fn find_quote_or_backslash(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const QUOTES: u64 = ONES * b'"' as u64;
    const BACKSLASHES: u64 = ONES * b'\\' as u64;
    let mut chunks = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        let (q, b) = (x ^ QUOTES, x ^ BACKSLASHES);
        // A zero byte in q or b is a match; the lowest flagged byte is always a true one.
        let found = ((q.wrapping_sub(ONES) & !q) | (b.wrapping_sub(ONES) & !b)) & HIGH;
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&c| c == b'"' || c == b'\\')
        .map(|p| at + p)
}

/// A byte for an error message.
pub(crate) fn describe(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("'{}'", b as char)
    } else {
        format!("byte 0x{b:02x}")
    }
}

/// How many bytes of a body that is not the expected JSON an error quotes.
pub(crate) const QUOTED_START: usize = 200;

/// The start of a body that is not the expected JSON, as quoted in errors: at most
/// [`QUOTED_START`] bytes, decoded lossily, whatever the chunking of the body.
pub(crate) fn body_start(bytes: &[u8]) -> String {
    String::from_utf8_lossy(&bytes[..bytes.len().min(QUOTED_START)]).into_owned()
}

/// True for JSON whitespace.
pub(crate) fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Byte offset of serde_json's (line, column) in `body`.
pub(crate) fn offset_of(body: &[u8], line: usize, column: usize) -> u64 {
    let mut offset = 0usize;
    for _ in 1..line {
        match body
            .get(offset..)
            .and_then(|rest| rest.iter().position(|b| *b == b'\n'))
        {
            Some(nl) => offset += nl + 1,
            None => break,
        }
    }
    (offset + column.saturating_sub(1)) as u64
}

/// Splits a complete JSON array (`[a, b, ...]`) into the byte ranges of its elements.
pub(crate) fn split_array(bytes: &[u8]) -> Result<Vec<(usize, usize)>, (usize, String)> {
    let mut out = Vec::new();
    let mut i = bytes.iter().position(|b| !is_ws(*b)).unwrap_or(bytes.len());
    if bytes.get(i) != Some(&b'[') {
        return Err((i, "expected '['".to_owned()));
    }
    i += 1;
    let mut expect_value = true;
    let mut first = true;
    loop {
        while bytes.get(i).is_some_and(|b| is_ws(*b)) {
            i += 1;
        }
        match bytes.get(i) {
            None => return Err((i, "array is not closed".to_owned())),
            Some(b']') if first || !expect_value => return Ok(out),
            Some(b',') if !expect_value => {
                expect_value = true;
                i += 1;
            }
            Some(_) if expect_value => {
                let mut scanner = ValueScanner::default();
                match scanner.scan(&bytes[i..]).map_err(|(at, m)| (i + at, m))? {
                    Scan::Done(len) => {
                        out.push((i, i + len));
                        i += len;
                    }
                    Scan::More => {
                        return Err((bytes.len(), "array element is not closed".to_owned()));
                    }
                }
                expect_value = false;
                first = false;
            }
            Some(b) => return Err((i, format!("expected ',' or ']', found {}", describe(*b)))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_in_chunks(text: &str, chunk: usize) -> Scan {
        let bytes = text.as_bytes();
        let mut s = ValueScanner::default();
        let mut end = 0;
        loop {
            end = (end + chunk).min(bytes.len());
            match s.scan(&bytes[..end]).unwrap() {
                Scan::Done(n) => return Scan::Done(n),
                Scan::More if end == bytes.len() => return Scan::More,
                Scan::More => {}
            }
        }
    }

    #[test]
    fn finds_value_ends_across_any_chunking() {
        let cases = [
            (r#"[1,"a\"]b",{"k":[]}],"#, 20),
            (r#""x\\"  "#, 5),
            ("123,", 3),
            ("-1.5e3]", 6),
            (r#"{"a":"}\u00e9"}x"#, 15),
            ("[[[]]] ", 6),
        ];
        for (text, len) in cases {
            for chunk in 1..=text.len() {
                assert_eq!(
                    scan_in_chunks(text, chunk),
                    Scan::Done(len),
                    "{text} / {chunk}"
                );
            }
        }
        assert_eq!(scan_in_chunks("[1,2", 1), Scan::More);
    }

    #[test]
    fn finds_quotes_and_backslashes_like_a_byte_loop() {
        let alphabet = b"ab\"\\\x00\x80\xff\x7f!#[]\x21\x5b\x5d";
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for len in 0..80 {
            for _ in 0..50 {
                let bytes: Vec<u8> = (0..len)
                    .map(|_| {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        alphabet[(state % alphabet.len() as u64) as usize]
                    })
                    .collect();
                let expected = bytes.iter().position(|&c| c == b'"' || c == b'\\');
                assert_eq!(find_quote_or_backslash(&bytes), expected, "{bytes:?}");
            }
        }
    }

    #[test]
    fn reports_structural_errors() {
        assert!(ValueScanner::default().scan(b"[1}").is_err());
        assert!(ValueScanner::default().scan(b"}").is_err());
        assert!(ValueScanner::default().scan(b"1@").is_err());
        // Past the 64 levels held in bits, brackets still have to match.
        let nested = format!("{}{}{}{}", "[".repeat(70), "{", "}", "]".repeat(70));
        assert_eq!(
            ValueScanner::default().scan(nested.as_bytes()),
            Ok(Scan::Done(nested.len()))
        );
        let crossed = format!("{}{{]{}", "[".repeat(70), "]".repeat(70));
        assert!(ValueScanner::default().scan(crossed.as_bytes()).is_err());
        let crossed = format!("{}[}}{}", "{".repeat(3), "}".repeat(3));
        assert!(ValueScanner::default().scan(crossed.as_bytes()).is_err());
        let deep = "[".repeat(MAX_DEPTH + 1);
        assert!(ValueScanner::default().scan(deep.as_bytes()).is_err());
    }

    #[test]
    fn splits_arrays() {
        assert_eq!(
            split_array(b" [ [1], {\"a\":2} ,3 ] ").unwrap(),
            vec![(3, 6), (8, 15), (17, 18)]
        );
        assert_eq!(split_array(b"[]").unwrap(), vec![]);
        assert!(split_array(b"[1,]").is_err());
        assert!(split_array(b"[1 2]").is_err());
        assert!(split_array(b"[1,2").is_err());
    }
}
