//! The Lambda functions' settings, named as in `infra/template.yaml`.

use patron_hub_domain::distribution::{LinkMethod, WorkerSettings};
use patron_hub_domain::routing::RoutingRules;
use patron_hub_domain::{InstitutionCode, Network};

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

    /// `PATRON_HUB_QUEUE_PREFIX`: job queues are named prefix + institution code.
    pub fn queue_prefix(&self) -> Result<String, EnvError> {
        self.required("PATRON_HUB_QUEUE_PREFIX")
    }

    /// `PATRON_HUB_NETWORK_ZONE`: the network zone's institution code.
    pub fn network_zone(&self) -> Result<InstitutionCode, EnvError> {
        institution(
            &self.required("PATRON_HUB_NETWORK_ZONE")?,
            "PATRON_HUB_NETWORK_ZONE",
        )
    }

    /// `PATRON_HUB_NETWORK_ZONE` and `PATRON_HUB_INSTITUTIONS` (comma separated).
    pub fn network(&self) -> Result<Network, EnvError> {
        let zone = self.network_zone()?;
        let members = self
            .required("PATRON_HUB_INSTITUTIONS")?
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(|c| institution(c, "PATRON_HUB_INSTITUTIONS"))
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
        let max_attempts = self.parsed("PATRON_HUB_MAX_ATTEMPTS", defaults.max_attempts, |v| {
            v.parse::<u32>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| "expected a whole number ≥ 1".to_owned())
        })?;
        Ok(WorkerSettings {
            link_method,
            max_attempts,
            ..defaults
        })
    }

    /// The calls per second one worker process may make: `ALMA_CALLS_PER_SECOND`
    /// shared by the `PATRON_HUB_WORKER_CONCURRENCY` processes the event source
    /// mapping may run at once, so that together they stay under the rate.
    pub fn calls_per_second_per_process(&self) -> Result<u32, EnvError> {
        let whole = |v: &str| {
            v.parse::<u32>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| "expected a whole number ≥ 1".to_owned())
        };
        let rate = self.parsed("ALMA_CALLS_PER_SECOND", 20, whole)?;
        let concurrency = self.parsed("PATRON_HUB_WORKER_CONCURRENCY", 2, whole)?;
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
            ("PATRON_HUB_INSTITUTIONS", "A, B,C,"),
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
}
