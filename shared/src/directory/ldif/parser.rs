//! An RFC 2849 parser for LDIF *content* records (an export), not change records.
//!
//! The text is pushed one physical line at a time ([`LdifParser::push_line`]), so that a file is
//! parsed as it is read, never held whole. Lines are unfolded (a line starting with one space
//! continues the previous one), comments are dropped (with their folded continuations), and
//! blank lines end records. Every error names the line where the offending (logical) line
//! starts, and none quotes the text: a tenant may point the reader at a file that is not theirs.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;

use crate::directory::entry::attributes::Attributes;
use crate::directory::entry::Entry;

/// Why an LDIF text was refused; `line` is 1-based.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct LdifError {
    pub line: usize,
    pub message: String,
}

fn error(line: usize, message: impl Into<String>) -> LdifError {
    LdifError {
        line,
        message: message.into(),
    }
}

/// Exporters differ on padding; the alphabet is what matters.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A line after unfolding, with the number of its first physical line.
struct LogicalLine {
    line: usize,
    text: String,
}

/// Parses a whole export held in memory (tests and small texts). Any error fails the whole
/// text: no partial list.
pub fn parse_ldif(text: &str) -> Result<Vec<Entry>, LdifError> {
    let mut parser = LdifParser::default();
    for (index, raw) in text.split('\n').enumerate() {
        parser.push_line(index + 1, raw)?;
    }
    parser.finish()
}

/// An export parsed as its lines arrive: each record becomes an entry when the blank line
/// after it (or the end) is pushed.
#[derive(Default)]
pub struct LdifParser {
    entries: Vec<Entry>,
    record: Vec<LogicalLine>,
    /// Continuations of a comment belong to the comment.
    in_comment: bool,
    /// Only the first record may start with `version: 1`.
    seen_record: bool,
}

impl LdifParser {
    /// One physical line, numbered from 1, with or without its line break.
    pub fn push_line(&mut self, line: usize, raw: &str) -> Result<(), LdifError> {
        let raw = raw.strip_suffix('\n').unwrap_or(raw);
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let raw = if line == 1 {
            raw.strip_prefix('\u{feff}').unwrap_or(raw)
        } else {
            raw
        };
        if raw.is_empty() {
            self.in_comment = false;
            self.end_record()
        } else if let Some(rest) = raw.strip_prefix(' ') {
            if self.in_comment {
                return Ok(());
            }
            match self.record.last_mut() {
                Some(previous) => previous.text.push_str(rest),
                // Stray whitespace between records is harmless.
                None if rest.trim().is_empty() => {}
                None => return Err(error(
                    line,
                    "a line starting with a space continues the previous line, but there is none",
                )),
            }
            Ok(())
        } else if raw.starts_with('#') {
            self.in_comment = true;
            Ok(())
        } else {
            self.in_comment = false;
            self.record.push(LogicalLine {
                line,
                text: raw.to_string(),
            });
            Ok(())
        }
    }

    /// The entries, once every line is pushed.
    pub fn finish(mut self) -> Result<Vec<Entry>, LdifError> {
        self.end_record()?;
        Ok(self.entries)
    }

    fn end_record(&mut self) -> Result<(), LdifError> {
        if self.record.is_empty() {
            return Ok(());
        }
        let record = std::mem::take(&mut self.record);
        let mut lines = record.as_slice();
        if !std::mem::replace(&mut self.seen_record, true) {
            lines = skip_version(lines)?;
        }
        let Some(first) = lines.first() else {
            return Ok(());
        };
        if !is_ldapsearch_trailer(lines)? {
            self.entries.push(parse_entry(first, &lines[1..])?);
        }
        Ok(())
    }
}

/// Drops a leading `version: 1`.
fn skip_version(lines: &[LogicalLine]) -> Result<&[LogicalLine], LdifError> {
    let Some(first) = lines.first() else {
        return Ok(lines);
    };
    let (name, value) = parse_line(first)?;
    if !name.eq_ignore_ascii_case("version") {
        return Ok(lines);
    }
    if value.trim_ascii() != b"1" {
        return Err(error(first.line, "only LDIF version 1 is supported"));
    }
    Ok(&lines[1..])
}

/// `ldapsearch` without `-LLL` ends with `search: N` / `result: 0 Success`. A non-zero result
/// (size limit exceeded, ...) means the export is cut short, so it is refused.
fn is_ldapsearch_trailer(lines: &[LogicalLine]) -> Result<bool, LdifError> {
    const TRAILER: [&str; 5] = ["search", "result", "text", "matchedDN", "ref"];
    let is_trailer_line = |line: &LogicalLine| {
        line.text
            .split_once(':')
            .is_some_and(|(name, _)| TRAILER.iter().any(|t| t.eq_ignore_ascii_case(name)))
    };
    if !lines.iter().all(is_trailer_line) {
        return Ok(false);
    }
    for line in lines {
        let (name, value) = parse_line(line)?;
        let code = value.split(u8::is_ascii_whitespace).next();
        if name.eq_ignore_ascii_case("result") && code != Some(b"0".as_slice()) {
            return Err(error(
                line.line,
                "the export is incomplete: the search ended with a non-zero result",
            ));
        }
    }
    Ok(true)
}

fn parse_entry(first: &LogicalLine, rest: &[LogicalLine]) -> Result<Entry, LdifError> {
    // The name is checked before the value, so that a stray line reads as "no dn".
    if let Some((name, _)) = first.text.split_once(':') {
        if !name.eq_ignore_ascii_case("dn") {
            return Err(error(first.line, "an entry must start with 'dn:'"));
        }
    }
    let (_, value) = parse_line(first)?;
    let dn =
        String::from_utf8(value).map_err(|_| error(first.line, "the DN is not valid UTF-8"))?;
    if dn.trim().is_empty() {
        return Err(error(first.line, "the entry has an empty DN"));
    }
    let mut attributes = Attributes::new();
    for line in rest {
        let (name, value) = parse_line(line)?;
        if name.eq_ignore_ascii_case("changetype") || name.eq_ignore_ascii_case("control") {
            return Err(error(
                line.line,
                "change records are not supported: export the entries as content records",
            ));
        }
        if name.eq_ignore_ascii_case("dn") {
            return Err(error(
                line.line,
                "a second 'dn:' in one entry: entries must be separated by a blank line",
            ));
        }
        attributes.insert(&name, value);
    }
    Ok(Entry { dn, attributes })
}

/// `name: value`, `name:: base64` or (refused) `name:< url`.
fn parse_line(line: &LogicalLine) -> Result<(String, Vec<u8>), LdifError> {
    let Some((name, rest)) = line.text.split_once(':') else {
        return Err(error(
            line.line,
            "expected 'attribute: value' (no ':' found)",
        ));
    };
    if !valid_description(name) {
        return Err(error(
            line.line,
            "invalid attribute name: only letters, digits, '-', '.' and ';options' are allowed",
        ));
    }
    let value = if let Some(encoded) = rest.strip_prefix(':') {
        BASE64
            .decode(encoded.trim_matches(' '))
            .map_err(|_| error(line.line, "invalid base64 value after '::'"))?
    } else if rest.starts_with('<') {
        return Err(error(
            line.line,
            "file references (':<') are not supported: put the value in the file, base64-encoded if binary",
        ));
    } else {
        let value = rest.trim_start_matches(' ');
        if value.starts_with(':') || value.starts_with('<') {
            return Err(error(
                line.line,
                "a value starting with ':' or '<' must be base64-encoded ('name:: ...')",
            ));
        }
        value.as_bytes().to_vec()
    };
    Ok((name.to_string(), value))
}

/// An attribute type (a name or an OID) with optional `;options`.
fn valid_description(description: &str) -> bool {
    let mut parts = description.split(';');
    let base_ok = parts.next().is_some_and(|base| {
        !base.is_empty()
            && base
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    });
    base_ok
        && parts.all(|option| {
            !option.is_empty()
                && option
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

#[cfg(test)]
mod tests;
