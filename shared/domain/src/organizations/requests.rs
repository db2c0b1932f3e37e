//! What callers send to the organization use cases (JSON bodies), parsed by
//! serde with unknown fields refused; the service applies the rules.

use super::Role;
use crate::accounts::{AccountId, OrganizationId};
use chrono::NaiveDate;
use serde::Deserialize;

/// `POST /organizations` and `PATCH /organizations/{id}`: for a creation,
/// `name` is required and absent fields take their defaults; for a patch,
/// absent fields keep their values and `null` clears an optional one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganizationInput {
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Parent organization (`null` clears).
    #[serde(default, deserialize_with = "crate::json::present")]
    pub parent: Option<Option<OrganizationId>>,
    /// Whether memberships are real, dated and paid.
    #[serde(default)]
    pub require_memberships: Option<bool>,
    /// Window start (`null` clears).
    #[serde(default, deserialize_with = "crate::json::present")]
    pub membership_start: Option<Option<NaiveDate>>,
    /// Window end (`null` clears).
    #[serde(default, deserialize_with = "crate::json::present")]
    pub membership_end: Option<Option<NaiveDate>>,
    /// Duration in days (`null` clears).
    #[serde(default, deserialize_with = "crate::json::present")]
    pub membership_duration: Option<Option<u32>>,
    /// Fee for paid people, cents.
    #[serde(default)]
    pub membership_fee_paid: Option<u64>,
    /// Fee for unpaid people, cents.
    #[serde(default)]
    pub membership_fee_unpaid: Option<u64>,
    /// Named roles for display.
    #[serde(default)]
    pub titles: Option<Vec<String>>,
}

/// `POST /organizations/{id}/members`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    /// The person's account id.
    pub person: AccountId,
    /// Rights.
    #[serde(default)]
    pub roles: Vec<Role>,
    /// Named roles (must be among the organization's titles).
    #[serde(default)]
    pub titles: Vec<String>,
    /// First day (default: today).
    #[serde(default)]
    pub date_start: Option<NaiveDate>,
}

/// `PATCH /organizations/{id}/members/{memberId}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberPatch {
    /// The complete new set of rights.
    #[serde(default)]
    pub roles: Option<Vec<Role>>,
    /// The complete new set of named roles.
    #[serde(default)]
    pub titles: Option<Vec<String>>,
}

/// `GET /people` filters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeopleQuery {
    /// `search[email]`: case-insensitive part of the e-mail.
    pub email_contains: Option<String>,
    /// `organization`: only its members.
    pub organization: Option<OrganizationId>,
}
