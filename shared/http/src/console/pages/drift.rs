//! The drift page: the last reconcile of each member (its figures), the
//! differences of the newest run, and, for those not queued yet, the button
//! to the repair's confirmation page.

use super::patron_path;
use crate::console::html::{escape, hidden, instant};
use crate::console::i18n::{Lang, Messages};
use crate::console::session::Staff;
use patron_hub_domain::reconciliation::{Difference, DriftKind, Run, RunCounts};
use std::fmt::Write;

/// The drift page's content: the newest run (if any), a page of its
/// differences, the path of the next page, and how many patrons the last
/// repair reached.
pub(in crate::console) fn drift(
    lang: &Lang,
    run: Option<&Run>,
    differences: &[Difference],
    next: Option<String>,
    repaired: Option<usize>,
) -> String {
    let t = lang.text();
    let mut html = String::new();
    if let Some(count) = repaired {
        let _ = write!(
            html,
            r#"<p class="notice" role="status">{} {count}</p>"#,
            escape(t.drift_repaired)
        );
    }
    let _ = write!(html, "<p>{}</p>", escape(t.drift_intro));
    let Some(run) = run else {
        let _ = write!(html, "<p>{}</p>", escape(t.drift_none));
        return html;
    };
    let state = match (run.dry_run, run.is_finished()) {
        (_, false) => t.drift_running,
        (true, true) => t.drift_dry_run,
        (false, true) => "",
    };
    let _ = write!(
        html,
        r#"<h2>{} <code>{}</code> {}</h2><p>{}</p>"#,
        escape(t.drift_run),
        escape(&run.id),
        escape(state),
        instant(run.started_at)
    );
    counts_table(&mut html, t, run);
    let _ = write!(html, "<h2>{}</h2>", escape(t.drift_differences));
    if run.is_finished() && differences.iter().any(|d| !d.queued) {
        let _ = write!(
            html,
            r#"<p><a class="button" href="{}">{}</a></p>"#,
            escape(&lang.href(&format!("/console/drift/repair?run={}", run.id))),
            escape(t.drift_repair)
        );
    }
    differences_table(&mut html, lang, differences);
    if let Some(next) = next {
        let _ = write!(
            html,
            r#"<p><a href="{}">{}</a></p>"#,
            escape(&lang.href(&next)),
            escape(t.drift_more)
        );
    }
    html
}

/// The repair's confirmation page: what it will do, and the form.
pub(in crate::console) fn repair_confirmation(
    lang: &Lang,
    staff: &Staff,
    run: &Run,
    waiting: &[Difference],
) -> String {
    let t = lang.text();
    let mut html = format!("<p>{}</p>", escape(t.drift_confirm));
    differences_table(&mut html, lang, waiting);
    let _ = write!(
        html,
        r#"<form method="post" action="{}">{}{}<button type="submit">{} ({})</button></form>"#,
        escape(&lang.href("/console/drift/repair")),
        hidden("csrf", &staff.csrf),
        hidden("run", &run.id),
        escape(t.drift_repair),
        waiting.len()
    );
    html
}

/// A run's figures per member and in all (Σ), as a table.
pub(super) fn counts_table(html: &mut String, t: &Messages, run: &Run) {
    let _ = write!(
        html,
        r#"<table><thead><tr><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th></tr></thead><tbody>"#,
        escape(t.institution),
        escape(t.drift_checked),
        escape(t.drift_missing),
        escape(t.drift_stale),
        escape(t.drift_unlinked),
        escape(t.drift_queued),
    );
    let row = |html: &mut String, name: &str, counts: &RunCounts| {
        let _ = write!(
            html,
            r#"<tr><th scope="row">{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            escape(name),
            counts.checked,
            counts.missing,
            counts.stale,
            counts.unlinked,
            counts.jobs_queued
        );
    };
    for (institution, counts) in &run.by_institution {
        row(html, institution.as_str(), counts);
    }
    row(html, "Σ", &run.counts);
    html.push_str("</tbody></table>");
}

fn differences_table(html: &mut String, lang: &Lang, differences: &[Difference]) {
    let t = lang.text();
    let _ = write!(
        html,
        r#"<table><thead><tr><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th></tr></thead><tbody>"#,
        escape(t.patron),
        escape(t.institution),
        escape(t.drift_kind),
        escape(t.drift_newest_in),
        escape(t.status),
    );
    for difference in differences {
        let id = difference.primary_id.as_str();
        let kind = match difference.kind {
            DriftKind::Missing => t.drift_missing,
            DriftKind::Stale => t.drift_stale,
            DriftKind::Unlinked => t.drift_unlinked,
        };
        let _ = write!(
            html,
            r#"<tr data-kind="{kind_code}"><td><a href="{href}">{id}</a></td><td>{institution}</td><td>{kind}</td><td>{newest}{modified}</td><td>{state}</td></tr>"#,
            kind_code = difference.kind.as_str(),
            href = escape(&lang.href(&patron_path(id))),
            id = escape(id),
            institution = escape(difference.institution.as_str()),
            kind = escape(kind),
            newest = escape(difference.newest_in.as_str()),
            modified = difference
                .newest_modified
                .map(|at| format!(" ({})", instant(at)))
                .unwrap_or_default(),
            state = escape(match difference.queued {
                true => t.drift_queued,
                false => t.drift_not_queued,
            }),
        );
    }
    html.push_str("</tbody></table>");
}
