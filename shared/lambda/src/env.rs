//! The Lambda functions' settings, named as in `infra/template.yaml`.

use patron_hub_alma::DEFAULT_TIMEOUT_SECONDS;
use patron_hub_domain::accounts::ImportLimits;
use patron_hub_domain::distribution::{LinkMethod, WorkerSettings};
use patron_hub_domain::organizations::Rollover;
use patron_hub_domain::registration::{ClientKey, ClientKeys, RegistrationSettings};
use patron_hub_domain::routing::RoutingRules;
use patron_hub_domain::settings::AtLeastOne;
use patron_hub_domain::{InstitutionCode, Network};
use std::collections::BTreeMap;
use std::time::Duration;

/// A setting is missing or malformed: the function cannot start.
#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    /// The variable is not set.
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    /// The variable's value is not usable.
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// Why.
        reason: String,
    },
}

/// A whole number of at least one (a rate, a count, a limit).
fn whole_number(v: &str) -> Result<u32, String> {
    v.parse::<AtLeastOne>()
        .map(AtLeastOne::get)
        .map_err(|e| e.to_string())
}

/// How a function finds the job queues' URLs ([`Environment::queue_location`]).
#[derive(Debug, PartialEq, Eq)]
pub enum QueueLocation {
    /// The URLs' common beginning: no call to SQS at start-up.
    UrlPrefix(String),
    /// The queue names' common beginning: one `GetQueueUrl` per institution.
    NamePrefix(String),
}

/// Looks one variable up by name.
type Lookup = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Reads one variable at a time; built over the process environment or, in
/// tests, over a fixed list.
pub struct Environment {
    lookup: Lookup,
}

impl Environment {
    /// The process environment.
    pub fn process() -> Self {
        Self {
            lookup: Box::new(|name| std::env::var(name).ok()),
        }
    }

    /// A fixed set of variables.
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Self {
            lookup: Box::new(move |name| {
                pairs
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
            }),
        }
    }

    /// A required, non-empty variable.
    pub fn required(&self, name: &'static str) -> Result<String, EnvError> {
        self.optional(name).ok_or(EnvError::Missing(name))
    }

    /// An optional variable (empty counts as unset).
    pub fn optional(&self, name: &'static str) -> Option<String> {
        (self.lookup)(name).filter(|v| !v.trim().is_empty())
    }

    /// An optional variable parsed with `parse`, or `default`.
    pub fn parsed<T>(
        &self,
        name: &'static str,
        default: T,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<T, EnvError> {
        match self.optional(name) {
            None => Ok(default),
            Some(value) => parse(value.trim()).map_err(|reason| EnvError::Invalid { name, reason }),
        }
    }

    /// `PATRON_HUB_TABLE`: the DynamoDB table.
    pub fn table(&self) -> Result<String, EnvError> {
        self.required("PATRON_HUB_TABLE")
    }

    /// Where the job queues are: `PATRON_HUB_QUEUE_URL_PREFIX` (an `http(s)`
    /// URL; institution `CODE`'s queue URL is prefix + `CODE`), as deployed;
    /// or, when it is not set (local runs against moto), the queue names'
    /// prefix `PATRON_HUB_QUEUE_PREFIX`, to be looked up.
    pub fn queue_location(&self) -> Result<QueueLocation, EnvError> {
        const URL_PREFIX: &str = "PATRON_HUB_QUEUE_URL_PREFIX";
        match self.optional(URL_PREFIX) {
            Some(prefix) if prefix.starts_with("https://") || prefix.starts_with("http://") => {
                Ok(QueueLocation::UrlPrefix(prefix))
            }
            Some(_) => Err(EnvError::Invalid {
                name: URL_PREFIX,
                reason: "expected the queue URLs' common beginning, https://sqs.<region>.amazonaws.com/<account>/<name prefix>".to_owned(),
            }),
            None => match self.optional("PATRON_HUB_QUEUE_PREFIX") {
                Some(prefix) => Ok(QueueLocation::NamePrefix(prefix)),
                None => Err(EnvError::Missing(URL_PREFIX)),
            },
        }
    }

    /// `PATRON_HUB_NETWORK_ZONE`: the network zone's institution code.
    pub fn network_zone(&self) -> Result<InstitutionCode, EnvError> {
        institution(
            &self.required("PATRON_HUB_NETWORK_ZONE")?,
            "PATRON_HUB_NETWORK_ZONE",
        )
    }

    /// `PATRON_HUB_NETWORK_ZONE` and `PATRON_HUB_INSTITUTIONS` (comma
    /// separated): the template's `InstitutionCodes`, every institution with
    /// a job queue, so the network zone may be listed there; it is never a member.
    pub fn network(&self) -> Result<Network, EnvError> {
        let zone = self.network_zone()?;
        let members = self
            .required("PATRON_HUB_INSTITUTIONS")?
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(|c| institution(c, "PATRON_HUB_INSTITUTIONS"))
            .filter(|c| c.as_ref().map_or(true, |code| *code != zone))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Network { zone, members })
    }

    /// `PATRON_HUB_INSTITUTION`: the one institution a worker function serves.
    pub fn institution(&self) -> Result<InstitutionCode, EnvError> {
        institution(
            &self.required("PATRON_HUB_INSTITUTION")?,
            "PATRON_HUB_INSTITUTION",
        )
    }

    /// `PATRON_HUB_DISTRIBUTED_JOB_CATEGORIES` and `PATRON_HUB_DISTRIBUTE_DELETIONS`.
    pub fn routing(&self) -> Result<RoutingRules, EnvError> {
        let defaults = RoutingRules::default();
        let categories = match self.optional("PATRON_HUB_DISTRIBUTED_JOB_CATEGORIES") {
            Some(list) => list
                .split(',')
                .map(|c| c.trim().to_owned())
                .filter(|c| !c.is_empty())
                .collect(),
            None => defaults.distributed_job_categories,
        };
        let deletions = self.parsed(
            "PATRON_HUB_DISTRIBUTE_DELETIONS",
            defaults.distribute_deletions,
            |v| {
                v.parse::<bool>()
                    .map_err(|_| "expected true or false".to_owned())
            },
        )?;
        Ok(RoutingRules {
            distributed_job_categories: categories,
            distribute_deletions: deletions,
        })
    }

    /// `PATRON_HUB_LINK_METHOD` (`lookup` or `linked-post`) and `PATRON_HUB_MAX_ATTEMPTS`.
    pub fn worker(&self) -> Result<WorkerSettings, EnvError> {
        let defaults = WorkerSettings::default();
        let link_method = self.parsed(
            "PATRON_HUB_LINK_METHOD",
            defaults.link_method,
            |v| match v {
                "lookup" => Ok(LinkMethod::Lookup),
                "linked-post" => Ok(LinkMethod::LinkedPost),
                _ => Err("expected lookup or linked-post".to_owned()),
            },
        )?;
        let max_attempts = self.parsed(
            "PATRON_HUB_MAX_ATTEMPTS",
            defaults.max_attempts,
            whole_number,
        )?;
        Ok(WorkerSettings {
            link_method,
            max_attempts,
            ..defaults
        })
    }

    /// `ALMA_CALLS_PER_SECOND`: the Alma calls per second one institution
    /// allows patron-hub, all its processes together (default 20).
    pub fn calls_per_second(&self) -> Result<u32, EnvError> {
        self.parsed("ALMA_CALLS_PER_SECOND", 20, whole_number)
    }

    /// The calls per second one worker process may make: `ALMA_CALLS_PER_SECOND`
    /// shared by the `PATRON_HUB_WORKER_CONCURRENCY` processes the event source
    /// mapping may run at once, so that together they stay under the rate.
    pub fn calls_per_second_per_process(&self) -> Result<u32, EnvError> {
        let rate = self.calls_per_second()?;
        let concurrency = self.parsed("PATRON_HUB_WORKER_CONCURRENCY", 2, whole_number)?;
        if concurrency > rate {
            // Each process needs at least one call per second: together they
            // would exceed the institution's rate.
            return Err(EnvError::Invalid {
                name: "PATRON_HUB_WORKER_CONCURRENCY",
                reason: format!(
                    "{concurrency} concurrent workers cannot share {rate} calls per second"
                ),
            });
        }
        Ok(rate / concurrency)
    }
}

impl Environment {
    /// `EVENT_BUS_NAME`: the EventBridge bus domain events are published on.
    pub fn event_bus_name(&self) -> Result<String, EnvError> {
        self.required("EVENT_BUS_NAME")
    }

    /// `CLIENT_KEYS`: a JSON array of `{name, sha256, scope}`, the client
    /// systems allowed to call the registration API. Only SHA-256 hashes are
    /// accepted (64 hex digits), so a plain key pasted by mistake is refused
    /// instead of being accepted as a hash nobody can match.
    pub fn client_keys(&self) -> Result<ClientKeys, EnvError> {
        const NAME: &str = "CLIENT_KEYS";
        let invalid = |reason: String| EnvError::Invalid { name: NAME, reason };
        let keys: Vec<ClientKey> =
            serde_json::from_str(&self.required(NAME)?).map_err(|e| match e.classify() {
                // An entry's own check (a sha256 that is no hash) says what is
                // wrong without quoting the value, as patron-hub.toml does.
                serde_json::error::Category::Data => invalid(e.to_string()),
                _ => invalid(format!(
                    "expected a JSON array of {{name, sha256, scope}} ({})",
                    json_problem(&e)
                )),
            })?;
        Ok(ClientKeys::new(keys))
    }

    /// `REGISTRATION_SETTINGS`: optional JSON of the registration settings;
    /// absent fields (or the whole variable) take their defaults.
    pub fn registration_settings(&self) -> Result<RegistrationSettings, EnvError> {
        self.parsed(
            "REGISTRATION_SETTINGS",
            RegistrationSettings::default(),
            |v| serde_json::from_str(v).map_err(|e| e.to_string()),
        )
    }

    /// `PATRON_HUB_IMPORT_MAX_ROWS` and `PATRON_HUB_IMPORT_MAX_COLUMNS`: the
    /// largest bulk-import sheet (whole numbers ≥ 1), by default the domain's
    /// [`ImportLimits`] (10,000 rows and 20 columns).
    pub fn import_limits(&self) -> Result<ImportLimits, EnvError> {
        let default = ImportLimits::default();
        Ok(ImportLimits {
            rows: self.parsed("PATRON_HUB_IMPORT_MAX_ROWS", default.rows, whole_number)?,
            columns: self.parsed(
                "PATRON_HUB_IMPORT_MAX_COLUMNS",
                default.columns,
                whole_number,
            )?,
        })
    }

    /// `STAGING_RETENTION_DAYS`: how many days the daily rollover keeps a
    /// staging record nobody updates (a whole number ≥ 1), by default the
    /// domain's [`Rollover::DEFAULT_STAGING_RETENTION_DAYS`].
    pub fn staging_retention_days(&self) -> Result<u64, EnvError> {
        self.parsed(
            "STAGING_RETENTION_DAYS",
            Rollover::DEFAULT_STAGING_RETENTION_DAYS,
            |v| whole_number(v).map(u64::from),
        )
    }

    /// `ALMA_TIMEOUT_SECONDS`: how long one Alma call may take (a whole
    /// number ≥ 1), by default [`DEFAULT_TIMEOUT_SECONDS`], as locally.
    pub fn alma_timeout(&self) -> Result<Duration, EnvError> {
        let seconds = self.parsed(
            "ALMA_TIMEOUT_SECONDS",
            DEFAULT_TIMEOUT_SECONDS.get(),
            whole_number,
        )?;
        Ok(Duration::from_secs(seconds.into()))
    }

    /// A JSON object of one text per institution code (`{"CODE": "..."}`) in
    /// the variable `name`, with an entry for each of `institutions`.
    pub fn per_institution(
        &self,
        name: &'static str,
        institutions: &[InstitutionCode],
    ) -> Result<BTreeMap<InstitutionCode, String>, EnvError> {
        let invalid = |reason: String| EnvError::Invalid { name, reason };
        let raw: BTreeMap<String, String> =
            serde_json::from_str(&self.required(name)?).map_err(|e| {
                invalid(format!(
                    "expected a JSON object of institution code to text ({})",
                    json_problem(&e)
                ))
            })?;
        let mut values = BTreeMap::new();
        for (code, value) in raw {
            values.insert(institution(&code, name)?, value);
        }
        match institutions.iter().find(|code| !values.contains_key(*code)) {
            Some(missing) => Err(invalid(format!("no entry for institution {missing}"))),
            None => Ok(values),
        }
    }
}

/// Where and what kind of JSON error, never the text around it: these
/// variables may hold secrets.
fn json_problem(error: &serde_json::Error) -> String {
    format!(
        "{:?} error at line {} column {}",
        error.classify(),
        error.line(),
        error.column()
    )
}

fn institution(code: &str, name: &'static str) -> Result<InstitutionCode, EnvError> {
    InstitutionCode::parse(code).map_err(|e| EnvError::Invalid {
        name,
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_network_and_routing() {
        let env = Environment::from_pairs(&[
            ("PATRON_HUB_NETWORK_ZONE", "NZ"),
            ("PATRON_HUB_INSTITUTIONS", "NZ,A, B,C,"),
            ("PATRON_HUB_DISTRIBUTED_JOB_CATEGORIES", "PEB"),
            ("PATRON_HUB_DISTRIBUTE_DELETIONS", "true"),
        ]);
        let network = env.network().unwrap();
        assert_eq!(
            network
                .members
                .iter()
                .map(|m| m.as_str())
                .collect::<Vec<_>>(),
            ["A", "B", "C"]
        );
        let routing = env.routing().unwrap();
        assert_eq!(routing.distributed_job_categories, ["PEB"]);
        assert!(routing.distribute_deletions);
    }

    #[test]
    fn queue_urls_are_built_from_their_prefix_or_looked_up_by_name() {
        let url = "https://sqs.eu-west-1.amazonaws.com/123456789012/patron-hub-jobs-";
        let both = Environment::from_pairs(&[
            ("PATRON_HUB_QUEUE_URL_PREFIX", url),
            ("PATRON_HUB_QUEUE_PREFIX", "patron-hub-jobs-"),
        ]);
        assert_eq!(
            both.queue_location().unwrap(),
            QueueLocation::UrlPrefix(url.to_owned())
        );
        let local = Environment::from_pairs(&[("PATRON_HUB_QUEUE_PREFIX", "patron-hub-jobs-")]);
        assert_eq!(
            local.queue_location().unwrap(),
            QueueLocation::NamePrefix("patron-hub-jobs-".to_owned())
        );
        let name_only =
            Environment::from_pairs(&[("PATRON_HUB_QUEUE_URL_PREFIX", "patron-hub-jobs-")]);
        let error = name_only.queue_location().unwrap_err().to_string();
        assert!(error.contains("PATRON_HUB_QUEUE_URL_PREFIX"), "{error}");
        let error = Environment::from_pairs(&[])
            .queue_location()
            .unwrap_err()
            .to_string();
        assert!(error.contains("PATRON_HUB_QUEUE_URL_PREFIX"), "{error}");
    }

    #[test]
    fn names_the_missing_or_invalid_variable() {
        let env = Environment::from_pairs(&[
            ("PATRON_HUB_NETWORK_ZONE", "bad code"),
            ("PATRON_HUB_LINK_METHOD", "teleport"),
        ]);
        assert!(matches!(
            env.table(),
            Err(EnvError::Missing("PATRON_HUB_TABLE"))
        ));
        assert!(matches!(
            env.network(),
            Err(EnvError::Invalid {
                name: "PATRON_HUB_NETWORK_ZONE",
                ..
            })
        ));
        assert!(matches!(
            env.worker(),
            Err(EnvError::Invalid {
                name: "PATRON_HUB_LINK_METHOD",
                ..
            })
        ));
    }

    #[test]
    fn reads_client_key_hashes_and_refuses_plain_keys() {
        let hash = patron_hub_domain::registration::hash_key("kiosk-key");
        let list = format!(r#"[{{"name":"kiosk","sha256":"{hash}","scope":"registration"}}]"#);
        let keys = Environment::from_pairs(&[("CLIENT_KEYS", &list)])
            .client_keys()
            .unwrap();
        assert_eq!(keys.authenticate("kiosk-key").unwrap().name, "kiosk");
        assert!(keys.authenticate(&hash).is_none());
        let plain = r#"[{"name":"kiosk","sha256":"kiosk-key","scope":"staff"}]"#;
        for value in [plain, r#"{"name":"kiosk"}"#] {
            assert!(matches!(
                Environment::from_pairs(&[("CLIENT_KEYS", value)]).client_keys(),
                Err(EnvError::Invalid {
                    name: "CLIENT_KEYS",
                    ..
                })
            ));
        }
        assert!(matches!(
            Environment::from_pairs(&[]).client_keys(),
            Err(EnvError::Missing("CLIENT_KEYS"))
        ));
    }

    #[test]
    fn registration_settings_default_field_by_field() {
        assert_eq!(
            Environment::from_pairs(&[])
                .registration_settings()
                .unwrap(),
            RegistrationSettings::default()
        );
        let env = Environment::from_pairs(&[(
            "REGISTRATION_SETTINGS",
            r#"{"external_id_type":"OTHER_ID_3"}"#,
        )]);
        let settings = env.registration_settings().unwrap();
        assert_eq!(settings.external_id_type, "OTHER_ID_3");
        assert_eq!(
            settings.barcode_type,
            RegistrationSettings::default().barcode_type
        );
        let typo = Environment::from_pairs(&[("REGISTRATION_SETTINGS", r#"{"extrnal":"x"}"#)]);
        assert!(matches!(
            typo.registration_settings(),
            Err(EnvError::Invalid {
                name: "REGISTRATION_SETTINGS",
                ..
            })
        ));
    }

    #[test]
    fn per_institution_values_must_cover_every_institution() {
        let members = [
            InstitutionCode::parse("A").unwrap(),
            InstitutionCode::parse("B").unwrap(),
        ];
        let env = Environment::from_pairs(&[("ALMA_API_KEYS", r#"{"A":"ka","B":"kb"}"#)]);
        let keys = env.per_institution("ALMA_API_KEYS", &members).unwrap();
        assert_eq!(keys[&members[1]], "kb");
        let typed = Environment::from_pairs(&[("ALMA_API_KEYS", r#"{"A":"secret-a","B":7}"#)]);
        let Err(EnvError::Invalid { reason, .. }) =
            typed.per_institution("ALMA_API_KEYS", &members)
        else {
            panic!("a value that is not text must be refused");
        };
        assert!(!reason.contains("secret-a"), "{reason}");
        let short = Environment::from_pairs(&[("ALMA_API_KEYS", r#"{"A":"ka"}"#)]);
        let Err(EnvError::Invalid { reason, .. }) =
            short.per_institution("ALMA_API_KEYS", &members)
        else {
            panic!("a missing institution must be refused");
        };
        assert!(reason.contains('B') && !reason.contains("ka"), "{reason}");
    }

    #[test]
    fn staging_retention_defaults_to_the_domain_and_refuses_nonsense() {
        assert_eq!(
            Environment::from_pairs(&[])
                .staging_retention_days()
                .unwrap(),
            Rollover::DEFAULT_STAGING_RETENTION_DAYS
        );
        let month = Environment::from_pairs(&[("STAGING_RETENTION_DAYS", " 30 ")]);
        assert_eq!(month.staging_retention_days().unwrap(), 30);
        for bad in ["0", "-5", "a year", "1.5"] {
            assert!(
                matches!(
                    Environment::from_pairs(&[("STAGING_RETENTION_DAYS", bad)])
                        .staging_retention_days(),
                    Err(EnvError::Invalid {
                        name: "STAGING_RETENTION_DAYS",
                        ..
                    })
                ),
                "{bad} must be refused"
            );
        }
    }

    #[test]
    fn splits_the_rate_between_concurrent_workers() {
        let env = Environment::from_pairs(&[
            ("ALMA_CALLS_PER_SECOND", "20"),
            ("PATRON_HUB_WORKER_CONCURRENCY", "3"),
        ]);
        assert_eq!(env.calls_per_second_per_process().unwrap(), 6);
        assert_eq!(
            Environment::from_pairs(&[])
                .calls_per_second_per_process()
                .unwrap(),
            10
        );
        let crowded = Environment::from_pairs(&[
            ("ALMA_CALLS_PER_SECOND", "3"),
            ("PATRON_HUB_WORKER_CONCURRENCY", "4"),
        ]);
        assert!(matches!(
            crowded.calls_per_second_per_process(),
            Err(EnvError::Invalid {
                name: "PATRON_HUB_WORKER_CONCURRENCY",
                ..
            })
        ));
    }

    #[test]
    fn import_limits_default_to_the_domains_and_refuse_zero() {
        assert_eq!(
            Environment::from_pairs(&[]).import_limits().unwrap(),
            ImportLimits::default()
        );
        let env = Environment::from_pairs(&[
            ("PATRON_HUB_IMPORT_MAX_ROWS", "50001"),
            ("PATRON_HUB_IMPORT_MAX_COLUMNS", " 8 "),
        ]);
        assert_eq!(
            env.import_limits().unwrap(),
            ImportLimits {
                rows: 50_001,
                columns: 8
            }
        );
        let zero = Environment::from_pairs(&[("PATRON_HUB_IMPORT_MAX_COLUMNS", "0")]);
        assert!(matches!(
            zero.import_limits(),
            Err(EnvError::Invalid {
                name: "PATRON_HUB_IMPORT_MAX_COLUMNS",
                ..
            })
        ));
    }
}
