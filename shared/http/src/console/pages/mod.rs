//! The console's pages as HTML fragments (the `<main>` of each page), and the
//! one place a [`ConsoleError`] becomes a page with its status.

mod action;
mod dead_letters;
mod drift;
mod login;
mod operations;
mod patron;
mod search;

pub(super) use action::{confirm, ActionKind};
pub(super) use dead_letters::dead_letters;
pub(super) use drift::{drift, repair_confirmation};
pub(super) use login::login;
pub(super) use operations::{operations, InstitutionOperations};
pub(super) use patron::patron;
pub(super) use search::{results, search_form};

use super::html::{escape, message_page};
use super::i18n::{Lang, Messages};
use super::session::{unavailable, Staff};
use axum::http::StatusCode;
use axum::response::Response;
use patron_hub_domain::console::{ConsoleError, PatronOverview, Presence};

/// A console use case's error as a page: 403, 404, 409, 422 or 503.
pub(super) fn error_page(lang: &Lang, staff: &Staff, error: ConsoleError) -> Response {
    let t = lang.text();
    let back = ("/console", t.back_to_search);
    let (status, title, message) = match error {
        ConsoleError::Forbidden => (StatusCode::FORBIDDEN, t.forbidden_title, t.staff_only),
        ConsoleError::EmptySearch => (
            StatusCode::UNPROCESSABLE_ENTITY,
            t.search_title,
            t.search_empty,
        ),
        ConsoleError::NotFound => (StatusCode::NOT_FOUND, t.not_found_title, t.patron_not_found),
        ConsoleError::NothingToDo => (StatusCode::CONFLICT, t.actions_title, t.nothing_to_do),
        ConsoleError::Unavailable(detail) => {
            tracing::error!(%detail, "console unavailable");
            return unavailable(lang, Some(staff));
        }
    };
    message_page(lang, Some(staff), status, title, message, back)
}

/// The patron's name, from the first institution that gives one (or the registry).
fn patron_name(overview: &PatronOverview) -> Option<String> {
    let from_accounts = overview.rows.iter().find_map(|row| match &row.presence {
        Presence::Present { account }
            if account.first_name.is_some() || account.last_name.is_some() =>
        {
            Some((account.first_name.clone(), account.last_name.clone()))
        }
        _ => None,
    });
    let from_registry = overview
        .registry
        .as_ref()
        .map(|entry| (entry.first_name.clone(), entry.last_name.clone()));
    let (first, last) = from_accounts.or(from_registry)?;
    let name = [first, last]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    (!name.is_empty()).then_some(name)
}

/// The words of a presence, and its CSS class.
fn presence_label(t: &Messages, presence: &Presence) -> (&'static str, &'static str) {
    match presence {
        Presence::Present { .. } => (t.present, "state-present"),
        Presence::Absent => (t.absent, "state-absent"),
        Presence::Unreachable { .. } => (t.unreachable, "state-unreachable"),
    }
}

/// An optional text, escaped, or a dash.
fn or_dash(t: &Messages, text: Option<&str>) -> String {
    escape(text.unwrap_or(t.none))
}

/// The path of a patron's page.
fn patron_path(primary_id: &str) -> String {
    format!("/console/patrons/{}", super::html::encode(primary_id))
}
