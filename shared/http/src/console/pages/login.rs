//! The login page.

use crate::console::html::{escape, hidden};
use crate::console::i18n::Lang;

/// The login form, with its CSRF token, the user name typed before (if any)
/// and why the last attempt failed (if it did).
pub(in crate::console) fn login(
    lang: &Lang,
    csrf: &str,
    user_name: &str,
    problem: Option<&str>,
) -> String {
    let t = lang.text();
    let problem = problem
        .map(|p| format!(r#"<p class="problem" role="alert">{}</p>"#, escape(p)))
        .unwrap_or_default();
    format!(
        r#"{problem}<form method="post" action="{action}">
{csrf}
<label for="user_name">{user_name_label}</label>
<input id="user_name" name="user_name" type="text" autocomplete="username" required autofocus value="{user_name}">
<label for="password">{password_label}</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<p><button type="submit">{log_in}</button></p>
</form>"#,
        action = escape(&lang.href("/console/login")),
        csrf = hidden("csrf", csrf),
        user_name_label = escape(t.user_name),
        user_name = escape(user_name),
        password_label = escape(t.password),
        log_in = escape(t.log_in),
    )
}
