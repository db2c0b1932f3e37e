//! Who may see and change which account (issue point 9).
//!
//! Today an account may be administered by a super administrator only, and
//! otherwise only by itself. Department administrators (administrators of the
//! account's department) come with the organizations issue: they will be
//! granted here, in [`may_administer`], which then needs the target account and
//! a memberships port; every caller already goes through it.

use super::super::{Account, AccountError, AccountId, NetworkRole};

/// Whether `actor` may administer the account `target` (read, search, patch
/// every field but network roles).
pub(super) fn may_administer(actor: &Account, _target: AccountId) -> bool {
    actor.has_role(NetworkRole::SuperAdmin)
}

/// Whether `actor` may read the account `target`: its administrators, and itself.
pub(super) fn may_view(actor: &Account, target: AccountId) -> bool {
    actor.id == target || may_administer(actor, target)
}

/// Network roles, bulk import, searching every account and creating accounts
/// belong to super administrators only.
pub(super) fn require_super_admin(actor: &Account) -> Result<(), AccountError> {
    if actor.has_role(NetworkRole::SuperAdmin) {
        Ok(())
    } else {
        Err(AccountError::Forbidden)
    }
}
