//! `patron-hub.toml`: the network, its institutions and where their secrets come
//! from; or, with no file, the demo network on the Alma sandbox.

use crate::http_server::ServerLimits;
use chrono::NaiveTime;
use patron_hub_alma::AlmaInstitution;
use patron_hub_domain::accounts::ImportLimits;
use patron_hub_domain::distribution::WorkerSettings;
use patron_hub_domain::organizations::Rollover;
use patron_hub_domain::registration::{ClientKey, ClientKeys, ClientScope, RegistrationSettings};
use patron_hub_domain::routing::RoutingRules;
use patron_hub_domain::settings::AtLeastOne;
use patron_hub_domain::webhook::WebhookSecrets;
use patron_hub_domain::{InstitutionCode, Network};
use patron_hub_http::client_address::AddressSource;
use patron_hub_mail::{SmtpCredentials, SmtpSecurity, SmtpSettings};
use serde::Deserialize;
use std::path::Path;
use std::time::Duration;

/// The demo network's fixed values (DESIGN.md), used by `serve` with no config,
/// by the benchmarks, the tests and the documentation.
pub mod demo {
    /// The network zone.
    pub const NETWORK_ZONE: &str = "DEMO_NETWORK";
    /// The member institutions.
    pub const INSTITUTIONS: [&str; 3] = ["DEMO_A", "DEMO_B", "DEMO_C"];
    /// The webhook secret.
    pub const WEBHOOK_SECRET: &str = "demo-webhook-secret";
    /// API keys are this prefix followed by the institution code.
    pub const API_KEY_PREFIX: &str = "demo-key-";
    /// The registration API's client key, with the staff scope.
    pub const CLIENT_KEY: &str = "demo-client-key";
}

/// The configuration file as written by an operator.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The network zone.
    pub network_zone: InstitutionSettings,
    /// The member institutions.
    pub institutions: Vec<InstitutionSettings>,
    /// Where the webhook secrets come from.
    pub webhook: WebhookSettings,
    /// Which events are distributed where.
    #[serde(default)]
    pub routing: RoutingRules,
    /// How jobs are applied and retried.
    #[serde(default)]
    pub worker: WorkerSettings,
    /// Seconds before an Alma call is abandoned as unanswered.
    #[serde(default = "default_alma_timeout")]
    pub alma_timeout_seconds: AtLeastOne,
    /// Login accounts: public address and mail sender.
    #[serde(default)]
    pub accounts: AccountsSettings,
    /// How completed registrations become Alma patrons.
    #[serde(default)]
    pub registration: RegistrationSettings,
    /// Days a staging record nobody updates is kept before the daily rollover purges it.
    #[serde(default = "default_staging_retention")]
    pub staging_retention_days: AtLeastOne,
    /// The client systems allowed to call the registration API, by the
    /// SHA-256 of their key (`patron-hub client-key` makes a key and its entry).
    #[serde(default)]
    pub client_keys: Vec<ClientKey>,
    /// How slow and how many HTTP clients `serve` bears.
    #[serde(default)]
    pub server: ServerLimits,
    /// When `serve` reconciles the network by itself.
    #[serde(default)]
    pub reconcile: ReconcileSchedule,
    /// Who may read `GET /metrics` besides loopback clients.
    #[serde(default)]
    pub metrics: MetricsSettings,
}

/// Who may read `GET /metrics` besides loopback clients (`[metrics]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsSettings {
    /// The environment variable holding a bearer token that lets a scraper
    /// on another machine in; without it, only loopback clients are served.
    pub bearer_token_env: Option<String>,
}

/// When `serve` reconciles the distributed readers of the network by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReconcileSchedule {
    /// Whether it does at all.
    pub nightly: bool,
    /// The time of day (UTC, `HH:MM`) it starts.
    #[serde(deserialize_with = "hour_minute")]
    pub at: NaiveTime,
}

/// A time of day written `HH:MM`.
fn hour_minute<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<NaiveTime, D::Error> {
    let text = String::deserialize(deserializer)?;
    NaiveTime::parse_from_str(&text, "%H:%M")
        .map_err(|_| serde::de::Error::custom(format!("expected HH:MM, got {text:?}")))
}

impl Default for ReconcileSchedule {
    /// Every night at 03:30 UTC, after the rollover (02:15).
    fn default() -> Self {
        Self {
            nightly: true,
            at: NaiveTime::from_hms_opt(3, 30, 0).unwrap_or(NaiveTime::MIN),
        }
    }
}

/// Where account mails point and who sends them.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccountsSettings {
    /// The address people reach patron-hub at: every link in a mail starts
    /// with it (never with a request's Host header). Defaults to the listen address.
    pub public_base_url: Option<String>,
    /// The sender of account mails.
    pub mail_from: String,
    /// Send mail through this SMTP relay instead of the outbox folder.
    pub smtp: Option<SmtpConfig>,
    /// Whose word is taken for a client's address in the per-address limits
    /// of login, reset, registration and mailed links: `peer` (the default,
    /// patron-hub faces the clients) or `forwarded-for` (behind a reverse
    /// proxy that appends the client to `X-Forwarded-For`).
    pub client_address: AddressSource,
    /// The most rows (header included) a bulk-import sheet may use.
    pub import_max_rows: AtLeastOne,
    /// The most columns a bulk-import sheet may use.
    pub import_max_columns: AtLeastOne,
}

impl Default for AccountsSettings {
    fn default() -> Self {
        Self {
            public_base_url: None,
            mail_from: DEFAULT_MAIL_FROM.to_owned(),
            smtp: None,
            client_address: AddressSource::Peer,
            import_max_rows: AtLeastOne::or_one(ImportLimits::default().rows),
            import_max_columns: AtLeastOne::or_one(ImportLimits::default().columns),
        }
    }
}

/// An SMTP relay, as written in the configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// The relay's host name.
    pub host: String,
    /// Its port (default: 465 for `tls`, 587 for `starttls`, 25 for `plain`).
    pub port: Option<u16>,
    /// `tls`, `starttls` (the default) or `plain` (loopback relays only).
    #[serde(default)]
    pub security: SmtpSecurityConfig,
    /// The environment variable holding the relay's user name, if it needs one.
    pub user_env: Option<String>,
    /// The environment variable holding the relay's password.
    pub password_env: Option<String>,
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurityConfig {
    /// TLS from the first byte.
    Tls,
    /// Plain, then upgraded with STARTTLS (required).
    #[default]
    Starttls,
    /// No encryption.
    Plain,
}

/// Where account mails go.
#[derive(Debug, Clone)]
pub enum MailTransport {
    /// `.eml` files in the data folder's `outbox/`.
    Outbox,
    /// An SMTP relay.
    Smtp(SmtpSettings),
}

/// The sender of account mails when none is configured.
const DEFAULT_MAIL_FROM: &str = "patron-hub <no-reply@patron-hub.invalid>";

/// One institution's Alma API.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstitutionSettings {
    /// Alma's institution code.
    pub code: InstitutionCode,
    /// The API gateway, e.g. `https://api-eu.hosted.exlibrisgroup.com`.
    pub api_base_url: String,
    /// The environment variable holding the institution's API key.
    pub api_key_env: String,
    /// Calls per second patron-hub allows itself (Alma refuses above about 25).
    #[serde(default = "default_calls_per_second")]
    pub calls_per_second: AtLeastOne,
}

/// Where the webhook secrets come from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    /// The environment variable holding the secret(s), separated by newlines or
    /// commas: the current one, and the previous one during a rotation.
    pub secrets_env: String,
    /// The largest accepted body.
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
}

fn default_alma_timeout() -> AtLeastOne {
    patron_hub_alma::DEFAULT_TIMEOUT_SECONDS
}

fn default_staging_retention() -> AtLeastOne {
    AtLeastOne::or_one(Rollover::DEFAULT_STAGING_RETENTION_DAYS as u32)
}

fn default_calls_per_second() -> AtLeastOne {
    AtLeastOne::or_one(20)
}

fn default_max_body() -> usize {
    patron_hub_http::webhook::DEFAULT_MAX_BODY
}

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML or does not match the schema.
    #[error("invalid configuration {path}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A secret's environment variable is not set.
    #[error("environment variable {0} is not set")]
    MissingSecret(String),
}

/// The configuration with its secrets read: what the server runs on.
#[derive(Debug, Clone)]
pub struct Runtime {
    /// The network's shape.
    pub network: Network,
    /// Each member institution's API access (the zone's too, first).
    pub alma: Vec<AlmaInstitution>,
    /// Accepted webhook secrets.
    pub secrets: WebhookSecrets,
    /// The largest accepted webhook body.
    pub max_body_bytes: usize,
    /// Routing rules.
    pub routing: RoutingRules,
    /// Worker settings.
    pub worker: WorkerSettings,
    /// Alma call timeout.
    pub alma_timeout: Duration,
    /// The public address links start with (`None`: the listen address).
    pub public_base_url: Option<String>,
    /// The sender of account mails.
    pub mail_from: String,
    /// Where account mails go.
    pub mail: MailTransport,
    /// How completed registrations become Alma patrons.
    pub registration: RegistrationSettings,
    /// The accepted client keys of the registration API.
    pub client_keys: ClientKeys,
    /// Days a stale staging record is kept.
    pub staging_retention_days: u64,
    /// Whose word is taken for a client's address.
    pub client_address: AddressSource,
    /// The largest bulk-import sheet.
    pub import_limits: ImportLimits,
    /// How slow and how many HTTP clients `serve` bears.
    pub server: ServerLimits,
    /// When `serve` reconciles by itself.
    pub reconcile: ReconcileSchedule,
    /// The bearer token that lets a non-loopback scraper read `/metrics`.
    pub metrics_token: Option<String>,
    /// Whether this is the demo network (then `serve` makes the demo administrator).
    pub demo: bool,
}

impl Settings {
    /// Reads and checks a configuration file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: shown.clone(),
            source,
        })?;
        let settings: Settings = toml::from_str(&text).map_err(|e| ConfigError::Invalid {
            path: shown.clone(),
            message: e.message().to_owned(),
        })?;
        if settings.institutions.is_empty() {
            return Err(ConfigError::Invalid {
                path: shown,
                message: "at least one [[institutions]] is needed".to_owned(),
            });
        }
        Ok(settings)
    }

    /// The network these settings describe.
    pub fn network(&self) -> Network {
        Network {
            zone: self.network_zone.code.clone(),
            members: self.institutions.iter().map(|i| i.code.clone()).collect(),
        }
    }

    /// Reads the secrets from the environment.
    pub fn resolve(&self, env: impl Fn(&str) -> Option<String>) -> Result<Runtime, ConfigError> {
        let secret = |name: &str| {
            env(name)
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| ConfigError::MissingSecret(name.to_owned()))
        };
        let institution = |i: &InstitutionSettings| -> Result<AlmaInstitution, ConfigError> {
            Ok(AlmaInstitution {
                code: i.code.clone(),
                base_url: i.api_base_url.clone(),
                api_key: secret(&i.api_key_env)?,
                calls_per_second: i.calls_per_second.get(),
            })
        };
        let alma = std::iter::once(&self.network_zone)
            .chain(&self.institutions)
            .map(institution)
            .collect::<Result<Vec<_>, _>>()?;
        let secrets_text = secret(&self.webhook.secrets_env)?;
        Ok(Runtime {
            network: self.network(),
            alma,
            secrets: WebhookSecrets::new(secrets_text.split(['\n', ',']).map(str::trim)),
            max_body_bytes: self.webhook.max_body_bytes,
            routing: self.routing.clone(),
            worker: self.worker.clone(),
            alma_timeout: Duration::from_secs(self.alma_timeout_seconds.get().into()),
            public_base_url: self.accounts.public_base_url.clone(),
            mail_from: self.accounts.mail_from.clone(),
            mail: match &self.accounts.smtp {
                None => MailTransport::Outbox,
                Some(smtp) => {
                    MailTransport::Smtp(smtp_settings(smtp, &self.accounts.mail_from, &env)?)
                }
            },
            registration: self.registration.clone(),
            client_keys: ClientKeys::new(self.client_keys.clone()),
            staging_retention_days: self.staging_retention_days.get().into(),
            client_address: self.accounts.client_address,
            import_limits: ImportLimits {
                rows: self.accounts.import_max_rows.get(),
                columns: self.accounts.import_max_columns.get(),
            },
            server: self.server,
            reconcile: self.reconcile,
            metrics_token: self
                .metrics
                .bearer_token_env
                .as_deref()
                .map(secret)
                .transpose()?,
            demo: false,
        })
    }
}

/// The relay's settings with its credentials read from the environment.
fn smtp_settings(
    smtp: &SmtpConfig,
    from: &str,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<SmtpSettings, ConfigError> {
    let read = |name: &Option<String>| -> Result<Option<String>, ConfigError> {
        match name {
            None => Ok(None),
            Some(name) => env(name)
                .filter(|v| !v.is_empty())
                .map(Some)
                .ok_or_else(|| ConfigError::MissingSecret(name.clone())),
        }
    };
    let credentials = match (read(&smtp.user_env)?, read(&smtp.password_env)?) {
        (Some(user), Some(password)) => Some(SmtpCredentials { user, password }),
        _ => None,
    };
    Ok(SmtpSettings {
        host: smtp.host.clone(),
        port: smtp.port,
        security: match smtp.security {
            SmtpSecurityConfig::Tls => SmtpSecurity::Tls,
            SmtpSecurityConfig::Starttls => SmtpSecurity::StartTls,
            SmtpSecurityConfig::Plain => SmtpSecurity::Plain,
        },
        credentials,
        from: from.to_owned(),
    })
}

impl Runtime {
    /// The demo network on an Alma sandbox at `sandbox_url`.
    pub fn demo(sandbox_url: &str) -> Self {
        let code = |c: &str| InstitutionCode::parse(c).expect("demo codes are valid");
        let alma = std::iter::once(demo::NETWORK_ZONE)
            .chain(demo::INSTITUTIONS)
            .map(|c| AlmaInstitution {
                code: code(c),
                base_url: sandbox_url.to_owned(),
                api_key: format!("{}{c}", demo::API_KEY_PREFIX),
                calls_per_second: default_calls_per_second().get(),
            })
            .collect();
        Runtime {
            network: Network {
                zone: code(demo::NETWORK_ZONE),
                members: demo::INSTITUTIONS.iter().map(|c| code(c)).collect(),
            },
            alma,
            secrets: WebhookSecrets::new([demo::WEBHOOK_SECRET]),
            max_body_bytes: default_max_body(),
            routing: RoutingRules::default(),
            worker: WorkerSettings::default(),
            alma_timeout: Duration::from_secs(default_alma_timeout().get().into()),
            public_base_url: None,
            mail_from: DEFAULT_MAIL_FROM.to_owned(),
            mail: MailTransport::Outbox,
            registration: RegistrationSettings::default(),
            client_keys: ClientKeys::new(vec![ClientKey::from_plain(
                "demo",
                demo::CLIENT_KEY,
                ClientScope::Staff,
            )]),
            staging_retention_days: default_staging_retention().get().into(),
            client_address: AddressSource::Peer,
            import_limits: ImportLimits::default(),
            server: ServerLimits::default(),
            reconcile: ReconcileSchedule::default(),
            metrics_token: None,
            demo: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use patron_hub_domain::settings::SettingError;

    const EXAMPLE: &str = include_str!("../../patron-hub.example.toml");

    #[test]
    fn the_example_file_parses_and_resolves() {
        let settings: Settings = toml::from_str(EXAMPLE).unwrap();
        let runtime = settings
            .resolve(|name| Some(format!("value-of-{name}")))
            .unwrap();
        assert_eq!(runtime.network.members.len(), settings.institutions.len());
        assert_eq!(runtime.alma.len(), settings.institutions.len() + 1);
        assert!(runtime
            .alma
            .iter()
            .all(|a| a.api_key.starts_with("value-of-")));
        let MailTransport::Smtp(smtp) = &runtime.mail else {
            panic!("the example sends through SMTP");
        };
        assert_eq!(
            (smtp.host.as_str(), smtp.port),
            ("smtp.example.org", Some(587))
        );
        assert!(matches!(smtp.security, SmtpSecurity::StartTls));
        assert_eq!(
            smtp.credentials.as_ref().map(|c| c.user.as_str()),
            Some("value-of-SMTP_USER")
        );
    }

    #[test]
    fn without_smtp_mails_go_to_the_outbox() {
        let text = EXAMPLE.replace("smtp = {", "# smtp = {");
        let runtime = toml::from_str::<Settings>(&text)
            .unwrap()
            .resolve(|name| Some(name.to_owned()))
            .unwrap();
        assert!(matches!(runtime.mail, MailTransport::Outbox));
    }

    #[test]
    fn a_missing_secret_is_named() {
        let settings: Settings = toml::from_str(EXAMPLE).unwrap();
        let error = settings.resolve(|_| None).unwrap_err();
        assert!(matches!(error, ConfigError::MissingSecret(_)));
    }

    /// The values the Lambda functions' environment refuses (`shared/lambda`'s
    /// env tests) are refused here too, with the same message, not clamped.
    #[test]
    fn zero_counts_and_plain_client_keys_are_refused_as_on_lambda() {
        let at_least_one = SettingError::NotAtLeastOne.to_string();
        let cases = [
            (
                "alma_timeout_seconds = 10",
                "alma_timeout_seconds = 0",
                &at_least_one,
            ),
            (
                "staging_retention_days = 365",
                "staging_retention_days = 0",
                &at_least_one,
            ),
            (
                "calls_per_second = 20",
                "calls_per_second = 0",
                &at_least_one,
            ),
            (
                "import_max_rows = 10000",
                "import_max_rows = 0",
                &at_least_one,
            ),
        ];
        for (good, bad, message) in cases {
            assert!(EXAMPLE.contains(good), "the example sets {good}");
            let error = toml::from_str::<Settings>(&EXAMPLE.replacen(good, bad, 1)).unwrap_err();
            assert!(error.message().contains(message.as_str()), "{bad}: {error}");
        }
        let plain = EXAMPLE.replace(&hash_key_of_example(), "kiosk-key");
        let error = toml::from_str::<Settings>(&plain).unwrap_err();
        assert!(
            error
                .message()
                .contains(&SettingError::NotSha256Hex.to_string()),
            "{error}"
        );
    }

    /// The first client key hash the example file holds.
    fn hash_key_of_example() -> String {
        let settings: Settings = toml::from_str(EXAMPLE).unwrap();
        settings.client_keys[0].sha256.as_str().to_owned()
    }

    #[test]
    fn unknown_keys_are_refused() {
        let text = format!("{EXAMPLE}\nsurprise = 1\n");
        assert!(toml::from_str::<Settings>(&text).is_err());
    }
}
