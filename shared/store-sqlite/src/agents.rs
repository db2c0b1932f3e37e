//! The AGENT markers: one row per person naming the organization (and the
//! membership, and its last day) through which they are AGENT. A person may be
//! AGENT of one organization at a time: a membership holding AGENT takes the
//! marker only if there is none, or it names the same organization, or its
//! membership ended before the day of the write. Taking it is one conditional
//! upsert, inside the caller's write transaction.

use crate::codec::{day_number, db_error};
use patron_hub_domain::organizations::{Membership, MembershipWriteError, Role};
use patron_hub_domain::StoreError;
use rusqlite::{params, Transaction};

/// Points the person's marker at a membership, unless another organization's
/// membership holds it on `?5` (then nothing changes).
const TAKE: &str = "INSERT INTO agent_markers (person, organization, membership, date_end)
     VALUES (?1, ?2, ?3, ?4)
     ON CONFLICT (person) DO UPDATE SET organization = excluded.organization,
         membership = excluded.membership, date_end = excluded.date_end
     WHERE agent_markers.organization = excluded.organization OR agent_markers.date_end < ?5";

/// Drops the person's marker if it points at the membership.
const RELEASE: &str = "DELETE FROM agent_markers WHERE person = ?1 AND membership = ?2";

/// Makes the marker follow `membership`'s roles on `today`: taken when it holds
/// AGENT (or `AgentElsewhere`), released when it does not.
pub(crate) fn follow(
    tx: &Transaction<'_>,
    membership: &Membership,
    today: chrono::NaiveDate,
) -> Result<(), MembershipWriteError> {
    if !membership.roles.contains(&Role::Agent) {
        return Ok(release(tx, membership)?);
    }
    let taken = tx
        .prepare_cached(TAKE)
        .and_then(|mut take| {
            take.execute(params![
                membership.person.to_string(),
                membership.organization.0.to_string(),
                membership.id.to_string(),
                day_number(membership.date_end),
                day_number(today),
            ])
        })
        .map_err(db_error)?;
    if taken == 0 {
        return Err(MembershipWriteError::AgentElsewhere);
    }
    Ok(())
}

/// Drops the marker of `membership`'s person if it points at `membership`.
pub(crate) fn release(tx: &Transaction<'_>, membership: &Membership) -> Result<(), StoreError> {
    tx.prepare_cached(RELEASE)
        .and_then(|mut delete| {
            delete.execute(params![
                membership.person.to_string(),
                membership.id.to_string()
            ])
        })
        .map(drop)
        .map_err(db_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::tests::{migrated_in_memory, query_plan};

    #[test]
    fn the_marker_is_reached_by_its_primary_key() {
        let conn = migrated_in_memory();
        let plan = query_plan(&conn, RELEASE);
        assert!(
            plan.contains("SEARCH agent_markers USING PRIMARY KEY (person=?)"),
            "{plan}"
        );
    }
}
