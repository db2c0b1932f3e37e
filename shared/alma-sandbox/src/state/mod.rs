//! The users of every institution of the network, and Alma's rules on them:
//! mandatory fields, accepted user groups, unique identifiers, "swap all"
//! updates, linked copies of network-zone users, deletion refused on loans or
//! fees, the list and its linked-copy lookup, and seeding for benchmarks.

mod institution;
mod record;

pub(crate) use record::{identifiers, stamp, text, UserRecord};

use crate::config::SandboxConfig;
use crate::errors::ApiError;
use crate::search::{brief, ListQuery, Page};
use crate::seed::{Seed, Seeded};
use chrono::{DateTime, Utc};
use institution::Institution;
use record::{counter, linked_copy, KEPT_BY_COPIES, SYSTEM_FIELDS};
use serde_json::Value;
use std::collections::HashMap;

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
                let groups = config.user_groups.get(code).cloned();
                (code.to_owned(), Institution::new(groups))
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
        match self.institution(code)?.get(primary_id) {
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
                    .creations()
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
        Ok(institution.records().cloned().map(Value::Object).collect())
    }

    /// Restricts (or, with `None`, frees) the user groups an institution accepts.
    pub(crate) fn set_user_groups(
        &mut self,
        code: &str,
        groups: Option<Vec<String>>,
    ) -> Result<(), ApiError> {
        self.institution_mut(code)?.set_user_groups(groups);
        Ok(())
    }

    /// `GET /users`: a page of brief records, or with a source user only its
    /// linked copies here (Alma's 401651, 401861 and 4019990 when there is no
    /// such institution, user or copy). Nothing is copied or linked.
    pub(crate) fn list(&mut self, code: &str, query: &ListQuery) -> Result<Page, ApiError> {
        let only = match &query.source {
            None => None,
            Some(source) => {
                if source.institution == code
                    || !self.institutions.contains_key(&source.institution)
                {
                    return Err(ApiError::BadSourceInstitution(source.institution.clone()));
                }
                let source_institution = self.institution(&source.institution)?;
                let Some(source_id) = source_institution.find(&source.user_id, IdType::AllUnique)
                else {
                    return Err(ApiError::SourceInstitutionUserNotFound(
                        source.user_id.clone(),
                    ));
                };
                let copies = self
                    .institution(code)?
                    .copies_of(&source.institution, source_id);
                Some(copies.cloned().ok_or(ApiError::LocalCopyNotFound)?)
            }
        };
        let institution = self.institution_mut(code)?;
        let (total_record_count, users) = institution.page(
            &query.search,
            query.order,
            only.as_ref(),
            query.offset,
            query.limit,
        );
        Ok(Page {
            total_record_count,
            users: users.into_iter().map(brief).collect(),
        })
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
        if let Some(user) = institution
            .find(id, id_type)
            .and_then(|id| institution.get(id))
        {
            return Ok(Value::Object(user.clone()));
        }
        let zone = self.institution(&self.network_zone)?;
        let source = match zone.find(id, id_type).and_then(|id| zone.get(id)) {
            Some(source) if code != self.network_zone => source,
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
        let Some((source_primary_id, record)) = source
            .find(source_id, IdType::AllUnique)
            .and_then(|id| Some((id, source.get(id)?)))
        else {
            return Err(ApiError::SourceUserNotFound {
                id: source_id.to_owned(),
                institution: source_code.to_owned(),
            });
        };
        let copy = linked_copy(source_code, record, now);
        let linked = self
            .institution(code)?
            .copies_of(source_code, source_primary_id)
            .is_some();
        if linked {
            return Err(ApiError::LinkedAccountExists);
        }
        self.institution_mut(code)?.insert(copy, None)
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
        let Some((current_id, current)) = institution
            .find(id, id_type)
            .and_then(|id| Some((id.to_owned(), institution.get(id)?)))
        else {
            return Err(ApiError::UserNotFound(id.to_owned()));
        };
        institution.validate(&body)?;
        let has_roles = body
            .get("user_role")
            .and_then(Value::as_array)
            .is_some_and(|roles| !roles.is_empty());
        if !has_roles {
            if let Some(roles) = current.get("user_role") {
                body.insert("user_role".into(), roles.clone());
            }
        }
        keep_system_fields(&mut body, current);
        stamp(&mut body, now, false);
        let stored = institution.insert(body, Some(&current_id))?;
        self.pass_down(code, &current_id, &stored, now);
        Ok(stored)
    }

    /// A librarian's edit: each top-level field of `changes` replaces the
    /// record's (a `null` removes it), except the sandbox's system fields; the
    /// result must still be a valid user.
    pub(crate) fn merge(
        &mut self,
        code: &str,
        primary_id: &str,
        changes: UserRecord,
        now: DateTime<Utc>,
    ) -> Result<Value, ApiError> {
        let institution = self.institution_mut(code)?;
        let Some(current) = institution.get(primary_id) else {
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
        keep_system_fields(&mut user, current);
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
                .copies_of(&zone, source_id)
                .into_iter()
                .flatten()
                .cloned()
                .collect();
            for copy_id in copies {
                let Some(current) = member.get(&copy_id) else {
                    continue;
                };
                let mut copy = linked_copy(&zone, source, now);
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
        let Some((primary_id, user)) = institution
            .find(id, id_type)
            .and_then(|id| Some((id.to_owned(), institution.get(id)?)))
        else {
            return Err(ApiError::UserNotFoundOfType {
                id: id.to_owned(),
                id_type: id_type.name().to_owned(),
            });
        };
        if counter(user, "loans") > 0.0 || counter(user, "fees") > 0.0 {
            return Err(ApiError::ActiveLoansOrFees);
        }
        let removed = institution.remove(&primary_id);
        Ok(removed.map(Value::Object).unwrap_or(Value::Null))
    }

    /// Stores the users of `seed` in one institution, all or none: each is
    /// valid and holds no identifier another user holds.
    pub(crate) fn seed(
        &mut self,
        code: &str,
        seed: &Seed,
        now: DateTime<Utc>,
    ) -> Result<Seeded, ApiError> {
        let institution = self.institution_mut(code)?;
        let users = seed.users(now).map_err(ApiError::InvalidSeed)?;
        for user in &users {
            institution.validate(user)?;
            institution.check_free(user, None)?;
        }
        let seeded = seed.report(code);
        for user in users {
            institution.store(user, None)?;
        }
        Ok(seeded)
    }
}

/// Puts back the sandbox's system fields of `current` into `user` (removing
/// those `current` does not have).
fn keep_system_fields(user: &mut UserRecord, current: &UserRecord) {
    for field in SYSTEM_FIELDS {
        match current.get(field) {
            Some(value) => user.insert(field.into(), value.clone()),
            None => user.remove(field),
        };
    }
}
