//! The search, the patron page, and the actions with their confirmation pages.

use super::{checked, form_expired, not_found, Api, FormOf, Signed};
use crate::console::html::{self, page};
use crate::console::i18n::Lang;
use crate::console::pages::{self, error_page, ActionKind};
use crate::console::session::{see_other, Staff};
use crate::console::ConsoleApi;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use patron_hub_domain::console::{ConsoleError, Presence};
use patron_hub_domain::PrimaryId;
use serde::Deserialize;

/// `GET /console`: the search form.
pub(super) async fn home(lang: Lang, staff: Staff) -> Response {
    let main = pages::search_form(&lang, "", None);
    page(
        &lang,
        Some(&staff),
        StatusCode::OK,
        lang.text().search_title,
        &main,
    )
}

#[derive(Deserialize)]
pub(super) struct SearchQuery {
    #[serde(default)]
    q: String,
}

/// `GET /console/search?q=`: every institution asked at once.
pub(super) async fn search(
    State(api): Api,
    lang: Lang,
    staff: Staff,
    query: Result<Query<SearchQuery>, QueryRejection>,
) -> Response {
    let t = lang.text();
    let text = query.map(|Query(q)| q.q).unwrap_or_default();
    match api.console.search(&staff.account, &text).await {
        Ok(found) => {
            let main =
                pages::search_form(&lang, &text, None) + &pages::results(&lang, &text, &found);
            page(&lang, Some(&staff), StatusCode::OK, t.search_title, &main)
        }
        Err(ConsoleError::EmptySearch) => {
            let main = pages::search_form(&lang, &text, Some(t.search_empty));
            page(
                &lang,
                Some(&staff),
                StatusCode::UNPROCESSABLE_ENTITY,
                t.search_title,
                &main,
            )
        }
        Err(error) => error_page(&lang, &staff, error),
    }
}

fn primary_id(path: Result<Path<String>, PathRejection>) -> Option<PrimaryId> {
    let Path(id) = path.ok()?;
    PrimaryId::parse(&id).ok()
}

/// `GET /console/patrons/{id}`.
pub(super) async fn patron(
    State(api): Api,
    lang: Lang,
    staff: Staff,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let Some(id) = primary_id(path) else {
        return not_found(&lang, &staff);
    };
    match api.console.overview(&staff.account, &id).await {
        Ok(overview) => {
            let title = format!("{} {}", lang.text().patron, overview.primary_id);
            let main = pages::patron(&lang, &overview);
            page(&lang, Some(&staff), StatusCode::OK, &title, &main)
        }
        Err(error) => error_page(&lang, &staff, error),
    }
}

pub(super) type ActionPath = Result<Path<(String, String)>, PathRejection>;

fn action_path(path: ActionPath) -> Option<(PrimaryId, ActionKind)> {
    let Path((id, action)) = path.ok()?;
    Some((PrimaryId::parse(&id).ok()?, ActionKind::parse(&action)?))
}

/// `GET /console/patrons/{id}/actions/{action}`: what will happen where.
pub(super) async fn confirmation(
    State(api): Api,
    lang: Lang,
    staff: Staff,
    path: ActionPath,
) -> Response {
    let Some((id, kind)) = action_path(path) else {
        return not_found(&lang, &staff);
    };
    confirmation_page(&api, &lang, &staff, &id, kind, None, StatusCode::OK).await
}

/// The confirmation page, with the value typed (if any) and what was wrong with it.
async fn confirmation_page(
    api: &ConsoleApi,
    lang: &Lang,
    staff: &Staff,
    id: &PrimaryId,
    kind: ActionKind,
    typed: Option<(&str, &str)>,
    status: StatusCode,
) -> Response {
    let (overview, targets) = match api
        .console
        .plan(&staff.account, id, &kind.to_plan(id))
        .await
    {
        Ok(plan) => plan,
        Err(error) => return error_page(lang, staff, error),
    };
    // A new expiry date starts from the one the first institution has now.
    let current_expiry = || {
        overview.rows.iter().find_map(|row| match &row.presence {
            Presence::Present { account } if targets.contains(&row.institution) => {
                account.expiry_date.map(html::day)
            }
            _ => None,
        })
    };
    let (value, problem) = match typed {
        Some((value, problem)) => (value.to_owned(), Some(problem)),
        None if kind == ActionKind::Expiry => (current_expiry().unwrap_or_default(), None),
        None => (String::new(), None),
    };
    let main = pages::confirm(lang, staff, kind, &overview, &targets, &value, problem);
    page(lang, Some(staff), status, kind.label(lang.text()), &main)
}

#[derive(Deserialize)]
pub(super) struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    expiry_date: String,
    #[serde(default)]
    new_primary_id: String,
}

impl Signed for ActionForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /console/patrons/{id}/actions/{action}`: queues the action's jobs,
/// then 303 to the patron page, whose audit log shows each institution's result.
pub(super) async fn act(
    State(api): Api,
    lang: Lang,
    staff: Staff,
    headers: HeaderMap,
    path: ActionPath,
    form: FormOf<ActionForm>,
) -> Response {
    let Some((id, kind)) = action_path(path) else {
        return not_found(&lang, &staff);
    };
    let Some(form) = checked(&api, &staff, &headers, form) else {
        return form_expired(&lang, Some(&staff), "/console");
    };
    let value = match kind {
        ActionKind::Expiry => form.expiry_date.as_str(),
        ActionKind::PrimaryId => form.new_primary_id.as_str(),
        ActionKind::Delete | ActionKind::Redistribute => "",
    };
    let action = match kind.confirmed(lang.text(), &id, value) {
        Ok(action) => action,
        Err(problem) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            let typed = Some((value, problem));
            return confirmation_page(&api, &lang, &staff, &id, kind, typed, status).await;
        }
    };
    match api.console.perform(&staff.account, &id, action).await {
        Ok(entry) => {
            tracing::info!(
                action = %entry.id,
                kind = kind.name(),
                primary_id = %id,
                institutions = entry.institutions.len(),
                account = %staff.account.id.0,
                "console action queued"
            );
            see_other(&lang.href(&format!("/console/patrons/{}", html::encode(id.as_str()))))
        }
        Err(error) => error_page(&lang, &staff, error),
    }
}
