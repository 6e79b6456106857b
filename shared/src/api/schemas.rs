//! Hand-written schemas of the document's bodies whose types are not the API's own: the
//! directory config (reworked in `domain::config`, so described here by its top-level shape)
//! and the answers built from domain types. Each is a component the annotations name.

use std::borrow::Cow;

use serde_json::json;
use utoipa::openapi::{RefOr, Schema};

/// Defines a type standing for a schema written as JSON, named `$name` in the document.
macro_rules! schema {
    ($(#[$doc:meta])* $type:ident = $name:literal $schema:tt) => {
        $(#[$doc])*
        pub struct $type;

        impl utoipa::PartialSchema for $type {
            fn schema() -> RefOr<Schema> {
                from_json(json!($schema))
            }
        }

        impl utoipa::ToSchema for $type {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }
        }
    };
}

/// A schema written as JSON. The literals are ours and the checked-in document shows them, so
/// one that utoipa cannot read would show there as an empty schema.
fn from_json(value: serde_json::Value) -> RefOr<Schema> {
    serde_json::from_value(value).unwrap_or_else(|_| RefOr::T(Schema::default()))
}

schema!(
    /// One bad field of a 400.
    FieldErrorSchema = "FieldError" {
        "type": "object",
        "required": ["field", "message"],
        "properties": {"field": {"type": "string"}, "message": {"type": "string"}}
    }
);

schema!(
    /// The body of `PUT .../directory` and `POST .../directory/test` (CONTRACTS section 2).
    DirectoryConfigSchema = "DirectoryConfig" {
        "type": "object",
        "required": ["provider"],
        "properties": {
            "provider": {
                "type": "object",
                "required": ["type"],
                "description": "`scim` has no other field: the directory is what the tenant's identity provider pushes to /scim/v2/{t}/; its fields name SCIM attributes (userName, displayName, name.givenName, name.familyName, emails[primary], phoneNumbers[type eq \"work\"], phoneNumbers[type eq \"mobile\"], title, department)",
                "properties": {"type": {"type": "string", "enum": ["ldap", "azure", "okta", "ldif", "scim"]}}
            },
            "scope": {"type": "object"},
            "fields": {
                "type": "object",
                "description": "the source attribute of each PBX field; `sip_password` names the attribute holding the SIP password (off by default, write-only: sent to the PBX on creates and when it changes, never returned nor stored)",
                "properties": {"sip_password": {"type": ["string", "null"]}}
            },
            "extension_numbers": {"type": "object"},
            "remove_when": {"type": "array", "items": {"type": "string"}},
            "on_remove": {"type": "string", "enum": ["delete", "disable", "keep"]},
            "adopt_existing_by_email": {"type": "boolean"},
            "deletion_guard": {"type": "object"},
            "schedule": {"type": "object"},
            "record_limit": {"type": "integer", "minimum": 1, "maximum": 10000},
            "organizations": {"type": "object"},
            "extension_groups": {"type": "object"},
            "extra_numbers": {
                "description": "Further numbers of each user, kept as PBX phonebook entries \"{first} {last} {suffix}\". `attribute` may end in [0] to [9] to take that value of a multi-valued attribute (e.g. businessPhones[1]).",
                "type": "array",
                "maxItems": 10,
                "items": {
                    "type": "object",
                    "required": ["attribute", "suffix"],
                    "additionalProperties": false,
                    "properties": {
                        "attribute": {"type": "string", "examples": ["mobile", "businessPhones[1]"]},
                        "suffix": {"type": "string", "minLength": 1, "maxLength": 16}
                    }
                }
            },
            "welcome_email": {"type": "boolean"},
            "write_back": {
                "type": ["object", "null"],
                "description": "the directory attribute each extension's number is written to (LDAP/AD any attribute; Graph a writable string property or a directory extension, needs User.ReadWrite.All; Okta a profile property; never LDIF); a refused write is a write_back_failed conflict, retried next run",
                "required": ["attribute"],
                "properties": {"attribute": {"type": "string"}}
            },
            "login": {"type": "object", "properties": {"enabled": {"type": "boolean"}}},
            "credentials": {
                "description": "write-only",
                "type": "object",
                "additionalProperties": {"type": "string"}
            }
        }
    }
);

schema!(
    /// A tenant's state.
    TenantStateSchema = "TenantState" {"type": "string", "enum": ["active", "paused", "disconnected"]}
);

schema!(
    /// The stored directory config, without secrets.
    StoredConfigSchema = "StoredConfig" {
        "type": "object",
        "required": ["provider", "credentials_set", "state"],
        "properties": {
            "provider": {"type": "object", "required": ["type"], "properties": {"type": {"type": "string"}}},
            "credentials_set": {"type": "boolean"},
            "state": {"$ref": "#/components/schemas/TenantState"}
        }
    }
);

schema!(
    /// The answer to pause and resume.
    StateAnswerSchema = "StateAnswer" {
        "type": "object",
        "required": ["state"],
        "properties": {"state": {"$ref": "#/components/schemas/TenantState"}}
    }
);

schema!(
    /// The answer to a disconnect that releases the extensions.
    ReleasedSchema = "Released" {
        "type": "object",
        "required": ["state", "released_extensions"],
        "properties": {
            "state": {"$ref": "#/components/schemas/TenantState"},
            "released_extensions": {"type": "integer", "minimum": 0}
        }
    }
);

schema!(
    /// The stored PBX endpoint, without its token.
    PbxAnswerSchema = "PbxAnswer" {
        "type": "object",
        "required": ["base_url", "credentials_set"],
        "properties": {"base_url": {"type": ["string", "null"]}, "credentials_set": {"type": "boolean"}}
    }
);

schema!(
    /// A connection test's outcome.
    ConnectionReportSchema = "ConnectionReport" {
        "type": "object",
        "required": ["ok", "checks", "sample"],
        "properties": {
            "ok": {"type": "boolean"},
            "checks": {"type": "array", "items": {
                "type": "object",
                "required": ["name", "ok", "ms", "message"],
                "properties": {
                    "name": {"type": "string", "enum": ["tunnel", "connect", "tls", "bind", "token", "search"]},
                    "ok": {"type": "boolean"},
                    "ms": {"type": "integer", "minimum": 0},
                    "message": {"type": "string"}
                }
            }},
            "sample": {"type": "array", "maxItems": 5, "items": {"type": "object"}}
        }
    }
);

schema!(
    /// A plan (CONTRACTS section 4).
    PlanSchema = "Plan" {
        "type": "object",
        "required": ["summary", "creates", "updates", "removes", "skipped", "conflicts", "unchanged", "removals_held"],
        "properties": {
            "summary": {"type": "string"},
            "creates": {"type": "array", "items": {"type": "object", "required": ["object_id", "name", "number", "email"]}},
            "updates": {"type": "array", "items": {"type": "object", "required": ["object_id", "extension_id", "name", "changes"],
                "properties": {"changes": {"type": "object", "description": "{field: [old, new]}, the changed fields only; `sip_password` is always shown as [\"[redacted]\", \"[redacted]\"] (old null when none was sent before)"}}}},
            "removes": {"type": "array", "items": {"type": "object", "required": ["object_id", "extension_id", "name", "action"]}},
            "skipped": {"type": "array", "items": {"type": "object", "required": ["object_id", "name", "reason"]}},
            "conflicts": {"type": "array", "items": {"type": "object", "required": ["object_id", "name", "reason"]}},
            "unchanged": {"type": "integer", "minimum": 0},
            "removals_held": {"type": "boolean"},
            "organizations": {"$ref": "#/components/schemas/ObjectChanges"},
            "extension_groups": {"$ref": "#/components/schemas/ObjectChanges"},
            "write_backs": {"type": "array", "description": "write_back: numbers to write to the directory; after_create ones only once the create succeeded",
                "items": {"type": "object", "required": ["object_id", "name", "number", "old"],
                    "properties": {"object_id": {"type": "string"}, "name": {"type": "string"},
                        "number": {"type": "string"}, "old": {"type": ["string", "null"]},
                        "extension_id": {"type": "string"}, "after_create": {"type": "boolean"}}}},
            "phonebook": {"$ref": "#/components/schemas/PhonebookChanges"}
        }
    }
);

schema!(
    /// What a plan does with the phonebook entries of `extra_numbers`: creates (with the
    /// entry of sync's they replace, for a rename), removes, and skips (`invalid_number`,
    /// `number_taken`, `name_too_long`, `id_too_long`).
    PhonebookChangesSchema = "PhonebookChanges" {
        "type": "object",
        "required": ["creates", "removes", "skipped", "unchanged"],
        "properties": {
            "creates": {"type": "array", "items": {"type": "object", "required": ["object_id", "key", "name", "number"],
                "properties": {
                    "object_id": {"type": "string"},
                    "key": {"type": "string"},
                    "name": {"type": "string"},
                    "number": {"type": "string"},
                    "replaces": {"$ref": "#/components/schemas/PhonebookRemove"}
                }}},
            "removes": {"type": "array", "items": {"$ref": "#/components/schemas/PhonebookRemove"}},
            "skipped": {"type": "array", "items": {"type": "object", "required": ["object_id", "name", "number", "reason"],
                "properties": {
                    "reason": {"type": "string", "enum": ["invalid_number", "number_taken", "name_too_long", "id_too_long"]},
                    "holder_id": {"type": "string"}
                }}},
            "unchanged": {"type": "integer", "minimum": 0}
        }
    }
);

schema!(
    /// A phonebook entry sync created that is deleted.
    PhonebookRemoveSchema = "PhonebookRemove" {
        "type": "object",
        "required": ["object_id", "key", "entry_id", "name", "number"],
        "properties": {
            "object_id": {"type": "string"},
            "key": {"type": "string"},
            "entry_id": {"type": "string"},
            "name": {"type": "string"},
            "number": {"type": "string"}
        }
    }
);

schema!(
    /// What a plan does with organizations or extension groups: creates (parents first),
    /// updates (renames, moves, members added and removed), removes (`delete` or `release`),
    /// skips (`group_limit`) and conflicts (`name_taken`, `in_use`, ...).
    ObjectChangesSchema = "ObjectChanges" {
        "type": "object",
        "required": ["creates", "updates", "removes", "conflicts", "unchanged"],
        "properties": {
            "creates": {"type": "array", "items": {"type": "object", "required": ["object_id", "name"]}},
            "updates": {"type": "array", "items": {"type": "object", "required": ["object_id", "name"]}},
            "removes": {"type": "array", "items": {"type": "object", "required": ["object_id", "pbx_id", "name", "action"],
                "properties": {"action": {"type": "string", "enum": ["delete", "release"]}}}},
            "skipped": {"type": "array", "items": {"type": "object", "required": ["object_id", "name", "reason"]}},
            "conflicts": {"type": "array", "items": {"type": "object", "required": ["object_id", "name", "reason"]}},
            "unchanged": {"type": "integer", "minimum": 0}
        }
    }
);

schema!(
    /// A run summary (CONTRACTS section 1).
    RunSummarySchema = "RunSummary" {
        "type": "object",
        "required": ["run_id", "trigger", "started_at", "finished_at", "outcome", "counts", "summary", "new", "updated", "removed", "error"],
        "properties": {
            "run_id": {"type": "string"},
            "trigger": {"type": "string", "enum": ["schedule", "manual", "disconnect", "push"]},
            "started_at": {"type": "string", "format": "date-time"},
            "finished_at": {"type": ["string", "null"], "format": "date-time"},
            "outcome": {"type": "string", "enum": ["running", "success", "partial", "failed", "held", "interrupted"]},
            "counts": {
                "type": "object",
                "required": ["new", "updated", "removed", "skipped", "conflicts", "unchanged"],
                "additionalProperties": {"type": "integer", "minimum": 0}
            },
            "summary": {"type": "string"},
            "new": {"type": "array", "items": {"type": "string"}},
            "updated": {"type": "array", "items": {"type": "string"}},
            "removed": {"type": "array", "items": {"type": "string"}},
            "error": {"type": ["string", "null"]},
            "reads": {
                "description": "Which reads the run made: `directory` `full` or `changes` (only what changed since the last run, merged into what it kept), `pbx` `full` or `not_modified` (the PBX answered 304 to the last listing's ETag); `planned` false when nothing changed since a run that left nothing to do, so the run skipped planning. Absent on runs that read nothing.",
                "type": "object",
                "required": ["directory", "pbx", "planned"],
                "properties": {
                    "directory": {"type": "string", "enum": ["full", "changes"]},
                    "pbx": {"type": "string", "enum": ["full", "not_modified"]},
                    "planned": {"type": "boolean"},
                    "directory_requests": {"type": "integer", "minimum": 0, "description": "The requests (pages and lookups) a change-only read made; absent after a full read."}
                }
            }
        }
    }
);

schema!(
    /// A run in full: its summary, the plan it applied and what went wrong.
    RunRecordSchema = "RunRecord" {
        "allOf": [
            {"$ref": "#/components/schemas/RunSummary"},
            {
                "type": "object",
                "required": ["plan", "apply_conflicts", "errors"],
                "properties": {
                    "plan": {"oneOf": [{"$ref": "#/components/schemas/Plan"}, {"type": "null"}]},
                    "apply_conflicts": {"type": "array", "items": {"type": "object", "properties": {"reason": {"type": "string",
                        "enum": ["number_taken", "email_taken", "limit_reached", "write_back_failed"]}}}},
                    "object_conflicts": {"type": "array", "items": {"type": "object"}},
                    "errors": {"type": "array", "items": {"type": "object"}},
                    "approved_by": {"type": "string"}
                }
            }
        ]
    }
);

schema!(
    /// `GET .../sync/status`.
    SyncStatusSchema = "SyncStatus" {
        "type": "object",
        "required": ["provider", "server", "state", "synced_extensions", "synced_organizations", "synced_extension_groups", "record_limit", "last_sync", "next_sync_at"],
        "properties": {
            "provider": {"type": ["string", "null"]},
            "server": {"type": ["string", "null"]},
            "state": {"$ref": "#/components/schemas/TenantState"},
            "synced_extensions": {"type": "integer", "minimum": 0},
            "synced_organizations": {"type": "integer", "minimum": 0},
            "synced_extension_groups": {"type": "integer", "minimum": 0},
            "record_limit": {"type": ["integer", "null"]},
            "last_sync": {"oneOf": [{"$ref": "#/components/schemas/RunSummary"}, {"type": "null"}]},
            "next_sync_at": {"type": ["string", "null"], "format": "date-time"}
        }
    }
);

schema!(
    /// `GET .../users/{object_id}`: one directory user explained.
    UserExplanationSchema = "UserExplanation" {
        "type": "object",
        "required": ["object_id", "directory", "in_scope", "scope", "eligible", "skip_reason", "mapping", "next_run"],
        "properties": {
            "object_id": {"type": "string"},
            "directory": {"type": ["object", "null"]},
            "in_scope": {"type": "boolean"},
            "scope": {"type": "string"},
            "eligible": {"type": "boolean"},
            "skip_reason": {"type": ["string", "null"]},
            "mapping": {"type": ["object", "null"]},
            "next_run": {
                "type": "object",
                "required": ["action"],
                "properties": {"action": {"type": "string", "enum": ["create", "update", "remove", "remove_held", "conflict", "skip", "nothing"]}}
            }
        }
    }
);

schema!(
    /// A page of run summaries, newest first.
    RunPageSchema = "RunPage" {
        "type": "object",
        "required": ["runs", "next_cursor"],
        "properties": {
            "runs": {"type": "array", "items": {"$ref": "#/components/schemas/RunSummary"}},
            "next_cursor": {"type": ["string", "null"]}
        }
    }
);

schema!(
    /// A page of directory-managed extensions.
    ExtensionPageSchema = "ExtensionPage" {
        "type": "object",
        "required": ["items", "next_cursor"],
        "properties": {
            "items": {"type": "array", "items": {
                "type": "object",
                "required": ["object_id", "extension_id", "number", "first_name", "last_name", "email", "last_synced_at"],
                "properties": {
                    "object_id": {"type": "string"},
                    "extension_id": {"type": ["string", "null"]},
                    "number": {"type": "string"},
                    "first_name": {"type": ["string", "null"]},
                    "last_name": {"type": ["string", "null"]},
                    "email": {"type": ["string", "null"]},
                    "last_synced_at": {"type": "string", "format": "date-time"}
                }
            }},
            "next_cursor": {"type": ["string", "null"]}
        }
    }
);

schema!(
    /// A page of tenants, for the operator.
    TenantPageSchema = "TenantPage" {
        "type": "object",
        "required": ["tenants", "next_cursor"],
        "properties": {
            "tenants": {"type": "array", "items": {
                "type": "object",
                "required": ["tenant", "state", "provider", "last_outcome", "last_sync_at"],
                "properties": {
                    "tenant": {"type": "string"},
                    "state": {"$ref": "#/components/schemas/TenantState"},
                    "provider": {"type": ["string", "null"]},
                    "last_outcome": {"type": ["string", "null"]},
                    "last_sync_at": {"type": ["string", "null"], "format": "date-time"}
                }
            }},
            "next_cursor": {"type": ["string", "null"]}
        }
    }
);

schema!(
    /// `GET /v1/health`.
    HealthSchema = "Health" {
        "type": "object",
        "required": ["status"],
        "properties": {"status": {"type": "string"}}
    }
);

schema!(
    /// `GET /v1/openapi.json`: an OpenAPI 3.1 document.
    OpenApiDocumentSchema = "OpenApiDocument" {
        "type": "object",
        "required": ["openapi", "info", "paths"]
    }
);
