//! Who may see and change which account (issue 3 point 9, issue 11 point 3):
//! a super administrator, the administrators of the account's department (an
//! organization, through a membership with `ORGANIZATION:ADMIN` valid today)
//! as long as the account holds no right they do not hold themselves, and the
//! account itself for reading and its own names.

use super::super::{Account, AccountError, NetworkRole, OrganizationId};
use std::collections::BTreeSet;

/// Whether `actor` may administer `target` (read, search, patch every field
/// but network roles), given the organizations `actor` administers today and
/// those in which `target` holds any role (in any membership, past, present or
/// future). An account holding a network role, or a role in an organization
/// `actor` does not administer, answers to super administrators only: else a
/// department administrator could set its e-mail, reset its password and use
/// its rights. Nobody but a super administrator administers their own account.
pub(super) fn may_administer(
    actor: &Account,
    target: &Account,
    administers: &BTreeSet<OrganizationId>,
    target_holds_roles_in: &BTreeSet<OrganizationId>,
) -> bool {
    actor.has_role(NetworkRole::SuperAdmin)
        || (actor.id != target.id
            && department_administrator(target, administers)
            && target_holds_roles_in.is_subset(administers))
}

/// The part of [`may_administer`] that needs no memberships of `target`: it
/// has no network role and its department is administered by the caller.
pub(super) fn department_administrator(
    target: &Account,
    administers: &BTreeSet<OrganizationId>,
) -> bool {
    target.network_roles.is_empty()
        && target
            .department
            .is_some_and(|department| administers.contains(&department))
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
