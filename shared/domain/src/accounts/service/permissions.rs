//! Who may see and change which account (issue point 9): a super
//! administrator, the administrators of the account's department (an
//! organization, through a membership with `ORGANIZATION:ADMIN` valid today),
//! and the account itself for reading and its own names.

use super::super::{Account, AccountError, NetworkRole, OrganizationId};
use std::collections::BTreeSet;

/// Whether `actor` may administer `target` (read, search, patch every field
/// but network roles), given the organizations `actor` administers today. An
/// account holding a network role answers to super administrators only, so
/// that a department administrator can never take over a network account.
pub(super) fn may_administer(
    actor: &Account,
    target: &Account,
    administers: &BTreeSet<OrganizationId>,
) -> bool {
    actor.has_role(NetworkRole::SuperAdmin)
        || (target.network_roles.is_empty()
            && target
                .department
                .is_some_and(|department| administers.contains(&department)))
}

/// Network roles, bulk import and creating accounts belong to super
/// administrators only.
pub(super) fn require_super_admin(actor: &Account) -> Result<(), AccountError> {
    if actor.has_role(NetworkRole::SuperAdmin) {
        Ok(())
    } else {
        Err(AccountError::Forbidden)
    }
}
