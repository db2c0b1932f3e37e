//! The AGENT markers: one row per person naming the organization through which
//! they are AGENT, the LATEST last day among their AGENT memberships of it, and
//! the membership ending on that day. A person may be AGENT of one organization
//! at a time: a membership holding AGENT takes the marker only if there is none,
//! or it names the same organization (the last day then becomes the later of
//! the two), or its last day is before the day of the write. A membership that
//! stops holding AGENT (removed, or its role dropped) recomputes the marker from
//! the person's other AGENT memberships of that organization, and deletes it
//! only when none is left. Every change runs inside the caller's write
//! transaction.

use crate::codec::{day_number, db_error, json_rows};
use patron_hub_domain::organizations::{Membership, MembershipWriteError, Role};
use patron_hub_domain::StoreError;
use rusqlite::{params, Transaction};

/// Points the person's marker at a membership, unless another organization's
/// membership holds it on `?5` (then nothing changes). Within the same
/// organization the marker keeps the later last day and its membership.
const TAKE: &str = "INSERT INTO agent_markers (person, organization, membership, date_end)
     VALUES (?1, ?2, ?3, ?4)
     ON CONFLICT (person) DO UPDATE SET
         membership = CASE
             WHEN agent_markers.organization = excluded.organization
                 AND agent_markers.date_end > excluded.date_end
             THEN agent_markers.membership ELSE excluded.membership END,
         date_end = CASE
             WHEN agent_markers.organization = excluded.organization
             THEN MAX(agent_markers.date_end, excluded.date_end)
             ELSE excluded.date_end END,
         organization = excluded.organization
     WHERE agent_markers.organization = excluded.organization OR agent_markers.date_end < ?5";

/// The person's other memberships of the organization
/// (`memberships_by_person_and_organization`), whose roles decide the marker.
const OTHERS: &str = "SELECT membership FROM memberships
     WHERE person = ?1 AND organization = ?2 AND id <> ?3";

/// Moves the person's marker of the organization to another membership and day.
const MOVE: &str = "UPDATE agent_markers SET membership = ?3, date_end = ?4
     WHERE person = ?1 AND organization = ?2";

/// Drops the person's marker of the organization.
const RELEASE: &str = "DELETE FROM agent_markers WHERE person = ?1 AND organization = ?2";

/// Makes the marker follow `membership`'s roles on `today`: taken when it holds
/// AGENT (or `AgentElsewhere`), recomputed without it when it does not.
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

/// Recomputes the marker of `membership`'s person for its organization as if
/// `membership` did not hold AGENT: moved to the latest-ending other AGENT
/// membership of that organization, or dropped when there is none. A marker
/// naming another organization is left alone.
pub(crate) fn release(tx: &Transaction<'_>, membership: &Membership) -> Result<(), StoreError> {
    let (person, organization) = (
        membership.person.to_string(),
        membership.organization.0.to_string(),
    );
    let others: Vec<Membership> = json_rows(
        tx,
        OTHERS,
        params![person, organization, membership.id.to_string()],
    )?;
    let latest = others
        .iter()
        .filter(|other| other.roles.contains(&Role::Agent))
        .max_by_key(|other| other.date_end);
    let changed = match latest {
        Some(latest) => tx.prepare_cached(MOVE).and_then(|mut update| {
            update.execute(params![
                person,
                organization,
                latest.id.to_string(),
                day_number(latest.date_end),
            ])
        }),
        None => tx
            .prepare_cached(RELEASE)
            .and_then(|mut delete| delete.execute(params![person, organization])),
    };
    changed.map(drop).map_err(db_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::tests::{migrated_in_memory, query_plan};

    #[test]
    fn the_marker_is_reached_by_its_primary_key() {
        let conn = migrated_in_memory();
        for sql in [RELEASE, MOVE] {
            let plan = query_plan(&conn, sql);
            assert!(
                plan.contains("SEARCH agent_markers USING PRIMARY KEY (person=?)"),
                "{plan}"
            );
        }
    }

    #[test]
    fn the_other_memberships_are_one_index_range() {
        let conn = migrated_in_memory();
        let plan = query_plan(&conn, OTHERS);
        assert!(
            plan.contains("USING INDEX memberships_by_person_and_organization "),
            "{plan}"
        );
        assert!(!plan.contains("SCAN"), "{plan}");
    }
}
