//! The strict parse of a `PUT .../directory` body: the config's serde form is tolerant (for
//! stored records), so the request's unknown fields are found here, every one of them.

use serde_json::Value;

use super::{DirectoryConfig, EndpointPolicy, FieldError, InvalidConfig};

impl DirectoryConfig {
    /// Parses and validates a request body. A structural error (not JSON, a wrong type) names
    /// its field path; otherwise every unknown field and every semantic problem is reported.
    pub fn from_json(body: &[u8], policy: EndpointPolicy) -> Result<Self, InvalidConfig> {
        let given: Value = serde_json::from_slice(body)
            .map_err(|e| InvalidConfig(vec![FieldError::new("body", e.to_string())]))?;
        let config: DirectoryConfig = serde_path_to_error::deserialize(&given).map_err(|e| {
            let path = e.path().to_string();
            let field = if path == "." {
                "body".to_string()
            } else {
                path
            };
            InvalidConfig(vec![FieldError::new(field, e.inner().to_string())])
        })?;
        let mut errors = Vec::new();
        // What the config keeps, in the same shape: a given field missing from it was not read.
        let kept = serde_json::to_value(&config)
            .map_err(|e| InvalidConfig(vec![FieldError::new("body", e.to_string())]))?;
        if let (Value::Object(given), Value::Object(kept)) = (&given, &kept) {
            for (key, value) in given {
                // Write-only, so never in what the config keeps; its own type is strict.
                if key != CREDENTIALS {
                    unknown_fields(key, value, kept.get(key), &mut errors);
                }
            }
        }
        if let Err(InvalidConfig(invalid)) = config.validate(policy) {
            errors.extend(invalid);
        }
        if errors.is_empty() {
            Ok(config)
        } else {
            Err(InvalidConfig(errors))
        }
    }
}

const CREDENTIALS: &str = "credentials";

/// Every field under `path` that `given` has and `kept` lacks. A `null` the config does not
/// keep (an optional field left unset) is no error.
fn unknown_fields(path: &str, given: &Value, kept: Option<&Value>, errors: &mut Vec<FieldError>) {
    match (given, kept) {
        (Value::Null, None) => {}
        (_, None) => errors.push(FieldError::new(path, "is not a known field")),
        (Value::Object(given), Some(Value::Object(kept))) => {
            for (key, value) in given {
                unknown_fields(&format!("{path}.{key}"), value, kept.get(key), errors);
            }
        }
        (Value::Array(given), Some(Value::Array(kept))) => {
            for (i, (value, kept)) in given.iter().zip(kept).enumerate() {
                unknown_fields(&format!("{path}[{i}]"), value, Some(kept), errors);
            }
        }
        _ => {}
    }
}
