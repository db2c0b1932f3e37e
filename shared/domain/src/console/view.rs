//! What the console shows of one patron: a row per institution, and the
//! results of past actions.

use super::AuditEntry;
use crate::distribution::JobOutcome;
use crate::registration::{alma_date, RegistryEntry};
use crate::{AlmaUser, InstitutionCode, PrimaryId};
use chrono::NaiveDate;
use serde::Serialize;
use serde_json::Value;

/// One institution's account, as Alma answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountSummary {
    /// Its primary id (a search by barcode finds it by another identifier).
    pub primary_id: Option<PrimaryId>,
    /// Whether it is a linked copy of another institution's account.
    pub linked: bool,
    /// Alma's status (`ACTIVE`, `INACTIVE`).
    pub status: Option<String>,
    /// The user group.
    pub user_group: Option<String>,
    /// The expiry date.
    pub expiry_date: Option<NaiveDate>,
    /// The purge date.
    pub purge_date: Option<NaiveDate>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
}

impl AccountSummary {
    /// The summary of an Alma record.
    pub fn of(user: &AlmaUser) -> Self {
        let text = |field: &str| user.0.get(field).and_then(Value::as_str).map(str::to_owned);
        let date = |field: &str| {
            user.0
                .get(field)
                .and_then(Value::as_str)
                .and_then(alma_date)
        };
        Self {
            primary_id: user.primary_id(),
            linked: user.0.contains_key("linking_id") || user.0.contains_key("source_link_id"),
            status: user.code_value("status").map(str::to_owned),
            user_group: user.code_value("user_group").map(str::to_owned),
            expiry_date: date("expiry_date"),
            purge_date: date("purge_date"),
            first_name: text("first_name"),
            last_name: text("last_name"),
        }
    }
}

/// Whether an institution holds the patron.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Presence {
    /// It does.
    Present {
        /// What it holds.
        account: AccountSummary,
    },
    /// It does not (Alma answered "not found").
    Absent,
    /// Alma did not answer in time, or refused to answer.
    Unreachable {
        /// Why.
        reason: String,
    },
}

/// One institution's row on the patron page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstitutionRow {
    /// The institution.
    pub institution: InstitutionCode,
    /// Whether it is the network zone.
    pub zone: bool,
    /// What it holds.
    pub presence: Presence,
    /// The last distribution job for this patron there.
    pub last_outcome: Option<JobOutcome>,
}

/// How an action went in one institution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum InstitutionResult {
    /// Still on its queue.
    Queued,
    /// Done.
    Done,
    /// Alma refused, with its code and message (e.g. loans or fees on a deletion).
    Refused {
        /// Alma's errorCode.
        code: String,
        /// Alma's errorMessage.
        message: String,
    },
    /// Alma could not be reached, however often it was tried.
    Unreachable {
        /// The last failure.
        message: String,
    },
}

/// A past action with its result in each institution.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditReport {
    /// The action.
    pub entry: AuditEntry,
    /// Its result per institution, in the order of `entry.institutions`.
    pub results: Vec<(InstitutionCode, InstitutionResult)>,
}

/// Everything the patron page shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PatronOverview {
    /// The patron.
    pub primary_id: PrimaryId,
    /// One row per institution (the network zone first).
    pub rows: Vec<InstitutionRow>,
    /// What the patron registry knows.
    pub registry: Option<RegistryEntry>,
    /// Past actions, newest first.
    pub audit: Vec<AuditReport>,
}

impl PatronOverview {
    /// The member institutions holding the patron.
    pub fn holders(&self) -> Vec<&InstitutionRow> {
        self.rows
            .iter()
            .filter(|row| !row.zone && matches!(row.presence, Presence::Present { .. }))
            .collect()
    }

    /// The institutions an action on every account must reach, the network
    /// zone included: those holding the patron, and those that did not answer
    /// (their worker retries until Alma answers; an institution without the
    /// patron then reports it).
    pub fn reachable_or_unknown(&self) -> Vec<&InstitutionRow> {
        self.rows
            .iter()
            .filter(|row| !matches!(row.presence, Presence::Absent))
            .collect()
    }

    /// Whether the network zone holds the patron: then the members hold
    /// linked copies of the zone's record.
    pub fn zone_holds(&self) -> bool {
        self.rows
            .iter()
            .any(|row| row.zone && matches!(row.presence, Presence::Present { .. }))
    }
}
