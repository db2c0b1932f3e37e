//! The organization store: one row per organization (its JSON and version
//! beside the day its yearly rollover is due, under an index, and the day it was
//! last rolled). Creating one adds its founder's membership in the same
//! IMMEDIATE transaction; the organizations due on a day are one range of the
//! due-date index, never a scan of them all.

use crate::codec::{day_number, db_error, json_row, json_rows, stored_version, to_json};
use crate::memberships;
use crate::SqliteStore;
use async_trait::async_trait;
use chrono::NaiveDate;
use patron_hub_domain::accounts::OrganizationId;
use patron_hub_domain::organizations::{
    Membership, MembershipWriteError, Organization, OrganizationStore,
};
use patron_hub_domain::StoreError;
use rusqlite::{params, Transaction};

/// One organization by id (primary key).
const SELECT_BY_ID: &str = "SELECT organization FROM organizations WHERE id = ?1";

/// Up to `?2` organizations due on `?1` and not rolled on it, earliest due first
/// (`organizations_by_rollover_due`).
const SELECT_DUE: &str = "SELECT organization FROM organizations
     WHERE rollover_due <= ?1 AND rolled_on IS NOT ?1
     ORDER BY rollover_due, id LIMIT ?2";

/// The values of an organization's row after its id: version, due day, rolled
/// day and JSON.
fn columns(
    organization: &Organization,
) -> Result<(i64, Option<i64>, Option<i64>, String), StoreError> {
    Ok((
        stored_version(organization.version)?,
        organization.policy.rollover_due().map(day_number),
        organization.rolled_on.map(day_number),
        to_json(organization)?,
    ))
}

/// Creates `organization` (a `VersionConflict` if its id is stored) with its
/// founder, whose first day stands for "today" in the AGENT rule.
fn create(
    tx: &Transaction<'_>,
    organization: &Organization,
    founder: &Membership,
) -> Result<(), MembershipWriteError> {
    let (version, due, rolled_on, json) = columns(organization)?;
    let created = tx
        .prepare_cached(
            "INSERT INTO organizations (id, version, rollover_due, rolled_on, organization)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (id) DO NOTHING",
        )
        .and_then(|mut insert| {
            insert.execute(params![
                organization.id.0.to_string(),
                version,
                due,
                rolled_on,
                json
            ])
        })
        .map_err(db_error)?;
    if created == 0 {
        return Err(MembershipWriteError::VersionConflict);
    }
    memberships::insert(tx, founder, None, founder.date_start)
}

/// Replaces the organization stored at the version before `organization.version`.
fn replace(tx: &Transaction<'_>, organization: &Organization) -> Result<(), MembershipWriteError> {
    let previous = organization
        .version
        .checked_sub(1)
        .ok_or(MembershipWriteError::VersionConflict)?;
    let previous = stored_version(previous)?;
    let (version, due, rolled_on, json) = columns(organization)?;
    let replaced = tx
        .prepare_cached(
            "UPDATE organizations SET version = ?2, rollover_due = ?3, rolled_on = ?4,
                 organization = ?5
             WHERE id = ?1 AND version = ?6",
        )
        .and_then(|mut update| {
            update.execute(params![
                organization.id.0.to_string(),
                version,
                due,
                rolled_on,
                json,
                previous,
            ])
        })
        .map_err(db_error)?;
    if replaced == 0 {
        return Err(MembershipWriteError::VersionConflict);
    }
    Ok(())
}

#[async_trait]
impl OrganizationStore for SqliteStore {
    async fn create(
        &self,
        organization: &Organization,
        founder: &Membership,
    ) -> Result<(), MembershipWriteError> {
        let (organization, founder) = (organization.clone(), founder.clone());
        self.write(move |tx| create(tx, &organization, &founder))
            .await
    }

    async fn get(&self, id: OrganizationId) -> Result<Option<Organization>, StoreError> {
        self.read(move |tx| json_row(tx, SELECT_BY_ID, params![id.0.to_string()]))
            .await
    }

    async fn update(&self, organization: &Organization) -> Result<(), MembershipWriteError> {
        let organization = organization.clone();
        self.write(move |tx| replace(tx, &organization)).await
    }

    async fn due_for_rollover(
        &self,
        today: NaiveDate,
        limit: usize,
    ) -> Result<Vec<Organization>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |tx| json_rows(tx, SELECT_DUE, params![day_number(today), limit]))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::tests::{migrated_in_memory, query_plan};

    #[test]
    fn due_organizations_are_one_range_of_the_due_date_index() {
        let conn = migrated_in_memory();
        let plan = query_plan(&conn, SELECT_DUE);
        assert!(
            plan.contains(
                "SEARCH organizations USING INDEX organizations_by_rollover_due (rollover_due<?)"
            ),
            "{plan}"
        );
        assert!(!plan.contains("SCAN"), "{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    }
}
