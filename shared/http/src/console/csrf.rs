//! CSRF defences of the console's forms: tokens derived from the session (or
//! the pre-session cookie of the login form) with HMAC-SHA256, compared in
//! constant time, and a refusal of POSTs a browser marks as cross-site.

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

/// Whether a POST may come from the console's own pages: not marked
/// cross-site or same-site by `Sec-Fetch-Site`, and with no `Origin` or an
/// `Origin` that is the request's own host or the public base URL's origin.
/// Clients that send neither header (not browsers) still need the token.
pub(crate) fn same_origin(headers: &HeaderMap, public_base_url: &str) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        let site = site.to_str().unwrap_or("cross-site");
        if site.eq_ignore_ascii_case("cross-site") || site.eq_ignore_ascii_case("same-site") {
            return false;
        }
    }
    let Some(origin) = headers.get(ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let public = origin_of(public_base_url);
    let own_host = headers.get(HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin.split_once("://").map(|(_, host)| host);
    origin.eq_ignore_ascii_case(public)
        || matches!((origin_host, own_host), (Some(a), Some(b)) if a.eq_ignore_ascii_case(b))
}

/// `scheme://host[:port]` of a URL (its path dropped).
fn origin_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(slash) => &url[..after_scheme + slash],
        None => url,
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

    #[test]
    fn the_origin_of_a_url_drops_its_path() {
        assert_eq!(origin_of("https://a.b:8443/x/y"), "https://a.b:8443");
        assert_eq!(origin_of("http://localhost:8080"), "http://localhost:8080");
    }
}
