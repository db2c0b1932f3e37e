//! Organizations (institutions, departments, clubs), memberships with their
//! per-organization roles, the club membership rules of seed 004 (window,
//! parent club, fees, renewals), the `/people` view of seed 001, and the daily
//! membership rollover.

mod access;
mod error;
mod members;
mod model;
mod page;
mod people;
mod ports;
mod requests;
mod rollover;
mod rules;
mod service;
mod statistics;

pub use access::Caller;
pub use error::OrganizationError;
pub use members::Member;
pub use model::{
    next_year, FeeEntry, Membership, MembershipId, MembershipPolicy, Organization, Role,
    MAX_FEE_CENTS, UNLIMITED_DAYS,
};
pub use page::{Page, PageRequest, DEFAULT_LIMIT, MAX_LIMIT};
pub use people::MAX_PEOPLE;
pub use ports::{MembershipStore, MembershipWriteError, OrganizationStore};
pub use requests::{MemberPatch, NewMember, OrganizationInput, PeopleQuery};
pub use rollover::{Rollover, RolloverStores, RolloverSummary};
pub use rules::{new_membership, renewal, MembershipRequest, MembershipRuleError};
pub use service::OrganizationService;
pub use statistics::Statistics;
