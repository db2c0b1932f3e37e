//! The membership store: one row per membership (its JSON and version beside
//! its person, organization and first and last day, indexed by organization and
//! by person in start order), the fee entries memberships charged (kept when a
//! membership is removed), and the AGENT markers (see `agents`). Each write runs
//! its checks (version, overlap, AGENT) and its changes in one IMMEDIATE
//! transaction, which also puts concurrent adds one after the other.

use crate::agents;
use crate::codec::{day_number, db_error, json_row, json_rows, micros, stored_version, to_json};
use crate::SqliteStore;
use async_trait::async_trait;
use chrono::NaiveDate;
use patron_hub_domain::accounts::{AccountId, OrganizationId};
use patron_hub_domain::organizations::{
    FeeEntry, Membership, MembershipId, MembershipStore, MembershipWriteError,
};
use patron_hub_domain::StoreError;
use rusqlite::{params, OptionalExtension, Transaction};

/// One membership by id (primary key).
const SELECT_BY_ID: &str = "SELECT membership FROM memberships WHERE id = ?1";

/// Every membership of an organization in start order (`memberships_by_organization`).
const SELECT_OF_ORGANIZATION: &str =
    "SELECT membership FROM memberships WHERE organization = ?1 ORDER BY date_start, id";

/// Every membership of a person in start order (`memberships_by_person`).
const SELECT_OF_PERSON: &str =
    "SELECT membership FROM memberships WHERE person = ?1 ORDER BY date_start, id";

/// Another membership of the person and organization sharing a day with
/// `[?3, ?4]` (`memberships_by_person_and_organization`).
const OVERLAPPING: &str = "SELECT 1 FROM memberships
     WHERE person = ?1 AND date_start <= ?4 AND date_end >= ?3 AND organization = ?2
         AND id <> ?5
     LIMIT 1";

/// Every fee entry of an organization, oldest first (`fee_entries_by_organization`).
const SELECT_FEES: &str =
    "SELECT entry FROM fee_entries WHERE organization = ?1 ORDER BY charged_at_us, id";

/// Refuses `membership` if another membership of its person and organization
/// shares a day with it.
fn refuse_overlap(
    tx: &Transaction<'_>,
    membership: &Membership,
) -> Result<(), MembershipWriteError> {
    let shared: Option<i64> = tx
        .prepare_cached(OVERLAPPING)
        .and_then(|mut select| {
            select
                .query_row(
                    params![
                        membership.person.to_string(),
                        membership.organization.0.to_string(),
                        day_number(membership.date_start),
                        day_number(membership.date_end),
                        membership.id.to_string(),
                    ],
                    |row| row.get(0),
                )
                .optional()
        })
        .map_err(db_error)?;
    match shared {
        Some(_) => Err(MembershipWriteError::Overlap),
        None => Ok(()),
    }
}

/// Adds `membership` (refusing an id already stored as a `VersionConflict`) and
/// its fee entry, under the overlap and AGENT rules on `today`. Also how an
/// organization's founder is added.
pub(crate) fn insert(
    tx: &Transaction<'_>,
    membership: &Membership,
    fee: Option<&FeeEntry>,
    today: NaiveDate,
) -> Result<(), MembershipWriteError> {
    let (version, json) = (stored_version(membership.version)?, to_json(membership)?);
    refuse_overlap(tx, membership)?;
    agents::follow(tx, membership, today)?;
    let inserted = tx
        .prepare_cached(
            "INSERT INTO memberships
                 (id, person, organization, date_start, date_end, version, membership)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (id) DO NOTHING",
        )
        .and_then(|mut insert| {
            insert.execute(params![
                membership.id.to_string(),
                membership.person.to_string(),
                membership.organization.0.to_string(),
                day_number(membership.date_start),
                day_number(membership.date_end),
                version,
                json,
            ])
        })
        .map_err(db_error)?;
    if inserted == 0 {
        return Err(MembershipWriteError::VersionConflict);
    }
    if let Some(fee) = fee {
        let entry = to_json(fee)?;
        tx.prepare_cached(
            "INSERT INTO fee_entries (organization, charged_at_us, entry) VALUES (?1, ?2, ?3)",
        )
        .and_then(|mut insert| {
            insert.execute(params![
                fee.organization.0.to_string(),
                micros(fee.charged_at),
                entry,
            ])
        })
        .map_err(db_error)?;
    }
    Ok(())
}

/// Replaces the membership stored at the version before `membership.version`,
/// under the overlap and AGENT rules on `today`.
fn replace(
    tx: &Transaction<'_>,
    membership: &Membership,
    today: NaiveDate,
) -> Result<(), MembershipWriteError> {
    let previous = membership
        .version
        .checked_sub(1)
        .ok_or(MembershipWriteError::VersionConflict)?;
    let (previous, version) = (
        stored_version(previous)?,
        stored_version(membership.version)?,
    );
    let json = to_json(membership)?;
    let replaced = tx
        .prepare_cached(
            "UPDATE memberships SET person = ?2, organization = ?3, date_start = ?4,
                 date_end = ?5, version = ?6, membership = ?7
             WHERE id = ?1 AND version = ?8",
        )
        .and_then(|mut update| {
            update.execute(params![
                membership.id.to_string(),
                membership.person.to_string(),
                membership.organization.0.to_string(),
                day_number(membership.date_start),
                day_number(membership.date_end),
                version,
                json,
                previous,
            ])
        })
        .map_err(db_error)?;
    if replaced == 0 {
        return Err(MembershipWriteError::VersionConflict);
    }
    refuse_overlap(tx, membership)?;
    agents::follow(tx, membership, today)
}

/// Removes the membership stored at `membership.version`, recomputing its
/// person's AGENT marker without it.
fn remove(tx: &Transaction<'_>, membership: &Membership) -> Result<(), MembershipWriteError> {
    let version = stored_version(membership.version)?;
    let removed = tx
        .prepare_cached("DELETE FROM memberships WHERE id = ?1 AND version = ?2")
        .and_then(|mut delete| delete.execute(params![membership.id.to_string(), version]))
        .map_err(db_error)?;
    if removed == 0 {
        return Err(MembershipWriteError::VersionConflict);
    }
    Ok(agents::release(tx, membership)?)
}

#[async_trait]
impl MembershipStore for SqliteStore {
    async fn add(
        &self,
        membership: &Membership,
        fee: Option<&FeeEntry>,
        today: NaiveDate,
    ) -> Result<(), MembershipWriteError> {
        let (membership, fee) = (membership.clone(), fee.cloned());
        self.write(move |tx| insert(tx, &membership, fee.as_ref(), today))
            .await
    }

    async fn update(
        &self,
        membership: &Membership,
        today: NaiveDate,
    ) -> Result<(), MembershipWriteError> {
        let membership = membership.clone();
        self.write(move |tx| replace(tx, &membership, today)).await
    }

    async fn remove(&self, membership: &Membership) -> Result<(), MembershipWriteError> {
        let membership = membership.clone();
        self.write(move |tx| remove(tx, &membership)).await
    }

    async fn get(&self, id: MembershipId) -> Result<Option<Membership>, StoreError> {
        self.read(move |tx| json_row(tx, SELECT_BY_ID, params![id.to_string()]))
            .await
    }

    async fn of_organization(
        &self,
        organization: OrganizationId,
    ) -> Result<Vec<Membership>, StoreError> {
        let organization = organization.0.to_string();
        self.read(move |tx| json_rows(tx, SELECT_OF_ORGANIZATION, params![organization]))
            .await
    }

    async fn of_person(&self, person: AccountId) -> Result<Vec<Membership>, StoreError> {
        let person = person.to_string();
        self.read(move |tx| json_rows(tx, SELECT_OF_PERSON, params![person]))
            .await
    }

    async fn fees(&self, organization: OrganizationId) -> Result<Vec<FeeEntry>, StoreError> {
        let organization = organization.0.to_string();
        self.read(move |tx| json_rows(tx, SELECT_FEES, params![organization]))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::tests::{migrated_in_memory, query_plan};

    #[test]
    fn listings_are_one_index_range_in_start_order() {
        let conn = migrated_in_memory();
        for (sql, index) in [
            (SELECT_OF_ORGANIZATION, "memberships_by_organization"),
            (SELECT_OF_PERSON, "memberships_by_person"),
            (OVERLAPPING, "memberships_by_person_and_organization"),
            (SELECT_FEES, "fee_entries_by_organization"),
        ] {
            let plan = query_plan(&conn, sql);
            assert!(plan.contains(&format!("USING INDEX {index} ")), "{plan}");
            assert!(!plan.contains("SCAN"), "{plan}");
            assert!(!plan.contains("TEMP B-TREE"), "{plan}");
        }
    }
}
