//! The client itself: one HTTP client, and per institution its API, key and pacer.

use crate::answer::{describe, read_answer, Answer};
use crate::endpoint::UsersApi;
use crate::institution::{AlmaConfigError, AlmaInstitution};
use crate::outcome::{error_from_failure, page_from_success, user_from_success};
use crate::pacer::Pacer;
use async_trait::async_trait;
use patron_hub_domain::alma::{codes, AlmaError, AlmaUsers, UserPage, UserQuery};
use patron_hub_domain::operations::{self, OperationsLog, Tally};
use patron_hub_domain::{telemetry, AlmaUser, Clock, InstitutionCode, PrimaryId, SystemClock};
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION};
use reqwest::{Method, Url};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// How long every call to an institution waits after Alma answered 429: its
/// threshold is counted per second.
const THROTTLE_COOL_DOWN: Duration = Duration::from_secs(1);

/// The code of a call for an institution the client was not given.
const UNKNOWN_INSTITUTION: &str = "UNKNOWN_INSTITUTION";

/// The Alma Users API of every configured institution, built once at start-up
/// and shared by every worker: calls to one institution share its pacer, so
/// together they stay under its per-second threshold. It never retries.
pub struct AlmaClient {
    http: reqwest::Client,
    institutions: HashMap<InstitutionCode, Institution>,
    operations: Option<Arc<dyn OperationsLog>>,
}

/// What the client keeps for one institution.
struct Institution {
    api: UsersApi,
    authorization: HeaderValue,
    pacer: Pacer,
}

/// How long an Alma call may take, body included, unless configured
/// otherwise: the same locally (`alma_timeout_seconds`) and on Lambda
/// (`ALMA_TIMEOUT_SECONDS`), well inside the worker function's 30 s.
pub const DEFAULT_TIMEOUT_SECONDS: patron_hub_domain::settings::AtLeastOne =
    patron_hub_domain::settings::AtLeastOne::or_one(10);

impl AlmaClient {
    /// A client for `institutions`; every call, body included, must finish within
    /// `timeout` (the wait for a pacing slot is not counted).
    pub fn new(
        institutions: Vec<AlmaInstitution>,
        timeout: Duration,
    ) -> Result<Self, AlmaConfigError> {
        let mut configured = HashMap::with_capacity(institutions.len());
        for institution in institutions {
            let code = institution.code.clone();
            if configured.contains_key(&code) {
                return Err(AlmaConfigError::DuplicateInstitution(code));
            }
            configured.insert(code, Institution::new(institution)?);
        }
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("patron-hub/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| AlmaConfigError::HttpClient(error.to_string()))?;
        Ok(Self {
            http,
            institutions: configured,
            operations: None,
        })
    }

    /// Also counts Alma's 429 and 5xx answers (and calls without an answer)
    /// in the operations time series.
    pub fn with_operations(mut self, operations: Arc<dyn OperationsLog>) -> Self {
        self.operations = Some(operations);
        self
    }

    /// Counts the answer `status` (0: none) of a call to `code` where the
    /// operations view charts it.
    async fn tally(&self, code: &InstitutionCode, status: u16) {
        if let Some(tally) = Tally::alma_answer(status) {
            operations::record(self.operations.as_deref(), code, SystemClock.now(), tally).await;
        }
    }

    /// Lets this client use only `share` (0 to 1) of `code`'s calls per
    /// second, at least one a second: while a backfill or a reconcile runs
    /// beside it, the institution's budget is split between them. An
    /// institution the client does not know is ignored.
    pub fn set_share(&self, code: &InstitutionCode, share: f64) {
        if let Some(institution) = self.institutions.get(code) {
            institution.pacer.set_share(share);
        }
    }

    /// The share of `code`'s calls per second this client paces it at now
    /// (see [`AlmaClient::set_share`]); `None` for an institution it does
    /// not know.
    pub fn share(&self, code: &InstitutionCode) -> Option<f64> {
        self.institutions
            .get(code)
            .map(|institution| institution.pacer.share())
    }

    fn institution(&self, code: &InstitutionCode) -> Result<&Institution, AlmaError> {
        self.institutions
            .get(code)
            .ok_or_else(|| AlmaError::Rejected {
                status: 0,
                code: UNKNOWN_INSTITUTION.to_owned(),
                message: format!("institution {code} is not configured"),
            })
    }

    /// One paced call: the status and the answer, or `Unavailable` when no answer
    /// came at all.
    async fn exchange(
        &self,
        code: &InstitutionCode,
        method: Method,
        url: impl FnOnce(&UsersApi) -> Result<Url, AlmaError>,
        body: Option<&AlmaUser>,
    ) -> Result<(u16, Answer), AlmaError> {
        let institution = self.institution(code)?;
        let url = url(&institution.api)?;
        let asked = Instant::now();
        institution.pacer.wait_turn().await;
        let started = Instant::now();
        let waited_ms = millis(started - asked);
        let mut request = self
            .http
            .request(method.clone(), url)
            .header(AUTHORIZATION, institution.authorization.clone())
            .header(ACCEPT, "application/json");
        if let Some(body) = body {
            request = request.json(body);
        }
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                if status == 429 {
                    institution.pacer.cool_down(THROTTLE_COOL_DOWN);
                }
                let answer = read_answer(response).await;
                telemetry::alma_called(code, status, started.elapsed());
                self.tally(code, status).await;
                tracing::debug!(
                    institution = %code,
                    method = %method,
                    status,
                    elapsed_ms = millis(started.elapsed()),
                    waited_ms,
                    "alma call"
                );
                Ok((status, answer))
            }
            Err(error) => {
                let description = describe(&error);
                telemetry::alma_called(code, 0, started.elapsed());
                self.tally(code, 0).await;
                tracing::debug!(
                    institution = %code,
                    method = %method,
                    status = 0_u16,
                    elapsed_ms = millis(started.elapsed()),
                    waited_ms,
                    error = %description,
                    "alma call"
                );
                Err(AlmaError::Unavailable(description))
            }
        }
    }

    /// A call whose successful answer `read` turns into its result.
    async fn call<T>(
        &self,
        code: &InstitutionCode,
        method: Method,
        url: impl FnOnce(&UsersApi) -> Result<Url, AlmaError>,
        body: Option<&AlmaUser>,
        read: fn(u16, Answer) -> Result<T, AlmaError>,
    ) -> Result<T, AlmaError> {
        let (status, answer) = self.exchange(code, method, url, body).await?;
        if is_success(status) {
            read(status, answer)
        } else {
            Err(error_from_failure(status, answer))
        }
    }

    /// A call answering a user record.
    async fn user_call(
        &self,
        code: &InstitutionCode,
        method: Method,
        url: impl FnOnce(&UsersApi) -> Result<Url, AlmaError>,
        body: Option<&AlmaUser>,
    ) -> Result<AlmaUser, AlmaError> {
        self.call(code, method, url, body, user_from_success).await
    }
}

impl Institution {
    fn new(institution: AlmaInstitution) -> Result<Self, AlmaConfigError> {
        let AlmaInstitution {
            code,
            base_url,
            api_key,
            calls_per_second,
        } = institution;
        let api = UsersApi::new(&base_url).ok_or_else(|| AlmaConfigError::InvalidBaseUrl {
            code: code.clone(),
            url: base_url,
        })?;
        let api_key = api_key.trim();
        let mut authorization = HeaderValue::from_str(&format!("apikey {api_key}"))
            .ok()
            .filter(|_| !api_key.is_empty())
            .ok_or_else(|| AlmaConfigError::InvalidApiKey(code.clone()))?;
        authorization.set_sensitive(true);
        if calls_per_second == 0 {
            return Err(AlmaConfigError::ZeroRate(code));
        }
        Ok(Self {
            api,
            authorization,
            pacer: Pacer::new(calls_per_second),
        })
    }
}

impl fmt::Debug for AlmaClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut codes: Vec<&InstitutionCode> = self.institutions.keys().collect();
        codes.sort();
        f.debug_struct("AlmaClient")
            .field("institutions", &codes)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl AlmaUsers for AlmaClient {
    async fn get_user(
        &self,
        institution: &InstitutionCode,
        primary_id: &PrimaryId,
    ) -> Result<AlmaUser, AlmaError> {
        self.user_call(
            institution,
            Method::GET,
            |api| api.get_user(primary_id),
            None,
        )
        .await
    }

    async fn create_user(
        &self,
        institution: &InstitutionCode,
        user: &AlmaUser,
    ) -> Result<AlmaUser, AlmaError> {
        self.user_call(
            institution,
            Method::POST,
            |api| Ok(api.create_user()),
            Some(user),
        )
        .await
    }

    async fn create_linked_user(
        &self,
        institution: &InstitutionCode,
        source: &InstitutionCode,
        primary_id: &PrimaryId,
    ) -> Result<AlmaUser, AlmaError> {
        // Alma takes the record from the source institution: the body is `{}`.
        self.user_call(
            institution,
            Method::POST,
            |api| Ok(api.create_linked_user(source, primary_id)),
            Some(&AlmaUser::default()),
        )
        .await
    }

    async fn update_user(
        &self,
        institution: &InstitutionCode,
        primary_id: &PrimaryId,
        user: &AlmaUser,
    ) -> Result<AlmaUser, AlmaError> {
        self.user_call(
            institution,
            Method::PUT,
            |api| api.update_user(primary_id),
            Some(user),
        )
        .await
    }

    async fn delete_user(
        &self,
        institution: &InstitutionCode,
        primary_id: &PrimaryId,
    ) -> Result<(), AlmaError> {
        let (status, answer) = self
            .exchange(
                institution,
                Method::DELETE,
                |api| api.delete_user(primary_id),
                None,
            )
            .await?;
        if is_success(status) {
            Ok(())
        } else {
            Err(error_from_failure(status, answer))
        }
    }

    async fn list_users(
        &self,
        institution: &InstitutionCode,
        query: &UserQuery,
    ) -> Result<UserPage, AlmaError> {
        let url = |api: &UsersApi| Ok(api.list_users(query));
        self.call(institution, Method::GET, url, None, page_from_success)
            .await
    }

    async fn linked_copies(
        &self,
        institution: &InstitutionCode,
        source: &InstitutionCode,
        source_user_id: &PrimaryId,
    ) -> Result<Vec<AlmaUser>, AlmaError> {
        let url = |api: &UsersApi| Ok(api.linked_copies(source, source_user_id));
        match self
            .call(institution, Method::GET, url, None, page_from_success)
            .await
        {
            Ok(page) => Ok(page.users),
            // "Local copied user information not found": Alma's way of saying none.
            Err(AlmaError::NotFound { code }) if code == codes::SOURCE_USER_NOT_FOUND => {
                Ok(Vec::new())
            }
            Err(error) => Err(error),
        }
    }
}

fn is_success(status: u16) -> bool {
    (200..300).contains(&status)
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn institution(
        code: &str,
        base_url: &str,
        api_key: &str,
        calls_per_second: u32,
    ) -> AlmaInstitution {
        AlmaInstitution {
            code: InstitutionCode::parse(code).unwrap(),
            base_url: base_url.to_owned(),
            api_key: api_key.to_owned(),
            calls_per_second,
        }
    }

    fn build(institutions: Vec<AlmaInstitution>) -> Result<AlmaClient, AlmaConfigError> {
        AlmaClient::new(institutions, Duration::from_secs(5))
    }

    #[test]
    fn refuses_unusable_configurations() {
        let code = InstitutionCode::parse("DEMO_A").unwrap();
        let twice = vec![
            institution("DEMO_A", "http://127.0.0.1:1", "k", 20),
            institution("DEMO_A", "http://127.0.0.1:2", "k", 20),
        ];
        assert_eq!(
            build(twice).unwrap_err(),
            AlmaConfigError::DuplicateInstitution(code.clone())
        );
        assert!(matches!(
            build(vec![institution("DEMO_A", "127.0.0.1:8081", "k", 20)]).unwrap_err(),
            AlmaConfigError::InvalidBaseUrl { .. }
        ));
        for key in ["", "  ", "key\nwith newline"] {
            assert_eq!(
                build(vec![institution("DEMO_A", "http://127.0.0.1:1", key, 20)]).unwrap_err(),
                AlmaConfigError::InvalidApiKey(code.clone())
            );
        }
        assert_eq!(
            build(vec![institution("DEMO_A", "http://127.0.0.1:1", "k", 0)]).unwrap_err(),
            AlmaConfigError::ZeroRate(code)
        );
    }

    #[test]
    fn debug_lists_institutions_but_no_key() {
        let client = build(vec![
            institution("DEMO_B", "http://127.0.0.1:1", "secret-b", 20),
            institution("DEMO_A", "http://127.0.0.1:1", "secret-a", 20),
        ])
        .unwrap();
        let shown = format!("{client:?}");
        assert!(
            shown.contains("DEMO_A") && shown.contains("DEMO_B"),
            "{shown}"
        );
        assert!(!shown.contains("secret"), "{shown}");
    }

    #[tokio::test]
    async fn an_unconfigured_institution_is_rejected_without_a_call() {
        let client = build(vec![institution("DEMO_A", "http://127.0.0.1:1", "k", 20)]).unwrap();
        let other = InstitutionCode::parse("DEMO_Z").unwrap();
        let refused = client
            .get_user(&other, &PrimaryId::parse("p1").unwrap())
            .await
            .unwrap_err();
        assert!(matches!(
            refused,
            AlmaError::Rejected { status: 0, ref code, .. } if code == UNKNOWN_INSTITUTION
        ));
    }
}
