//! The HTML of the account link pages: the three forms, the outcome pages,
//! and the frame and headers every one of them gets (the console's, with
//! `Referrer-Policy: no-referrer` since the token is in the page's URL).

use super::text::Words;
use crate::console::html::{escape, frame, hidden, secure, Frame};
use crate::console::i18n::Lang;
use axum::http::header::{CACHE_CONTROL, REFERRER_POLICY};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use patron_hub_domain::accounts::PasswordPolicy;

/// The stylesheet's path on the accounts site (the console's rules).
pub(in crate::accounts) const STYLESHEET_PATH: &str = "/accounts/style.css";

/// A whole page, with the console's security headers, never cached, and no
/// `Referer` sent from it.
pub(super) fn respond(
    lang: &Lang,
    words: &Words,
    status: StatusCode,
    title: &str,
    main: &str,
) -> Response {
    let site = Frame {
        brand: words.brand,
        stylesheet: STYLESHEET_PATH,
        header: "",
    };
    let mut response = secure(frame(lang, status, &site, title, main));
    let headers = response.headers_mut();
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A problem shown above a form or alone.
fn problem(text: Option<&str>) -> String {
    text.map(|p| format!(r#"<p class="problem" role="alert">{}</p>"#, escape(p)))
        .unwrap_or_default()
}

/// The activation form: the password chosen at registration.
pub(super) fn activation_form(
    lang: &Lang,
    words: &Words,
    token: &str,
    trouble: Option<&str>,
) -> String {
    format!(
        r#"{problem}<p>{intro}</p>
<form method="post" action="{action}">
{token}
<label for="password">{password}</label>
<input id="password" name="password" type="password" autocomplete="current-password" required autofocus>
<p><button type="submit">{button}</button></p>
</form>"#,
        problem = problem(trouble),
        intro = escape(words.activate_intro),
        action = escape(&lang.href("/accounts/activate")),
        token = hidden("token", token),
        password = escape(words.password),
        button = escape(words.activate_button),
    )
}

/// The new-password form: the password twice, with the policy's minimum.
pub(super) fn reset_form(
    lang: &Lang,
    words: &Words,
    policy: PasswordPolicy,
    token: &str,
    trouble: Option<&str>,
) -> String {
    format!(
        r#"{problem}<form method="post" action="{action}">
{token}
<label for="password">{new_password}</label>
<p class="hint" id="password-hint">{hint}</p>
<input id="password" name="password" type="password" autocomplete="new-password" required autofocus minlength="{min}" aria-describedby="password-hint">
<label for="confirmation">{confirm}</label>
<input id="confirmation" name="confirmation" type="password" autocomplete="new-password" required minlength="{min}">
<p><button type="submit">{button}</button></p>
</form>"#,
        problem = problem(trouble),
        action = escape(&lang.href("/password-reset/confirm")),
        token = hidden("token", token),
        new_password = escape(words.new_password),
        hint = escape(&words.length_hint(policy)),
        min = policy.min_length(),
        confirm = escape(words.confirm_password),
        button = escape(words.reset_button),
    )
}

/// The e-mail confirmation form: one button.
pub(super) fn email_form(lang: &Lang, words: &Words, token: &str) -> String {
    format!(
        r#"<p>{intro}</p>
<form method="post" action="{action}">
{token}
<p><button type="submit">{button}</button></p>
</form>"#,
        intro = escape(words.email_intro),
        action = escape(&lang.href("/accounts/email-confirmation")),
        token = hidden("token", token),
        button = escape(words.email_button),
    )
}

/// What happened, with the way to log in (the site's home, as in the mails).
pub(super) fn done(words: &Words, message: &str, home: &str) -> String {
    format!(
        r#"<p class="notice" role="status">{}</p><p><a class="button" href="{}">{}</a></p>"#,
        escape(message),
        escape(home),
        escape(words.log_in)
    )
}

/// A page that only says what went wrong, and what to do next if anything.
pub(super) fn trouble(message: &str, hint: Option<&str>) -> String {
    let hint = hint
        .map(|h| format!("<p>{}</p>", escape(h)))
        .unwrap_or_default();
    format!("{}{hint}", problem(Some(message)))
}
