//! The phonebook (CONTRACTS section 4): `GET /v1/phonebook`, `POST` `{"name", "number",
//! "managed_by"}` with `Idempotency-Key`, `DELETE /v1/phonebook/{id}`; no PATCH. Numbers are
//! unique across entries (409 `number_taken`); bodies are parsed strictly (422 naming the
//! field); auth, faults and rate limits are the other routes'.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{delete, get};
use axum::Router;
use dirsync::domain::phonebook::is_phonebook_number;
use serde::{Deserialize, Serialize};

use crate::collection::Stored;
use crate::model::ApiError;
use crate::routes::{creation, listing, path_error, removal};
use crate::state::{Account, Applied};
use crate::validate::{managed_by, name, parse_object};
use crate::PbxSimulator;

/// A phonebook entry as the simulated PBX holds and lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimPhonebookEntry {
    pub id: String,
    pub name: String,
    pub number: String,
    pub managed_by: Option<String>,
}

impl SimPhonebookEntry {
    /// A manual entry (no sync marker); `id` empty lets the simulator assign one.
    pub fn manual(name: &str, number: &str) -> Self {
        Self {
            id: String::new(),
            name: name.to_string(),
            number: number.to_string(),
            managed_by: None,
        }
    }
}

impl Stored for SimPhonebookEntry {
    const PREFIX: &'static str = "pb";
    const NOUN: &'static str = "phonebook entry";
    fn id_mut(&mut self) -> &mut String {
        &mut self.id
    }
}

/// The fields of a `POST /v1/phonebook`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EntryValues {
    pub name: String,
    pub number: String,
    pub managed_by: Option<String>,
}

/// `name` (non-empty, at most 64 characters) and `number` (digits with an optional leading
/// `+`, as `dirsync::domain::phonebook::normalize_number` gives) are required.
pub(crate) fn parse_entry(body: &[u8]) -> Result<EntryValues, ApiError> {
    let object = parse_object(body)?;
    let (mut entry_name, mut number, mut marker) = (None, None, None);
    for (key, value) in &object {
        match key.as_str() {
            "name" => entry_name = name("name", value)?,
            "number" => match value.as_str() {
                Some(n) if is_phonebook_number(n) => number = Some(n.to_string()),
                _ => {
                    return Err(ApiError::invalid(
                        "number",
                        "`number` must be 3 to 20 digits with an optional leading +",
                    ))
                }
            },
            "managed_by" => marker = managed_by(value)?,
            _ => return Err(ApiError::invalid(key, format!("unknown field `{key}`"))),
        }
    }
    let entry_name = entry_name
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| ApiError::invalid("name", "`name` must be a non-empty string"))?;
    let number = number.ok_or_else(|| ApiError::invalid("number", "`number` is required"))?;
    Ok(EntryValues {
        name: entry_name,
        number,
        managed_by: marker,
    })
}

impl Account {
    /// Creates an entry, or answers a repeat of `key` with the entry it created.
    pub fn create_phonebook_entry(
        &mut self,
        key: &str,
        values: EntryValues,
    ) -> Applied<SimPhonebookEntry> {
        if let Some(replayed) = self.phonebook.replay(key) {
            return replayed.map(|entry| (entry, false));
        }
        if self.phonebook.values().any(|e| e.number == values.number) {
            return Err(ApiError::conflict(
                "number_taken",
                "another phonebook entry has this number",
            ));
        }
        let entry = SimPhonebookEntry {
            id: String::new(),
            name: values.name,
            number: values.number,
            managed_by: values.managed_by,
        };
        Ok((self.phonebook.create(key, entry), true))
    }

    pub fn delete_phonebook_entry(&mut self, id: &str) -> Result<(), ApiError> {
        self.phonebook.remove(id).map(drop)
    }
}

pub(crate) fn router() -> Router<PbxSimulator> {
    Router::new()
        .route(
            "/{account}/v1/phonebook",
            get(list_entries).post(create_entry),
        )
        .route("/{account}/v1/phonebook/{id}", delete(delete_entry))
}

async fn list_entries(
    State(sim): State<PbxSimulator>,
    path: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Path(account) = path.map_err(path_error)?;
    listing(&sim, &account, query, &headers, |a| &a.phonebook).await
}

async fn create_entry(
    State(sim): State<PbxSimulator>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let Path(account) = path.map_err(path_error)?;
    creation(
        &sim,
        &account,
        &headers,
        body,
        parse_entry,
        Account::create_phonebook_entry,
    )
    .await
}

async fn delete_entry(
    State(sim): State<PbxSimulator>,
    path: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Path((account, id)) = path.map_err(path_error)?;
    removal(
        &sim,
        &account,
        &id,
        &headers,
        Account::delete_phonebook_entry,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(result: Result<EntryValues, ApiError>) -> String {
        result.unwrap_err().field.unwrap_or_default()
    }

    #[test]
    fn entry_bodies_are_strict() {
        assert_eq!(field_of(parse_entry(br#"{"number":"+4930123"}"#)), "name");
        assert_eq!(field_of(parse_entry(br#"{"name":"A"}"#)), "number");
        assert_eq!(
            field_of(parse_entry(br#"{"name":"A","number":"030 123"}"#)),
            "number"
        );
        assert_eq!(
            field_of(parse_entry(br#"{"name":"A","number":4930123}"#)),
            "number"
        );
        assert_eq!(
            field_of(parse_entry(br#"{"name":" ","number":"+4930123"}"#)),
            "name"
        );
        let long = "x".repeat(65);
        let body = format!(r#"{{"name":"{long}","number":"+4930123"}}"#);
        assert_eq!(field_of(parse_entry(body.as_bytes())), "name");
        assert_eq!(
            field_of(parse_entry(br#"{"name":"A","number":"+4930123","id":"x"}"#)),
            "id"
        );
        assert_eq!(
            field_of(parse_entry(
                br#"{"name":"A","number":"+4930123","managed_by":"me"}"#
            )),
            "managed_by"
        );
        let ok = parse_entry(
            br#"{"name":"Ada Lovelace M","number":"+4930123","managed_by":"directory-sync"}"#,
        )
        .unwrap();
        assert_eq!(ok.number, "+4930123");
        assert_eq!(ok.managed_by.as_deref(), Some("directory-sync"));
    }
}
