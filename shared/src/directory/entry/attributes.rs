//! The attribute bag of one LDAP-style entry and its mapping to a [`DirectoryUser`], shared by
//! the LDIF provider and the LDAP provider so that both read the same directory the same way.

use chrono::{DateTime, TimeZone, Utc};

use crate::domain::avatar::Photo;
use crate::domain::config::{DisabledRule, LdapFlavor, OrganizationSync, SourceField};
use crate::domain::phonebook::ExtraNumber;
use crate::domain::sip_password::SipPassword;
use crate::domain::{DirectoryConfig, DirectoryUser, ObjectId, UserState};

/// Attribute values by name. Names compare case-insensitively; a description with options
/// (`cn;lang-de`) is stored under its base name, so `get_all("cn")` sees every `cn` value
/// (the option-less ones first) and `get_all("cn;lang-de")` only the tagged ones.
///
/// A list, not a map: an entry has a handful of attributes, and a scan that compares names
/// ignoring ASCII case needs no lowercased copy of the name asked for. Attribute descriptions
/// are ASCII (RFC 4512 section 2.5).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attributes(Vec<(String, Vec<TaggedValue>)>);

#[derive(Debug, Clone, PartialEq, Eq)]
struct TaggedValue {
    /// Lowercased options, sorted and joined with `;`; empty without options.
    options: String,
    bytes: Vec<u8>,
}

/// `cN;Lang-DE;x` -> (`cN`, `lang-de;x`); no allocation for a name without options.
fn split_description(description: &str) -> (&str, String) {
    let mut parts = description.split(';');
    let base = parts.next().unwrap_or_default().trim();
    let mut options: Vec<String> = parts.map(|o| o.trim().to_lowercase()).collect();
    options.sort();
    (base, options.join(";"))
}

impl Attributes {
    pub fn new() -> Self {
        Self::default()
    }

    fn position(&self, base: &str) -> Option<usize> {
        self.0
            .iter()
            .position(|(name, _)| name.eq_ignore_ascii_case(base))
    }

    /// Adds one value. Values without options go before tagged ones, keeping file order otherwise.
    pub fn insert(&mut self, description: &str, value: Vec<u8>) {
        let (base, options) = split_description(description);
        let at = match self.position(base) {
            Some(at) => at,
            None => {
                self.0.push((base.to_ascii_lowercase(), Vec::new()));
                self.0.len() - 1
            }
        };
        let values = &mut self.0[at].1;
        let tagged = TaggedValue {
            options,
            bytes: value,
        };
        if tagged.options.is_empty() {
            let at = values
                .iter()
                .position(|v| !v.options.is_empty())
                .unwrap_or(values.len());
            values.insert(at, tagged);
        } else {
            values.push(tagged);
        }
    }

    /// Every value of the attribute (with options in `name`: only the values with exactly them).
    fn values<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a [u8]> + 'a {
        let (base, options) = split_description(name);
        let values = self.position(base).map_or(&[][..], |at| &self.0[at].1[..]);
        values
            .iter()
            .filter(move |v| options.is_empty() || v.options == options)
            .map(|v| v.bytes.as_slice())
    }

    /// [`Attributes::values`], collected.
    pub fn get_all(&self, name: &str) -> Vec<&[u8]> {
        self.values(name).collect()
    }

    /// The values that are valid UTF-8.
    pub fn get_all_str(&self, name: &str) -> Vec<&str> {
        self.values_str(name).collect()
    }

    fn values_str<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a str> + 'a {
        self.values(name)
            .filter_map(|v| std::str::from_utf8(v).ok())
    }

    /// The first value, as bytes.
    pub fn get_bytes(&self, name: &str) -> Option<&[u8]> {
        self.values(name).next()
    }

    /// The first value that is valid UTF-8.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.values_str(name).next()
    }

    pub fn has(&self, name: &str) -> bool {
        self.values(name).next().is_some()
    }

    /// The lowercased base names present.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(name, _)| name.as_str())
    }

    /// Whether `objectClass` holds one of `classes` (case-insensitive).
    pub fn has_object_class(&self, classes: &[&str]) -> bool {
        self.values_str("objectClass")
            .any(|c| classes.iter().any(|k| c.trim().eq_ignore_ascii_case(k)))
    }
}

/// AD `objectGUID` (16 bytes) in the canonical form Windows shows: the first three groups are
/// little-endian. Lowercase hex.
pub fn guid_to_string(bytes: &[u8]) -> Option<String> {
    let bytes: [u8; 16] = bytes.try_into().ok()?;
    Some(uuid::Uuid::from_bytes_le(bytes).hyphenated().to_string())
}

const PERSON_CLASSES: [&str; 4] = ["inetOrgPerson", "person", "organizationalPerson", "user"];
/// AD computer accounts are `user` objects too.
const NOT_PERSON_CLASSES: [&str; 1] = ["computer"];
/// `userAccountControl` ACCOUNTDISABLE.
const UAC_DISABLED: i64 = 0x2;
/// Seconds between 1601-01-01 (FILETIME epoch) and 1970-01-01.
const FILETIME_EPOCH_OFFSET_SECS: i64 = 11_644_473_600;

/// Turns an entry's attributes into a [`DirectoryUser`] following the tenant's `fields` and the
/// directory flavor's id and state attributes.
#[derive(Debug, Clone)]
pub struct UserMapper {
    flavor: LdapFlavor,
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    mobile: Option<String>,
    extension: Option<String>,
    job_title: Option<String>,
    /// `fields.avatar`: the attribute holding the photo (binary).
    avatar: Option<String>,
    /// `organizations.sync = attribute`: the attribute naming the user's organization.
    organization: Option<String>,
    /// `write_back.attribute`: its current value is read to tell whether to write.
    write_back: Option<String>,
    /// `fields.sip_password`'s attribute (write-only: never shown, see `SipPassword`).
    sip_password: Option<String>,
    /// `openldap`: the configured disabled rule; `None` takes `pwdAccountLockedTime`.
    disabled: Option<DisabledRule>,
    /// `extra_numbers`: each attribute, the index of its value taken, and the suffix.
    extra_numbers: Vec<(String, usize, String)>,
}

impl UserMapper {
    pub fn new(config: &DirectoryConfig, flavor: LdapFlavor) -> Self {
        Self {
            flavor,
            first_name: config.field_source(SourceField::FirstName),
            last_name: config.field_source(SourceField::LastName),
            email: config.field_source(SourceField::Email),
            mobile: config.field_source(SourceField::Mobile),
            extension: config.field_source(SourceField::Extension),
            job_title: config.field_source(SourceField::JobTitle),
            avatar: config.avatar_source(),
            organization: match &config.organizations.sync {
                OrganizationSync::Attribute { attribute } => Some(attribute.clone()),
                OrganizationSync::None | OrganizationSync::Ous => None,
            },
            sip_password: config.sip_password_source().map(str::to_string),
            write_back: config.write_back.as_ref().map(|w| w.attribute.clone()),
            disabled: None,
            extra_numbers: config
                .extra_numbers
                .iter()
                .map(|source| {
                    let (attribute, index) = source.attribute_and_index();
                    (attribute.to_string(), index, source.suffix.clone())
                })
                .collect(),
        }
    }

    /// Uses `rule` (from `provider.disabled`) to tell disabled OpenLDAP accounts.
    pub fn with_disabled_rule(mut self, rule: Option<DisabledRule>) -> Self {
        self.disabled = rule;
        self
    }

    /// OpenLDAP without a `disabled` rule: the ppolicy lock attribute that marks a disabled
    /// account. The overlay sets it itself on failed binds, which need not move `entryCSN`.
    pub fn openldap_lock_attribute(&self) -> Option<&str> {
        match (self.flavor, &self.disabled) {
            (LdapFlavor::Openldap, None) => Some(self.openldap_disabled_attribute()),
            _ => None,
        }
    }

    fn openldap_disabled_attribute(&self) -> &str {
        self.disabled
            .as_ref()
            .map_or("pwdAccountLockedTime", |r| r.attribute.as_str())
    }

    /// The attribute holding the photo, while `fields.avatar` is on.
    pub fn avatar_attribute(&self) -> Option<&str> {
        self.avatar.as_deref()
    }

    /// The attribute that keys users, OUs and groups alike.
    pub fn id_attribute(&self) -> &'static str {
        match self.flavor {
            LdapFlavor::ActiveDirectory => "objectGUID",
            LdapFlavor::Openldap => "entryUUID",
        }
    }

    fn state_attributes(&self) -> [&str; 2] {
        match self.flavor {
            LdapFlavor::ActiveDirectory => ["userAccountControl", "accountExpires"],
            LdapFlavor::Openldap => [self.openldap_disabled_attribute(), "shadowExpire"],
        }
    }

    /// The attributes a search must request: the mapped fields, the id, the state attributes,
    /// `memberOf` and `objectClass`. No duplicates (case-insensitive).
    pub fn attributes_needed(&self) -> Vec<String> {
        let fields = [
            &self.first_name,
            &self.last_name,
            &self.email,
            &self.mobile,
            &self.extension,
            &self.job_title,
            &self.avatar,
            &self.organization,
            &self.sip_password,
            &self.write_back,
        ];
        let fixed = [self.id_attribute(), "memberOf", "objectClass"]
            .into_iter()
            .chain(self.state_attributes())
            .map(str::to_string);
        let mut needed: Vec<String> = Vec::new();
        let extra = self.extra_numbers.iter().map(|(name, _, _)| name.clone());
        for name in fields
            .into_iter()
            .flatten()
            .cloned()
            .chain(extra)
            .chain(fixed)
        {
            if !needed.iter().any(|n| n.eq_ignore_ascii_case(&name)) {
                needed.push(name);
            }
        }
        needed
    }

    /// A person-like entry (not an AD computer account).
    pub fn is_user(&self, attrs: &Attributes) -> bool {
        attrs.has_object_class(&PERSON_CLASSES) && !attrs.has_object_class(&NOT_PERSON_CLASSES)
    }

    /// Maps one user entry. `in_scope` is `true`; the provider sets it from the scope.
    pub fn map_user(
        &self,
        dn: &str,
        attrs: &Attributes,
        now: DateTime<Utc>,
    ) -> Result<DirectoryUser, String> {
        let field = |source: &Option<String>| {
            source
                .as_deref()
                .and_then(|name| attrs.get_str(name))
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let (state, expires_at) = self.state(attrs, now)?;
        Ok(DirectoryUser {
            avatar_ref: None,
            // Hashed here, so that the bytes go with the entry.
            avatar: self
                .avatar
                .as_deref()
                .and_then(|name| attrs.get_bytes(name))
                .filter(|bytes| !bytes.is_empty())
                .map(Photo::of),
            object_id: self.object_id(attrs)?,
            first_name: field(&self.first_name),
            last_name: field(&self.last_name),
            email: field(&self.email),
            mobile: field(&self.mobile),
            extension: field(&self.extension),
            job_title: field(&self.job_title),
            state,
            expires_at,
            in_scope: true,
            dn: Some(dn.to_string()),
            groups: attrs
                .get_all_str("memberOf")
                .into_iter()
                .map(str::to_string)
                .collect(),
            organization: None,
            write_back: field(&self.write_back),
            // As stored: spaces may be part of a password.
            sip_password: self
                .sip_password
                .as_deref()
                .and_then(|name| attrs.get_str(name))
                .and_then(SipPassword::new),
            extra_numbers: self.extra_numbers(attrs),
        })
    }

    /// The `extra_numbers` values the entry has: the value at the configured index of each
    /// attribute (values in the order the server sent them), blank ones left out.
    fn extra_numbers(&self, attrs: &Attributes) -> Vec<ExtraNumber> {
        self.extra_numbers
            .iter()
            .filter_map(|(name, index, suffix)| {
                let value = attrs.values_str(name).nth(*index)?.trim();
                (!value.is_empty()).then(|| ExtraNumber {
                    suffix: suffix.clone(),
                    number: value.to_string(),
                })
            })
            .collect()
    }

    /// The user's value of the `organizations.attribute` (`None` unless that sync is on).
    pub fn organization_value<'a>(&self, attrs: &'a Attributes) -> Option<&'a str> {
        attrs.get_str(self.organization.as_deref()?)
    }

    /// The entry's id (users', OUs' and groups' alike): `objectGUID` in its canonical text
    /// form, or `entryUUID` lowercased.
    pub fn object_id(&self, attrs: &Attributes) -> Result<ObjectId, String> {
        let name = self.id_attribute();
        let Some(raw) = attrs.get_bytes(name) else {
            return Err(format!(
                "the entry has no {name}: export the operational attributes too \
                 (for example ldapsearch ... '*' '+', or name {name} in the attribute list)"
            ));
        };
        let text = match self.flavor {
            // Binary in a real export; some tools write the canonical text form instead.
            LdapFlavor::ActiveDirectory => match guid_to_string(raw) {
                Some(guid) => guid,
                None => std::str::from_utf8(raw)
                    .ok()
                    .and_then(|s| uuid::Uuid::parse_str(s.trim()).ok())
                    .map(|u| u.hyphenated().to_string())
                    .ok_or_else(|| format!("{name} is neither 16 bytes nor a GUID string"))?,
            },
            LdapFlavor::Openldap => std::str::from_utf8(raw)
                .map_err(|_| format!("{name} is not text"))?
                .trim()
                .to_lowercase(),
        };
        ObjectId::parse(text).map_err(|e| format!("{name} is not a usable id: {e}"))
    }

    /// The account state at `now`, and when the account expires (if it does).
    fn state(
        &self,
        attrs: &Attributes,
        now: DateTime<Utc>,
    ) -> Result<(UserState, Option<DateTime<Utc>>), String> {
        let (disabled, expires_at) = match self.flavor {
            LdapFlavor::ActiveDirectory => {
                let uac = number(attrs, "userAccountControl")?.unwrap_or(0);
                let expires = match number(attrs, "accountExpires")? {
                    None | Some(0) | Some(i64::MAX) => None,
                    Some(v) if v < 0 => return Err(format!("accountExpires {v} is negative")),
                    Some(v) => Some(filetime_to_utc(v)),
                };
                (uac & UAC_DISABLED != 0, expires)
            }
            LdapFlavor::Openldap => {
                let expires = match number(attrs, "shadowExpire")? {
                    None => None,
                    Some(days) if days < 0 => None,
                    Some(days) => Some(days_to_utc(days)),
                };
                let disabled = match self.disabled.as_ref().and_then(|r| r.value.as_deref()) {
                    Some(value) => attrs
                        .get_all_str(self.openldap_disabled_attribute())
                        .iter()
                        .any(|v| v.trim().eq_ignore_ascii_case(value.trim())),
                    None => attrs.has(self.openldap_disabled_attribute()),
                };
                (disabled, expires)
            }
        };
        let expires_at = expires_at.flatten();
        let state = if disabled {
            UserState::Disabled
        } else if expires_at.is_some_and(|at| at <= now) {
            UserState::Expired
        } else {
            UserState::Active
        };
        Ok((state, expires_at))
    }
}

/// The first value as an integer. A garbled state attribute fails the mapping: guessing could
/// remove an active user or keep a disabled one.
fn number(attrs: &Attributes, name: &str) -> Result<Option<i64>, String> {
    let Some(raw) = attrs.get_bytes(name) else {
        return Ok(None);
    };
    std::str::from_utf8(raw)
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .map(Some)
        .ok_or_else(|| format!("{name} is not a number"))
}

/// 100 ns intervals since 1601-01-01; `None` when beyond chrono's range (never expires).
fn filetime_to_utc(value: i64) -> Option<DateTime<Utc>> {
    let secs = value / 10_000_000 - FILETIME_EPOCH_OFFSET_SECS;
    Utc.timestamp_opt(secs, 0).single()
}

/// Days since 1970-01-01; the account is expired from the start of that day.
fn days_to_utc(days: i64) -> Option<DateTime<Utc>> {
    days.checked_mul(86_400)
        .and_then(|secs| Utc.timestamp_opt(secs, 0).single())
}

#[cfg(test)]
mod tests;
