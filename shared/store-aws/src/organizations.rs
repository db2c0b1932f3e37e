//! The organization store on DynamoDB (items: see `membership_items`). A
//! creation is one transaction of the organization, its rollover entry and its
//! founder's membership (with the founder's checks, on the founder's first
//! day); an update one of the organization under its version condition with
//! its rollover entry moved. The organizations due on a day are one Query of
//! the rollover entries due by then, which carry a copy of the organization.

use crate::item::{json, key};
use crate::keys::{day_end, organization_pk, ORGANIZATION_SK, ROLLOVER_PK};
use crate::membership_items::{Writes, ORGANIZATION};
use crate::AwsStore;
use async_trait::async_trait;
use chrono::NaiveDate;
use patron_hub_domain::accounts::OrganizationId;
use patron_hub_domain::organizations::{
    Membership, MembershipWriteError, Organization, OrganizationStore,
};
use patron_hub_domain::StoreError;

#[async_trait]
impl OrganizationStore for AwsStore {
    async fn create(
        &self,
        organization: &Organization,
        founder: &Membership,
    ) -> Result<(), MembershipWriteError> {
        self.write_memberships("TransactWriteItems organization create", || async {
            let mut writes = Writes::default();
            writes.create_organization(&self.table, organization)?;
            self.plan_add(&mut writes, founder, None, founder.date_start)
                .await?;
            Ok(writes)
        })
        .await
    }

    async fn get(&self, id: OrganizationId) -> Result<Option<Organization>, StoreError> {
        self.get_item(
            "GetItem organization",
            key(organization_pk(id), ORGANIZATION_SK),
        )
        .await?
        .map(|item| json(&item, ORGANIZATION))
        .transpose()
    }

    async fn update(&self, organization: &Organization) -> Result<(), MembershipWriteError> {
        let expected = organization.version.checked_sub(1);
        let stored = OrganizationStore::get(self, organization.id)
            .await?
            .filter(|stored| Some(stored.version) == expected)
            .ok_or(MembershipWriteError::VersionConflict)?;
        self.write_memberships("TransactWriteItems organization update", || async {
            let mut writes = Writes::default();
            writes.update_organization(&self.table, &stored, organization)?;
            Ok(writes)
        })
        .await
    }

    async fn due_for_rollover(
        &self,
        today: NaiveDate,
        limit: usize,
    ) -> Result<Vec<Organization>, StoreError> {
        // Entries due by today, earliest first; those rolled today already
        // are passed over (and paged past).
        self.due_items(
            "Query rollover index",
            ROLLOVER_PK,
            day_end(today),
            limit,
            |entry| {
                let organization: Organization = json(&entry, ORGANIZATION)?;
                Ok(organization.rollover_is_due(today).then_some(organization))
            },
        )
        .await
    }
}
