//! The extension listing's `ETag` and `If-None-Match` (CONTRACTS section 4, RFC 9110
//! sections 8.8.3 and 13.1.2): every page carries the collection's version as a strong ETag,
//! and a listing whose `If-None-Match` names it (weak comparison, a list of tags, or `*`) is
//! answered 304 with no body. A field that is no valid `If-None-Match` is refused with 400
//! rather than ignored, so that a client sending a malformed one finds out.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::model::ApiError;

/// What the request's `If-None-Match` asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IfNoneMatch {
    /// No such field.
    Absent,
    /// `*`: any current representation (the collection always has one).
    Any,
    /// The opaque tags listed, weak or not (the weak comparison ignores `W/`).
    Tags(Vec<Vec<u8>>),
}

impl IfNoneMatch {
    /// The field's lines joined as one list, or 400 when one is not valid.
    pub fn of(headers: &HeaderMap) -> Result<Self, ApiError> {
        let mut lines = headers.get_all(header::IF_NONE_MATCH).iter().peekable();
        if lines.peek().is_none() {
            return Ok(Self::Absent);
        }
        let mut tags = Vec::new();
        let mut any = false;
        for line in lines {
            for element in split_list(line.as_bytes()).ok_or_else(invalid)? {
                match element {
                    b"*" => any = true,
                    element => tags.push(opaque_tag(element).ok_or_else(invalid)?.to_vec()),
                }
            }
        }
        // `*` stands alone; an empty list is no field value either.
        match (any, tags.is_empty()) {
            (true, true) => Ok(Self::Any),
            (false, false) => Ok(Self::Tags(tags)),
            _ => Err(invalid()),
        }
    }

    /// Whether a listing of `version` is not to be sent (the condition is false).
    pub fn matches(&self, version: &str) -> bool {
        match self {
            Self::Absent => false,
            Self::Any => true,
            Self::Tags(tags) => tags.iter().any(|tag| tag == version.as_bytes()),
        }
    }
}

/// The `ETag` field of a listing of `version`.
pub(crate) fn etag_value(version: &str) -> HeaderValue {
    // The version is lowercase hex, which a header always carries.
    HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or(HeaderValue::from_static("\"\""))
}

/// 304: no body, the ETag it would have sent with a 200.
pub(crate) fn not_modified(version: &str) -> Response {
    let mut response = StatusCode::NOT_MODIFIED.into_response();
    response
        .headers_mut()
        .insert(header::ETAG, etag_value(version));
    response
}

fn invalid() -> ApiError {
    ApiError {
        field: Some("If-None-Match".into()),
        ..ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid",
            "If-None-Match must be * or a list of entity tags such as \"abc\" or W/\"abc\"",
        )
    }
}

/// The elements of a `#rule` list: split at commas outside quotes, optional whitespace
/// trimmed, empty elements dropped (RFC 9110 section 5.6.1). `None` for an unclosed quote.
fn split_list(line: &[u8]) -> Option<Vec<&[u8]>> {
    let mut elements = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    for (at, byte) in line.iter().enumerate() {
        match byte {
            b'"' => quoted = !quoted,
            b',' if !quoted => {
                elements.push(&line[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    if quoted {
        return None;
    }
    elements.push(&line[start..]);
    Some(
        elements
            .into_iter()
            .map(trim_ows)
            .filter(|e| !e.is_empty())
            .collect(),
    )
}

fn trim_ows(mut bytes: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = bytes {
        bytes = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = bytes {
        bytes = rest;
    }
    bytes
}

/// The opaque tag inside `entity-tag = [ W/ ] DQUOTE *etagc DQUOTE`, quotes stripped.
fn opaque_tag(element: &[u8]) -> Option<&[u8]> {
    let quoted = element.strip_prefix(b"W/").unwrap_or(element);
    let inner = quoted.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
    // etagc = %x21 / %x23-7E / obs-text
    inner
        .iter()
        .all(|&c| c == 0x21 || (0x23..=0x7e).contains(&c) || c >= 0x80)
        .then_some(inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(lines: &[&str]) -> Result<IfNoneMatch, ApiError> {
        let mut headers = HeaderMap::new();
        for line in lines {
            headers.append(header::IF_NONE_MATCH, line.parse().unwrap());
        }
        IfNoneMatch::of(&headers)
    }

    #[test]
    fn tags_lists_and_star_are_read() {
        assert_eq!(parse(&[]).unwrap(), IfNoneMatch::Absent);
        assert_eq!(parse(&["*"]).unwrap(), IfNoneMatch::Any);
        assert_eq!(
            parse(&[r#""a", W/"b" ,,"c,d""#, r#""e""#]).unwrap(),
            IfNoneMatch::Tags(vec![
                b"a".to_vec(),
                b"b".to_vec(),
                b"c,d".to_vec(),
                b"e".to_vec()
            ])
        );
        assert_eq!(
            parse(&[r#""""#]).unwrap(),
            IfNoneMatch::Tags(vec![Vec::new()])
        );
    }

    #[test]
    fn weak_comparison_ignores_the_weak_mark() {
        let condition = parse(&[r#"W/"v1", "v2""#]).unwrap();
        assert!(condition.matches("v1"));
        assert!(condition.matches("v2"));
        assert!(!condition.matches("v3"));
        assert!(!condition.matches("V1"));
        assert!(parse(&["*"]).unwrap().matches("anything"));
        assert!(!parse(&[]).unwrap().matches("anything"));
    }

    #[test]
    fn malformed_fields_are_refused() {
        for bad in [
            "v1",
            r#""v1"#,
            r#"w/"v1""#,
            r#"W/ "v1""#,
            r#""a"b""#,
            r#""a b""#,
            r#"*, "a""#,
            ",",
            "",
            "**",
        ] {
            let error = parse(&[bad]).unwrap_err();
            assert_eq!(error.status, StatusCode::BAD_REQUEST, "{bad}");
            assert_eq!(error.field.as_deref(), Some("If-None-Match"), "{bad}");
        }
    }
}
