//! The users of one institution, and the indexes that keep Alma's rules fast
//! at 100,000 users: the identifiers (uniqueness and look-ups), the linking
//! ids, the linked copies by source user, and the default list order.

use super::record::{identifiers, linking_id, primary_id, source, text, UserRecord};
use super::IdType;
use crate::errors::ApiError;
use crate::search::{Order, Search, SortKey};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The primary ids under one key: a linking id or a source user are unique
/// in practice (Alma makes them), not by a rule the sandbox enforces.
type Holders = BTreeSet<String>;

/// The users of one institution, the user groups it accepts, how many times
/// each primary id was created, and the indexes over the users.
#[derive(Debug, Default)]
pub(super) struct Institution {
    users: BTreeMap<String, UserRecord>,
    user_groups: Option<Vec<String>>,
    creations: HashMap<String, u32>,
    /// Identifier value → the primary id of its holder (unique by Alma's rule).
    identifiers: HashMap<String, String>,
    linking_ids: HashMap<String, Holders>,
    /// `(source institution, source primary id)` → the linked copies here.
    copies: HashMap<(String, String), Holders>,
    /// Every user, in Alma's default list order.
    by_names: BTreeSet<SortKey>,
    /// Bumped by every change, so that a kept selection knows it is stale.
    version: u64,
    /// The last list selection the indexes do not hold (a search, another order).
    selection: Option<Selection>,
}

/// The primary ids a search selects, in an order, as of a version.
#[derive(Debug)]
struct Selection {
    version: u64,
    search: Search,
    order: Order,
    primary_ids: Vec<String>,
}

impl Institution {
    /// No users; accepting only `user_groups` when given.
    pub(super) fn new(user_groups: Option<Vec<String>>) -> Self {
        Self {
            user_groups,
            ..Self::default()
        }
    }

    /// Restricts (or, with `None`, frees) the user groups accepted.
    pub(super) fn set_user_groups(&mut self, groups: Option<Vec<String>>) {
        self.user_groups = groups;
    }

    /// The record stored under `primary_id`.
    pub(super) fn get(&self, primary_id: &str) -> Option<&UserRecord> {
        self.users.get(primary_id)
    }

    /// Every record, by primary id.
    pub(super) fn records(&self) -> impl Iterator<Item = &UserRecord> {
        self.users.values()
    }

    /// How many times each primary id was created.
    pub(super) fn creations(&self) -> impl Iterator<Item = (&String, &u32)> {
        self.creations.iter()
    }

    /// The primary id of the user `id` designates.
    pub(super) fn find(&self, id: &str, id_type: IdType<'_>) -> Option<&str> {
        match id_type {
            IdType::AllUnique => self
                .users
                .get_key_value(id)
                .map(|(primary_id, _)| primary_id)
                .or_else(|| self.identifiers.get(id))
                .map(String::as_str),
            IdType::LinkingId => self.linking_ids.get(id)?.first().map(String::as_str),
            IdType::Identifier(code) => {
                let holder = self.identifiers.get(id)?;
                let user = self.users.get(holder)?;
                identifiers(user)
                    .any(|(kind, value)| kind == code && value == id)
                    .then_some(holder.as_str())
            }
        }
    }

    /// The primary ids of the linked copies here of user `source_id` of `source_code`.
    pub(super) fn copies_of(&self, source_code: &str, source_id: &str) -> Option<&Holders> {
        self.copies
            .get(&(source_code.to_owned(), source_id.to_owned()))
            .filter(|copies| !copies.is_empty())
    }

    /// Mandatory fields and the user group.
    pub(super) fn validate(&self, user: &UserRecord) -> Result<(), ApiError> {
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

    /// Refuses `user` when another user than `replacing` holds its primary id
    /// or one of its identifiers, as a primary id or as an identifier.
    pub(super) fn check_free(
        &self,
        user: &UserRecord,
        replacing: Option<&str>,
    ) -> Result<(), ApiError> {
        let own = std::iter::once(("primary_id", primary_id(user))).chain(identifiers(user));
        for (kind, value) in own {
            let holder = match self.users.get_key_value(value) {
                Some((holder, _)) => Some(holder),
                None => self.identifiers.get(value),
            };
            if holder.is_some_and(|holder| Some(holder.as_str()) != replacing) {
                return Err(ApiError::IdentifierExists(kind.to_owned()));
            }
        }
        Ok(())
    }

    /// Stores `user` under its primary id, in place of `replacing` (a rename
    /// when the ids differ), once no other user holds any of its identifiers;
    /// answers the record stored.
    pub(super) fn insert(
        &mut self,
        user: UserRecord,
        replacing: Option<&str>,
    ) -> Result<Value, ApiError> {
        let primary_id = self.store(user, replacing)?;
        let stored = self.users.get(&primary_id).cloned().unwrap_or_default();
        Ok(Value::Object(stored))
    }

    /// [`Self::insert`] without the answer; the primary id stored under.
    pub(super) fn store(
        &mut self,
        user: UserRecord,
        replacing: Option<&str>,
    ) -> Result<String, ApiError> {
        self.check_free(&user, replacing)?;
        let primary_id = primary_id(&user).to_owned();
        match replacing {
            Some(old_id) => drop(self.remove(old_id)),
            None => *self.creations.entry(primary_id.clone()).or_default() += 1,
        }
        self.index(&primary_id, &user);
        self.users.insert(primary_id.clone(), user);
        self.version += 1;
        Ok(primary_id)
    }

    /// Removes and returns the user stored under `primary_id`.
    pub(super) fn remove(&mut self, primary_id: &str) -> Option<UserRecord> {
        let user = self.users.remove(primary_id)?;
        for (_, value) in identifiers(&user) {
            if self
                .identifiers
                .get(value)
                .is_some_and(|held| held == primary_id)
            {
                self.identifiers.remove(value);
            }
        }
        if let Some(linking_id) = linking_id(&user) {
            unhold(&mut self.linking_ids, linking_id.to_owned(), primary_id);
        }
        if let Some((code, id)) = source(&user) {
            unhold(
                &mut self.copies,
                (code.to_owned(), id.to_owned()),
                primary_id,
            );
        }
        self.by_names.remove(&Order::Names.key(&user, primary_id));
        self.version += 1;
        Some(user)
    }

    fn index(&mut self, primary_id: &str, user: &UserRecord) {
        for (_, value) in identifiers(user) {
            self.identifiers
                .insert(value.to_owned(), primary_id.to_owned());
        }
        if let Some(linking_id) = linking_id(user) {
            hold(&mut self.linking_ids, linking_id.to_owned(), primary_id);
        }
        if let Some((code, id)) = source(user) {
            hold(
                &mut self.copies,
                (code.to_owned(), id.to_owned()),
                primary_id,
            );
        }
        self.by_names.insert(Order::Names.key(user, primary_id));
    }

    /// One page of a list: how many users `search` selects among `only`
    /// (everyone when `None`), and those at `offset..offset + limit` in `order`.
    pub(super) fn page(
        &mut self,
        search: &Search,
        order: Order,
        only: Option<&Holders>,
        offset: usize,
        limit: usize,
    ) -> (usize, Vec<&UserRecord>) {
        let everyone = search.is_empty() && only.is_none();
        if everyone && order == Order::Names {
            let window = self.by_names.iter().skip(offset).take(limit);
            let users = window.filter_map(|(_, _, id)| self.users.get(id)).collect();
            return (self.users.len(), users);
        }
        if everyone && order == Order::PrimaryId {
            let users = self.users.values().skip(offset).take(limit).collect();
            return (self.users.len(), users);
        }
        let selected;
        let primary_ids: &[String] = match only {
            Some(only) => {
                selected = self.select(search, order, only.iter());
                &selected
            }
            None => {
                self.refresh_selection(search, order);
                self.selection
                    .as_ref()
                    .map_or(&[], |selection| &selection.primary_ids)
            }
        };
        let window = primary_ids.iter().skip(offset).take(limit);
        let users = window.filter_map(|id| self.users.get(id)).collect();
        (primary_ids.len(), users)
    }

    /// Keeps the selection of `search` in `order` among every user up to date.
    fn refresh_selection(&mut self, search: &Search, order: Order) {
        let fresh = self.selection.as_ref().is_some_and(|kept| {
            kept.version == self.version && kept.order == order && kept.search == *search
        });
        if !fresh {
            let primary_ids = self.select(search, order, self.users.keys());
            self.selection = Some(Selection {
                version: self.version,
                search: search.clone(),
                order,
                primary_ids,
            });
        }
    }

    /// The primary ids among `candidates` that `search` selects, in `order`.
    fn select<'a>(
        &self,
        search: &Search,
        order: Order,
        candidates: impl Iterator<Item = &'a String>,
    ) -> Vec<String> {
        let mut keys: Vec<SortKey> = candidates
            .filter_map(|id| {
                let user = self.users.get(id)?;
                search.matches(user).then(|| order.key(user, id))
            })
            .collect();
        keys.sort_unstable();
        keys.into_iter().map(|(_, _, id)| id).collect()
    }
}

fn hold<K: std::hash::Hash + Eq>(index: &mut HashMap<K, Holders>, key: K, primary_id: &str) {
    index.entry(key).or_default().insert(primary_id.to_owned());
}

fn unhold<K: std::hash::Hash + Eq>(index: &mut HashMap<K, Holders>, key: K, primary_id: &str) {
    if let Some(holders) = index.get_mut(&key) {
        holders.remove(primary_id);
        if holders.is_empty() {
            index.remove(&key);
        }
    }
}
