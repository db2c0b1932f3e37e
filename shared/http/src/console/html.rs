//! The console's HTML: escaping, URL encoding, the frame every page shares
//! (language, skip link, menu, logout form), and the security headers. The
//! account link pages (`accounts::pages`) reuse the escaping, the frame and
//! the headers.

use super::i18n::Lang;
use super::session::Staff;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use std::fmt::Write;

/// No script at all, styles from the stylesheet only, never in a frame.
const CSP: &str = "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none'; \
                   form-action 'self'; frame-ancestors 'none'";

/// Text made safe for HTML content and quoted attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut safe = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => safe.push_str("&amp;"),
            '<' => safe.push_str("&lt;"),
            '>' => safe.push_str("&gt;"),
            '"' => safe.push_str("&quot;"),
            '\'' => safe.push_str("&#39;"),
            c => safe.push(c),
        }
    }
    safe
}

/// Text percent-encoded for a path segment or a query value (UTF-8 bytes;
/// only unreserved characters kept).
pub(super) fn encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            let _ = write!(encoded, "%{byte:02X}");
        }
    }
    encoded
}

/// A day as the console shows it.
pub(super) fn day(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

/// An instant as the console shows it (UTC, to the second).
pub(super) fn instant(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// A hidden form field.
pub(crate) fn hidden(name: &str, value: &str) -> String {
    format!(
        r#"<input type="hidden" name="{}" value="{}">"#,
        escape(name),
        escape(value)
    )
}

/// The page around `main`: who is signed in, the menu, the other language.
pub(super) fn page(
    lang: &Lang,
    staff: Option<&Staff>,
    status: StatusCode,
    title: &str,
    main: &str,
) -> Response {
    let t = lang.text();
    let mut header = String::new();
    if let Some(staff) = staff {
        let _ = write!(
            header,
            r#"<nav aria-label="{menu}"><ul><li><a href="{search}">{search_label}</a></li><li><a href="{dead}">{dead_label}</a></li><li><a href="{drift}">{drift_label}</a></li><li><a href="{operations}">{operations_label}</a></li></ul></nav>
<form class="logout" method="post" action="{logout}"><p>{signed_in} <strong>{name}</strong> {csrf}<button type="submit">{log_out}</button></p></form>"#,
            menu = escape(t.main_menu),
            search = escape(&lang.href("/console")),
            search_label = escape(t.nav_search),
            dead = escape(&lang.href("/console/dead-letters")),
            dead_label = escape(t.nav_dead_letters),
            drift = escape(&lang.href("/console/drift")),
            drift_label = escape(t.nav_drift),
            operations = escape(&lang.href("/console/operations")),
            operations_label = escape(t.nav_operations),
            logout = escape(&lang.href("/console/logout")),
            signed_in = escape(t.signed_in_as),
            name = escape(staff.account.user_name.as_str()),
            csrf = hidden("csrf", &staff.csrf),
            log_out = escape(t.log_out),
        );
    }
    frame(
        lang,
        status,
        &Frame {
            brand: t.console,
            stylesheet: "/console/style.css",
            header: &header,
        },
        title,
        main,
    )
}

/// What differs between the sites that share [`frame`]: the name shown at
/// the top, the stylesheet's path, and what the header holds besides it.
pub(crate) struct Frame<'a> {
    /// The site's name (escaped here).
    pub(crate) brand: &'a str,
    /// The stylesheet's path on this site.
    pub(crate) stylesheet: &'a str,
    /// Extra header HTML, already escaped.
    pub(crate) header: &'a str,
}

/// A whole HTML page around `main`: `lang` attribute, skip link, the brand,
/// the link to the other language, one `<h1>`.
pub(crate) fn frame(
    lang: &Lang,
    status: StatusCode,
    site: &Frame<'_>,
    title: &str,
    main: &str,
) -> Response {
    let t = lang.text();
    let mut header = site.header.to_owned();
    if let Some((href, name, code)) = lang.switch() {
        let _ = write!(
            header,
            r#"<p class="language"><a href="{}" hreflang="{code}" lang="{code}">{}</a></p>"#,
            escape(href),
            escape(name)
        );
    }
    let html = format!(
        r##"<!DOCTYPE html>
<html lang="{code}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · {brand}</title>
<link rel="stylesheet" href="{stylesheet}">
</head>
<body>
<a class="skip" href="#main">{skip}</a>
<header><p class="brand">{brand}</p>{header}</header>
<main id="main" tabindex="-1">
<h1>{title}</h1>
{main}
</main>
</body>
</html>
"##,
        code = lang.code(),
        title = escape(title),
        brand = escape(site.brand),
        stylesheet = escape(site.stylesheet),
        skip = escape(t.skip_to_content),
    );
    (
        status,
        [(
            CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        html,
    )
        .into_response()
}

/// A page that only says what went wrong, with a way back.
pub(super) fn message_page(
    lang: &Lang,
    staff: Option<&Staff>,
    status: StatusCode,
    title: &str,
    message: &str,
    back: (&str, &str),
) -> Response {
    let main = format!(
        r#"<p class="problem" role="alert">{}</p><p><a href="{}">{}</a></p>"#,
        escape(message),
        escape(&lang.href(back.0)),
        escape(back.1)
    );
    page(lang, staff, status, title, &main)
}

/// Adds the console's security headers to every answer (pages are not cached).
pub(super) async fn security_headers(response: Response) -> Response {
    secure(response)
}

/// The security headers of every HTML page: the CSP without scripts,
/// `nosniff`, `Referrer-Policy: same-origin`, no framing, and `no-store`
/// unless the answer chose its own caching.
pub(crate) fn secure(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers
        .entry(CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// The one stylesheet: high contrast, visible focus, usable at any width.
pub(crate) const STYLESHEET: &str = include_str!("style.css");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_everything_that_could_open_markup() {
        assert_eq!(
            escape(r#"<a href="x" onclick='y'>&amp;</a>"#),
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;"
        );
        assert_eq!(escape("Éloïse Dupré"), "Éloïse Dupré");
    }

    #[test]
    fn encodes_ids_for_urls() {
        assert_eq!(encode("P-001_a.b~c"), "P-001_a.b~c");
        assert_eq!(encode("a b?c#d%e&f"), "a%20b%3Fc%23d%25e%26f");
        assert_eq!(encode("é"), "%C3%A9");
    }
}
