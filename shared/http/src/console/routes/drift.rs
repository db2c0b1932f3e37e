//! The drift page: the newest reconcile and its differences, and the repair
//! of those it did not queue (a dry run's), behind a confirmation page.

use super::{checked, form_expired, not_found, Api, FormOf, Signed};
use crate::console::html::page;
use crate::console::i18n::Lang;
use crate::console::pages;
use crate::console::session::{see_other, unavailable, Staff};
use crate::console::ConsoleApi;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use patron_hub_domain::reconciliation::{Difference, DriftKind, Run, RunKind};
use patron_hub_domain::{InstitutionCode, PrimaryId, StoreError};
use serde::Deserialize;

/// Differences shown on one page.
const PER_PAGE: usize = 200;

/// Differences a repair's confirmation lists at most (the repair itself
/// takes them all).
const LISTED_FOR_CONFIRMATION: usize = 500;

#[derive(Deserialize)]
pub(super) struct DriftQuery {
    repaired: Option<usize>,
    /// The difference after which the page starts: `patron institution kind`.
    after: Option<String>,
}

/// `GET /console/drift[?after=…][&repaired=N]`.
pub(super) async fn drift(
    State(api): Api,
    lang: Lang,
    staff: Staff,
    query: Result<Query<DriftQuery>, QueryRejection>,
) -> Response {
    let query = query.ok().map(|Query(q)| q);
    let repaired = query.as_ref().and_then(|q| q.repaired);
    let after = query.and_then(|q| q.after).and_then(|text| cursor(&text));
    let shown = async {
        let Some(run) = api.runs.recent_runs(RunKind::Reconcile, 1).await?.pop() else {
            return Ok::<_, StoreError>((None, Vec::new(), None));
        };
        let mut differences = api
            .runs
            .differences(
                &run.id,
                after.as_ref().map(|(p, i, k)| (p, i, *k)),
                PER_PAGE + 1,
            )
            .await?;
        let next = (differences.len() > PER_PAGE).then(|| {
            differences.truncate(PER_PAGE);
            let last = &differences[PER_PAGE - 1];
            format!(
                "/console/drift?after={}",
                crate::console::html::encode(&format!(
                    "{} {} {}",
                    last.institution,
                    last.kind.as_str(),
                    last.primary_id
                ))
            )
        });
        Ok((Some(run), differences, next))
    };
    match shown.await {
        Ok((run, differences, next)) => {
            let main = pages::drift(&lang, run.as_ref(), &differences, next, repaired);
            page(
                &lang,
                Some(&staff),
                StatusCode::OK,
                lang.text().drift_title,
                &main,
            )
        }
        Err(error) => {
            tracing::error!(%error, "reconcile runs unreadable");
            unavailable(&lang, Some(&staff))
        }
    }
}

/// A page cursor, `institution kind patron` (the patron last: it may hold spaces).
fn cursor(text: &str) -> Option<(PrimaryId, InstitutionCode, DriftKind)> {
    let mut parts = text.splitn(3, ' ');
    let institution = InstitutionCode::parse(parts.next()?).ok()?;
    let kind = match parts.next()? {
        "missing" => DriftKind::Missing,
        "stale" => DriftKind::Stale,
        "unlinked" => DriftKind::Unlinked,
        _ => return None,
    };
    let patron = PrimaryId::parse(parts.next()?).ok()?;
    Some((patron, institution, kind))
}

#[derive(Deserialize)]
pub(super) struct RunQuery {
    run: String,
}

/// The finished reconcile `id`, and its differences not queued yet.
async fn waiting(api: &ConsoleApi, id: &str) -> Result<Option<(Run, Vec<Difference>)>, StoreError> {
    let Some(run) = api.runs.run(id).await? else {
        return Ok(None);
    };
    if run.kind != RunKind::Reconcile || !run.is_finished() {
        return Ok(None);
    }
    let differences = api
        .runs
        .differences(&run.id, None, LISTED_FOR_CONFIRMATION)
        .await?;
    let waiting = differences.into_iter().filter(|d| !d.queued).collect();
    Ok(Some((run, waiting)))
}

/// `GET /console/drift/repair?run=ID`: the confirmation page.
pub(super) async fn repair_confirmation(
    State(api): Api,
    lang: Lang,
    staff: Staff,
    query: Result<Query<RunQuery>, QueryRejection>,
) -> Response {
    let Ok(Query(query)) = query else {
        return not_found(&lang, &staff);
    };
    match waiting(&api, &query.run).await {
        Ok(Some((run, waiting))) => {
            let main = pages::repair_confirmation(&lang, &staff, &run, &waiting);
            page(
                &lang,
                Some(&staff),
                StatusCode::OK,
                lang.text().drift_repair,
                &main,
            )
        }
        Ok(None) => not_found(&lang, &staff),
        Err(error) => {
            tracing::error!(%error, "reconcile run unreadable");
            unavailable(&lang, Some(&staff))
        }
    }
}

#[derive(Deserialize)]
pub(super) struct RepairForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    run: String,
}

impl Signed for RepairForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /console/drift/repair`: queues the jobs of the run's differences
/// not queued yet, writes one audit entry per patron, and shows the page.
pub(super) async fn repair(
    State(api): Api,
    lang: Lang,
    staff: Staff,
    headers: HeaderMap,
    form: FormOf<RepairForm>,
) -> Response {
    let Some(form) = checked(&api, &staff, &headers, form) else {
        return form_expired(&lang, Some(&staff), "/console/drift");
    };
    let run = match waiting(&api, &form.run).await {
        Ok(Some((run, _))) => run,
        Ok(None) => return not_found(&lang, &staff),
        Err(error) => {
            tracing::error!(%error, "reconcile run unreadable");
            return unavailable(&lang, Some(&staff));
        }
    };
    let repaired = match api.reconciliation.repair(&run).await {
        Ok(repaired) => repaired,
        Err(error) => {
            tracing::error!(%error, run = %run.id, "drift repair failed");
            return unavailable(&lang, Some(&staff));
        }
    };
    if let Err(error) = api
        .console
        .record_repairs(&staff.account, &run.id, &repaired)
        .await
    {
        tracing::error!(%error, run = %run.id, "drift repair queued but not audited");
    }
    tracing::info!(run = %run.id, patrons = repaired.len(), account = %staff.account.id.0, "drift repaired");
    see_other(&lang.href(&format!("/console/drift?repaired={}", repaired.len())))
}
