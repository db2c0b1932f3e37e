//! The members routes, declared once in [`ROUTES`] (the router is built from
//! that table, so tests and the OpenAPI document can list every route): each
//! handler checks the session, parses, calls one use case and answers; every
//! error goes through [`super::error`].

use super::auth::SignedIn;
use super::body::Body;
use super::error::export_failed;
use super::query::{ListQuery, RawQuery};
use super::{export, hal, view, MembersApi};
use crate::error::ApiError;
use axum::extract::rejection::PathRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::{Json, Router};
use patron_hub_domain::accounts::{AccountId, OrganizationId};
use patron_hub_domain::organizations::{
    MemberPatch, MembershipId, NewMember, OrganizationError, OrganizationInput,
};
use uuid::Uuid;

/// Organization and member bodies are a few hundred bytes.
const MAX_BODY: usize = 64 * 1024;

type Api = State<MembersApi>;
type Answer = Result<Response, ApiError>;
type OnePath = Result<Path<String>, PathRejection>;
type TwoPaths = Result<Path<(String, String)>, PathRejection>;

/// An HTTP method of the members API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verb {
    /// Reads.
    Get,
    /// Creates.
    Post,
    /// Changes part of a resource.
    Patch,
    /// Removes.
    Delete,
}

impl Verb {
    /// The method's name, as in a request line.
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::Post => "POST",
            Verb::Patch => "PATCH",
            Verb::Delete => "DELETE",
        }
    }

    fn filter(self) -> MethodFilter {
        match self {
            Verb::Get => MethodFilter::GET,
            Verb::Post => MethodFilter::POST,
            Verb::Patch => MethodFilter::PATCH,
            Verb::Delete => MethodFilter::DELETE,
        }
    }
}

/// One route of the members API: its method, its path as OpenAPI writes it,
/// and the handler behind it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// The method.
    pub method: Verb,
    /// The path, with `{id}` and `{memberId}` variables.
    pub path: &'static str,
    endpoint: Endpoint,
}

/// The handlers, one per route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    People,
    Person,
    PersonMemberships,
    CreateOrganization,
    Organization,
    UpdateOrganization,
    Members,
    AddMember,
    Member,
    UpdateMember,
    RemoveMember,
    Renewal,
    Statistics,
    ExportXlsx,
    ExportCsv,
}

const fn route(method: Verb, path: &'static str, endpoint: Endpoint) -> Route {
    Route {
        method,
        path,
        endpoint,
    }
}

/// Every route of the members API: the router serves exactly these.
#[rustfmt::skip]
pub const ROUTES: [Route; 15] = [
    route(Verb::Get,    "/people",                                         Endpoint::People),
    route(Verb::Get,    "/people/{id}",                                    Endpoint::Person),
    route(Verb::Get,    "/people/{id}/memberships",                        Endpoint::PersonMemberships),
    route(Verb::Post,   "/organizations",                                  Endpoint::CreateOrganization),
    route(Verb::Get,    "/organizations/{id}",                             Endpoint::Organization),
    route(Verb::Patch,  "/organizations/{id}",                             Endpoint::UpdateOrganization),
    route(Verb::Get,    "/organizations/{id}/members",                     Endpoint::Members),
    route(Verb::Post,   "/organizations/{id}/members",                     Endpoint::AddMember),
    route(Verb::Get,    "/organizations/{id}/members/{memberId}",          Endpoint::Member),
    route(Verb::Patch,  "/organizations/{id}/members/{memberId}",          Endpoint::UpdateMember),
    route(Verb::Delete, "/organizations/{id}/members/{memberId}",          Endpoint::RemoveMember),
    route(Verb::Post,   "/organizations/{id}/members/{memberId}/renewal",  Endpoint::Renewal),
    route(Verb::Get,    "/organizations/{id}/statistics",                  Endpoint::Statistics),
    route(Verb::Get,    "/organizations/{id}/members.xlsx",                Endpoint::ExportXlsx),
    route(Verb::Get,    "/organizations/{id}/members.csv",                 Endpoint::ExportCsv),
];

impl Endpoint {
    fn handler(self, filter: MethodFilter) -> MethodRouter<MembersApi> {
        match self {
            Endpoint::People => on(filter, people),
            Endpoint::Person => on(filter, person),
            Endpoint::PersonMemberships => on(filter, person_memberships),
            Endpoint::CreateOrganization => on(filter, create_organization),
            Endpoint::Organization => on(filter, organization),
            Endpoint::UpdateOrganization => on(filter, update_organization),
            Endpoint::Members => on(filter, members),
            Endpoint::AddMember => on(filter, add_member),
            Endpoint::Member => on(filter, member),
            Endpoint::UpdateMember => on(filter, update_member),
            Endpoint::RemoveMember => on(filter, remove_member),
            Endpoint::Renewal => on(filter, renew_member),
            Endpoint::Statistics => on(filter, statistics),
            Endpoint::ExportXlsx => on(filter, export_xlsx),
            Endpoint::ExportCsv => on(filter, export_csv),
        }
    }
}

/// Every members route (exactly [`ROUTES`]), on services built once at
/// start-up; no fallback, so that `serve` can merge it with the other routers.
pub fn router(api: MembersApi) -> Router {
    ROUTES
        .iter()
        .fold(Router::new(), |router, route| {
            router.route(route.path, route.endpoint.handler(route.method.filter()))
        })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(api)
}

/// A path's id; one that is not a UUID names nothing (`missing`).
fn uuid(text: &str, missing: OrganizationError) -> Result<Uuid, OrganizationError> {
    text.parse().map_err(|_| missing)
}

fn person_id(path: OnePath) -> Result<AccountId, OrganizationError> {
    let Path(id) = path.map_err(|_| OrganizationError::PersonNotFound)?;
    uuid(&id, OrganizationError::PersonNotFound).map(AccountId)
}

fn organization_id(path: OnePath) -> Result<OrganizationId, OrganizationError> {
    let Path(id) = path.map_err(|_| OrganizationError::OrganizationNotFound)?;
    uuid(&id, OrganizationError::OrganizationNotFound).map(OrganizationId)
}

fn member_ids(path: TwoPaths) -> Result<(OrganizationId, MembershipId), OrganizationError> {
    let Path((organization, member)) = path.map_err(|_| OrganizationError::OrganizationNotFound)?;
    Ok((
        OrganizationId(uuid(
            &organization,
            OrganizationError::OrganizationNotFound,
        )?),
        MembershipId(uuid(&member, OrganizationError::MemberNotFound)?),
    ))
}

/// 201 with the new resource and its `Location`.
fn created(location: String, body: serde_json::Value) -> Response {
    (
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(body),
    )
        .into_response()
}

/// `GET /people[?search[email]=…][&organization=…]`.
async fn people(State(api): Api, SignedIn(actor): SignedIn, query: RawQuery) -> Answer {
    let query = ListQuery::from_request(query)?;
    let page = query.page()?;
    let (filters, kept) = query.people()?;
    let people = api.service.people(&actor, filters, page).await?;
    let listing = hal::listing("/people", &kept, people.map(|p| view::person(&p)));
    Ok(Json(listing).into_response())
}

/// `GET /people/{id}`.
async fn person(State(api): Api, SignedIn(actor): SignedIn, path: OnePath) -> Answer {
    let account = api.service.person(&actor, person_id(path)?).await?;
    Ok(Json(view::person(&account)).into_response())
}

/// `GET /people/{id}/memberships`: seed 001's listing.
async fn person_memberships(
    State(api): Api,
    SignedIn(actor): SignedIn,
    path: OnePath,
    query: RawQuery,
) -> Answer {
    let id = person_id(path)?;
    let page = ListQuery::from_request(query)?.page()?;
    let memberships = api.service.person_memberships(&actor, id, page).await?;
    let path = format!("{}/memberships", view::person_href(id.0));
    let listing = hal::listing(&path, &[], memberships.map(|m| view::membership(&m)));
    Ok(Json(listing).into_response())
}

/// `POST /organizations`: the caller becomes its first administrator.
async fn create_organization(
    State(api): Api,
    SignedIn(actor): SignedIn,
    Body(input): Body<OrganizationInput>,
) -> Answer {
    let (organization, founder) = api.service.create_organization(&actor, input).await?;
    tracing::info!(organization = %organization.id.0, founder = %founder.id, "organization created");
    Ok(created(
        view::organization_href(organization.id.0),
        view::organization(&organization),
    ))
}

/// `GET /organizations/{id}`.
async fn organization(State(api): Api, SignedIn(actor): SignedIn, path: OnePath) -> Answer {
    let organization = api
        .service
        .get_organization(&actor, organization_id(path)?)
        .await?;
    Ok(Json(view::organization(&organization)).into_response())
}

/// `PATCH /organizations/{id}`: name, parent, policy, titles.
async fn update_organization(
    State(api): Api,
    SignedIn(actor): SignedIn,
    path: OnePath,
    Body(input): Body<OrganizationInput>,
) -> Answer {
    let id = organization_id(path)?;
    let organization = api.service.update_organization(&actor, id, input).await?;
    Ok(Json(view::organization(&organization)).into_response())
}

/// `GET /organizations/{id}/members`: every member, with a person summary.
async fn members(
    State(api): Api,
    SignedIn(actor): SignedIn,
    path: OnePath,
    query: RawQuery,
) -> Answer {
    let id = organization_id(path)?;
    let page = ListQuery::from_request(query)?.page()?;
    let members = api.service.list_members(&actor, id, page).await?;
    let path = format!("{}/members", view::organization_href(id.0));
    let listing = hal::listing(&path, &[], members.map(|m| view::member(&m)));
    Ok(Json(listing).into_response())
}

/// `POST /organizations/{id}/members`: under seed 004's rules.
async fn add_member(
    State(api): Api,
    SignedIn(actor): SignedIn,
    path: OnePath,
    Body(input): Body<NewMember>,
) -> Answer {
    let id = organization_id(path)?;
    let membership = api.service.add_member(&actor, id, input).await?;
    tracing::info!(organization = %id.0, member = %membership.id, "member added");
    Ok(created(
        view::member_href(&membership),
        view::membership(&membership),
    ))
}

/// `GET /organizations/{id}/members/{memberId}`.
async fn member(State(api): Api, SignedIn(actor): SignedIn, path: TwoPaths) -> Answer {
    let (id, member) = member_ids(path)?;
    let membership = api.service.get_member(&actor, id, member).await?;
    Ok(Json(view::membership(&membership)).into_response())
}

/// `PATCH /organizations/{id}/members/{memberId}`: roles and titles.
async fn update_member(
    State(api): Api,
    SignedIn(actor): SignedIn,
    path: TwoPaths,
    Body(patch): Body<MemberPatch>,
) -> Answer {
    let (id, member) = member_ids(path)?;
    let membership = api.service.update_member(&actor, id, member, patch).await?;
    Ok(Json(view::membership(&membership)).into_response())
}

/// `DELETE /organizations/{id}/members/{memberId}`.
async fn remove_member(State(api): Api, SignedIn(actor): SignedIn, path: TwoPaths) -> Answer {
    let (id, member) = member_ids(path)?;
    api.service.remove_member(&actor, id, member).await?;
    tracing::info!(organization = %id.0, %member, "member removed");
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /organizations/{id}/members/{memberId}/renewal`: 201 with the new membership.
async fn renew_member(State(api): Api, SignedIn(actor): SignedIn, path: TwoPaths) -> Answer {
    let (id, member) = member_ids(path)?;
    let renewed = api.service.renew_member(&actor, id, member).await?;
    tracing::info!(organization = %id.0, renewed = %member, member = %renewed.id, "membership renewed");
    Ok(created(
        view::member_href(&renewed),
        view::membership(&renewed),
    ))
}

/// `GET /organizations/{id}/statistics`.
async fn statistics(State(api): Api, SignedIn(actor): SignedIn, path: OnePath) -> Answer {
    let figures = api
        .service
        .statistics(&actor, organization_id(path)?)
        .await?;
    Ok(Json(figures).into_response())
}

/// A file download: its type and name.
fn attachment(content_type: &'static str, name: String, bytes: impl IntoResponse) -> Response {
    let disposition = format!("attachment; filename=\"{name}\"");
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        bytes,
    )
        .into_response()
}

/// `GET /organizations/{id}/members.xlsx`.
async fn export_xlsx(State(api): Api, SignedIn(actor): SignedIn, path: OnePath) -> Answer {
    let id = organization_id(path)?;
    let members = api.service.export_members(&actor, id).await?;
    let today = api.service.today();
    let bytes = export::xlsx(&members, today).map_err(|e| export_failed(&e))?;
    Ok(attachment(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        format!("members-{}.xlsx", id.0),
        bytes,
    ))
}

/// `GET /organizations/{id}/members.csv`.
async fn export_csv(State(api): Api, SignedIn(actor): SignedIn, path: OnePath) -> Answer {
    let id = organization_id(path)?;
    let members = api.service.export_members(&actor, id).await?;
    let today = api.service.today();
    Ok(attachment(
        "text/csv; charset=utf-8; header=present",
        format!("members-{}.csv", id.0),
        export::csv(&members, today),
    ))
}
