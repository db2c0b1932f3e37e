//! The operations page: each institution's last 24 hours from the
//! operations time series, and the last reconciliation.

use super::Api;
use crate::console::html::page;
use crate::console::i18n::Lang;
use crate::console::pages::{self, InstitutionOperations};
use crate::console::session::{unavailable, Staff};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::TimeDelta;
use patron_hub_domain::operations::{timeline, BUCKET};
use patron_hub_domain::reconciliation::RunKind;
use patron_hub_domain::StoreError;

/// The day a page shows, in buckets.
const BUCKETS: usize = 144;

/// `GET /console/operations`.
pub(super) async fn operations(State(api): Api, lang: Lang, staff: Staff) -> Response {
    let now = api.clock.now();
    let since = now - BUCKET * BUCKETS as i32 - TimeDelta::seconds(1);
    let shown = async {
        let mut institutions = Vec::with_capacity(api.institutions.len());
        for code in &api.institutions {
            let buckets = api.operations.buckets(code, since, now).await?;
            institutions.push(InstitutionOperations {
                code: code.clone(),
                timeline: timeline(&buckets, now, BUCKETS),
            });
        }
        let run = api.runs.recent_runs(RunKind::Reconcile, 1).await?.pop();
        Ok::<_, StoreError>((institutions, run))
    };
    match shown.await {
        Ok((institutions, run)) => {
            let main = pages::operations(&lang, &institutions, run.as_ref());
            page(
                &lang,
                Some(&staff),
                StatusCode::OK,
                lang.text().operations_title,
                &main,
            )
        }
        Err(error) => {
            tracing::error!(%error, "operations time series unreadable");
            unavailable(&lang, Some(&staff))
        }
    }
}
