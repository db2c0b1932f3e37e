//! Reading and changing one organization's members.

use super::service::check_titles;
use super::{
    MemberPatch, Membership, MembershipId, OrganizationError, OrganizationService, Page,
    PageRequest, Role,
};
use crate::accounts::{Account, OrganizationId};

/// A membership with its person's account, for listings and exports.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// The membership.
    pub membership: Membership,
    /// The person (absent if the account could not be read).
    pub person: Option<Account>,
}

impl OrganizationService {
    /// `GET /organizations/{id}/members`: its administrators; every member,
    /// with or without roles, valid or not, in order of start date.
    pub async fn list_members(
        &self,
        actor: &Account,
        id: OrganizationId,
        page: PageRequest,
    ) -> Result<Page<Member>, OrganizationError> {
        self.organization_for(actor, id, Role::Admin).await?;
        let memberships = self.memberships.of_organization(id).await?;
        let page = page.slice(memberships);
        let mut people = Vec::with_capacity(page.items.len());
        for membership in &page.items {
            people.push(self.accounts.get(membership.person).await?);
        }
        let mut people = people.into_iter();
        Ok(page.map(|membership| Member {
            person: people.next().flatten(),
            membership,
        }))
    }

    /// Every member of an organization with its person: `members.xlsx` and
    /// `.csv`, for holders of `ORGANIZATION:EXPORT`.
    pub async fn export_members(
        &self,
        actor: &Account,
        id: OrganizationId,
    ) -> Result<Vec<Member>, OrganizationError> {
        self.organization_for(actor, id, Role::Export).await?;
        let mut members = Vec::new();
        for membership in self.memberships.of_organization(id).await? {
            members.push(Member {
                person: self.accounts.get(membership.person).await?,
                membership,
            });
        }
        Ok(members)
    }

    /// `GET /organizations/{id}/members/{memberId}`: its administrators, and the member.
    pub async fn get_member(
        &self,
        actor: &Account,
        id: OrganizationId,
        member: MembershipId,
    ) -> Result<Membership, OrganizationError> {
        let caller = self.caller(actor).await?;
        self.organization(id).await?;
        let membership = self.member_of(id, member).await;
        match membership {
            Ok(m) if m.person == actor.id || caller.holds(Role::Admin, id) => Ok(m),
            Ok(_) => Err(OrganizationError::Forbidden),
            Err(_) if !caller.holds(Role::Admin, id) => Err(OrganizationError::Forbidden),
            Err(error) => Err(error),
        }
    }

    /// `PATCH /organizations/{id}/members/{memberId}`: its administrators change roles and titles.
    pub async fn update_member(
        &self,
        actor: &Account,
        id: OrganizationId,
        member: MembershipId,
        patch: MemberPatch,
    ) -> Result<Membership, OrganizationError> {
        let (_, organization) = self.organization_for(actor, id, Role::Admin).await?;
        let stored = self.member_of(id, member).await?;
        let mut next = stored.clone();
        if let Some(roles) = patch.roles {
            next.roles = roles.into_iter().collect();
        }
        if let Some(titles) = patch.titles {
            check_titles(&organization, &titles)?;
            next.titles = titles;
        }
        if stored.roles.contains(&Role::Admin) && !next.roles.contains(&Role::Admin) {
            self.keep_an_admin(id, &stored).await?;
        }
        next.version = stored.version + 1;
        self.memberships.update(&next, self.today()).await?;
        Ok(next)
    }

    /// `DELETE /organizations/{id}/members/{memberId}`: its administrators.
    pub async fn remove_member(
        &self,
        actor: &Account,
        id: OrganizationId,
        member: MembershipId,
    ) -> Result<(), OrganizationError> {
        self.organization_for(actor, id, Role::Admin).await?;
        let stored = self.member_of(id, member).await?;
        if stored.roles.contains(&Role::Admin) {
            self.keep_an_admin(id, &stored).await?;
        }
        self.memberships.remove(&stored).await?;
        Ok(())
    }

    /// Refuses to take the last valid administrator away from an organization.
    async fn keep_an_admin(
        &self,
        id: OrganizationId,
        leaving: &Membership,
    ) -> Result<(), OrganizationError> {
        let today = self.today();
        let others = self
            .memberships
            .of_organization(id)
            .await?
            .into_iter()
            .any(|m| m.id != leaving.id && m.grants(Role::Admin, today));
        if others || !leaving.grants(Role::Admin, today) {
            Ok(())
        } else {
            Err(OrganizationError::LastAdmin)
        }
    }
}
