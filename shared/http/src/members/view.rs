//! What the members API shows: people (never a password hash), organizations
//! with their policy, and memberships in seed 001's shape (their own id, the
//! roles, `createdAt`, templated links to themselves, the person and the
//! organization, and the roles one may hold).

use super::hal::{link, templated_link};
use chrono::SecondsFormat;
use patron_hub_domain::accounts::Account;
use patron_hub_domain::organizations::{Member, Membership, Organization, Role};
use serde_json::{json, Value};

/// `/people/{id}`.
pub fn person_href(id: impl std::fmt::Display) -> String {
    format!("/people/{id}")
}

/// `/organizations/{id}`.
pub fn organization_href(id: impl std::fmt::Display) -> String {
    format!("/organizations/{id}")
}

/// `/organizations/{id}/members/{memberId}`.
pub fn member_href(membership: &Membership) -> String {
    format!(
        "{}/members/{}",
        organization_href(membership.organization.0),
        membership.id
    )
}

/// A person as `/people` shows them.
pub fn person(account: &Account) -> Value {
    let href = person_href(account.id.0);
    json!({
        "id": account.id,
        "userName": account.user_name,
        "email": account.email,
        "firstName": account.first_name,
        "lastName": account.last_name,
        "state": account.state,
        "paid": account.paid,
        "_links": {
            "self": link(href.clone()),
            "memberships": link(format!("{href}/memberships")),
        },
    })
}

/// An organization with its membership policy (fields named as in requests).
pub fn organization(organization: &Organization) -> Value {
    let href = organization_href(organization.id.0);
    let policy = &organization.policy;
    let mut links = json!({
        "self": link(href.clone()),
        "members": link(format!("{href}/members")),
        "statistics": link(format!("{href}/statistics")),
    });
    if let Some(parent) = organization.parent {
        links["parent"] = link(organization_href(parent.0));
    }
    json!({
        "id": organization.id,
        "name": organization.name,
        "parent": organization.parent,
        "require_memberships": policy.require_memberships,
        "membership_start": policy.membership_start,
        "membership_end": policy.membership_end,
        "membership_duration": policy.membership_duration,
        "membership_fee_paid": policy.membership_fee_paid,
        "membership_fee_unpaid": policy.membership_fee_unpaid,
        "titles": organization.titles,
        "_links": links,
    })
}

/// A membership in seed 001's shape, with its dates, titles and fee.
pub fn membership(membership: &Membership) -> Value {
    let organization = membership.organization.0.to_string();
    let member = membership.id.to_string();
    let person = membership.person.0.to_string();
    json!({
        "id": membership.id,
        "roles": membership.roles,
        "titles": membership.titles,
        "dateStart": membership.date_start,
        "dateEnd": membership.date_end,
        "fee": membership.fee,
        "createdAt": membership.created_at.to_rfc3339_opts(SecondsFormat::Secs, false),
        "_links": {
            "self": templated_link(
                member_href(membership),
                &[("organization", organization.clone()), ("member", member)],
            ),
            "person": templated_link(person_href(&person), &[("person", person)]),
            "organization": templated_link(
                organization_href(&organization),
                &[("organization", organization)],
            ),
        },
        "_embedded": { "availableRoles": Role::ALL },
    })
}

/// A member of an organization's listing: the membership and who holds it.
pub fn member(member: &Member) -> Value {
    let mut view = membership(&member.membership);
    view["_embedded"]["person"] = match &member.person {
        Some(account) => json!({
            "id": account.id,
            "userName": account.user_name,
            "email": account.email,
            "firstName": account.first_name,
            "lastName": account.last_name,
        }),
        None => Value::Null,
    };
    view
}
