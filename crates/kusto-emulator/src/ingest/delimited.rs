//! Delimited text as Kusto reads it (kusto-protocol.md 8.2): RFC 4180 quoting where the quote
//! must be the first character of the field, `""` for a quote, CR/LF record ends, `tsve`
//! backslash escapes, blank lines skipped.

use super::IngestFailure;

/// How to split a payload into records and fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Dialect {
    pub(crate) delimiter: char,
    pub(crate) backslash_escapes: bool,
}

/// Splits text into records of fields. Fails with `Stream_ClosingQuoteMissing` on an unterminated
/// quoted field.
pub(crate) fn parse_records(
    text: &str,
    dialect: Dialect,
) -> Result<Vec<Vec<String>>, IngestFailure> {
    let mut records = Vec::new();
    let mut fields: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut at_field_start = true;
    let mut record_has_content = false;
    let mut record_number = 1usize;
    while let Some(c) = chars.next() {
        if at_field_start && c == '"' {
            // Quoted field: read to the closing quote.
            at_field_start = false;
            record_has_content = true;
            loop {
                match chars.next() {
                    None => {
                        return Err(IngestFailure::permanent(
                            "Stream_ClosingQuoteMissing",
                            format!(
                                "Stream has a malformed Csv format: a quoted field in record {record_number} has no closing quote (errorCode='0x80DA000B E_CLOSING_QUOTE_MISSING')"
                            ),
                        ));
                    }
                    Some('"') => {
                        if chars.peek() == Some(&'"') {
                            chars.next();
                            field.push('"');
                        } else {
                            break;
                        }
                    }
                    Some(other) => field.push(other),
                }
            }
            continue;
        }
        at_field_start = false;
        if c == dialect.delimiter {
            fields.push(std::mem::take(&mut field));
            at_field_start = true;
            record_has_content = true;
            continue;
        }
        if c == '\r' && chars.peek() == Some(&'\n') {
            continue;
        }
        if c == '\n' || c == '\r' {
            if record_has_content || !field.is_empty() {
                fields.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut fields));
            }
            record_number += 1;
            at_field_start = true;
            record_has_content = false;
            continue;
        }
        if c == '\\' && dialect.backslash_escapes {
            match chars.next() {
                Some('t') => field.push('\t'),
                Some('n') => field.push('\n'),
                Some('r') => field.push('\r'),
                Some(other) => field.push(other),
                None => field.push('\\'),
            }
            record_has_content = true;
            continue;
        }
        field.push(c);
        record_has_content = true;
    }
    if record_has_content || !field.is_empty() {
        fields.push(field);
        records.push(fields);
    }
    Ok(records)
}

/// Checks that every record has the same number of fields (ValidationOptions 1, the default).
pub(crate) fn check_field_counts(records: &[Vec<String>]) -> Result<(), IngestFailure> {
    let Some(first) = records.first() else {
        return Ok(());
    };
    if let Some((i, bad)) = records
        .iter()
        .enumerate()
        .find(|(_, r)| r.len() != first.len())
    {
        return Err(IngestFailure::permanent(
            "Stream_WrongNumberOfFields",
            format!(
                "Stream has a malformed Csv format, failing per ValidationOptions policy with errorCode='0x80DA0008 E_WRONG_NUMBER_OF_FIELDS'. CSV has an inconsistent number of fields per line: -- Offending record: {} (start position in stream: record {}), expected {} fields but found {}",
                i + 1,
                i + 1,
                first.len(),
                bad.len()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: Dialect = Dialect {
        delimiter: ',',
        backslash_escapes: false,
    };

    #[test]
    fn quoting_rules() {
        let r = parse_records(
            "a,\"b,c\",\"say \"\"hi\"\"\"\r\n\n1, \"x\",\"multi\nline\"\n",
            CSV,
        )
        .unwrap();
        assert_eq!(
            r,
            vec![
                vec!["a".to_string(), "b,c".into(), "say \"hi\"".into()],
                vec!["1".into(), " \"x\"".into(), "multi\nline".into()],
            ]
        );
        let r = parse_records("a,,\n,b", CSV).unwrap();
        assert_eq!(
            r,
            vec![
                vec!["a".to_string(), String::new(), String::new()],
                vec![String::new(), "b".into()]
            ]
        );
        let e = parse_records("a,\"open\n", CSV).unwrap_err();
        assert_eq!(e.code, "Stream_ClosingQuoteMissing");
        let tsve = Dialect {
            delimiter: '\t',
            backslash_escapes: true,
        };
        assert_eq!(
            parse_records("a\\tb\tc\\\\", tsve).unwrap(),
            vec![vec!["a\tb".to_string(), "c\\".into()]]
        );
    }

    #[test]
    fn field_counts() {
        let ok = parse_records("a,b\nc,d", CSV).unwrap();
        assert!(check_field_counts(&ok).is_ok());
        let bad = parse_records("a,b\nc", CSV).unwrap();
        assert_eq!(
            check_field_counts(&bad).unwrap_err().code,
            "Stream_WrongNumberOfFields"
        );
    }
}
