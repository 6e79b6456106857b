//! PATCH (RFC 7644 section 3.5.2): `add`, `remove` and `replace` on a resource's document,
//! with paths (`name.givenName`, `emails[type eq "work"].value`, `members[value eq "id"]`,
//! the enterprise extension's URN paths) or without one (an object of attributes). Accepted as
//! Entra ID and Okta send them: `op` in any case, `"True"`/`"False"`, `remove` of `members`
//! with the members as `value` instead of a value filter, and `add`/`replace` of
//! `emails[type eq "work"].value` when there is no work email yet (it is made).

use serde_json::{Map, Value};

use super::error::{ScimError, ScimType};
use super::filter::{self, Filter, Op};
use super::path::{AttrPath, Scope};
use super::resource::{self, coerce, Document};
use super::schema::{self, Attr, Mutability, Type, ENTERPRISE_SCHEMA};
use crate::domain::PushedKind;

/// Most operations in one request.
pub const MAX_OPERATIONS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Add,
    Remove,
    Replace,
}

#[derive(Debug)]
pub struct Operation {
    pub kind: Kind,
    pub path: Option<String>,
    pub value: Option<Value>,
}

fn syntax(detail: impl Into<String>) -> ScimError {
    ScimError::bad(ScimType::InvalidSyntax, detail)
}

fn bad_path(detail: impl Into<String>) -> ScimError {
    ScimError::bad(ScimType::InvalidPath, detail)
}

/// The operations of a PATCH body (`Operations`, any case).
pub fn operations(body: &Value) -> Result<Vec<Operation>, ScimError> {
    let Value::Object(body) = body else {
        return Err(syntax("the body must be a JSON object"));
    };
    let list = body
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("Operations"))
        .and_then(|(_, v)| v.as_array())
        .ok_or_else(|| syntax("the body needs an `Operations` list"))?;
    if list.len() > MAX_OPERATIONS {
        return Err(syntax(format!(
            "a PATCH takes at most {MAX_OPERATIONS} operations"
        )));
    }
    list.iter().map(operation).collect()
}

fn operation(value: &Value) -> Result<Operation, ScimError> {
    let Value::Object(object) = value else {
        return Err(syntax("every operation must be an object"));
    };
    let field = |name: &str| {
        object
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    };
    let kind = match field("op")
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase)
    {
        Some(op) if op == "add" => Kind::Add,
        Some(op) if op == "remove" => Kind::Remove,
        Some(op) if op == "replace" => Kind::Replace,
        _ => return Err(syntax("`op` must be add, remove or replace")),
    };
    let path = match field("path") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(s.trim().to_string()),
        Some(_) => return Err(bad_path("`path` must be a string")),
    };
    Ok(Operation {
        kind,
        path,
        value: field("value").cloned(),
    })
}

/// Where an operation acts.
enum Target {
    /// The whole enterprise extension.
    Extension,
    Attr(AttrPath),
    /// `attr[filter]` or `attr[filter].sub`.
    Filtered {
        attr: &'static Attr,
        filter: Filter,
        sub: Option<&'static Attr>,
    },
}

fn target(kind: PushedKind, path: &str) -> Result<Target, ScimError> {
    if kind == PushedKind::User && path.eq_ignore_ascii_case(ENTERPRISE_SCHEMA) {
        return Ok(Target::Extension);
    }
    let scope = Scope::resource(kind);
    let Some(open) = path.find('[') else {
        let path = scope.resolve(path).map_err(bad_path)?;
        if path.attr.mutability == Mutability::ReadOnly {
            return Err(ScimError::bad(
                ScimType::Mutability,
                format!("{} is read-only", path.attr.name),
            ));
        }
        return Ok(Target::Attr(path));
    };
    let close = path
        .rfind(']')
        .filter(|&close| close > open)
        .ok_or_else(|| bad_path("a `[` in the path is not closed"))?;
    let head = scope.resolve(&path[..open]).map_err(bad_path)?;
    if head.sub.is_some() || !head.is_complex_multi() || head.ext {
        return Err(bad_path(
            "a value filter `[...]` needs a multi-valued complex attribute",
        ));
    }
    let filter = filter::parse(&path[open + 1..close], head.inner_scope())?;
    let sub = match &path[close + 1..] {
        "" => None,
        rest => {
            let name = rest
                .strip_prefix('.')
                .ok_or_else(|| bad_path("only `.subAttribute` may follow `]`"))?;
            Some(schema::find(head.attr.sub, name).ok_or_else(|| {
                bad_path(format!("`{}` has no such sub-attribute", head.attr.name))
            })?)
        }
    };
    Ok(Target::Filtered {
        attr: head.attr,
        filter,
        sub,
    })
}

/// Applies `operations` in order to `doc` (all or nothing: the caller stores the result only
/// when every operation applied).
pub fn apply(
    kind: PushedKind,
    doc: &mut Document,
    operations: &[Operation],
) -> Result<(), ScimError> {
    for op in operations {
        match (&op.path, op.kind) {
            (None, Kind::Remove) => {
                return Err(ScimError::bad(
                    ScimType::NoTarget,
                    "`remove` needs a `path`",
                ))
            }
            (None, kind_of_op) => {
                let Some(Value::Object(values)) = &op.value else {
                    return Err(syntax(
                        "an operation without `path` needs an object `value`",
                    ));
                };
                for (key, value) in values {
                    // Attributes dirsync does not keep, and `id` or `meta`, are left out,
                    // as in a POST body.
                    let target = match target(kind, key) {
                        Ok(target) => target,
                        Err(e)
                            if matches!(
                                e.scim_type,
                                Some(ScimType::InvalidPath | ScimType::Mutability)
                            ) =>
                        {
                            continue
                        }
                        Err(e) => return Err(e),
                    };
                    write(doc, &target, kind_of_op, Some(value))?;
                }
            }
            (Some(path), kind_of_op) => {
                let target = target(kind, path)?;
                write(doc, &target, kind_of_op, op.value.as_ref())?;
            }
        }
    }
    resource::required(kind, doc)
}

/// Runs `change` on the object that holds the attributes of the extension (`ext`) or of the
/// resource; an extension left empty goes.
fn in_holder<T>(
    doc: &mut Document,
    ext: bool,
    change: impl FnOnce(&mut Map<String, Value>) -> Result<T, ScimError>,
) -> Result<T, ScimError> {
    if !ext {
        return change(doc);
    }
    let mut holder = match doc.remove(ENTERPRISE_SCHEMA) {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    };
    let result = change(&mut holder);
    if !holder.is_empty() {
        doc.insert(ENTERPRISE_SCHEMA.to_string(), Value::Object(holder));
    }
    result
}

fn write(
    doc: &mut Document,
    target: &Target,
    kind: Kind,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    match (target, kind) {
        (Target::Extension, Kind::Remove) => {
            doc.remove(ENTERPRISE_SCHEMA);
            Ok(())
        }
        (Target::Extension, _) => {
            let ext = resource::extension(value.unwrap_or(&Value::Null))?;
            in_holder(doc, true, |holder| {
                holder.extend(ext);
                Ok(())
            })
        }
        (Target::Attr(path), Kind::Remove) => {
            in_holder(doc, path.ext, |holder| remove(holder, path, value))
        }
        (Target::Attr(path), kind) => {
            let value = value.ok_or_else(|| syntax("`add` and `replace` need a `value`"))?;
            in_holder(doc, path.ext, |holder| put(holder, path, kind, value))
        }
        (Target::Filtered { attr, filter, sub }, kind) => {
            filtered(doc, attr, filter, *sub, kind, value)
        }
    }
}

/// The key of a multi-valued attribute's values that tells them apart: `value`.
fn same_value(a: &Value, b: &Value) -> bool {
    match (a.get("value"), b.get("value")) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn put(
    object: &mut Map<String, Value>,
    path: &AttrPath,
    kind: Kind,
    value: &Value,
) -> Result<(), ScimError> {
    let attr = path.attr;
    let at = path.display();
    let Some(sub) = path.sub else {
        let value = coerce(attr, value, &at)?;
        match (&value, object.get_mut(attr.name)) {
            (Value::Array(new), Some(Value::Array(old))) if kind == Kind::Add => {
                for item in new {
                    if !old.iter().any(|o| same_value(o, item)) {
                        old.push(item.clone());
                    }
                }
                if old.len() > resource::MAX_MEMBERS {
                    return Err(ScimError::bad(
                        ScimType::InvalidValue,
                        format!("{at} has too many values"),
                    ));
                }
            }
            // A complex attribute takes the sub-attributes given, keeping the others.
            (Value::Object(new), Some(Value::Object(old))) => {
                old.extend(new.clone());
            }
            _ => resource::set(object, attr, value),
        }
        return Ok(());
    };
    let value = coerce(sub, value, &at)?;
    if attr.multi {
        // No filter: the primary value, else the first; one is made when there is none.
        let mut list = match object.remove(attr.name) {
            Some(Value::Array(list)) => list,
            _ => Vec::new(),
        };
        match list.iter().position(|v| v["primary"] == true) {
            Some(i) => set_sub(&mut list[i], sub, value),
            None => match list.first_mut() {
                Some(first) => set_sub(first, sub, value),
                None => {
                    let mut element = Value::Object(Map::new());
                    set_sub(&mut element, sub, value);
                    list.push(element);
                }
            },
        }
        list.retain(|v| v.as_object().is_some_and(|o| !o.is_empty()));
        if !list.is_empty() {
            object.insert(attr.name.to_string(), Value::Array(list));
        }
    } else {
        let mut slot = match object.remove(attr.name) {
            Some(Value::Object(map)) => Value::Object(map),
            _ => Value::Object(Map::new()),
        };
        set_sub(&mut slot, sub, value);
        if slot.as_object().is_some_and(|o| !o.is_empty()) {
            object.insert(attr.name.to_string(), slot);
        }
    }
    Ok(())
}

fn set_sub(element: &mut Value, sub: &Attr, value: Value) {
    if let Value::Object(map) = element {
        resource::set(map, sub, value);
    }
}

fn remove(
    object: &mut Map<String, Value>,
    path: &AttrPath,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    let attr = path.attr;
    if attr.required && path.sub.is_none() {
        return Err(ScimError::bad(
            ScimType::Mutability,
            format!("{} is required and cannot be removed", attr.name),
        ));
    }
    match (path.sub, object.get_mut(attr.name)) {
        (_, None) => {}
        // Entra ID: `{"op": "remove", "path": "members", "value": [{"value": "id"}]}`.
        (None, Some(Value::Array(list))) if value.is_some_and(|v| !v.is_null()) => {
            let gone = coerce(attr, value.unwrap_or(&Value::Null), &path.display())?;
            let gone = gone.as_array().cloned().unwrap_or_default();
            list.retain(|item| !gone.iter().any(|g| same_value(item, g)));
            if list.is_empty() {
                object.remove(attr.name);
            }
        }
        (None, Some(_)) => {
            object.remove(attr.name);
        }
        (Some(sub), Some(slot)) => {
            match slot {
                Value::Array(list) => {
                    for item in list.iter_mut() {
                        if let Value::Object(map) = item {
                            map.remove(sub.name);
                        }
                    }
                    list.retain(|v| v.as_object().is_some_and(|o| !o.is_empty()));
                }
                Value::Object(map) => {
                    map.remove(sub.name);
                }
                _ => {}
            }
            if slot.as_array().is_some_and(Vec::is_empty)
                || slot.as_object().is_some_and(Map::is_empty)
            {
                object.remove(attr.name);
            }
        }
    }
    Ok(())
}

/// The values of `attr` a filter made only of `eq` comparisons describes, for a value to
/// make when none matches (`emails[type eq "work"].value`).
fn described(filter: &Filter, into: &mut Map<String, Value>) -> bool {
    match filter {
        Filter::And(a, b) => described(a, into) && described(b, into),
        Filter::Compare(path, Op::Eq, value) if !value.is_null() => {
            into.insert(path.attr.name.to_string(), value.clone());
            true
        }
        _ => false,
    }
}

fn filtered(
    doc: &mut Document,
    attr: &'static Attr,
    filter: &Filter,
    sub: Option<&'static Attr>,
    kind: Kind,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    let at = attr.name;
    let mut list = match doc.remove(attr.name) {
        Some(Value::Array(list)) => list,
        _ => Vec::new(),
    };
    let matching: Vec<usize> = (0..list.len())
        .filter(|&i| filter.matches(&list[i]))
        .collect();
    let outcome = (|| {
        if kind == Kind::Remove {
            if let Some(sub) = sub {
                for &i in &matching {
                    set_sub(&mut list[i], sub, Value::Null);
                }
            } else {
                let mut index = 0;
                list.retain(|_| {
                    index += 1;
                    !matching.contains(&(index - 1))
                });
            }
            return Ok(());
        }
        let value = value.ok_or_else(|| syntax("`add` and `replace` need a `value`"))?;
        let new = match sub {
            Some(sub) => coerce(sub, value, &format!("{at}.{}", sub.name))?,
            None => element(attr, value)?,
        };
        if matching.is_empty() {
            let mut made = Map::new();
            if !described(filter, &mut made) {
                return Err(ScimError::bad(
                    ScimType::NoTarget,
                    format!("no value of {at} matches the filter"),
                ));
            }
            let mut made = element(attr, &Value::Object(made))?;
            match sub {
                Some(sub) => set_sub(&mut made, sub, new),
                None => {
                    if let (Value::Object(m), Value::Object(n)) = (&mut made, new) {
                        m.extend(n);
                    }
                }
            }
            list.push(made);
            return Ok(());
        }
        for &i in &matching {
            match (sub, kind) {
                (Some(sub), _) => set_sub(&mut list[i], sub, new.clone()),
                (None, Kind::Replace) => list[i] = new.clone(),
                (None, _) => {
                    if let (Value::Object(m), Value::Object(n)) = (&mut list[i], &new) {
                        m.extend(n.clone());
                    }
                }
            }
        }
        Ok(())
    })();
    list.retain(|v| v.as_object().is_some_and(|o| !o.is_empty()));
    if !list.is_empty() {
        doc.insert(attr.name.to_string(), Value::Array(list));
    }
    outcome
}

/// One value of the multi-valued complex `attr`, read from a request.
fn element(attr: &'static Attr, value: &Value) -> Result<Value, ScimError> {
    let one = Attr {
        multi: false,
        name: attr.name,
        kind: Type::Complex,
        sub: attr.sub,
        ..schema::EXTERNAL_ID
    };
    match coerce(&one, value, attr.name)? {
        Value::Null => Err(ScimError::bad(
            ScimType::InvalidValue,
            format!("{} needs a value", attr.name),
        )),
        v => Ok(v),
    }
}

#[cfg(test)]
mod tests;
