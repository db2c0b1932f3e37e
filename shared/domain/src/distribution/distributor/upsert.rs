//! The upsert of a distributed patron into one target institution, and the
//! guard that keeps it from overwriting a different person who happens to
//! have the same primary id there.

use super::{same_patron, Applied, Distributor, PRIMARY_ID_COLLISION};
use crate::alma::AlmaError;
use crate::{AlmaUser, Job, StoreError};

/// What the upsert writes in the target institution.
enum Write {
    /// The patron is not there: `POST` the distributable record.
    Create(AlmaUser),
    /// The patron is there: `PUT` its record with the distributed fields laid over it.
    Update(AlmaUser),
}

impl Distributor {
    /// `GET` the patron in the target institution, then create it, or update
    /// it keeping the target's local fields. A user found there who is not a
    /// known holding of this patron (patron-hub never wrote it, no change of
    /// the patron came from there) and whose names differ is a different person: the job is refused as [`PRIMARY_ID_COLLISION`] for
    /// staff to look at, and nothing is written.
    pub(super) async fn upsert(&self, job: &Job) -> Result<Result<Applied, AlmaError>, StoreError> {
        let (institution, primary_id) = (&job.institution, &job.primary_id);
        let local = &self.settings.local_fields;
        let Some(origin) = job.user.as_ref() else {
            return Ok(Err(super::no_record("upsert")));
        };
        let write = match self.alma.get_user(institution, primary_id).await {
            Ok(target) => {
                let target = match same_patron(target, primary_id) {
                    Ok(target) => target,
                    Err(refused) => return Ok(Err(refused)),
                };
                if !same_names(&target, origin)
                    && !self.ledger.known_holding(primary_id, institution).await?
                {
                    return Ok(Err(collision()));
                }
                Write::Update(target.merged_with(origin, local))
            }
            Err(AlmaError::NotFound { .. }) => Write::Create(origin.distributable(local)),
            Err(error) => return Ok(Err(error)),
        };
        // Remembered before the write: a crash right after it must not make
        // this patron's next job take the record for someone else's.
        self.ledger
            .note_holdings(&[(primary_id.clone(), institution.clone())])
            .await?;
        let written = match write {
            Write::Create(user) => self.alma.create_user(institution, &user).await,
            Write::Update(user) => self.alma.update_user(institution, primary_id, &user).await,
        };
        Ok(written.map(Applied::Holds))
    }
}

/// The refusal of an upsert that met a different person under the same primary id.
fn collision() -> AlmaError {
    AlmaError::Rejected {
        status: 0,
        code: PRIMARY_ID_COLLISION.to_owned(),
        message: "a user with this primary id but other names exists in this institution, and patron-hub never wrote it: check whether it is the same person".to_owned(),
    }
}

/// Whether two records name the same person, as far as their names tell:
/// first and last names equal once trimmed and case is ignored. A name
/// missing on either side tells nothing, so it does not make them differ.
fn same_names(target: &AlmaUser, origin: &AlmaUser) -> bool {
    ["first_name", "last_name"].iter().all(|field| {
        match (name(target, field), name(origin, field)) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        }
    })
}

/// One name field, trimmed and lower-cased; `None` when absent or blank.
fn name(user: &AlmaUser, field: &str) -> Option<String> {
    let value = user.0.get(field)?.as_str()?.trim();
    (!value.is_empty()).then(|| value.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user(value: serde_json::Value) -> AlmaUser {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn names_differ_only_when_both_sides_name_someone_else() {
        let camille = user(json!({"first_name": "Camille", "last_name": "Lecteur"}));
        let shouted = user(json!({"first_name": " CAMILLE ", "last_name": "lecteur"}));
        let other = user(json!({"first_name": "Dominique", "last_name": "Lecteur"}));
        let unnamed = user(json!({"primary_id": "p"}));
        assert!(same_names(&camille, &shouted));
        assert!(!same_names(&camille, &other));
        assert!(same_names(&camille, &unnamed));
        assert!(same_names(&unnamed, &other));
    }
}
