//! Filling an institution with many users at once, for benchmarks and
//! large-list tests: no webhook is sent and no API call is counted.

use crate::errors::ApiError;
use crate::state::{stamp, UserRecord};
use chrono::{DateTime, Days, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The most users one seed makes.
pub const MAX_SEED: u32 = 200_000;

/// The longest prefix of the seeded primary ids.
const MAX_PREFIX_CHARS: usize = 50;

/// Last names, given in turn, so that Alma's name order interleaves the users.
const LAST_NAMES: [&str; 24] = [
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
    "Moreau", "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux",
    "Vincent", "Fournier", "Morel", "Girard", "André", "Lovelace",
];

/// First names, given in turn once per round of last names.
const FIRST_NAMES: [&str; 16] = [
    "Ada",
    "Alan",
    "Grace",
    "Marie",
    "Emmy",
    "Sophie",
    "Rosalind",
    "Katherine",
    "Hedy",
    "Barbara",
    "Lise",
    "Chien-Shiung",
    "Dorothy",
    "Mary",
    "Edsger",
    "Claude",
];

/// What to seed: `count` users numbered from `first`, primary id `{prefix}{number:07}`,
/// barcode `{prefix}B{number:07}`, e-mail `{primary id}@example.org`, active
/// for a year, of `user_group` and `job_category` when given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    /// How many users, 1 to [`MAX_SEED`].
    pub count: u32,
    /// Letters, digits, `-`, `_` or `.` (at most 50), before each number.
    #[serde(default = "default_prefix")]
    pub prefix: String,
    /// The number of the first user, so that seeds can follow one another.
    #[serde(default = "one")]
    pub first: u32,
    /// `job_category.value` of every user.
    #[serde(default)]
    pub job_category: Option<String>,
    /// `user_group.value` of every user.
    #[serde(default)]
    pub user_group: Option<String>,
}

fn default_prefix() -> String {
    "seed-".to_owned()
}

fn one() -> u32 {
    1
}

impl Seed {
    /// `count` users `seed-0000001`, `seed-0000002`, … with no group or category.
    pub fn new(count: u32) -> Self {
        Self {
            count,
            prefix: default_prefix(),
            first: one(),
            job_category: None,
            user_group: None,
        }
    }

    /// The users, stamped created at `now`; or why the seed is refused.
    pub(crate) fn users(&self, now: DateTime<Utc>) -> Result<Vec<UserRecord>, String> {
        if !(1..=MAX_SEED).contains(&self.count) {
            return Err(format!("count must be 1 to {MAX_SEED}"));
        }
        let prefix_ok = self.prefix.chars().count() <= MAX_PREFIX_CHARS
            && self
                .prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if !prefix_ok {
            return Err(format!(
                "prefix must be at most {MAX_PREFIX_CHARS} letters, digits, '-', '_' or '.'"
            ));
        }
        let last = self
            .first
            .checked_add(self.count - 1)
            .ok_or("first + count is too large")?;
        let expiry = now
            .date_naive()
            .checked_add_days(Days::new(365))
            .map(|date| format!("{}Z", date.format("%Y-%m-%d")))
            .unwrap_or_default();
        Ok((self.first..=last)
            .map(|number| self.user(number, &expiry, now))
            .collect())
    }

    /// What a successful seed of `institution` made.
    pub(crate) fn report(&self, institution: &str) -> Seeded {
        let last = self.first.saturating_add(self.count.saturating_sub(1));
        Seeded {
            institution: institution.to_owned(),
            created: self.count,
            first_primary_id: self.primary_id(self.first),
            last_primary_id: self.primary_id(last),
        }
    }

    fn primary_id(&self, number: u32) -> String {
        format!("{}{number:07}", self.prefix)
    }

    fn user(&self, number: u32, expiry: &str, now: DateTime<Utc>) -> UserRecord {
        let primary_id = self.primary_id(number);
        let turn = number as usize;
        let mut user = UserRecord::new();
        let mut put = |field: &str, value: Value| {
            user.insert(field.to_owned(), value);
        };
        put("record_type", json!({"value": "PUBLIC", "desc": "Public"}));
        put(
            "account_type",
            json!({"value": "INTERNAL", "desc": "Internal"}),
        );
        put("status", json!({"value": "ACTIVE", "desc": "Active"}));
        put(
            "first_name",
            json!(FIRST_NAMES[(turn / LAST_NAMES.len()) % FIRST_NAMES.len()]),
        );
        put("last_name", json!(LAST_NAMES[turn % LAST_NAMES.len()]));
        put("expiry_date", json!(expiry));
        put(
            "contact_info",
            json!({"email": [{
                "email_address": format!("{}@example.org", primary_id.to_lowercase()),
                "preferred": true,
                "email_type": [{"value": "personal", "desc": "Personal"}],
            }]}),
        );
        put(
            "user_identifier",
            json!([{
                "id_type": {"value": "BARCODE", "desc": "Barcode"},
                "value": format!("{}B{number:07}", self.prefix),
                "status": "ACTIVE",
                "segment_type": "Internal",
            }]),
        );
        if let Some(group) = &self.user_group {
            put("user_group", json!({"value": group}));
        }
        if let Some(category) = &self.job_category {
            put("job_category", json!({"value": category}));
        }
        put("primary_id", Value::String(primary_id));
        stamp(&mut user, now, true);
        user
    }
}

/// What a seed made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seeded {
    /// The institution seeded.
    pub institution: String,
    /// How many users were created.
    pub created: u32,
    /// The primary id of the first user made.
    pub first_primary_id: String,
    /// The primary id of the last user made.
    pub last_primary_id: String,
}

/// Why a seed was refused (nothing was stored): an unknown institution, a
/// count or prefix out of bounds, a user group the institution refuses, or an
/// identifier another user already holds.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct SeedError(pub(crate) ApiError);
