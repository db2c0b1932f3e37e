//! The staff console's audit log: who did what to which patron, when, in
//! which institutions. Per-institution results are read from the
//! distribution ledger by the action's id, so they are never out of date.

use crate::accounts::AccountId;
use crate::{InstitutionCode, PrimaryId, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// What a staff member asked for, for one patron in every institution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ConsoleAction {
    /// Delete every account (Alma refuses where there are loans or fees).
    DeleteEverywhere,
    /// Set the expiry date, and the purge date to the same day, everywhere.
    SetExpiry {
        /// The new expiry (and purge) date.
        expiry_date: NaiveDate,
    },
    /// Change the primary identifier everywhere (GET before PUT, nothing else changed).
    ChangePrimaryId {
        /// The new primary id.
        new_primary_id: PrimaryId,
    },
    /// Send the patron's record from one institution to the others again.
    Redistribute,
    /// Repair what a reconcile found about the patron (missing, stale or
    /// unlinked in some members), from its newest version.
    RepairDrift {
        /// The reconcile run whose differences were repaired.
        run: String,
    },
}

impl ConsoleAction {
    /// A stable name, for URLs and logs.
    pub fn name(&self) -> &'static str {
        match self {
            ConsoleAction::DeleteEverywhere => "delete",
            ConsoleAction::SetExpiry { .. } => "expiry",
            ConsoleAction::ChangePrimaryId { .. } => "primary-id",
            ConsoleAction::Redistribute => "redistribute",
            ConsoleAction::RepairDrift { .. } => "repair-drift",
        }
    }
}

/// One action as the audit log keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// The action's id: also the event id of the jobs it queued.
    pub id: String,
    /// The patron (its primary id when the action was taken).
    pub primary_id: PrimaryId,
    /// Who did it.
    pub actor: AccountId,
    /// Their user name, as it was then.
    pub actor_name: String,
    /// What they did.
    pub action: ConsoleAction,
    /// The institutions a job was queued for.
    pub institutions: Vec<InstitutionCode>,
    /// When.
    pub at: DateTime<Utc>,
}

/// The audit log.
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Keeps an entry (listed under `entry.primary_id`, and under the new id of
    /// a primary-id change too).
    async fn record(&self, entry: &AuditEntry) -> Result<(), StoreError>;
    /// Every entry about a patron, newest first (one indexed read).
    async fn for_patron(&self, primary_id: &PrimaryId) -> Result<Vec<AuditEntry>, StoreError>;
}
