//! The patron page: one row per institution, the registry, the actions, and
//! the audit log with each action's result per institution.

use super::{or_dash, patron_name, patron_path, presence_label, ActionKind};
use crate::console::html::{day, escape, instant};
use crate::console::i18n::{Lang, Messages};
use patron_hub_domain::console::{
    AuditReport, ConsoleAction, InstitutionResult, InstitutionRow, PatronOverview, Presence,
};
use patron_hub_domain::distribution::{JobOutcome, OutcomeStatus};
use std::fmt::Write;

/// Everything the console knows of one patron.
pub(in crate::console) fn patron(lang: &Lang, overview: &PatronOverview) -> String {
    let t = lang.text();
    let mut html = String::new();
    if let Some(name) = patron_name(overview) {
        let _ = write!(html, r#"<p class="lead">{}</p>"#, escape(&name));
    }
    html.push_str(&accounts(t, &overview.rows));
    html.push_str(&registry(t, overview));
    html.push_str(&actions(lang, overview.primary_id.as_str()));
    html.push_str(&audit(t, &overview.audit));
    html
}

fn accounts(t: &Messages, rows: &[InstitutionRow]) -> String {
    let mut html = format!(
        r#"<section aria-labelledby="accounts"><h2 id="accounts">{title}</h2><table>
<thead><tr><th scope="col">{institution}</th><th scope="col">{account}</th><th scope="col">{linked}</th><th scope="col">{status}</th><th scope="col">{group}</th><th scope="col">{expiry}</th><th scope="col">{purge}</th><th scope="col">{last}</th></tr></thead><tbody>"#,
        title = escape(t.accounts_title),
        institution = escape(t.institution),
        account = escape(t.account),
        linked = escape(t.linked_or_local),
        status = escape(t.status),
        group = escape(t.user_group),
        expiry = escape(t.expiry_date),
        purge = escape(t.purge_date),
        last = escape(t.last_distribution),
    );
    for row in rows {
        let code = escape(row.institution.as_str());
        let zone = if row.zone {
            format!(" <span class=\"hint\">({})</span>", escape(t.network_zone))
        } else {
            String::new()
        };
        let (state, class) = presence_label(t, &row.presence);
        let mut presence = format!(r#"<span class="{class}">{}</span>"#, escape(state));
        let cells = match &row.presence {
            Presence::Present { account } => [
                escape(if account.linked { t.linked } else { t.local }),
                or_dash(t, account.status.as_deref()),
                or_dash(t, account.user_group.as_deref()),
                or_dash(t, account.expiry_date.map(day).as_deref()),
                or_dash(t, account.purge_date.map(day).as_deref()),
            ],
            Presence::Unreachable { reason } => {
                let _ = write!(presence, "<br>{}", escape(reason));
                std::array::from_fn(|_| escape(t.none))
            }
            Presence::Absent => std::array::from_fn(|_| escape(t.none)),
        };
        let _ = write!(
            html,
            r#"<tr id="institution-{code}"><th scope="row">{code}{zone}</th><td>{presence}</td><td>{cells}</td><td>{last}</td></tr>"#,
            cells = cells.join("</td><td>"),
            last = outcome(t, row.last_outcome.as_ref()),
        );
    }
    html.push_str("</tbody></table></section>");
    html
}

/// The last distribution: time, how it ended, Alma's code and message.
fn outcome(t: &Messages, outcome: Option<&JobOutcome>) -> String {
    let Some(outcome) = outcome else {
        return escape(t.none);
    };
    let status = match outcome.status {
        OutcomeStatus::Applied => t.outcome_applied,
        OutcomeStatus::Skipped => t.outcome_skipped,
        OutcomeStatus::DeadLettered => t.outcome_dead_lettered,
    };
    let mut html = format!(
        "{} — {} ({}, {}{} {})",
        instant(outcome.finished_at),
        escape(status),
        escape(outcome.action.as_str()),
        escape(&t.attempts.to_lowercase()),
        t.colon,
        outcome.attempts
    );
    if let Some(reason) = &outcome.reason {
        let _ = write!(
            html,
            "<br><code>{}</code> {}",
            escape(&reason.code),
            escape(&reason.message)
        );
    }
    html
}

fn registry(t: &Messages, overview: &PatronOverview) -> String {
    let mut html = format!(
        r#"<section aria-labelledby="registry"><h2 id="registry">{}</h2>"#,
        escape(t.registry_title)
    );
    match &overview.registry {
        None => {
            let _ = write!(html, "<p>{}</p>", escape(t.not_in_registry));
        }
        Some(entry) => {
            let _ = write!(
                html,
                "<p>{}</p><p>{}{} {}</p>",
                escape(t.in_registry),
                escape(t.emails),
                t.colon,
                if entry.emails.is_empty() {
                    escape(t.none)
                } else {
                    escape(&entry.emails.join(", "))
                }
            );
        }
    }
    html.push_str("</section>");
    html
}

fn actions(lang: &Lang, primary_id: &str) -> String {
    let t = lang.text();
    let mut html = format!(
        r#"<section aria-labelledby="actions"><h2 id="actions">{}</h2><ul class="actions">"#,
        escape(t.actions_title)
    );
    for kind in ActionKind::ALL {
        let href = format!("{}/actions/{}", patron_path(primary_id), kind.name());
        let _ = write!(
            html,
            r#"<li><a class="button" href="{}">{}</a></li>"#,
            escape(&lang.href(&href)),
            escape(kind.label(t))
        );
    }
    html.push_str("</ul></section>");
    html
}

fn audit(t: &Messages, reports: &[AuditReport]) -> String {
    let mut html = format!(
        r#"<section aria-labelledby="audit"><h2 id="audit">{}</h2>"#,
        escape(t.audit_title)
    );
    if reports.is_empty() {
        let _ = write!(html, "<p>{}</p></section>", escape(t.audit_empty));
        return html;
    }
    let _ = write!(
        html,
        r#"<table><thead><tr><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th></tr></thead><tbody>"#,
        escape(t.when),
        escape(t.who),
        escape(t.what),
        escape(t.results)
    );
    for report in reports {
        let entry = &report.entry;
        let label = ActionKind::of(&entry.action).map_or(t.action_repair_drift, |k| k.label(t));
        let detail = match &entry.action {
            ConsoleAction::SetExpiry { expiry_date } => format!(" → {}", day(*expiry_date)),
            ConsoleAction::ChangePrimaryId { new_primary_id } => {
                format!(" → {}", escape(new_primary_id.as_str()))
            }
            ConsoleAction::RepairDrift { run } => format!(" ({})", escape(run)),
            ConsoleAction::DeleteEverywhere | ConsoleAction::Redistribute => String::new(),
        };
        let results: String = report
            .results
            .iter()
            .map(|(institution, result)| {
                format!(
                    r#"<li data-institution="{code}">{code}{colon} {}</li>"#,
                    result_text(t, result),
                    colon = t.colon,
                    code = escape(institution.as_str())
                )
            })
            .collect();
        let _ = write!(
            html,
            r#"<tr id="audit-{id}"><td>{at}</td><td>{who}</td><td>{what}{detail}</td><td><ul>{results}</ul></td></tr>"#,
            id = escape(&entry.id),
            at = instant(entry.at),
            who = escape(&entry.actor_name),
            what = escape(label),
        );
    }
    html.push_str("</tbody></table></section>");
    html
}

fn result_text(t: &Messages, result: &InstitutionResult) -> String {
    match result {
        InstitutionResult::Queued => format!(
            r#"<span class="result-queued">{}</span>"#,
            escape(t.result_queued)
        ),
        InstitutionResult::Done => format!(
            r#"<span class="result-done">{}</span>"#,
            escape(t.result_done)
        ),
        InstitutionResult::Refused { code, message } => format!(
            r#"<span class="result-refused">{}</span> — <code>{}</code> {}"#,
            escape(t.result_refused),
            escape(code),
            escape(message)
        ),
        InstitutionResult::Unreachable { message } => format!(
            r#"<span class="result-unreachable">{}</span> — {}"#,
            escape(t.result_unreachable),
            escape(message)
        ),
    }
}
