//! Organizations (institutions, departments, clubs), their membership policy,
//! memberships with their roles, and the fee entries memberships record.

use crate::accounts::{AccountId, OrganizationId};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use uuid::Uuid;

/// A membership's own identifier: never the person's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MembershipId(pub Uuid);

impl MembershipId {
    /// A fresh random id.
    pub fn new() -> Self {
        Self(Uuid::new_v4())
    }
}

impl Default for MembershipId {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Display for MembershipId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The rights a membership gives in its organization; cumulative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Role {
    /// Adds members, changes roles, edits the policy.
    #[serde(rename = "ORGANIZATION:ADMIN")]
    Admin,
    /// Field staff of one organization only.
    #[serde(rename = "ORGANIZATION:AGENT")]
    Agent,
    /// Reads the organization's statistics.
    #[serde(rename = "ORGANIZATION:ANALYTICS")]
    Analytics,
    /// Exports the member list.
    #[serde(rename = "ORGANIZATION:EXPORT")]
    Export,
}

impl Role {
    /// Every role, in display order.
    pub const ALL: [Role; 4] = [Role::Admin, Role::Agent, Role::Analytics, Role::Export];

    /// The role's name in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "ORGANIZATION:ADMIN",
            Role::Agent => "ORGANIZATION:AGENT",
            Role::Analytics => "ORGANIZATION:ANALYTICS",
            Role::Export => "ORGANIZATION:EXPORT",
        }
    }
}

/// How an organization takes members (seed 004's club fields).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MembershipPolicy {
    /// Whether memberships are real, dated and paid (a club), or not (a department).
    pub require_memberships: bool,
    /// The first day memberships for the current year may start.
    pub membership_start: Option<NaiveDate>,
    /// The last day any membership may run to.
    pub membership_end: Option<NaiveDate>,
    /// How long a membership lasts, in days.
    pub membership_duration: Option<u32>,
    /// Fee for a paid person, in cents.
    pub membership_fee_paid: u64,
    /// Fee for an unpaid person, in cents.
    pub membership_fee_unpaid: u64,
}

/// Days a membership lasts when the organization sets no duration.
pub const UNLIMITED_DAYS: u64 = 424_242;

/// The largest membership fee, in cents (1,000,000.00): far above any club's,
/// and small enough that the statistics can add up fees without overflowing.
pub const MAX_FEE_CENTS: u64 = 100_000_000;

impl MembershipPolicy {
    /// The policy as stored: without required memberships, fees are 0 and the
    /// dates and duration are cleared.
    pub fn normalized(mut self) -> Self {
        if !self.require_memberships {
            self.membership_start = None;
            self.membership_end = None;
            self.membership_duration = None;
            self.membership_fee_paid = 0;
            self.membership_fee_unpaid = 0;
        }
        self
    }

    /// The end of a membership starting on `start`: start + duration (or
    /// 424242 days), capped at `membership_end`.
    pub fn end_for(&self, start: NaiveDate) -> NaiveDate {
        let days = self.membership_duration.map_or(UNLIMITED_DAYS, u64::from);
        let end = start
            .checked_add_days(chrono::Days::new(days))
            .unwrap_or(NaiveDate::MAX);
        match self.membership_end {
            Some(cap) => end.min(cap),
            None => end,
        }
    }

    /// The fee of a person by their paid status.
    pub fn fee_for(&self, paid: bool) -> u64 {
        if paid {
            self.membership_fee_paid
        } else {
            self.membership_fee_unpaid
        }
    }

    /// The day the window is due to move forward a year: one year after `membership_start`.
    pub fn rollover_due(&self) -> Option<NaiveDate> {
        self.membership_start.map(next_year)
    }
}

/// The same day one year later (29 February becomes 28 February).
pub fn next_year(date: NaiveDate) -> NaiveDate {
    date.with_year(date.year() + 1)
        .or_else(|| NaiveDate::from_ymd_opt(date.year() + 1, date.month(), 28))
        .unwrap_or(date)
}

/// An institution, a department or a club.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    /// Identifier.
    pub id: OrganizationId,
    /// Name.
    pub name: String,
    /// The organization whose membership a membership here requires.
    pub parent: Option<OrganizationId>,
    /// How it takes members.
    pub policy: MembershipPolicy,
    /// Named roles it defines for display (treasurer, secretary …).
    pub titles: Vec<String>,
    /// The last date a yearly rollover moved its window (a second run for the
    /// same date does nothing).
    pub rolled_on: Option<NaiveDate>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Optimistic-locking version: 1 when created.
    pub version: u64,
}

impl Organization {
    /// Whether the yearly rollover should move this organization's window on `today`.
    pub fn rollover_is_due(&self, today: NaiveDate) -> bool {
        self.rolled_on != Some(today) && self.policy.rollover_due().is_some_and(|due| due <= today)
    }

    /// The organization after one rollover step on `today`: both window dates
    /// one year later. `None` when not due.
    pub fn rolled_over(&self, today: NaiveDate) -> Option<Organization> {
        if !self.rollover_is_due(today) {
            return None;
        }
        let mut next = self.clone();
        next.policy.membership_start = self.policy.membership_start.map(next_year);
        next.policy.membership_end = self.policy.membership_end.map(next_year);
        next.rolled_on = Some(today);
        next.version = self.version + 1;
        Some(next)
    }
}

/// One person's membership of one organization, for a dated period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    /// Its own id.
    pub id: MembershipId,
    /// The member's account.
    pub person: AccountId,
    /// The organization.
    pub organization: OrganizationId,
    /// Rights held.
    pub roles: BTreeSet<Role>,
    /// Named roles held, for display.
    pub titles: Vec<String>,
    /// First valid day.
    pub date_start: NaiveDate,
    /// Last valid day.
    pub date_end: NaiveDate,
    /// Fee charged, in cents.
    pub fee: u64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Optimistic-locking version: 1 when created.
    pub version: u64,
}

impl Membership {
    /// Valid on `day`: `date_start <= day <= date_end`, both ends inclusive.
    pub fn is_valid_on(&self, day: NaiveDate) -> bool {
        self.date_start <= day && day <= self.date_end
    }

    /// Whether its period shares a day with `[start, end]`.
    pub fn overlaps(&self, start: NaiveDate, end: NaiveDate) -> bool {
        self.date_start <= end && start <= self.date_end
    }

    /// Whether it holds `role` on `day` (an expired membership grants nothing).
    pub fn grants(&self, role: Role, day: NaiveDate) -> bool {
        self.is_valid_on(day) && self.roles.contains(&role)
    }
}

/// A fee charged for a membership: what the statistics sum up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeEntry {
    /// The membership paid for.
    pub membership: MembershipId,
    /// Who pays.
    pub person: AccountId,
    /// Who is paid.
    pub organization: OrganizationId,
    /// Cents.
    pub amount: u64,
    /// When it was charged.
    pub charged_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn a_department_policy_has_no_dates_or_fees() {
        let policy = MembershipPolicy {
            require_memberships: false,
            membership_start: Some(day(2025, 8, 31)),
            membership_end: Some(day(2026, 9, 30)),
            membership_duration: Some(396),
            membership_fee_paid: 500,
            membership_fee_unpaid: 300,
        }
        .normalized();
        assert_eq!(policy, MembershipPolicy::default());
    }

    #[test]
    fn end_is_start_plus_duration_capped_at_the_window() {
        let mut policy = MembershipPolicy {
            require_memberships: true,
            membership_start: Some(day(2025, 8, 31)),
            membership_end: Some(day(2026, 9, 30)),
            membership_duration: Some(396),
            membership_fee_paid: 500,
            membership_fee_unpaid: 300,
        };
        assert_eq!(policy.end_for(day(2025, 9, 1)), day(2026, 9, 30));
        assert_eq!(policy.end_for(day(2025, 8, 31)), day(2026, 9, 30));
        policy.membership_end = None;
        assert_eq!(policy.end_for(day(2025, 9, 1)), day(2026, 10, 2));
        policy.membership_duration = None;
        assert_eq!(
            policy.end_for(day(2025, 9, 1)),
            day(2025, 9, 1) + chrono::Days::new(424_242)
        );
        assert_eq!((policy.fee_for(true), policy.fee_for(false)), (500, 300));
    }

    #[test]
    fn rollover_moves_one_year_once_per_date() {
        let org = Organization {
            id: OrganizationId(Uuid::new_v4()),
            name: "BDE".into(),
            parent: None,
            policy: MembershipPolicy {
                require_memberships: true,
                membership_start: Some(day(2024, 2, 29)),
                membership_end: Some(day(2025, 9, 30)),
                ..MembershipPolicy::default()
            },
            titles: vec![],
            rolled_on: None,
            created_at: DateTime::UNIX_EPOCH,
            version: 1,
        };
        assert!(org.rolled_over(day(2025, 2, 27)).is_none());
        let rolled = org.rolled_over(day(2025, 2, 28)).unwrap();
        assert_eq!(rolled.policy.membership_start, Some(day(2025, 2, 28)));
        assert_eq!(rolled.policy.membership_end, Some(day(2026, 9, 30)));
        assert!(rolled.rolled_over(day(2025, 2, 28)).is_none());
        // Years behind: one year per run (per date).
        let behind = rolled.rolled_over(day(2028, 1, 1)).unwrap();
        assert_eq!(behind.policy.membership_start, Some(day(2026, 2, 28)));
        assert!(behind.rolled_over(day(2028, 1, 1)).is_none());
        assert!(behind.rolled_over(day(2028, 1, 2)).is_some());
    }

    #[test]
    fn validity_includes_both_ends() {
        let m = Membership {
            id: MembershipId::new(),
            person: AccountId(Uuid::new_v4()),
            organization: OrganizationId(Uuid::new_v4()),
            roles: [Role::Admin].into(),
            titles: vec![],
            date_start: day(2025, 9, 1),
            date_end: day(2026, 9, 30),
            fee: 0,
            created_at: DateTime::UNIX_EPOCH,
            version: 1,
        };
        assert!(m.is_valid_on(day(2025, 9, 1)) && m.is_valid_on(day(2026, 9, 30)));
        assert!(!m.is_valid_on(day(2026, 10, 1)) && !m.is_valid_on(day(2025, 8, 31)));
        assert!(m.grants(Role::Admin, day(2026, 1, 1)));
        assert!(!m.grants(Role::Admin, day(2027, 1, 1)));
        assert_eq!(
            serde_json::to_value(Role::Agent).unwrap(),
            "ORGANIZATION:AGENT"
        );
    }
}
