//! Seed 004's membership rules: when a membership may start, what it costs,
//! when it ends, the parent organization, overlaps, and renewal.

use super::{FeeEntry, Membership, MembershipId, Organization, Role};
use crate::accounts::AccountId;
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::BTreeSet;

/// Why a membership may not be created or renewed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MembershipRuleError {
    /// The start is before the organization's window.
    #[error("The membership must start after {}.", .0.format("%m-%d-%Y"))]
    StartsTooEarly(NaiveDate),
    /// The start is after the organization's window.
    #[error("The membership must begin before {}.", .0.format("%m-%d-%Y"))]
    StartsTooLate(NaiveDate),
    /// No membership of the parent organization is valid on the start date.
    #[error("User is not a member of the parent club {0}")]
    NotMemberOfParent(String),
    /// The person already has a membership here for part of that period.
    #[error("User is already a member of the club")]
    AlreadyMember,
    /// Only a membership valid today is renewed (seed 004).
    #[error("Only a membership valid today can be renewed")]
    NotCurrent,
    /// Renewal needs the organization's yearly window.
    #[error("This organization has no yearly membership window to renew into")]
    NoRenewalWindow,
    /// The membership started in the current window already.
    #[error("This membership started in the current membership year: nothing to renew")]
    NotRenewable,
    /// A membership starting in the current window exists already.
    #[error("User has already renewed this membership")]
    AlreadyRenewed,
}

/// What a new membership is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipRequest {
    /// The person.
    pub person: AccountId,
    /// Whether the person is paid (chooses the fee).
    pub paid: bool,
    /// Roles.
    pub roles: BTreeSet<Role>,
    /// Named roles.
    pub titles: Vec<String>,
    /// First day.
    pub date_start: NaiveDate,
}

/// A new membership of `organization` and the fee it charges (none when free).
/// `parent` is the parent organization with the person's memberships of it;
/// `existing` are the person's memberships of `organization`.
pub fn new_membership(
    organization: &Organization,
    parent: Option<(&Organization, &[Membership])>,
    existing: &[Membership],
    request: &MembershipRequest,
    now: DateTime<Utc>,
) -> Result<(Membership, Option<FeeEntry>), MembershipRuleError> {
    let policy = &organization.policy;
    let start = request.date_start;
    if let Some(first) = policy.membership_start {
        if start < first {
            return Err(MembershipRuleError::StartsTooEarly(first));
        }
    }
    if let Some(last) = policy.membership_end {
        if start > last {
            return Err(MembershipRuleError::StartsTooLate(last));
        }
    }
    if let Some((parent, memberships)) = parent {
        if !memberships.iter().any(|m| m.is_valid_on(start)) {
            return Err(MembershipRuleError::NotMemberOfParent(parent.name.clone()));
        }
    }
    let end = policy.end_for(start);
    if existing.iter().any(|m| m.overlaps(start, end)) {
        return Err(MembershipRuleError::AlreadyMember);
    }
    let membership = Membership {
        id: MembershipId::new(),
        person: request.person,
        organization: organization.id,
        roles: request.roles.clone(),
        titles: request.titles.clone(),
        date_start: start,
        date_end: end,
        fee: policy.fee_for(request.paid),
        created_at: now,
        version: 1,
    };
    let fee = (membership.fee > 0).then_some(FeeEntry {
        membership: membership.id,
        person: membership.person,
        organization: membership.organization,
        amount: membership.fee,
        charged_at: now,
    });
    Ok((membership, fee))
}

/// The renewal of `current`: allowed when the organization has a window
/// start, `current` is valid today and started before it, and none of the
/// person's memberships here starts on or after it. Same roles; starts at the
/// later of the day after `current` ends and the window start. Parent and
/// window checks apply as for any new membership.
pub fn renewal(
    organization: &Organization,
    parent: Option<(&Organization, &[Membership])>,
    current: &Membership,
    existing: &[Membership],
    paid: bool,
    now: DateTime<Utc>,
) -> Result<(Membership, Option<FeeEntry>), MembershipRuleError> {
    let window = organization
        .policy
        .membership_start
        .ok_or(MembershipRuleError::NoRenewalWindow)?;
    let today = now.date_naive();
    if !(current.date_start..=current.date_end).contains(&today) {
        return Err(MembershipRuleError::NotCurrent);
    }
    if current.date_start >= window {
        return Err(MembershipRuleError::NotRenewable);
    }
    if existing.iter().any(|m| m.date_start >= window) {
        return Err(MembershipRuleError::AlreadyRenewed);
    }
    let day_after = current.date_end.succ_opt().unwrap_or(current.date_end);
    let request = MembershipRequest {
        person: current.person,
        paid,
        roles: current.roles.clone(),
        titles: current.titles.clone(),
        date_start: day_after.max(window),
    };
    new_membership(organization, parent, existing, &request, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::OrganizationId;
    use crate::organizations::MembershipPolicy;
    use chrono::NaiveTime;
    use uuid::Uuid;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn club(name: &str, parent: Option<OrganizationId>) -> Organization {
        Organization {
            id: OrganizationId(Uuid::new_v4()),
            name: name.into(),
            parent,
            policy: MembershipPolicy {
                require_memberships: true,
                membership_start: Some(day(2025, 8, 31)),
                membership_end: Some(day(2026, 9, 30)),
                membership_duration: Some(396),
                membership_fee_paid: 500,
                membership_fee_unpaid: 300,
            },
            titles: vec![],
            rolled_on: None,
            created_at: DateTime::UNIX_EPOCH,
            version: 1,
        }
    }

    fn ask(person: AccountId, start: NaiveDate) -> MembershipRequest {
        MembershipRequest {
            person,
            paid: false,
            roles: [Role::Analytics].into(),
            titles: vec!["Trésorier".into()],
            date_start: start,
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::UNIX_EPOCH
    }

    #[test]
    fn the_start_must_lie_in_the_window_with_the_seeds_messages() {
        let bde = club("BDE", None);
        let person = AccountId(Uuid::new_v4());
        let early = new_membership(&bde, None, &[], &ask(person, day(2025, 8, 30)), now());
        assert_eq!(
            early.unwrap_err().to_string(),
            "The membership must start after 08-31-2025."
        );
        let late = new_membership(&bde, None, &[], &ask(person, day(2026, 10, 1)), now());
        assert_eq!(
            late.unwrap_err().to_string(),
            "The membership must begin before 09-30-2026."
        );
        let (m, fee) =
            new_membership(&bde, None, &[], &ask(person, day(2025, 9, 1)), now()).unwrap();
        assert_eq!((m.date_end, m.fee), (day(2026, 9, 30), 300));
        assert_eq!(fee.unwrap().amount, 300);
    }

    #[test]
    fn a_child_club_needs_a_parent_membership_valid_on_the_start() {
        let bde = club("BDE", None);
        let kfet = club("Kfet", Some(bde.id));
        let person = AccountId(Uuid::new_v4());
        let refused = new_membership(
            &kfet,
            Some((&bde, &[])),
            &[],
            &ask(person, day(2025, 9, 1)),
            now(),
        );
        assert_eq!(
            refused.unwrap_err().to_string(),
            "User is not a member of the parent club BDE"
        );
        let (parent, _) =
            new_membership(&bde, None, &[], &ask(person, day(2025, 9, 2)), now()).unwrap();
        let before = new_membership(
            &kfet,
            Some((&bde, std::slice::from_ref(&parent))),
            &[],
            &ask(person, day(2025, 9, 1)),
            now(),
        );
        assert!(matches!(
            before,
            Err(MembershipRuleError::NotMemberOfParent(_))
        ));
        assert!(new_membership(
            &kfet,
            Some((&bde, std::slice::from_ref(&parent))),
            &[],
            &ask(person, day(2025, 9, 2)),
            now()
        )
        .is_ok());
    }

    #[test]
    fn overlapping_memberships_are_refused_and_free_ones_charge_nothing() {
        let mut bde = club("BDE", None);
        let person = AccountId(Uuid::new_v4());
        let (first, _) =
            new_membership(&bde, None, &[], &ask(person, day(2025, 9, 1)), now()).unwrap();
        let again = new_membership(&bde, None, &[first], &ask(person, day(2026, 9, 1)), now());
        assert_eq!(again.unwrap_err(), MembershipRuleError::AlreadyMember);
        bde.policy = bde.policy.clone();
        bde.policy.membership_fee_unpaid = 0;
        let (_, fee) =
            new_membership(&bde, None, &[], &ask(person, day(2025, 9, 1)), now()).unwrap();
        assert!(fee.is_none());
    }

    #[test]
    fn renewal_follows_the_seed() {
        let mut bde = club("BDE", None);
        let person = AccountId(Uuid::new_v4());
        let (current, _) =
            new_membership(&bde, None, &[], &ask(person, day(2025, 9, 1)), now()).unwrap();
        let existing = vec![current.clone()];
        // Same window: nothing to renew yet.
        let october = day(2025, 10, 1).and_time(NaiveTime::MIN).and_utc();
        assert_eq!(
            renewal(&bde, None, &current, &existing, false, october).unwrap_err(),
            MembershipRuleError::NotRenewable
        );
        // After the rollover (window 08-31-2026 .. 09-30-2027), renewal on 16 August
        // starts the day after the old end, 1 October.
        bde = bde.rolled_over(day(2026, 8, 31)).unwrap();
        let august = day(2026, 8, 16).and_time(NaiveTime::MIN).and_utc();
        let (renewed, _) = renewal(&bde, None, &current, &existing, true, august).unwrap();
        assert_eq!(renewed.date_start, day(2026, 10, 1));
        assert_eq!(renewed.roles, current.roles);
        assert_eq!(renewed.fee, 500);
        let both = vec![current.clone(), renewed];
        assert_eq!(
            renewal(&bde, None, &current, &both, false, august).unwrap_err(),
            MembershipRuleError::AlreadyRenewed
        );
        // Only while the current membership is valid: not before it starts,
        // nor once it has ended (30 September 2026).
        for outside in [day(2025, 8, 31), day(2026, 10, 1)] {
            let at = outside.and_time(NaiveTime::MIN).and_utc();
            assert_eq!(
                renewal(&bde, None, &current, &existing, false, at).unwrap_err(),
                MembershipRuleError::NotCurrent,
                "{outside}"
            );
        }
        let last_day = day(2026, 9, 30).and_time(NaiveTime::MIN).and_utc();
        assert!(renewal(&bde, None, &current, &existing, false, last_day).is_ok());
        let mut no_window = bde.clone();
        no_window.policy.membership_start = None;
        assert_eq!(
            renewal(&no_window, None, &current, &existing, false, now()).unwrap_err(),
            MembershipRuleError::NoRenewalWindow
        );
    }
}
