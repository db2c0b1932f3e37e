//! `GET /organizations/{id}/statistics`, for holders of `ORGANIZATION:ANALYTICS`:
//! members by role, new and expiring memberships by month, fees collected.

use super::{OrganizationError, OrganizationService, Role};
use crate::accounts::{Account, OrganizationId};
use chrono::NaiveDate;
use serde::Serialize;
use std::collections::BTreeMap;

/// An organization's figures on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Statistics {
    /// The day the figures are for.
    pub date: NaiveDate,
    /// Memberships valid that day.
    pub active_members: u64,
    /// Valid memberships holding each role; `NONE` counts those with no role.
    pub members_by_role: BTreeMap<String, u64>,
    /// Memberships by the month they start (`YYYY-MM`).
    pub new_by_month: BTreeMap<String, u64>,
    /// Memberships by the month they end (`YYYY-MM`), from this month on.
    pub expiring_by_month: BTreeMap<String, u64>,
    /// Every fee charged, in cents.
    pub fees_collected: u64,
    /// Fees charged by month (`YYYY-MM`), in cents.
    pub fees_by_month: BTreeMap<String, u64>,
}

fn month(day: NaiveDate) -> String {
    day.format("%Y-%m").to_string()
}

impl OrganizationService {
    /// The organization's statistics today.
    pub async fn statistics(
        &self,
        actor: &Account,
        id: OrganizationId,
    ) -> Result<Statistics, OrganizationError> {
        self.organization_for(actor, id, Role::Analytics).await?;
        let today = self.today();
        let memberships = self.memberships.of_organization(id).await?;
        let fees = self.memberships.fees(id).await?;
        let mut stats = Statistics {
            date: today,
            active_members: 0,
            members_by_role: Role::ALL
                .iter()
                .map(|r| (r.as_str().to_owned(), 0))
                .chain([("NONE".to_owned(), 0)])
                .collect(),
            new_by_month: BTreeMap::new(),
            expiring_by_month: BTreeMap::new(),
            fees_collected: 0,
            fees_by_month: BTreeMap::new(),
        };
        let this_month = month(today);
        for m in &memberships {
            *stats.new_by_month.entry(month(m.date_start)).or_default() += 1;
            let end = month(m.date_end);
            if end >= this_month {
                *stats.expiring_by_month.entry(end).or_default() += 1;
            }
            if m.is_valid_on(today) {
                stats.active_members += 1;
                let roles = m.roles.iter().map(|r| r.as_str().to_owned());
                let roles: Vec<String> = if m.roles.is_empty() {
                    vec!["NONE".to_owned()]
                } else {
                    roles.collect()
                };
                for role in roles {
                    *stats.members_by_role.entry(role).or_default() += 1;
                }
            }
        }
        let overflow = || {
            OrganizationError::Unavailable(format!(
                "the fees of organization {} add up beyond {} cents",
                id.0,
                u64::MAX
            ))
        };
        for fee in &fees {
            stats.fees_collected = stats
                .fees_collected
                .checked_add(fee.amount)
                .ok_or_else(overflow)?;
            let in_month = stats
                .fees_by_month
                .entry(month(fee.charged_at.date_naive()))
                .or_default();
            *in_month = in_month.checked_add(fee.amount).ok_or_else(overflow)?;
        }
        Ok(stats)
    }
}
