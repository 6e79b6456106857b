//! An RFC 2849 parser for LDIF *content* records (an export), not change records.
//!
//! Lines are unfolded first (a line starting with one space continues the previous one), then
//! comments are dropped (with their folded continuations), then blank lines split records.
//! Every error names the line where the offending (logical) line starts.

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

/// Parses a whole export. Any error fails the whole text: no partial list.
pub fn parse_ldif(text: &str) -> Result<Vec<Entry>, LdifError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut entries = Vec::new();
    for (index, record) in records(text)?.into_iter().enumerate() {
        let mut lines = record.as_slice();
        if index == 0 {
            lines = skip_version(lines)?;
        }
        let Some(first) = lines.first() else {
            continue;
        };
        if is_ldapsearch_trailer(lines)? {
            continue;
        }
        entries.push(parse_entry(first, &lines[1..])?);
    }
    Ok(entries)
}

/// Unfolds lines, drops comments and splits on blank lines.
fn records(text: &str) -> Result<Vec<Vec<LogicalLine>>, LdifError> {
    let mut records = Vec::new();
    let mut current: Vec<LogicalLine> = Vec::new();
    // Continuations of a comment belong to the comment.
    let mut in_comment = false;
    for (index, raw) in text.split('\n').enumerate() {
        let line = index + 1;
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if raw.is_empty() {
            if !current.is_empty() {
                records.push(std::mem::take(&mut current));
            }
            in_comment = false;
        } else if let Some(rest) = raw.strip_prefix(' ') {
            if in_comment {
                continue;
            }
            match current.last_mut() {
                Some(previous) => previous.text.push_str(rest),
                // Stray whitespace between records is harmless.
                None if rest.trim().is_empty() => {}
                None => return Err(error(
                    line,
                    "a line starting with a space continues the previous line, but there is none",
                )),
            }
        } else if raw.starts_with('#') {
            in_comment = true;
        } else {
            in_comment = false;
            current.push(LogicalLine {
                line,
                text: raw.to_string(),
            });
        }
    }
    if !current.is_empty() {
        records.push(current);
    }
    Ok(records)
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
        if name.eq_ignore_ascii_case("result") {
            let value = String::from_utf8_lossy(&value);
            if value.split_whitespace().next() != Some("0") {
                return Err(error(
                    line.line,
                    format!("the export is incomplete: the search ended with 'result: {value}'"),
                ));
            }
        }
    }
    Ok(true)
}

fn parse_entry(first: &LogicalLine, rest: &[LogicalLine]) -> Result<Entry, LdifError> {
    // The name is checked before the value, so that a stray line reads as "no dn".
    if let Some((name, _)) = first.text.split_once(':') {
        if !name.eq_ignore_ascii_case("dn") {
            return Err(error(
                first.line,
                format!("an entry must start with 'dn:', found '{}:'", shorten(name)),
            ));
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
            format!("'{}' is not a valid attribute name", shorten(name)),
        ));
    }
    let value = if let Some(encoded) = rest.strip_prefix(':') {
        BASE64
            .decode(encoded.trim_matches(' '))
            .map_err(|e| error(line.line, format!("invalid base64 value for '{name}': {e}")))?
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
                format!("a value starting with ':' or '<' must be base64-encoded ('{name}:: ...')"),
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

/// Keeps error messages short when a garbled line is huge.
fn shorten(text: &str) -> String {
    const MAX: usize = 64;
    match text.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests;
