//! The operations page: for each institution over the last 24 hours, the
//! jobs applied and dead-lettered, the lag at p50 and p95 and Alma's 429 and
//! 5xx answers per 10 minutes, as server-drawn SVG charts with their totals,
//! then the last reconciliation.

use super::drift::counts_table;
use crate::console::html::{escape, instant};
use crate::console::i18n::{Lang, Messages};
use crate::console::svg::{bars, Series};
use patron_hub_domain::operations::Bucket;
use patron_hub_domain::reconciliation::Run;
use patron_hub_domain::InstitutionCode;
use std::fmt::Write;
use std::time::Duration;

/// What the page shows of one institution: its buckets, oldest first.
pub(in crate::console) struct InstitutionOperations {
    /// The institution.
    pub(in crate::console) code: InstitutionCode,
    /// Its 10-minute buckets over the day (empty ones included).
    pub(in crate::console) timeline: Vec<Bucket>,
}

/// The operations page's content.
pub(in crate::console) fn operations(
    lang: &Lang,
    institutions: &[InstitutionOperations],
    last_reconcile: Option<&Run>,
) -> String {
    let t = lang.text();
    let mut html = format!("<p>{}</p>", escape(t.operations_intro));
    for institution in institutions {
        section(&mut html, t, institution);
    }
    let _ = write!(html, "<h2>{}</h2>", escape(t.operations_reconcile));
    match last_reconcile {
        None => {
            let _ = write!(html, "<p>{}</p>", escape(t.drift_none));
        }
        Some(run) => {
            let finished = run
                .finished_at
                .map(instant)
                .unwrap_or_else(|| t.drift_running.to_owned());
            let _ = write!(
                html,
                "<p><code>{}</code> {} {} → {}</p>",
                escape(&run.id),
                escape(if run.dry_run { t.drift_dry_run } else { "" }),
                escape(&instant(run.started_at)),
                escape(&finished)
            );
            counts_table(&mut html, t, run);
        }
    }
    html
}

/// One institution's totals and charts.
fn section(html: &mut String, t: &Messages, institution: &InstitutionOperations) {
    let line = &institution.timeline;
    let labels: Vec<String> = line
        .iter()
        .map(|b| b.start.format("%H:%M").to_string())
        .collect();
    let mut day = Bucket::default();
    for bucket in line {
        day.merge(bucket);
    }
    let seconds = |lag: Option<Duration>| lag.map_or(0.0, |lag| lag.as_secs() as f64);
    let shown = |lag: Option<Duration>| {
        lag.map_or("—".to_owned(), |lag| format!("≤ {} s", lag.as_secs()))
    };
    let _ = write!(
        html,
        r#"<section class="operations" data-institution="{code}"><h2>{code}</h2><table><thead><tr><th scope="col">{applied}</th><th scope="col">{dead}</th><th scope="col">p50</th><th scope="col">p95</th><th scope="col">{throttled}</th><th scope="col">{failed}</th></tr></thead><tbody><tr><td>{a}</td><td>{d}</td><td>{p50}</td><td>{p95}</td><td>{c429}</td><td>{c5xx}</td></tr></tbody></table>"#,
        code = escape(institution.code.as_str()),
        applied = escape(t.operations_applied),
        dead = escape(t.operations_dead_lettered),
        throttled = escape(t.operations_throttled),
        failed = escape(t.operations_failed),
        a = day.applied,
        d = day.dead_lettered,
        p50 = escape(&shown(day.lag_quantile(0.5))),
        p95 = escape(&shown(day.lag_quantile(0.95))),
        c429 = day.alma_429,
        c5xx = day.alma_5xx,
    );
    let values = |f: &dyn Fn(&Bucket) -> f64| line.iter().map(f).collect::<Vec<f64>>();
    let charts = [
        (
            t.operations_jobs_chart,
            t.operations_jobs_unit,
            (t.operations_applied, values(&|b| b.applied as f64)),
            (
                t.operations_dead_lettered,
                values(&|b| b.dead_lettered as f64),
            ),
        ),
        (
            t.operations_lag_chart,
            "s",
            ("p50", values(&|b| seconds(b.lag_quantile(0.5)))),
            ("p95", values(&|b| seconds(b.lag_quantile(0.95)))),
        ),
        (
            t.operations_alma_chart,
            t.operations_answers_unit,
            (t.operations_throttled, values(&|b| b.alma_429 as f64)),
            (t.operations_failed, values(&|b| b.alma_5xx as f64)),
        ),
    ];
    html.push_str(r#"<div class="charts">"#);
    for (title, unit, (first, first_values), (second, second_values)) in charts {
        let series = [
            Series {
                name: first,
                class: "series-1",
                values: first_values,
            },
            Series {
                name: second,
                class: "series-2",
                values: second_values,
            },
        ];
        html.push_str(&bars(title, unit, &labels, &series));
    }
    html.push_str("</div></section>");
}
