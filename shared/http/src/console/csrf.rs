//! CSRF defences of the console's forms: tokens derived from the session (or
//! the pre-session cookie of the login form) with HMAC-SHA256, compared in
//! constant time, and a refusal of POSTs a browser marks as coming from
//! another origin (judged as every cookie-authenticated request is, in
//! [`crate::origin`]).

use crate::origin::{provenance, Provenance};
use axum::http::header::{HOST, ORIGIN};
use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// The token every form of a signed-in page carries.
pub(super) fn session_token(key: &[u8; 32], session: &str) -> String {
    sign(key, "console-csrf:", session)
}

/// The token the login form carries, bound to its pre-session cookie.
pub(super) fn login_token(key: &[u8; 32], pre_session: &str) -> String {
    sign(key, "console-login:", pre_session)
}

/// Whether `submitted` is `expected`, in time that does not depend on where they differ.
pub(super) fn matches(expected: &str, submitted: &str) -> bool {
    !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(submitted.as_bytes()))
}

fn sign(key: &[u8; 32], purpose: &str, value: &str) -> String {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(purpose.as_bytes());
    mac.update(value.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether a form POST may come from the console's own pages (or a mailed
/// link's page): the [`provenance`] every cookie-authenticated request is
/// judged by is not foreign, or, for browsers that send no `Sec-Fetch-Site`,
/// the `Origin` is the request's own host (a server reached under another name
/// than its public URL). Clients that send neither header (not browsers) still
/// need the form's token.
pub(crate) fn same_origin(headers: &HeaderMap, public_base_url: &str) -> bool {
    match provenance(headers, public_base_url) {
        Provenance::SameOrigin | Provenance::Unknown => true,
        Provenance::Foreign if headers.contains_key("sec-fetch-site") => false,
        Provenance::Foreign => {
            let origin = headers.get(ORIGIN).and_then(|o| o.to_str().ok());
            let own_host = headers.get(HOST).and_then(|h| h.to_str().ok());
            let origin_host = origin
                .and_then(|o| o.split_once("://"))
                .map(|(_, host)| host);
            matches!((origin_host, own_host), (Some(a), Some(b)) if a.eq_ignore_ascii_case(b))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const KEY: [u8; 32] = [7; 32];

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn tokens_depend_on_the_key_the_purpose_and_the_session() {
        let token = session_token(&KEY, "abc");
        assert_eq!(token.len(), 64);
        assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(token, session_token(&KEY, "abc"));
        assert_ne!(token, session_token(&KEY, "abd"));
        assert_ne!(token, session_token(&[8; 32], "abc"));
        assert_ne!(token, login_token(&KEY, "abc"));
    }

    #[test]
    fn only_the_exact_token_matches() {
        let token = session_token(&KEY, "abc");
        assert!(matches(&token, &token));
        assert!(!matches(&token, ""));
        assert!(!matches(&token, &token[..63]));
        assert!(!matches(&token, &token.to_uppercase()));
        assert!(!matches("", ""));
    }

    #[test]
    fn cross_site_posts_are_refused() {
        let base = "https://hub.example.org/";
        assert!(same_origin(&headers(&[]), base));
        assert!(same_origin(
            &headers(&[("sec-fetch-site", "same-origin")]),
            base
        ));
        assert!(!same_origin(
            &headers(&[("sec-fetch-site", "cross-site")]),
            base
        ));
        assert!(!same_origin(
            &headers(&[("sec-fetch-site", "same-site")]),
            base
        ));
        assert!(same_origin(
            &headers(&[("origin", "https://hub.example.org")]),
            base
        ));
        assert!(same_origin(
            &headers(&[
                ("origin", "http://10.0.0.5:8080"),
                ("host", "10.0.0.5:8080")
            ]),
            base
        ));
        assert!(!same_origin(
            &headers(&[
                ("origin", "https://evil.example"),
                ("host", "hub.example.org")
            ]),
            base
        ));
        assert!(!same_origin(&headers(&[("origin", "null")]), base));
    }
}
