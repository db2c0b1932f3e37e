//! Who may do what to an organization: roles come from the caller's
//! memberships valid today (an expired membership grants nothing), and a
//! super administrator may do everything.

use super::{Membership, OrganizationError, Role};
use crate::accounts::{Account, NetworkRole, OrganizationId};
use chrono::NaiveDate;

/// A caller with their memberships, read once per request.
pub struct Caller<'a> {
    /// The logged-in account.
    pub account: &'a Account,
    /// Every membership of that account.
    pub memberships: Vec<Membership>,
    /// The day rights are judged on.
    pub today: NaiveDate,
}

impl Caller<'_> {
    /// Whether the caller is a super administrator.
    pub fn is_super_admin(&self) -> bool {
        self.account.has_role(NetworkRole::SuperAdmin)
    }

    /// Whether the caller holds `role` in `organization` today (super administrators hold every role).
    pub fn holds(&self, role: Role, organization: OrganizationId) -> bool {
        self.is_super_admin()
            || self
                .memberships
                .iter()
                .any(|m| m.organization == organization && m.grants(role, self.today))
    }

    /// `Ok` when the caller holds `role` in `organization`, else `Forbidden`.
    pub fn require(
        &self,
        role: Role,
        organization: OrganizationId,
    ) -> Result<(), OrganizationError> {
        if self.holds(role, organization) {
            Ok(())
        } else {
            Err(OrganizationError::Forbidden)
        }
    }

    /// Whether the caller may read another person's account and memberships:
    /// a super administrator, or an administrator of an organization the
    /// person is (or was) a member of.
    pub fn may_read_person(&self, person_memberships: &[Membership]) -> bool {
        self.is_super_admin()
            || person_memberships
                .iter()
                .any(|m| self.holds(Role::Admin, m.organization))
    }
}
