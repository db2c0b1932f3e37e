//! The search form and its results: one card per patron found, with what each
//! institution answered (an institution that did not answer is shown as such).

use super::{patron_name, patron_path, presence_label};
use crate::console::html::{day, escape, hidden};
use crate::console::i18n::Lang;
use patron_hub_domain::console::{PatronOverview, Presence};
use std::fmt::Write;

/// The search form, with the text searched for and what was wrong with it.
pub(in crate::console) fn search_form(lang: &Lang, text: &str, problem: Option<&str>) -> String {
    let t = lang.text();
    let problem = problem
        .map(|p| {
            format!(
                r#"<p class="problem" role="alert" id="q-problem">{}</p>"#,
                escape(p)
            )
        })
        .unwrap_or_default();
    let described = if problem.is_empty() {
        "q-hint"
    } else {
        "q-hint q-problem"
    };
    // A GET form keeps the language as a field of its own.
    let lang_field = lang
        .chosen()
        .map(|code| hidden("lang", code))
        .unwrap_or_default();
    format!(
        r#"<form method="get" action="/console/search" role="search">
{lang_field}<label for="q">{label}</label>
<p class="hint" id="q-hint">{hint}</p>{problem}
<input id="q" name="q" type="search" required value="{text}" aria-describedby="{described}">
<button type="submit">{button}</button>
</form>"#,
        label = escape(t.search_label),
        hint = escape(t.search_hint),
        text = escape(text),
        button = escape(t.search_button),
    )
}

/// The results of a search for `text`.
pub(in crate::console) fn results(lang: &Lang, text: &str, found: &[PatronOverview]) -> String {
    let t = lang.text();
    let mut html = format!(
        r#"<section aria-labelledby="results"><h2 id="results">{} <q>{}</q></h2>"#,
        escape(t.results_for),
        escape(text)
    );
    if found.is_empty() {
        let _ = write!(html, "<p>{}</p>", escape(t.no_results));
    }
    for (n, overview) in found.iter().enumerate() {
        let id = overview.primary_id.as_str();
        let name = patron_name(overview)
            .map(|name| format!(" — {}", escape(&name)))
            .unwrap_or_default();
        let _ = write!(
            html,
            r#"<article class="card" aria-labelledby="patron-{n}"><h3 id="patron-{n}"><a href="{href}">{id}</a>{name}</h3><ul>"#,
            href = escape(&lang.href(&patron_path(id))),
            id = escape(id),
        );
        for row in &overview.rows {
            let (state, class) = presence_label(t, &row.presence);
            let detail = match &row.presence {
                Presence::Present { account } => {
                    let mut parts: Vec<String> = Vec::new();
                    parts.extend(account.status.as_deref().map(escape));
                    parts.extend(account.user_group.as_deref().map(escape));
                    if let Some(expiry) = account.expiry_date {
                        parts.push(format!("{} {}", escape(t.expiry_date), day(expiry)));
                    }
                    parts.join(", ")
                }
                Presence::Absent => String::new(),
                Presence::Unreachable { reason } => escape(reason),
            };
            let zone = if row.zone {
                format!(" ({})", escape(t.network_zone))
            } else {
                String::new()
            };
            let detail = if detail.is_empty() {
                detail
            } else {
                format!(" — {detail}")
            };
            let _ = write!(
                html,
                r#"<li data-institution="{code}">{code}{zone}{colon} <span class="{class}">{state}</span>{detail}</li>"#,
                code = escape(row.institution.as_str()),
                colon = t.colon,
                state = escape(state),
            );
        }
        let registry = if overview.registry.is_some() {
            t.in_registry
        } else {
            t.not_in_registry
        };
        let _ = write!(html, "</ul><p>{}</p></article>", escape(registry));
    }
    html.push_str("</section>");
    html
}
