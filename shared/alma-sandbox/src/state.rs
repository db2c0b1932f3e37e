//! The users of every institution of the network, and Alma's rules on them:
//! mandatory fields, accepted user groups, unique identifiers, "swap all"
//! updates, linked copies of network-zone users, deletion refused on loans or fees.

use crate::config::SandboxConfig;
use crate::errors::ApiError;
use chrono::{DateTime, SecondsFormat, Utc};
use rand::Rng;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};

/// A user record as Alma's `rest_user` JSON object.
pub(crate) type UserRecord = Map<String, Value>;

/// Fields the sandbox manages itself: a "swap all" update never drops them.
const SYSTEM_FIELDS: [&str; 4] = [
    "created_date",
    "linking_id",
    "source_institution_code",
    "source_link_id",
];

/// How the `{user_id}` of a path is matched (`user_id_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IdType<'a> {
    /// `all_unique` (the default): the primary id or any identifier's value.
    AllUnique,
    /// `linking_id`: the id of a linked copy.
    LinkingId,
    /// An identifier type code (`BARCODE`, …): identifiers of that type only.
    Identifier(&'a str),
}

impl<'a> IdType<'a> {
    /// Reads the `user_id_type` query parameter.
    pub(crate) fn parse(value: Option<&'a str>) -> Self {
        match value {
            None | Some("") | Some("all_unique") => IdType::AllUnique,
            Some("linking_id") => IdType::LinkingId,
            Some(code) => IdType::Identifier(code),
        }
    }

    /// The name Alma puts in its messages.
    pub(crate) fn name(self) -> &'a str {
        match self {
            IdType::AllUnique => "all_unique",
            IdType::LinkingId => "linking_id",
            IdType::Identifier(code) => code,
        }
    }
}

/// The users of one institution, the user groups it accepts, and how many
/// times each primary id was created.
#[derive(Debug, Default)]
struct Institution {
    users: BTreeMap<String, UserRecord>,
    user_groups: Option<Vec<String>>,
    creations: HashMap<String, u32>,
}

/// Every institution's users, the network zone's included.
#[derive(Debug)]
pub(crate) struct Directory {
    network_zone: String,
    institutions: HashMap<String, Institution>,
}

impl Directory {
    /// An empty network as configured.
    pub(crate) fn new(config: &SandboxConfig) -> Self {
        let institutions = config
            .all_codes()
            .map(|code| {
                let institution = Institution {
                    user_groups: config.user_groups.get(code).cloned(),
                    ..Institution::default()
                };
                (code.to_owned(), institution)
            })
            .collect();
        Self {
            network_zone: config.network_zone.clone(),
            institutions,
        }
    }

    fn institution(&self, code: &str) -> Result<&Institution, ApiError> {
        self.institutions
            .get(code)
            .ok_or_else(|| ApiError::UnknownInstitution(code.to_owned()))
    }

    fn institution_mut(&mut self, code: &str) -> Result<&mut Institution, ApiError> {
        self.institutions
            .get_mut(code)
            .ok_or_else(|| ApiError::UnknownInstitution(code.to_owned()))
    }

    /// The record stored under `primary_id`.
    pub(crate) fn user(&self, code: &str, primary_id: &str) -> Result<Value, ApiError> {
        let institution = self.institution(code)?;
        match institution.users.get(primary_id) {
            Some(user) => Ok(Value::Object(user.clone())),
            None => Err(ApiError::UserNotFound(primary_id.to_owned())),
        }
    }

    /// Every primary id created more than once in one institution, with its
    /// institution and count, sorted.
    pub(crate) fn repeated_creations(&self) -> Vec<(String, String, u32)> {
        let mut repeated: Vec<_> = self
            .institutions
            .iter()
            .flat_map(|(code, institution)| {
                institution
                    .creations
                    .iter()
                    .filter(|(_, count)| **count > 1)
                    .map(|(id, count)| (code.clone(), id.clone(), *count))
            })
            .collect();
        repeated.sort();
        repeated
    }

    /// Every record of an institution, by primary id.
    pub(crate) fn users(&self, code: &str) -> Result<Vec<Value>, ApiError> {
        let institution = self.institution(code)?;
        Ok(institution
            .users
            .values()
            .cloned()
            .map(Value::Object)
            .collect())
    }

    /// Restricts (or, with `None`, frees) the user groups an institution accepts.
    pub(crate) fn set_user_groups(
        &mut self,
        code: &str,
        groups: Option<Vec<String>>,
    ) -> Result<(), ApiError> {
        self.institution_mut(code)?.user_groups = groups;
        Ok(())
    }

    /// `GET /users/{id}`: the user, or in a member institution a linked copy of
    /// the network-zone user with that id, made and stored on the way.
    pub(crate) fn lookup(
        &mut self,
        code: &str,
        id: &str,
        id_type: IdType<'_>,
        now: DateTime<Utc>,
    ) -> Result<Value, ApiError> {
        let institution = self.institution(code)?;
        if let Some(primary_id) = institution.find(id, id_type) {
            return Ok(Value::Object(institution.users[primary_id].clone()));
        }
        let zone = self.institution(&self.network_zone)?;
        let source = match zone.find(id, id_type) {
            Some(primary_id) if code != self.network_zone => &zone.users[primary_id],
            _ => return Err(ApiError::UserNotFound(id.to_owned())),
        };
        let copy = linked_copy(&self.network_zone, source, now);
        self.institution_mut(code)?.insert(copy, None)
    }

    /// `POST /users`: a new user.
    pub(crate) fn create(
        &mut self,
        code: &str,
        mut user: UserRecord,
        now: DateTime<Utc>,
    ) -> Result<Value, ApiError> {
        let institution = self.institution_mut(code)?;
        institution.validate(&user)?;
        stamp(&mut user, now, true);
        institution.insert(user, None)
    }

    /// `POST /users?source_institution_code=…&source_user_id=…`: a linked copy.
    pub(crate) fn create_linked(
        &mut self,
        code: &str,
        source_code: &str,
        source_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Value, ApiError> {
        if source_code == code || !self.institutions.contains_key(source_code) {
            return Err(ApiError::BadSourceInstitution(source_code.to_owned()));
        }
        let source = self.institution(source_code)?;
        let Some(source_primary_id) = source.find(source_id, IdType::AllUnique).map(str::to_owned)
        else {
            return Err(ApiError::SourceUserNotFound {
                id: source_id.to_owned(),
                institution: source_code.to_owned(),
            });
        };
        let copy = linked_copy(source_code, &source.users[&source_primary_id], now);
        let institution = self.institution_mut(code)?;
        if institution
            .users
            .values()
            .any(|user| is_copy_of(user, source_code, &source_primary_id))
        {
            return Err(ApiError::LinkedAccountExists);
        }
        institution.insert(copy, None)
    }

    /// `PUT /users/{id}`: "swap all". The record becomes `body`, except that the
    /// roles are kept when `body` has none, and the sandbox's system fields stay.
    pub(crate) fn replace(
        &mut self,
        code: &str,
        id: &str,
        id_type: IdType<'_>,
        mut body: UserRecord,
        now: DateTime<Utc>,
    ) -> Result<Value, ApiError> {
        let institution = self.institution_mut(code)?;
        let Some(current_id) = institution.find(id, id_type).map(str::to_owned) else {
            return Err(ApiError::UserNotFound(id.to_owned()));
        };
        institution.validate(&body)?;
        let current = &institution.users[&current_id];
        let has_roles = body
            .get("user_role")
            .and_then(Value::as_array)
            .is_some_and(|roles| !roles.is_empty());
        if !has_roles {
            if let Some(roles) = current.get("user_role") {
                body.insert("user_role".into(), roles.clone());
            }
        }
        for field in SYSTEM_FIELDS {
            match current.get(field) {
                Some(value) => body.insert(field.into(), value.clone()),
                None => body.remove(field),
            };
        }
        stamp(&mut body, now, false);
        let stored = institution.insert(body, Some(&current_id))?;
        self.pass_down(code, &current_id, &stored, now);
        Ok(stored)
    }

    /// A librarian's edit: each top-level field of `changes` replaces the
    /// record's (a `null` removes it); the result must still be a valid user.
    pub(crate) fn merge(
        &mut self,
        code: &str,
        primary_id: &str,
        changes: UserRecord,
        now: DateTime<Utc>,
    ) -> Result<Value, ApiError> {
        let institution = self.institution_mut(code)?;
        let Some(current) = institution.users.get(primary_id) else {
            return Err(ApiError::UserNotFound(primary_id.to_owned()));
        };
        let mut user = current.clone();
        for (field, value) in changes {
            if value.is_null() {
                user.remove(&field);
            } else {
                user.insert(field, value);
            }
        }
        institution.validate(&user)?;
        stamp(&mut user, now, false);
        let stored = institution.insert(user, Some(primary_id))?;
        self.pass_down(code, primary_id, &stored, now);
        Ok(stored)
    }

    /// A network-zone user just changed (by the API or a librarian): as Alma
    /// does, every member institution's linked copy of it takes its data,
    /// except what is never passed down (roles, proxies, statistics), and
    /// follows a new primary id. A copy the member cannot store (an
    /// identifier another of its users holds) keeps its old data, as a failed
    /// line of Alma's propagation would. Nothing else changes.
    fn pass_down(&mut self, code: &str, source_id: &str, source: &Value, now: DateTime<Utc>) {
        if code != self.network_zone {
            return;
        }
        let Value::Object(source) = source else {
            return;
        };
        let zone = self.network_zone.clone();
        for (member_code, member) in &mut self.institutions {
            if *member_code == zone {
                continue;
            }
            let copies: Vec<String> = member
                .users
                .iter()
                .filter(|(_, user)| is_copy_of(user, &zone, source_id))
                .map(|(id, _)| id.clone())
                .collect();
            for copy_id in copies {
                let mut copy = linked_copy(&zone, source, now);
                let current = &member.users[&copy_id];
                for field in KEPT_BY_COPIES.iter().chain(&["linking_id", "created_date"]) {
                    match current.get(*field) {
                        Some(value) => copy.insert((*field).into(), value.clone()),
                        None => copy.remove(*field),
                    };
                }
                // A copy the member cannot store keeps its old data.
                let _ = member.insert(copy, Some(&copy_id));
            }
        }
    }

    /// `DELETE /users/{id}`: removes and returns the user, unless it has loans or fees.
    pub(crate) fn remove(
        &mut self,
        code: &str,
        id: &str,
        id_type: IdType<'_>,
    ) -> Result<Value, ApiError> {
        let institution = self.institution_mut(code)?;
        let Some(primary_id) = institution.find(id, id_type).map(str::to_owned) else {
            return Err(ApiError::UserNotFoundOfType {
                id: id.to_owned(),
                id_type: id_type.name().to_owned(),
            });
        };
        let user = &institution.users[&primary_id];
        if counter(user, "loans") > 0.0 || counter(user, "fees") > 0.0 {
            return Err(ApiError::ActiveLoansOrFees);
        }
        let removed = institution.users.remove(&primary_id);
        Ok(removed.map(Value::Object).unwrap_or(Value::Null))
    }
}

impl Institution {
    /// The primary id of the user `id` designates.
    fn find(&self, id: &str, id_type: IdType<'_>) -> Option<&str> {
        if id_type == IdType::AllUnique {
            if let Some((primary_id, _)) = self.users.get_key_value(id) {
                return Some(primary_id);
            }
        }
        self.users
            .iter()
            .find(|(_, user)| match id_type {
                IdType::AllUnique => identifiers(user).any(|(_, value)| value == id),
                IdType::LinkingId => text(user, "linking_id") == Some(id),
                IdType::Identifier(code) => {
                    identifiers(user).any(|(kind, value)| kind == code && value == id)
                }
            })
            .map(|(primary_id, _)| primary_id.as_str())
    }

    /// Mandatory fields and the user group.
    fn validate(&self, user: &UserRecord) -> Result<(), ApiError> {
        for field in ["primary_id", "last_name"] {
            if text(user, field).is_none_or(|value| value.trim().is_empty()) {
                return Err(ApiError::MandatoryFieldMissing(field));
            }
        }
        let group = user.get("user_group").and_then(|group| match group {
            Value::String(value) => Some(value.as_str()),
            other => other.get("value").and_then(Value::as_str),
        });
        match (&self.user_groups, group) {
            (Some(accepted), Some(group)) if !accepted.iter().any(|g| g == group) => {
                Err(ApiError::IllegalUserGroup)
            }
            _ => Ok(()),
        }
    }

    /// Stores `user` under its primary id, in place of `replacing` (a rename
    /// when the ids differ), once no other user holds any of its identifiers.
    fn insert(&mut self, user: UserRecord, replacing: Option<&str>) -> Result<Value, ApiError> {
        let primary_id = text(&user, "primary_id").unwrap_or_default().to_owned();
        let own: Vec<(&str, &str)> = std::iter::once(("primary_id", primary_id.as_str()))
            .chain(identifiers(&user))
            .collect();
        for (other_id, other) in &self.users {
            if Some(other_id.as_str()) == replacing {
                continue;
            }
            let taken = |value: &str| {
                value == other_id || identifiers(other).any(|(_, held)| held == value)
            };
            if let Some((kind, _)) = own.iter().find(|(_, value)| taken(value)) {
                return Err(ApiError::IdentifierExists((*kind).to_owned()));
            }
        }
        match replacing {
            Some(old_id) => drop(self.users.remove(old_id)),
            None => *self.creations.entry(primary_id.clone()).or_default() += 1,
        }
        let answer = Value::Object(user.clone());
        self.users.insert(primary_id, user);
        Ok(answer)
    }
}

/// What the network zone never passes down to linked copies: each member
/// keeps its own.
const KEPT_BY_COPIES: [&str; 3] = ["user_role", "proxy_for_user", "user_statistic"];

/// Whether `user` is a linked copy of the user `source_id` of institution `source_code`.
fn is_copy_of(user: &UserRecord, source_code: &str, source_id: &str) -> bool {
    text(user, "source_link_id") == Some(source_id)
        && user
            .get("source_institution_code")
            .and_then(|code| code.get("value"))
            .and_then(Value::as_str)
            == Some(source_code)
}

/// A linked copy of `source` from institution `source_code`: roles are not copied.
fn linked_copy(source_code: &str, source: &UserRecord, now: DateTime<Utc>) -> UserRecord {
    let mut copy = source.clone();
    copy.remove("user_role");
    let source_primary_id = text(source, "primary_id").unwrap_or_default().to_owned();
    let linking_id = rand::thread_rng().gen_range(1_000_000_000_000_000_000u64..u64::MAX);
    copy.insert(
        "source_institution_code".into(),
        json!({"value": source_code, "desc": source_code}),
    );
    copy.insert("source_link_id".into(), Value::String(source_primary_id));
    copy.insert("linking_id".into(), Value::String(linking_id.to_string()));
    copy.insert(
        "account_type".into(),
        json!({"value": "EXTERNAL", "desc": "External"}),
    );
    stamp(&mut copy, now, true);
    copy
}

/// Sets `last_modified_date`, and `created_date` for a new record.
fn stamp(user: &mut UserRecord, now: DateTime<Utc>, created: bool) {
    let time = Value::String(now.to_rfc3339_opts(SecondsFormat::Millis, true));
    if created {
        user.insert("created_date".into(), time.clone());
    }
    user.insert("last_modified_date".into(), time);
}

/// A top-level string field.
fn text<'u>(user: &'u UserRecord, field: &str) -> Option<&'u str> {
    user.get(field).and_then(Value::as_str)
}

/// `(id_type.value, value)` of each `user_identifier`.
fn identifiers(user: &UserRecord) -> impl Iterator<Item = (&str, &str)> {
    user.get("user_identifier")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|identifier| {
            let value = identifier.get("value")?.as_str()?;
            let kind = identifier
                .get("id_type")
                .and_then(|kind| kind.get("value"))
                .and_then(Value::as_str)
                .unwrap_or("user_identifier");
            Some((kind, value))
        })
}

/// `loans.value` or `fees.value`, a number or a numeric string; 0 when absent.
fn counter(user: &UserRecord, field: &str) -> f64 {
    match user.get(field).and_then(|c| c.get("value")) {
        Some(Value::Number(n)) => n.as_f64().unwrap_or(0.0),
        Some(Value::String(s)) => s.trim().parse().unwrap_or(0.0),
        _ => 0.0,
    }
}
