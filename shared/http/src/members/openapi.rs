//! The members routes' part of `/openapi.json`: paths, parameters, the HAL
//! listing and the schemas of people, organizations and memberships.

use serde_json::{json, Map, Value};

fn schema(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// Responses by status: a 2xx names its schema (`None`: no body), an error is `{"code","message"}`.
fn answers(list: &[(&str, &str, Option<&str>)]) -> Value {
    let mut responses = Map::new();
    for (status, description, body) in list {
        let answer = match (status.starts_with('2'), body) {
            (true, None) => json!({"description": description}),
            (true, Some(name)) => {
                json!({"description": description, "content": {"application/json": {"schema": schema(name)}}})
            }
            (false, _) => {
                json!({"description": description, "content": {"application/json": {"schema": schema("Error")}}})
            }
        };
        responses.insert((*status).to_owned(), answer);
    }
    Value::Object(responses)
}

/// The answers every members route may give besides its own.
const COMMON: [(&str, &str, Option<&str>); 2] = [
    ("401", "UNAUTHENTICATED: no valid session", None),
    ("503", "SERVICE_UNAVAILABLE", None),
];

fn operation(
    summary: &str,
    parameters: &[Value],
    body: Option<&str>,
    own: &[(&str, &str, Option<&str>)],
) -> Value {
    let mut list = own.to_vec();
    list.extend(COMMON);
    let mut operation = json!({
        "summary": summary,
        "security": [{"bearer": []}],
        "parameters": parameters,
        "responses": answers(&list),
    });
    if let Some(name) = body {
        operation["requestBody"] =
            json!({"required": true, "content": {"application/json": {"schema": schema(name)}}});
    }
    operation
}

fn path_parameter(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "description": description,
           "schema": {"type": "string", "format": "uuid"}})
}

fn paging() -> [Value; 2] {
    [
        json!({"name": "page", "in": "query", "required": false,
               "schema": {"type": "integer", "minimum": 1, "default": 1}}),
        json!({"name": "limit", "in": "query", "required": false,
               "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 10}}),
    ]
}

fn file(summary: &str, media_type: &str) -> Value {
    json!({
        "summary": summary,
        "security": [{"bearer": []}],
        "parameters": [path_parameter("id", "the organization")],
        "responses": {
            "200": {"description": "a header row, then one row per member",
                    "content": {media_type: {"schema": {"type": "string", "format": "binary"}}}},
            "401": {"description": "UNAUTHENTICATED", "content": {"application/json": {"schema": schema("Error")}}},
            "403": {"description": "FORBIDDEN: needs ORGANIZATION:EXPORT", "content": {"application/json": {"schema": schema("Error")}}},
            "404": {"description": "ORGANIZATION_NOT_FOUND", "content": {"application/json": {"schema": schema("Error")}}}
        }
    })
}

/// The members paths, with their operations.
pub fn paths() -> Vec<(&'static str, Value)> {
    let organization = path_parameter("id", "the organization");
    let person = path_parameter("id", "the person's account");
    let member = path_parameter("memberId", "the membership (never the person's id)");
    let [page, limit] = paging();
    vec![
        (
            "/people",
            json!({"get": operation(
                "People: everyone (super administrator) or an organization's members (its administrators)",
                &[
                    json!({"name": "search[email]", "in": "query", "required": false,
                           "description": "part of the e-mail, any case", "schema": {"type": "string"}}),
                    json!({"name": "organization", "in": "query", "required": false,
                           "schema": {"type": "string", "format": "uuid"}}),
                    page.clone(), limit.clone(),
                ],
                None,
                &[
                    ("200", "a HAL listing of people", Some("PeopleListing")),
                    ("400", "INVALID_PAGINATION or INVALID_PARAMETER", None),
                    ("403", "FORBIDDEN", None),
                    ("404", "ORGANIZATION_NOT_FOUND", None),
                ],
            )}),
        ),
        (
            "/people/{id}",
            json!({"get": operation(
                "One person: oneself, an administrator of a shared organization, or a super administrator",
                std::slice::from_ref(&person),
                None,
                &[
                    ("200", "the person", Some("Person")),
                    ("403", "FORBIDDEN", None),
                    ("404", "PERSON_NOT_FOUND", None),
                ],
            )}),
        ),
        (
            "/people/{id}/memberships",
            json!({"get": operation(
                "A person's memberships and roles (seed 001's example)",
                &[person, page.clone(), limit.clone()],
                None,
                &[
                    ("200", "a HAL listing of memberships", Some("MembershipListing")),
                    ("400", "INVALID_PAGINATION", None),
                    ("403", "FORBIDDEN", None),
                    ("404", "PERSON_NOT_FOUND", None),
                ],
            )}),
        ),
        (
            "/organizations",
            json!({"post": operation(
                "Create an organization; its creator becomes its administrator",
                &[],
                Some("OrganizationInput"),
                &[
                    ("201", "the organization", Some("Organization")),
                    ("400", "INVALID_JSON", None),
                    ("403", "FORBIDDEN: a parent needs its administrator", None),
                    ("422", "VALIDATION_ERROR naming the field", None),
                ],
            )}),
        ),
        (
            "/organizations/{id}",
            json!({
                "get": operation(
                    "One organization and its membership policy",
                    std::slice::from_ref(&organization),
                    None,
                    &[("200", "the organization", Some("Organization")), ("404", "ORGANIZATION_NOT_FOUND", None)],
                ),
                "patch": operation(
                    "Change the name, parent, policy or titles (its administrators); absent fields keep their values, null clears",
                    std::slice::from_ref(&organization),
                    Some("OrganizationInput"),
                    &[
                        ("200", "the organization", Some("Organization")),
                        ("400", "INVALID_JSON", None),
                        ("403", "FORBIDDEN", None),
                        ("404", "ORGANIZATION_NOT_FOUND", None),
                        ("409", "VERSION_CONFLICT", None),
                        ("422", "VALIDATION_ERROR naming the field", None),
                    ],
                )
            }),
        ),
        (
            "/organizations/{id}/members",
            json!({
                "get": operation(
                    "Every member, valid or not, with or without roles (its administrators)",
                    &[organization.clone(), page.clone(), limit.clone()],
                    None,
                    &[
                        ("200", "a HAL listing of members", Some("MemberListing")),
                        ("400", "INVALID_PAGINATION", None),
                        ("403", "FORBIDDEN", None),
                        ("404", "ORGANIZATION_NOT_FOUND", None),
                    ],
                ),
                "post": operation(
                    "Add a member under the membership rules: window, parent club, overlap, fee, end date (its administrators)",
                    std::slice::from_ref(&organization),
                    Some("NewMember"),
                    &[
                        ("201", "the membership", Some("Membership")),
                        ("400", "INVALID_JSON", None),
                        ("403", "FORBIDDEN", None),
                        ("404", "ORGANIZATION_NOT_FOUND", None),
                        ("409", "ALREADY_MEMBER or AGENT_IN_ANOTHER_ORGANIZATION", None),
                        ("422", "MEMBERSHIP_RULE with the rule's message, or VALIDATION_ERROR", None),
                    ],
                )
            }),
        ),
        (
            "/organizations/{id}/members/{memberId}",
            json!({
                "get": operation(
                    "One membership (its administrators, and the member)",
                    &[organization.clone(), member.clone()],
                    None,
                    &[
                        ("200", "the membership", Some("Membership")),
                        ("403", "FORBIDDEN", None),
                        ("404", "ORGANIZATION_NOT_FOUND or MEMBER_NOT_FOUND", None),
                    ],
                ),
                "patch": operation(
                    "Change a member's roles and titles (its administrators)",
                    &[organization.clone(), member.clone()],
                    Some("MemberPatch"),
                    &[
                        ("200", "the membership", Some("Membership")),
                        ("400", "INVALID_JSON", None),
                        ("403", "FORBIDDEN", None),
                        ("404", "ORGANIZATION_NOT_FOUND or MEMBER_NOT_FOUND", None),
                        ("409", "AGENT_IN_ANOTHER_ORGANIZATION, LAST_ADMIN or VERSION_CONFLICT", None),
                        ("422", "VALIDATION_ERROR naming the field", None),
                    ],
                ),
                "delete": operation(
                    "Remove a membership (its administrators); its fee entry stays",
                    &[organization.clone(), member.clone()],
                    None,
                    &[
                        ("204", "removed", None),
                        ("403", "FORBIDDEN", None),
                        ("404", "ORGANIZATION_NOT_FOUND or MEMBER_NOT_FOUND", None),
                        ("409", "LAST_ADMIN or VERSION_CONFLICT", None),
                    ],
                )
            }),
        ),
        (
            "/organizations/{id}/members/{memberId}/renewal",
            json!({"post": operation(
                "Renew a membership into the current membership year, with the same roles (its administrators)",
                &[organization.clone(), member],
                None,
                &[
                    ("201", "the new membership", Some("Membership")),
                    ("403", "FORBIDDEN", None),
                    ("404", "ORGANIZATION_NOT_FOUND or MEMBER_NOT_FOUND", None),
                    ("409", "ALREADY_RENEWED or AGENT_IN_ANOTHER_ORGANIZATION", None),
                    ("422", "MEMBERSHIP_RULE: nothing to renew, or a rule refuses it", None),
                ],
            )}),
        ),
        (
            "/organizations/{id}/statistics",
            json!({"get": operation(
                "Members by role, new and expiring memberships by month, fees collected (ORGANIZATION:ANALYTICS)",
                &[organization],
                None,
                &[
                    ("200", "the figures today", Some("Statistics")),
                    ("403", "FORBIDDEN", None),
                    ("404", "ORGANIZATION_NOT_FOUND", None),
                ],
            )}),
        ),
        (
            "/organizations/{id}/members.xlsx",
            json!({"get": file(
                "The members as a spreadsheet (ORGANIZATION:EXPORT)",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )}),
        ),
        (
            "/organizations/{id}/members.csv",
            json!({"get": file("The members as CSV, RFC 4180, UTF-8 (ORGANIZATION:EXPORT)", "text/csv")}),
        ),
    ]
}

fn listing(item: &str) -> Value {
    let link = schema("Link");
    json!({"type": "object", "required": ["page", "limit", "pages", "total", "_links", "_embedded"],
           "properties": {
               "page": {"type": "integer"}, "limit": {"type": "integer"},
               "pages": {"type": "integer"}, "total": {"type": "integer"},
               "_links": {"type": "object", "required": ["self", "first", "last"], "properties": {
                   "self": link, "first": link, "last": link, "next": link, "prev": link}},
               "_embedded": {"type": "object", "required": ["items"], "properties": {
                   "items": {"type": "array", "items": schema(item)}}}}})
}

/// The schemas the members paths refer to, by name.
pub fn schemas() -> Vec<(&'static str, Value)> {
    let role = json!({"type": "string", "enum": [
        "ORGANIZATION:ADMIN", "ORGANIZATION:AGENT", "ORGANIZATION:ANALYTICS", "ORGANIZATION:EXPORT"]});
    let date = json!({"type": "string", "format": "date"});
    let nullable_date = json!({"type": "string", "format": "date", "nullable": true});
    let cents = json!({"type": "integer", "minimum": 0});
    let mapped = json!({"type": "object", "required": ["href", "iriTemplate"], "properties": {
        "href": {"type": "string"},
        "iriTemplate": {"type": "object", "properties": {"mapping": {"type": "object"}}}}});
    let counts = json!({"type": "object", "additionalProperties": {"type": "integer"}});
    vec![
        (
            "Link",
            json!({"type": "object", "required": ["href"], "properties": {"href": {"type": "string"}}}),
        ),
        ("PeopleListing", listing("Person")),
        ("MembershipListing", listing("Membership")),
        ("MemberListing", listing("Membership")),
        (
            "Person",
            json!({"type": "object", "required": ["id", "userName", "email", "firstName", "lastName", "state", "paid", "_links"],
                   "properties": {
                       "id": {"type": "string", "format": "uuid"}, "userName": {"type": "string"},
                       "email": {"type": "string"}, "firstName": {"type": "string"},
                       "lastName": {"type": "string"},
                       "state": {"type": "string", "enum": ["pending_activation", "active", "inactive"]},
                       "paid": {"type": "boolean"}, "_links": {"type": "object"}}}),
        ),
        (
            "Membership",
            json!({"type": "object", "required": ["id", "roles", "createdAt", "_links", "_embedded"],
                   "properties": {
                       "id": {"type": "string", "format": "uuid", "description": "the membership's id, never the person's"},
                       "roles": {"type": "array", "items": role},
                       "titles": {"type": "array", "items": {"type": "string"}},
                       "dateStart": date, "dateEnd": date, "fee": cents,
                       "createdAt": {"type": "string", "format": "date-time"},
                       "_links": {"type": "object", "required": ["self", "person", "organization"], "properties": {
                           "self": mapped, "person": mapped, "organization": mapped}},
                       "_embedded": {"type": "object", "properties": {
                           "availableRoles": {"type": "array", "items": role},
                           "person": {"type": "object", "nullable": true,
                                      "description": "in an organization's member listing"}}}}}),
        ),
        (
            "Organization",
            json!({"type": "object", "required": ["id", "name", "parent", "require_memberships", "titles", "_links"],
                   "properties": {
                       "id": {"type": "string", "format": "uuid"}, "name": {"type": "string"},
                       "parent": {"type": "string", "format": "uuid", "nullable": true},
                       "require_memberships": {"type": "boolean"},
                       "membership_start": nullable_date, "membership_end": nullable_date,
                       "membership_duration": {"type": "integer", "nullable": true},
                       "membership_fee_paid": cents, "membership_fee_unpaid": cents,
                       "titles": {"type": "array", "items": {"type": "string"}},
                       "_links": {"type": "object"}}}),
        ),
        (
            "OrganizationInput",
            json!({"type": "object", "additionalProperties": false,
                   "description": "name is required on creation; without require_memberships the dates, duration and fees are cleared",
                   "properties": {
                       "name": {"type": "string", "minLength": 1, "maxLength": 200},
                       "parent": {"type": "string", "format": "uuid", "nullable": true},
                       "require_memberships": {"type": "boolean"},
                       "membership_start": nullable_date, "membership_end": nullable_date,
                       "membership_duration": {"type": "integer", "minimum": 0, "nullable": true},
                       "membership_fee_paid": cents, "membership_fee_unpaid": cents,
                       "titles": {"type": "array", "items": {"type": "string"}}}}),
        ),
        (
            "NewMember",
            json!({"type": "object", "additionalProperties": false, "required": ["person"],
                   "properties": {
                       "person": {"type": "string", "format": "uuid"},
                       "roles": {"type": "array", "items": role},
                       "titles": {"type": "array", "items": {"type": "string"}},
                       "date_start": {"type": "string", "format": "date", "description": "default: today"}}}),
        ),
        (
            "MemberPatch",
            json!({"type": "object", "additionalProperties": false, "properties": {
                "roles": {"type": "array", "items": role},
                "titles": {"type": "array", "items": {"type": "string"}}}}),
        ),
        (
            "Statistics",
            json!({"type": "object", "required": ["date", "active_members", "members_by_role", "new_by_month",
                                                  "expiring_by_month", "fees_collected", "fees_by_month"],
                   "properties": {
                       "date": date, "active_members": {"type": "integer"},
                       "members_by_role": counts, "new_by_month": counts,
                       "expiring_by_month": counts, "fees_collected": cents, "fees_by_month": counts}}),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::members::ROUTES;
    use std::collections::BTreeSet;

    #[test]
    fn the_document_describes_exactly_the_routes_of_the_router() {
        let described: BTreeSet<(String, String)> = paths()
            .into_iter()
            .flat_map(|(path, operations)| {
                let methods: Vec<String> = operations
                    .as_object()
                    .map(|o| o.keys().map(|m| m.to_uppercase()).collect())
                    .unwrap_or_default();
                methods.into_iter().map(move |m| (m, path.to_owned()))
            })
            .collect();
        let routed: BTreeSet<(String, String)> = ROUTES
            .iter()
            .map(|r| (r.method.as_str().to_owned(), r.path.to_owned()))
            .collect();
        assert_eq!(described, routed);
    }
}
