use super::unique_tenant;
use crate::error::StoreError;
use crate::ports::Store;

/// A cursor that no listing made is [`StoreError::InvalidCursor`] (the API's 400), never a
/// panic nor another error.
pub async fn foreign_cursors_are_invalid_cursor_errors(store: &dyn Store) {
    let t = unique_tenant("cursors");
    let invalid = |r: Result<(), StoreError>| matches!(r, Err(StoreError::InvalidCursor));
    // Valid base64 of one key is not a run cursor, which holds two.
    let one_part = crate::store::keys::encode_cursor(&["acme"]);
    for bad in ["%%%", "", "/w", "zzz"] {
        let tenants = store.list_tenants(10, Some(bad)).await.map(|_| ());
        assert!(invalid(tenants), "tenants, {bad:?}");
        let mappings = store.list_mappings(&t, 10, Some(bad)).await.map(|_| ());
        assert!(invalid(mappings), "mappings, {bad:?}");
    }
    for bad in ["%%%", "", "/w", "zzz", one_part.as_str()] {
        let runs = store.list_runs(&t, 10, Some(bad)).await.map(|_| ());
        assert!(invalid(runs), "runs, {bad:?}");
    }
}
