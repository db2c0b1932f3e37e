//! The dead letters of every institution, and replaying them.

use super::{checked, form_expired, not_found, Api, CsrfForm, FormOf, Signed};
use crate::console::html::page;
use crate::console::i18n::Lang;
use crate::console::pages;
use crate::console::session::{see_other, unavailable, Staff};
use crate::console::ConsoleApi;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use futures::future::join_all;
use patron_hub_domain::ports::DeadLetter;
use patron_hub_domain::StoreError;
use serde::Deserialize;

/// Every institution's dead letters, read at once.
async fn every_dead_letter(api: &ConsoleApi) -> Result<Vec<DeadLetter>, StoreError> {
    let lists = join_all(
        api.institutions
            .iter()
            .map(|institution| api.queue.dead_letters(institution)),
    )
    .await;
    let mut letters = Vec::new();
    for list in lists {
        letters.extend(list?);
    }
    Ok(letters)
}

#[derive(Deserialize)]
pub(super) struct DeadLettersQuery {
    replayed: Option<usize>,
}

/// `GET /console/dead-letters[?replayed=N]`.
pub(super) async fn dead_letters(
    State(api): Api,
    lang: Lang,
    staff: Staff,
    query: Result<Query<DeadLettersQuery>, QueryRejection>,
) -> Response {
    let replayed = query.ok().and_then(|Query(q)| q.replayed);
    match every_dead_letter(&api).await {
        Ok(letters) => {
            let main = pages::dead_letters(&lang, &staff, &letters, replayed);
            let title = lang.text().dead_letters_title;
            page(&lang, Some(&staff), StatusCode::OK, title, &main)
        }
        Err(error) => {
            tracing::error!(%error, "dead letters unreadable");
            unavailable(&lang, Some(&staff))
        }
    }
}

fn replayed(lang: &Lang, count: usize) -> Response {
    see_other(&lang.href(&format!("/console/dead-letters?replayed={count}")))
}

#[derive(Deserialize)]
pub(super) struct ReplayForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    institution: String,
    #[serde(default)]
    id: String,
}

impl Signed for ReplayForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /console/dead-letters/replay`: one dead letter back on its queue.
pub(super) async fn replay_one(
    State(api): Api,
    lang: Lang,
    staff: Staff,
    headers: HeaderMap,
    form: FormOf<ReplayForm>,
) -> Response {
    let Some(form) = checked(&api, &staff, &headers, form) else {
        return form_expired(&lang, Some(&staff), "/console");
    };
    let Some(institution) = api
        .institutions
        .iter()
        .find(|code| code.as_str() == form.institution)
    else {
        return not_found(&lang, &staff);
    };
    match api.queue.replay(institution, &form.id).await {
        Ok(done) => {
            tracing::info!(%institution, dead_letter = %form.id, done, account = %staff.account.id.0, "dead letter replayed");
            replayed(&lang, usize::from(done))
        }
        Err(error) => {
            tracing::error!(%error, "dead letter replay failed");
            unavailable(&lang, Some(&staff))
        }
    }
}

/// `POST /console/dead-letters/replay-all`: every dead letter back on its queue.
pub(super) async fn replay_all(
    State(api): Api,
    lang: Lang,
    staff: Staff,
    headers: HeaderMap,
    form: FormOf<CsrfForm>,
) -> Response {
    if checked(&api, &staff, &headers, form).is_none() {
        return form_expired(&lang, Some(&staff), "/console");
    }
    let replay = async {
        let mut count = 0;
        for letter in every_dead_letter(&api).await? {
            if api
                .queue
                .replay(&letter.job.institution, &letter.id)
                .await?
            {
                count += 1;
            }
        }
        Ok::<_, StoreError>(count)
    };
    match replay.await {
        Ok(count) => {
            tracing::info!(count, account = %staff.account.id.0, "every dead letter replayed");
            replayed(&lang, count)
        }
        Err(error) => {
            tracing::error!(%error, "dead letter replay failed");
            unavailable(&lang, Some(&staff))
        }
    }
}
