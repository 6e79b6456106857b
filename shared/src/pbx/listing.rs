//! Paged listings (`GET /v1/{resource}?limit=N&cursor=C`) and the extension listing's `ETag`
//! (CONTRACTS section 4): `If-None-Match` goes with the first page only, 304 there means
//! nothing changed, and a listing keeps its ETag only when every page carried the same one,
//! so that a collection that changed part-way is never taken for the version of its first page.

use std::collections::HashSet;

use reqwest::header::{HeaderMap, ETAG};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;

use super::http_client::{Call, HttpPbx};
use super::resources::EXTENSIONS;
use crate::error::PbxError;
use crate::ports::{ExtensionListing, Page};

/// The longest ETag kept: it is stored with the tenant's state and sent back as a header.
const MAX_ETAG_BYTES: usize = 256;

/// What a listing found.
enum Pages<T> {
    /// 304 to the first page's `If-None-Match`.
    NotModified,
    Listed {
        items: Vec<T>,
        etag: Option<String>,
    },
}

impl HttpPbx {
    /// Every object of `resource`, all pages.
    pub(super) async fn list_all<T: DeserializeOwned>(
        &self,
        resource: &str,
    ) -> Result<Vec<T>, PbxError> {
        match self.list_pages(resource, None).await? {
            Pages::Listed { items, .. } => Ok(items),
            // Only a listing that sent If-None-Match can get here.
            Pages::NotModified => Err(unasked_304()),
        }
    }

    /// Every extension, unless the listing's ETag is still `etag`. A kept ETag that is not a
    /// valid entity tag is not sent: the listing is then read in full.
    pub(super) async fn list_extensions_unless(
        &self,
        etag: Option<&str>,
    ) -> Result<ExtensionListing, PbxError> {
        let etag = etag.filter(|etag| entity_tag(etag));
        Ok(match self.list_pages(EXTENSIONS, etag).await? {
            Pages::NotModified => ExtensionListing::NotModified,
            Pages::Listed { items, etag } => ExtensionListing::Listed {
                extensions: items,
                etag,
            },
        })
    }

    async fn list_pages<T: DeserializeOwned>(
        &self,
        resource: &str,
        if_none_match: Option<&str>,
    ) -> Result<Pages<T>, PbxError> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        let mut seen_cursors = HashSet::new();
        // The first page's ETag while every later page agrees; `None` once one does not.
        let mut etag: Option<Option<String>> = None;
        loop {
            let mut url = self.url(&[resource])?;
            {
                let mut query = url.query_pairs_mut();
                query.append_pair("limit", &self.options().page_size.to_string());
                if let Some(cursor) = &cursor {
                    query.append_pair("cursor", cursor);
                }
            }
            let first = cursor.is_none();
            let call = Call {
                if_none_match: if_none_match.filter(|_| first),
                ..Call::new(Method::GET, url)
            };
            let answer = self.send(&call).await?;
            if answer.status == StatusCode::NOT_MODIFIED {
                return match call.if_none_match {
                    Some(_) => Ok(Pages::NotModified),
                    None => Err(unasked_304()),
                };
            }
            if !answer.status.is_success() {
                return Err(answer.into_error());
            }
            let page: Page<T> = answer.json()?;
            etag = Some(match etag {
                None => answer.etag,
                Some(kept) => kept.filter(|kept| answer.etag.as_ref() == Some(kept)),
            });
            items.extend(page.items);
            match page.next_cursor {
                None => {
                    return Ok(Pages::Listed {
                        items,
                        etag: etag.flatten(),
                    })
                }
                // A cursor seen before would loop for ever: a broken listing is an error,
                // never a short one.
                Some(next) if !seen_cursors.insert(next.clone()) => {
                    return Err(PbxError::Protocol(
                        "the PBX listing repeated a cursor".into(),
                    ));
                }
                Some(next) => cursor = Some(next),
            }
        }
    }
}

fn unasked_304() -> PbxError {
    PbxError::Protocol("the PBX answered 304 to a listing that sent no If-None-Match".into())
}

/// The answer's `ETag`, when it is one entity tag that can be kept and sent back.
pub(super) fn etag(headers: &HeaderMap) -> Option<String> {
    let mut values = headers.get_all(ETAG).iter();
    let value = values.next()?;
    if values.next().is_some() {
        return None;
    }
    let value = value.to_str().ok()?;
    entity_tag(value).then(|| value.to_string())
}

/// `entity-tag = [ W/ ] DQUOTE *etagc DQUOTE` (RFC 9110 section 8.8.3), visible ASCII only,
/// at most [`MAX_ETAG_BYTES`].
pub(super) fn entity_tag(value: &str) -> bool {
    let quoted = value.strip_prefix("W/").unwrap_or(value);
    let inner = quoted
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'));
    value.len() <= MAX_ETAG_BYTES
        && inner.is_some_and(|inner| {
            inner
                .bytes()
                .all(|c| c == 0x21 || (0x23..=0x7e).contains(&c))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_tags_are_checked() {
        for good in [r#""abc""#, r#"W/"abc""#, r#""""#, r#""a!#~""#] {
            assert!(entity_tag(good), "{good}");
        }
        let long = format!("\"{}\"", "a".repeat(MAX_ETAG_BYTES));
        for bad in [
            "abc",
            r#""abc"#,
            r#"w/"abc""#,
            r#""a"b""#,
            r#""a b""#,
            "\"a\u{e9}\"",
            r#""a", "b""#,
            "*",
            long.as_str(),
        ] {
            assert!(!entity_tag(bad), "{bad}");
        }
    }

    #[test]
    fn one_etag_field_is_kept_two_are_none() {
        let mut headers = HeaderMap::new();
        assert_eq!(etag(&headers), None);
        headers.insert(ETAG, r#""v1""#.parse().unwrap());
        assert_eq!(etag(&headers).as_deref(), Some(r#""v1""#));
        headers.append(ETAG, r#""v2""#.parse().unwrap());
        assert_eq!(etag(&headers), None);
        headers.insert(ETAG, "v1".parse().unwrap());
        assert_eq!(etag(&headers), None);
    }
}
