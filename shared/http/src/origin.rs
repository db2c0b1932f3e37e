//! Where a browser says a request comes from, judged against patron-hub's one
//! public origin (`[accounts] public_base_url` locally, `PATRON_HUB_PUBLIC_BASE_URL`
//! in Lambda: the account service's settings in both), and the rule every
//! unsafe request authenticated by the session cookie must pass.
//!
//! `SameSite=Strict` keeps the cookie off requests from other *sites*, but a
//! sibling origin of the same site (another port of the host, such as the
//! sandbox, or a sibling subdomain) is the same site: only the browser's
//! `Sec-Fetch-Site` and `Origin` headers tell it apart, and neither can be set
//! by a page. Bearer tokens and API keys need no such check: a page on
//! another origin cannot add those headers without the CORS preflight that
//! patron-hub never grants.

use crate::error::{codes, ApiError};
use crate::json_body::{media_type, typed_json};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, ORIGIN, TRANSFER_ENCODING};
use axum::http::{HeaderMap, Method, StatusCode};

/// The media type of the bulk import's `.xlsx` body.
pub const SPREADSHEET_TYPE: &str =
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// What the browser's headers say about a request's origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Provenance {
    /// From a page of the public origin (or typed by the user: `none`).
    SameOrigin,
    /// From a page of another origin, same site or not.
    Foreign,
    /// Neither header: not a browser, or an old one.
    Unknown,
}

/// The request's provenance: `Sec-Fetch-Site` when the browser sent it
/// (`same-origin` or `none` is ours, anything else foreign); else `Origin`,
/// ours only when it is exactly the public origin (`null` is foreign).
pub(crate) fn provenance(headers: &HeaderMap, public_base_url: &str) -> Provenance {
    if let Some(site) = headers.get("sec-fetch-site") {
        let site = site.to_str().unwrap_or_default();
        return if site.eq_ignore_ascii_case("same-origin") || site.eq_ignore_ascii_case("none") {
            Provenance::SameOrigin
        } else {
            Provenance::Foreign
        };
    }
    match headers.get(ORIGIN).map(|origin| origin.to_str()) {
        None => Provenance::Unknown,
        Some(Ok(origin)) if origin.eq_ignore_ascii_case(origin_of(public_base_url)) => {
            Provenance::SameOrigin
        }
        Some(_) => Provenance::Foreign,
    }
}

/// `scheme://host[:port]` of a URL (its path dropped).
pub(crate) fn origin_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(slash) => &url[..after_scheme + slash],
        None => url,
    }
}

/// The check of an unsafe request (anything but GET, HEAD, OPTIONS, TRACE)
/// authenticated by the session cookie: it must come from the public origin
/// (`Sec-Fetch-Site: same-origin`/`none`, or that `Origin`), and a body it
/// carries must be JSON (or the import's spreadsheet), which no form and no
/// simple cross-origin request can send. Otherwise 403 `CROSS_ORIGIN`.
pub(crate) fn check_cookie_request(
    method: &Method,
    headers: &HeaderMap,
    public_base_url: &str,
) -> Result<(), ApiError> {
    if method.is_safe() {
        return Ok(());
    }
    if provenance(headers, public_base_url) != Provenance::SameOrigin {
        return Err(cross_origin(
            "a change authenticated by the session cookie must come from patron-hub's own pages; other clients use the bearer token",
        ));
    }
    if has_body(headers) && !typed_for_api(headers) {
        return Err(cross_origin(
            "a change authenticated by the session cookie must send its body as application/json",
        ));
    }
    Ok(())
}

/// Whether the headers announce a body (a non-zero length, a chunked one, or a type).
fn has_body(headers: &HeaderMap) -> bool {
    let length = headers
        .get(CONTENT_LENGTH)
        .and_then(|length| length.to_str().ok())
        .map(|length| length.trim() != "0");
    length.unwrap_or(false)
        || headers.contains_key(TRANSFER_ENCODING)
        || headers.contains_key(CONTENT_TYPE)
}

/// Whether the body is typed as JSON or as the import's spreadsheet.
fn typed_for_api(headers: &HeaderMap) -> bool {
    typed_json(headers) || media_type(headers).is_some_and(|essence| essence == SPREADSHEET_TYPE)
}

/// 403 `CROSS_ORIGIN`, saying why.
fn cross_origin(message: &str) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, codes::CROSS_ORIGIN, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const BASE: &str = "https://hub.example.org/";

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn the_browser_headers_decide_the_provenance() {
        use Provenance::*;
        for (pairs, expected) in [
            (&[][..], Unknown),
            (&[("sec-fetch-site", "same-origin")][..], SameOrigin),
            (&[("sec-fetch-site", "none")][..], SameOrigin),
            (&[("sec-fetch-site", "same-site")][..], Foreign),
            (&[("sec-fetch-site", "cross-site")][..], Foreign),
            (
                &[
                    ("sec-fetch-site", "same-site"),
                    ("origin", "https://hub.example.org"),
                ][..],
                Foreign,
            ),
            (&[("origin", "https://hub.example.org")][..], SameOrigin),
            (&[("origin", "HTTPS://HUB.example.org")][..], SameOrigin),
            (&[("origin", "https://hub.example.org:8081")][..], Foreign),
            (&[("origin", "http://hub.example.org")][..], Foreign),
            (&[("origin", "https://other.example.org")][..], Foreign),
            (&[("origin", "null")][..], Foreign),
        ] {
            assert_eq!(provenance(&headers(pairs), BASE), expected, "{pairs:?}");
        }
    }

    #[test]
    fn an_unsafe_cookie_request_needs_our_origin_and_a_json_body() {
        let post = Method::POST;
        let ours = [("origin", "https://hub.example.org")];
        let check = |method: &Method, pairs: &[(&'static str, &'static str)]| {
            check_cookie_request(method, &headers(pairs), BASE)
                .map_err(|e| (e.status.as_u16(), e.code))
        };
        assert_eq!(check(&Method::GET, &[]), Ok(()), "reads are not checked");
        assert_eq!(check(&post, &[]), Err((403, "CROSS_ORIGIN")));
        assert_eq!(
            check(
                &post,
                &[
                    ("sec-fetch-site", "same-site"),
                    ("content-type", "application/json")
                ]
            ),
            Err((403, "CROSS_ORIGIN"))
        );
        assert_eq!(check(&post, &ours), Ok(()), "no body, no type needed");
        assert_eq!(
            check(
                &Method::DELETE,
                &[("sec-fetch-site", "same-origin"), ("content-length", "0")]
            ),
            Ok(())
        );
        for refused in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
        ] {
            let pairs = [ours[0], ("content-type", refused)];
            assert_eq!(
                check(&post, &pairs),
                Err((403, "CROSS_ORIGIN")),
                "{refused}"
            );
        }
        assert_eq!(
            check(&post, &[ours[0], ("content-length", "12")]),
            Err((403, "CROSS_ORIGIN")),
            "a body without a type"
        );
        for accepted in [
            "application/json",
            "Application/JSON; charset=utf-8",
            SPREADSHEET_TYPE,
        ] {
            let pairs = [ours[0], ("content-type", accepted)];
            assert_eq!(check(&Method::PATCH, &pairs), Ok(()), "{accepted}");
        }
    }

    #[test]
    fn the_origin_of_a_url_drops_its_path() {
        assert_eq!(origin_of("https://a.b:8443/x/y"), "https://a.b:8443");
        assert_eq!(origin_of("http://localhost:8080"), "http://localhost:8080");
    }
}
