//! The dead letters of every institution, each with its replay button, and
//! a button to replay them all.

use super::patron_path;
use crate::console::html::{escape, hidden, instant};
use crate::console::i18n::Lang;
use crate::console::session::Staff;
use patron_hub_domain::ports::DeadLetter;
use std::fmt::Write;

/// The dead letters page's content; `replayed` is how many the last replay put back.
pub(in crate::console) fn dead_letters(
    lang: &Lang,
    staff: &Staff,
    letters: &[DeadLetter],
    replayed: Option<usize>,
) -> String {
    let t = lang.text();
    let mut html = String::new();
    if let Some(count) = replayed {
        let _ = write!(
            html,
            r#"<p class="notice" role="status">{} {count}</p>"#,
            escape(t.replayed)
        );
    }
    let _ = write!(html, "<p>{}</p>", escape(t.dead_letters_intro));
    if letters.is_empty() {
        let _ = write!(html, "<p>{}</p>", escape(t.dead_letters_empty));
        return html;
    }
    let _ = write!(
        html,
        r#"<form method="post" action="{}">{}<button type="submit">{} ({})</button></form>"#,
        escape(&lang.href("/console/dead-letters/replay-all")),
        hidden("csrf", &staff.csrf),
        escape(t.replay_all),
        letters.len()
    );
    let _ = write!(
        html,
        r#"<table><thead><tr><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th><th scope="col"><span class="hint">{}</span></th></tr></thead><tbody>"#,
        escape(t.institution),
        escape(t.patron),
        escape(t.job),
        escape(t.reason),
        escape(t.attempts),
        escape(t.given_up_at),
        escape(t.event),
        escape(t.replay),
    );
    let replay_one = escape(&lang.href("/console/dead-letters/replay"));
    for letter in letters {
        let job = &letter.job;
        let id = job.primary_id.as_str();
        let _ = write!(
            html,
            r#"<tr><th scope="row">{institution}</th><td><a href="{href}">{id}</a></td><td>{action}</td><td><code>{code}</code> {message}</td><td>{attempts}</td><td>{at}</td><td><code>{event}</code></td><td><form class="inline" method="post" action="{replay_one}">{csrf}{institution_field}{id_field}<button type="submit" aria-label="{replay} {id} {institution}">{replay}</button></form></td></tr>"#,
            institution = escape(job.institution.as_str()),
            href = escape(&lang.href(&patron_path(id))),
            id = escape(id),
            action = escape(job.action.as_str()),
            code = escape(&letter.reason.code),
            message = escape(&letter.reason.message),
            attempts = letter.attempts,
            at = instant(letter.dead_at),
            event = escape(&job.event_id),
            csrf = hidden("csrf", &staff.csrf),
            institution_field = hidden("institution", job.institution.as_str()),
            id_field = hidden("id", &letter.id),
            replay = escape(t.replay),
        );
    }
    html.push_str("</tbody></table>");
    html
}
