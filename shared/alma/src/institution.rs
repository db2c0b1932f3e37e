//! How to reach one institution's Alma, and why a configuration cannot be used.

use patron_hub_domain::InstitutionCode;
use std::fmt;

/// One institution's access to the Alma Users API: where its gateway is, its own
/// API key, and the calls per second the client may make on its behalf.
#[derive(Clone, PartialEq, Eq)]
pub struct AlmaInstitution {
    /// The institution (or network zone) this access belongs to.
    pub code: InstitutionCode,
    /// The regional gateway, e.g. `https://api-eu.hosted.exlibrisgroup.com`, or the
    /// sandbox `http://127.0.0.1:8081`; the client appends `/almaws/v1`.
    pub base_url: String,
    /// The institution's API key, sent as `Authorization: apikey KEY`. Never logged.
    pub api_key: String,
    /// The pace of calls to this institution, kept under its Alma threshold (25/s).
    pub calls_per_second: u32,
}

impl fmt::Debug for AlmaInstitution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlmaInstitution")
            .field("code", &self.code)
            .field("base_url", &self.base_url)
            .field("api_key", &"<redacted>")
            .field("calls_per_second", &self.calls_per_second)
            .finish()
    }
}

/// Why an [`AlmaClient`](crate::AlmaClient) cannot be built from a configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AlmaConfigError {
    /// The same institution is configured twice: which key and pace would apply?
    #[error("institution {0} is configured more than once")]
    DuplicateInstitution(InstitutionCode),
    /// The base URL is not an absolute http(s) URL without query or fragment.
    #[error("institution {code}: base URL {url:?} is not an http(s) URL without query")]
    InvalidBaseUrl {
        /// The institution.
        code: InstitutionCode,
        /// The URL as configured.
        url: String,
    },
    /// The API key is empty or cannot travel in an HTTP header (the key itself is not shown).
    #[error("institution {0}: the API key is empty or not a valid header value")]
    InvalidApiKey(InstitutionCode),
    /// Zero calls per second would never call Alma at all.
    #[error("institution {0}: calls per second must be at least 1")]
    ZeroRate(InstitutionCode),
    /// The HTTP client could not be built (TLS setup).
    #[error("cannot build the HTTP client: {0}")]
    HttpClient(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_api_key() {
        let institution = AlmaInstitution {
            code: InstitutionCode::parse("DEMO_A").unwrap(),
            base_url: "http://127.0.0.1:8081".to_owned(),
            api_key: "secret-key-123".to_owned(),
            calls_per_second: 20,
        };
        let shown = format!("{institution:?}");
        assert!(!shown.contains("secret-key-123"), "{shown}");
        assert!(
            shown.contains("DEMO_A") && shown.contains("<redacted>"),
            "{shown}"
        );
    }
}
