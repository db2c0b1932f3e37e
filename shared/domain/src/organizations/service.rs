//! The organization use cases behind `members-api`: organizations and their
//! policy, members and roles, renewals, people, statistics and exports.

use super::access::Caller;
use super::{
    new_membership, renewal, Membership, MembershipId, MembershipPolicy, MembershipRequest,
    MembershipStore, MembershipWriteError, NewMember, Organization, OrganizationError,
    OrganizationInput, OrganizationStore, Role, MAX_FEE_CENTS,
};
use crate::accounts::{Account, AccountId, AccountStore, InvalidField, OrganizationId};
use crate::Clock;
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::BTreeSet;
use std::sync::Arc;
use uuid::Uuid;

/// Longest organization name or title.
const MAX_NAME: usize = 200;

/// The organization use cases, built once at start-up.
pub struct OrganizationService {
    pub(super) organizations: Arc<dyn OrganizationStore>,
    pub(super) memberships: Arc<dyn MembershipStore>,
    pub(super) accounts: Arc<dyn AccountStore>,
    pub(super) clock: Arc<dyn Clock>,
}

impl OrganizationService {
    /// The service over its stores.
    pub fn new(
        organizations: Arc<dyn OrganizationStore>,
        memberships: Arc<dyn MembershipStore>,
        accounts: Arc<dyn AccountStore>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            organizations,
            memberships,
            accounts,
            clock,
        }
    }

    pub(super) fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Today's date by the service's clock: the day rights and validity are judged on.
    pub fn today(&self) -> NaiveDate {
        self.clock.now().date_naive()
    }

    /// The caller with their memberships.
    pub(super) async fn caller<'a>(
        &self,
        account: &'a Account,
    ) -> Result<Caller<'a>, OrganizationError> {
        Ok(Caller {
            account,
            memberships: self.memberships.of_person(account.id).await?,
            today: self.today(),
        })
    }

    /// The organization `id` and the caller, once the caller is known to hold
    /// `role` there: an unknown organization is `OrganizationNotFound` for
    /// anyone, then a missing role is `Forbidden`.
    pub(super) async fn organization_for<'a>(
        &self,
        actor: &'a Account,
        id: OrganizationId,
        role: Role,
    ) -> Result<(Caller<'a>, Organization), OrganizationError> {
        let caller = self.caller(actor).await?;
        let organization = self.organization(id).await?;
        caller.require(role, id)?;
        Ok((caller, organization))
    }

    pub(super) async fn organization(
        &self,
        id: OrganizationId,
    ) -> Result<Organization, OrganizationError> {
        self.organizations
            .get(id)
            .await?
            .ok_or(OrganizationError::OrganizationNotFound)
    }

    /// `POST /organizations`: any account may create one and becomes its
    /// first member, with `ORGANIZATION:ADMIN`. Naming a parent needs
    /// administrator rights on that parent.
    pub async fn create_organization(
        &self,
        actor: &Account,
        input: OrganizationInput,
    ) -> Result<(Organization, Membership), OrganizationError> {
        let caller = self.caller(actor).await?;
        let now = self.now();
        let blank = Organization {
            id: OrganizationId(Uuid::new_v4()),
            name: String::new(),
            parent: None,
            policy: MembershipPolicy::default(),
            titles: Vec::new(),
            rolled_on: None,
            created_at: now,
            version: 0,
        };
        if input.name.is_none() {
            return Err(InvalidField::new("name", "is required").into());
        }
        let organization = self.apply(&caller, &blank, input).await?;
        let founder = Membership {
            id: MembershipId::new(),
            person: actor.id,
            organization: organization.id,
            roles: BTreeSet::from([Role::Admin]),
            titles: Vec::new(),
            date_start: self.today(),
            // The founder administers the organization until someone removes them.
            date_end: MembershipPolicy::default().end_for(self.today()),
            fee: 0,
            created_at: now,
            version: 1,
        };
        self.organizations.create(&organization, &founder).await?;
        Ok((organization, founder))
    }

    /// `GET /organizations/{id}`: any logged-in account.
    pub async fn get_organization(
        &self,
        _actor: &Account,
        id: OrganizationId,
    ) -> Result<Organization, OrganizationError> {
        self.organization(id).await
    }

    /// `PATCH /organizations/{id}`: its administrators.
    pub async fn update_organization(
        &self,
        actor: &Account,
        id: OrganizationId,
        input: OrganizationInput,
    ) -> Result<Organization, OrganizationError> {
        let (caller, stored) = self.organization_for(actor, id, Role::Admin).await?;
        let organization = self.apply(&caller, &stored, input).await?;
        self.organizations.update(&organization).await?;
        Ok(organization)
    }

    /// `stored` with `input` laid over it, checked, policy normalised, version bumped.
    async fn apply(
        &self,
        caller: &Caller<'_>,
        stored: &Organization,
        input: OrganizationInput,
    ) -> Result<Organization, OrganizationError> {
        let mut next = stored.clone();
        if let Some(name) = input.name {
            next.name = text("name", &name)?;
        }
        if let Some(parent) = input.parent {
            if parent != stored.parent {
                if let Some(parent) = parent {
                    if parent == stored.id {
                        return Err(InvalidField::new(
                            "parent",
                            "cannot be the organization itself",
                        )
                        .into());
                    }
                    self.organizations.get(parent).await?.ok_or_else(|| {
                        InvalidField::new("parent", "is not an existing organization")
                    })?;
                    caller.require(Role::Admin, parent)?;
                }
                next.parent = parent;
            }
        }
        let p = &mut next.policy;
        if let Some(require) = input.require_memberships {
            p.require_memberships = require;
        }
        if let Some(start) = input.membership_start {
            p.membership_start = start;
        }
        if let Some(end) = input.membership_end {
            p.membership_end = end;
        }
        if let Some(duration) = input.membership_duration {
            p.membership_duration = duration;
        }
        if let Some(fee) = input.membership_fee_paid {
            p.membership_fee_paid = fee_cents("membership_fee_paid", fee)?;
        }
        if let Some(fee) = input.membership_fee_unpaid {
            p.membership_fee_unpaid = fee_cents("membership_fee_unpaid", fee)?;
        }
        if let (Some(start), Some(end)) = (p.membership_start, p.membership_end) {
            if end < start {
                return Err(InvalidField::new(
                    "membership_end",
                    "must not be before membership_start",
                )
                .into());
            }
        }
        next.policy = next.policy.normalized();
        if let Some(titles) = input.titles {
            let mut checked = Vec::with_capacity(titles.len());
            for title in titles {
                let title = text("titles", &title)?;
                if !checked.contains(&title) {
                    checked.push(title);
                }
            }
            next.titles = checked;
        }
        next.version = stored.version + 1;
        Ok(next)
    }

    /// `POST /organizations/{id}/members`: its administrators add a person,
    /// under the membership rules (window, parent, overlap, fee, end date).
    pub async fn add_member(
        &self,
        actor: &Account,
        id: OrganizationId,
        input: NewMember,
    ) -> Result<Membership, OrganizationError> {
        let (_, organization) = self.organization_for(actor, id, Role::Admin).await?;
        let person = self
            .accounts
            .get(input.person)
            .await?
            .ok_or_else(|| InvalidField::new("person", "is not an existing account"))?;
        check_titles(&organization, &input.titles)?;
        let request = MembershipRequest {
            person: person.id,
            paid: person.paid,
            roles: input.roles.into_iter().collect(),
            titles: input.titles,
            date_start: input.date_start.unwrap_or_else(|| self.today()),
        };
        let (membership, fee) = {
            let parent = self.parent_of(&organization, person.id).await?;
            let existing = self.memberships_of(person.id, id).await?;
            new_membership(
                &organization,
                parent.as_ref().map(|(o, m)| (o, m.as_slice())),
                &existing,
                &request,
                self.now(),
            )?
        };
        self.memberships
            .add(&membership, fee.as_ref(), self.today())
            .await?;
        Ok(membership)
    }

    /// `POST /organizations/{id}/members/{memberId}/renewal`: its administrators.
    pub async fn renew_member(
        &self,
        actor: &Account,
        id: OrganizationId,
        member: MembershipId,
    ) -> Result<Membership, OrganizationError> {
        let (_, organization) = self.organization_for(actor, id, Role::Admin).await?;
        let current = self.member_of(id, member).await?;
        let person = self
            .accounts
            .get(current.person)
            .await?
            .ok_or(OrganizationError::PersonNotFound)?;
        let parent = self.parent_of(&organization, person.id).await?;
        let existing = self.memberships_of(person.id, id).await?;
        let (membership, fee) = renewal(
            &organization,
            parent.as_ref().map(|(o, m)| (o, m.as_slice())),
            &current,
            &existing,
            person.paid,
            self.now(),
        )?;
        match self
            .memberships
            .add(&membership, fee.as_ref(), self.today())
            .await
        {
            Ok(()) => Ok(membership),
            // A concurrent renewal won: a second renewal creates nothing.
            Err(MembershipWriteError::Overlap) => Err(OrganizationError::AlreadyRenewed),
            Err(other) => Err(other.into()),
        }
    }

    /// One membership, if it belongs to `organization`.
    pub(super) async fn member_of(
        &self,
        organization: OrganizationId,
        member: MembershipId,
    ) -> Result<Membership, OrganizationError> {
        self.memberships
            .get(member)
            .await?
            .filter(|m| m.organization == organization)
            .ok_or(OrganizationError::MemberNotFound)
    }

    /// The person's memberships of one organization.
    pub(super) async fn memberships_of(
        &self,
        person: AccountId,
        organization: OrganizationId,
    ) -> Result<Vec<Membership>, OrganizationError> {
        Ok(self
            .memberships
            .of_person(person)
            .await?
            .into_iter()
            .filter(|m| m.organization == organization)
            .collect())
    }

    /// The parent organization and the person's memberships of it.
    async fn parent_of(
        &self,
        organization: &Organization,
        person: AccountId,
    ) -> Result<Option<(Organization, Vec<Membership>)>, OrganizationError> {
        let Some(parent) = organization.parent else {
            return Ok(None);
        };
        let Some(parent) = self.organizations.get(parent).await? else {
            return Ok(None);
        };
        let memberships = self.memberships_of(person, parent.id).await?;
        Ok(Some((parent, memberships)))
    }
}

/// A membership fee in cents, at most [`MAX_FEE_CENTS`].
fn fee_cents(field: &'static str, cents: u64) -> Result<u64, InvalidField> {
    if cents > MAX_FEE_CENTS {
        return Err(InvalidField::new(
            field,
            format!("must be at most {MAX_FEE_CENTS} cents"),
        ));
    }
    Ok(cents)
}

/// A trimmed name or title: 1 to 200 characters, no control characters.
fn text(field: &'static str, value: &str) -> Result<String, InvalidField> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > MAX_NAME {
        return Err(InvalidField::new(
            field,
            format!("must be 1 to {MAX_NAME} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(InvalidField::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(value.to_owned())
}

/// Named roles must be ones the organization defines.
pub(super) fn check_titles(
    organization: &Organization,
    titles: &[String],
) -> Result<(), InvalidField> {
    match titles.iter().find(|t| !organization.titles.contains(t)) {
        Some(title) => Err(InvalidField::new(
            "titles",
            format!("{title:?} is not a named role of this organization"),
        )),
        None => Ok(()),
    }
}
