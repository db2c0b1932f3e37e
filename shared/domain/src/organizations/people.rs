//! `/people`: the accounts of the network as organizations see them.

use super::{
    Membership, OrganizationError, OrganizationService, Page, PageRequest, PeopleQuery, Role,
};
use crate::accounts::{Account, AccountId};

/// Longest listing `/people` builds before paging (accounts beyond are not listed).
pub const MAX_PEOPLE: usize = 10_000;

impl OrganizationService {
    /// `GET /people`: a super administrator lists everyone; an
    /// organization's administrators list its members (`organization=`).
    /// `search[email]` keeps the e-mails containing the text, whatever its case.
    pub async fn people(
        &self,
        actor: &Account,
        query: PeopleQuery,
        page: PageRequest,
    ) -> Result<Page<Account>, OrganizationError> {
        let caller = self.caller(actor).await?;
        let needle = query
            .email_contains
            .as_deref()
            .map(str::trim)
            .unwrap_or_default()
            .to_lowercase();
        let mut people = match query.organization {
            Some(organization) => {
                self.organization(organization).await?;
                caller.require(Role::Admin, organization)?;
                let mut ids: Vec<AccountId> = self
                    .memberships
                    .of_organization(organization)
                    .await?
                    .into_iter()
                    .map(|m| m.person)
                    .collect();
                ids.sort();
                ids.dedup();
                let mut people = Vec::with_capacity(ids.len());
                for id in ids {
                    if let Some(account) = self.accounts.get(id).await? {
                        people.push(account);
                    }
                }
                people
            }
            None if caller.is_super_admin() => self.accounts.search(&needle, MAX_PEOPLE).await?,
            None => return Err(OrganizationError::Forbidden),
        };
        people.retain(|p| p.email.as_str().contains(&needle));
        people.sort_by_key(|p| p.user_name.key());
        Ok(page.slice(people))
    }

    /// `GET /people/{id}`: the person, a super administrator, or an
    /// administrator of an organization the person belongs to.
    pub async fn person(
        &self,
        actor: &Account,
        id: AccountId,
    ) -> Result<Account, OrganizationError> {
        let (account, _) = self.readable_person(actor, id).await?;
        Ok(account)
    }

    /// `GET /people/{id}/memberships`: the same readers as the person.
    pub async fn person_memberships(
        &self,
        actor: &Account,
        id: AccountId,
        page: PageRequest,
    ) -> Result<Page<Membership>, OrganizationError> {
        let (_, memberships) = self.readable_person(actor, id).await?;
        Ok(page.slice(memberships))
    }

    async fn readable_person(
        &self,
        actor: &Account,
        id: AccountId,
    ) -> Result<(Account, Vec<Membership>), OrganizationError> {
        let caller = self.caller(actor).await?;
        let memberships = if id == actor.id {
            caller.memberships.clone()
        } else {
            self.memberships.of_person(id).await?
        };
        if id != actor.id && !caller.may_read_person(&memberships) {
            // The same answer whether or not the person exists.
            return Err(OrganizationError::Forbidden);
        }
        let account = self
            .accounts
            .get(id)
            .await?
            .ok_or(OrganizationError::PersonNotFound)?;
        Ok((account, memberships))
    }
}
