//! The four actions on a patron, and their confirmation page: what will
//! happen in which institution, with the form that performs it.

use super::{patron_name, patron_path};
use crate::console::html::{day, escape, hidden};
use crate::console::i18n::{Lang, Messages};
use crate::console::session::Staff;
use chrono::NaiveDate;
use patron_hub_domain::console::{ConsoleAction, PatronOverview, Presence};
use patron_hub_domain::{InstitutionCode, PrimaryId};
use std::fmt::Write;

/// Which action a page or form is about (the last segment of its path).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::console) enum ActionKind {
    /// Delete every account.
    Delete,
    /// Set the expiry (and purge) date everywhere.
    Expiry,
    /// Change the primary id everywhere.
    PrimaryId,
    /// Run the distribution again.
    Redistribute,
}

impl ActionKind {
    /// Every action, in the order the patron page offers them.
    pub(in crate::console) const ALL: [ActionKind; 4] = [
        ActionKind::Expiry,
        ActionKind::PrimaryId,
        ActionKind::Redistribute,
        ActionKind::Delete,
    ];

    /// The action named `name` in a path.
    pub(in crate::console) fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.name() == name)
    }

    /// Its name in paths (the domain's [`ConsoleAction::name`]).
    pub(in crate::console) fn name(self) -> &'static str {
        match self {
            ActionKind::Delete => "delete",
            ActionKind::Expiry => "expiry",
            ActionKind::PrimaryId => "primary-id",
            ActionKind::Redistribute => "redistribute",
        }
    }

    /// The kind of a patron page's action; `None` for a drift repair,
    /// which is asked for on the drift page.
    pub(in crate::console) fn of(action: &ConsoleAction) -> Option<Self> {
        match action {
            ConsoleAction::DeleteEverywhere => Some(ActionKind::Delete),
            ConsoleAction::SetExpiry { .. } => Some(ActionKind::Expiry),
            ConsoleAction::ChangePrimaryId { .. } => Some(ActionKind::PrimaryId),
            ConsoleAction::Redistribute => Some(ActionKind::Redistribute),
            ConsoleAction::RepairDrift { .. } => None,
        }
    }

    /// What staff read on its button and in the audit log.
    pub(in crate::console) fn label(self, t: &Messages) -> &'static str {
        match self {
            ActionKind::Delete => t.action_delete,
            ActionKind::Expiry => t.action_expiry,
            ActionKind::PrimaryId => t.action_primary_id,
            ActionKind::Redistribute => t.action_redistribute,
        }
    }

    fn explanation(self, t: &Messages) -> &'static str {
        match self {
            ActionKind::Delete => t.explain_delete,
            ActionKind::Expiry => t.explain_expiry,
            ActionKind::PrimaryId => t.explain_primary_id,
            ActionKind::Redistribute => t.explain_redistribute,
        }
    }

    /// The action to plan the confirmation page with. Which institutions an
    /// action applies to depends on its kind only, so the value not typed yet
    /// is stood in for (the current primary id, any day).
    pub(in crate::console) fn to_plan(self, primary_id: &PrimaryId) -> ConsoleAction {
        match self {
            ActionKind::Delete => ConsoleAction::DeleteEverywhere,
            ActionKind::Expiry => ConsoleAction::SetExpiry {
                expiry_date: NaiveDate::default(),
            },
            ActionKind::PrimaryId => ConsoleAction::ChangePrimaryId {
                new_primary_id: primary_id.clone(),
            },
            ActionKind::Redistribute => ConsoleAction::Redistribute,
        }
    }

    /// The action a confirmation form asks for, or what is wrong with its field.
    pub(in crate::console) fn confirmed(
        self,
        t: &Messages,
        primary_id: &PrimaryId,
        value: &str,
    ) -> Result<ConsoleAction, &'static str> {
        match self {
            ActionKind::Delete => Ok(ConsoleAction::DeleteEverywhere),
            ActionKind::Redistribute => Ok(ConsoleAction::Redistribute),
            ActionKind::Expiry => NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
                .map(|expiry_date| ConsoleAction::SetExpiry { expiry_date })
                .map_err(|_| t.invalid_date),
            ActionKind::PrimaryId => match PrimaryId::parse(value) {
                Err(_) => Err(t.invalid_primary_id),
                Ok(new) if &new == primary_id => Err(t.same_primary_id),
                Ok(new_primary_id) => Ok(ConsoleAction::ChangePrimaryId { new_primary_id }),
            },
        }
    }

    /// The form field this action needs: its name, type and label.
    fn field(self, t: &Messages) -> Option<(&'static str, &'static str, &'static str)> {
        match self {
            ActionKind::Expiry => Some(("expiry_date", "date", t.new_expiry_date)),
            ActionKind::PrimaryId => Some(("new_primary_id", "text", t.new_primary_id)),
            ActionKind::Delete | ActionKind::Redistribute => None,
        }
    }
}

/// The confirmation page's content: the patron, what will happen, in which
/// institutions (and where nothing changes), and the form.
pub(in crate::console) fn confirm(
    lang: &Lang,
    staff: &Staff,
    kind: ActionKind,
    overview: &PatronOverview,
    targets: &[InstitutionCode],
    value: &str,
    problem: Option<&str>,
) -> String {
    let t = lang.text();
    let id = overview.primary_id.as_str();
    let patron_href = lang.href(&patron_path(id));
    let name = patron_name(overview)
        .map(|name| format!(" — {}", escape(&name)))
        .unwrap_or_default();
    let mut html = format!(
        r#"<p>{patron}{colon} <a href="{href}">{id}</a>{name}</p><p>{explain}</p>"#,
        patron = escape(t.patron),
        colon = t.colon,
        href = escape(&patron_href),
        id = escape(id),
        explain = escape(kind.explanation(t)),
    );
    if targets.is_empty() {
        let _ = write!(
            html,
            r#"<p class="problem" role="alert">{}</p><p><a href="{}">{}</a></p>"#,
            escape(t.nothing_to_do),
            escape(&patron_href),
            escape(t.cancel)
        );
        return html;
    }
    let _ = write!(
        html,
        r#"<h2 id="targets">{}</h2><ul aria-labelledby="targets">"#,
        escape(t.will_change)
    );
    for code in targets {
        let now = overview
            .rows
            .iter()
            .find(|row| &row.institution == code)
            .and_then(|row| match &row.presence {
                Presence::Present { account } => Some(current(t, kind, account)),
                _ => None,
            })
            .unwrap_or_default();
        let _ = write!(
            html,
            r#"<li data-institution="{code}">{code}{now}</li>"#,
            code = escape(code.as_str())
        );
    }
    html.push_str("</ul>");
    let untouched: Vec<String> = overview
        .rows
        .iter()
        .filter(|row| !targets.contains(&row.institution))
        .map(|row| escape(row.institution.as_str()))
        .collect();
    if !untouched.is_empty() {
        let _ = write!(
            html,
            "<p>{}{} {}</p>",
            escape(t.unchanged),
            t.colon,
            untouched.join(", ")
        );
    }
    let action = format!("{}/actions/{}", patron_path(id), kind.name());
    let _ = write!(
        html,
        r#"<form method="post" action="{}">{}"#,
        escape(&lang.href(&action)),
        hidden("csrf", &staff.csrf)
    );
    if let Some((field, input, label)) = kind.field(t) {
        let hint = if input == "date" {
            format!(
                r#"<p class="hint" id="{field}-hint">{}</p>"#,
                escape(t.date_hint)
            )
        } else {
            String::new()
        };
        let problem_html = problem
            .map(|p| {
                format!(
                    r#"<p class="problem" role="alert" id="{field}-problem">{}</p>"#,
                    escape(p)
                )
            })
            .unwrap_or_default();
        let described = [
            (!hint.is_empty()).then(|| format!("{field}-hint")),
            problem.map(|_| format!("{field}-problem")),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
        let _ = write!(
            html,
            r#"<label for="{field}">{label}</label>{hint}{problem_html}<input id="{field}" name="{field}" type="{input}" required value="{value}"{described}>"#,
            label = escape(label),
            value = escape(value),
            described = if described.is_empty() {
                String::new()
            } else {
                format!(r#" aria-describedby="{described}""#)
            },
        );
    }
    let _ = write!(
        html,
        r#"<p><button type="submit">{}</button> <a class="button secondary" href="{}">{}</a></p></form>"#,
        escape(t.confirm),
        escape(&patron_href),
        escape(t.cancel)
    );
    html
}

/// What an institution holds now that the action changes.
fn current(
    t: &Messages,
    kind: ActionKind,
    account: &patron_hub_domain::console::AccountSummary,
) -> String {
    let shown = match kind {
        ActionKind::Expiry => format!(
            "{} {}, {} {}",
            escape(t.expiry_date),
            account.expiry_date.map(day).as_deref().unwrap_or(t.none),
            escape(t.purge_date),
            account.purge_date.map(day).as_deref().unwrap_or(t.none),
        ),
        ActionKind::PrimaryId => escape(
            account
                .primary_id
                .as_ref()
                .map(PrimaryId::as_str)
                .unwrap_or(t.none),
        ),
        ActionKind::Delete | ActionKind::Redistribute => {
            let mut parts: Vec<String> = Vec::new();
            parts.push(escape(if account.linked { t.linked } else { t.local }));
            parts.extend(account.status.as_deref().map(escape));
            parts.join(", ")
        }
    };
    format!(" — {shown}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_is_named_as_the_domain_names_its_action() {
        let id = PrimaryId::parse("P1").unwrap();
        for kind in ActionKind::ALL {
            let action = kind.to_plan(&id);
            assert_eq!(kind.name(), action.name());
            assert_eq!(ActionKind::of(&action), Some(kind));
            assert_eq!(ActionKind::parse(kind.name()), Some(kind));
        }
        assert_eq!(ActionKind::parse("drop-table"), None);
    }

    #[test]
    fn confirmed_forms_are_parsed_or_explained() {
        let t = crate::console::i18n::Lang::default_messages();
        let id = PrimaryId::parse("P1").unwrap();
        assert_eq!(
            ActionKind::Expiry.confirmed(t, &id, " 2027-06-30 "),
            Ok(ConsoleAction::SetExpiry {
                expiry_date: NaiveDate::from_ymd_opt(2027, 6, 30).unwrap()
            })
        );
        assert_eq!(
            ActionKind::Expiry.confirmed(t, &id, "30/06/2027"),
            Err(t.invalid_date)
        );
        assert_eq!(
            ActionKind::PrimaryId.confirmed(t, &id, "a/b"),
            Err(t.invalid_primary_id)
        );
        assert_eq!(
            ActionKind::PrimaryId.confirmed(t, &id, "P1"),
            Err(t.same_primary_id)
        );
        assert_eq!(
            ActionKind::PrimaryId.confirmed(t, &id, "P2"),
            Ok(ConsoleAction::ChangePrimaryId {
                new_primary_id: PrimaryId::parse("P2").unwrap()
            })
        );
        assert_eq!(
            ActionKind::Delete.confirmed(t, &id, "ignored"),
            Ok(ConsoleAction::DeleteEverywhere)
        );
    }
}
