//! The staff console's use cases: find a patron in every institution at once,
//! show one row per institution, and act on every account through the same
//! per-institution queues as distribution, with an audit entry per action.

use super::{
    AccountSummary, AuditEntry, AuditLog, AuditReport, ConsoleAction, InstitutionResult,
    InstitutionRow, PatronOverview, Presence,
};
use crate::accounts::{Account, NetworkRole};
use crate::alma::{AlmaError, AlmaUsers};
use crate::distribution::{JobOutcome, OutcomeStatus};
use crate::ports::{DistributionLedger, EventReceipt, WebhookInbox};
use crate::reconciliation::RepairedPatron;
use crate::registration::{alma_date_text, email_key, PatronRegistry};
use crate::webhook::WebhookReceiver;
use crate::{AlmaUser, Clock, InstitutionCode, Job, JobAction, Network, PrimaryId, StoreError};
use futures::future::join_all;
use serde_json::{json, Map};
use std::sync::Arc;
use std::time::Duration;

/// Why a console use case did not happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsoleError {
    /// Not staff (403).
    #[error("the staff console is for network staff")]
    Forbidden,
    /// Nothing to search for (422).
    #[error("type a primary id, a barcode or an e-mail address")]
    EmptySearch,
    /// No institution holds the patron (404).
    #[error("no institution holds this patron")]
    NotFound,
    /// The action would change nothing anywhere (409).
    #[error("no institution holds an account this action applies to")]
    NothingToDo,
    /// Storage failed (503).
    #[error("service unavailable: {0}")]
    Unavailable(String),
}

impl From<StoreError> for ConsoleError {
    fn from(error: StoreError) -> Self {
        Self::Unavailable(error.to_string())
    }
}

/// The ports the console is built on.
pub struct ConsolePorts {
    /// Alma of every institution.
    pub alma: Arc<dyn AlmaUsers>,
    /// The patron registry (search by e-mail, the registry row).
    pub registry: Arc<dyn PatronRegistry>,
    /// Outcomes of jobs: last distribution per institution, action results.
    pub ledger: Arc<dyn DistributionLedger>,
    /// Queues the jobs of an action, once.
    pub inbox: Arc<dyn WebhookInbox>,
    /// The audit log.
    pub audit: Arc<dyn AuditLog>,
    /// The time.
    pub clock: Arc<dyn Clock>,
}

/// The staff console, built once at start-up.
pub struct Console {
    ports: ConsolePorts,
    network: Network,
    timeout: Duration,
}

impl Console {
    /// How long one institution may take to answer a lookup.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

    /// A console for `network`; a lookup waits at most `timeout` per institution.
    pub fn new(ports: ConsolePorts, network: Network, timeout: Duration) -> Self {
        Self {
            ports,
            network,
            timeout,
        }
    }

    /// Every institution the console shows: the network zone, then the members.
    pub fn institutions(&self) -> Vec<InstitutionCode> {
        self.network.institutions()
    }

    fn require_staff(actor: &Account) -> Result<(), ConsoleError> {
        if actor.has_role(NetworkRole::NetworkStaff) || actor.has_role(NetworkRole::SuperAdmin) {
            Ok(())
        } else {
            Err(ConsoleError::Forbidden)
        }
    }

    /// Finds a patron by primary id, barcode or e-mail: every institution is
    /// asked at once (a search takes about as long as the slowest one), and
    /// an e-mail is resolved through the patron registry. One overview per
    /// patron found.
    pub async fn search(
        &self,
        actor: &Account,
        text: &str,
    ) -> Result<Vec<PatronOverview>, ConsoleError> {
        Self::require_staff(actor)?;
        let text = text.trim();
        if text.is_empty() {
            return Err(ConsoleError::EmptySearch);
        }
        if text.contains('@') {
            let entries = self.ports.registry.find_by_email(&email_key(text)).await?;
            let overviews = join_all(
                entries
                    .iter()
                    .map(|entry| self.overview_of(entry.primary_id.as_str())),
            )
            .await;
            return overviews.into_iter().collect();
        }
        if PrimaryId::parse(text).is_err() {
            // No identifier Alma can be asked for (a `/`, say): nobody has it.
            return Ok(Vec::new());
        }
        let overview = self.overview_of(text).await?;
        let found = overview
            .rows
            .iter()
            .any(|row| matches!(row.presence, Presence::Present { .. }))
            || overview.registry.is_some();
        Ok(if found { vec![overview] } else { Vec::new() })
    }

    /// The patron page of `primary_id`.
    pub async fn overview(
        &self,
        actor: &Account,
        primary_id: &PrimaryId,
    ) -> Result<PatronOverview, ConsoleError> {
        Self::require_staff(actor)?;
        self.overview_of(primary_id.as_str()).await
    }

    /// Looks `id` up everywhere at once; the overview is under the primary id
    /// the institutions answered with (a barcode finds the patron's primary id).
    async fn overview_of(&self, id: &str) -> Result<PatronOverview, ConsoleError> {
        let mut lookups = self.lookup_everywhere(id).await?;
        let primary_id = lookups
            .iter()
            .find_map(|(_, user)| user.as_ref().ok().and_then(|u| u.as_ref()?.primary_id()))
            .or_else(|| PrimaryId::parse(id).ok())
            .ok_or(ConsoleError::EmptySearch)?;
        if primary_id.as_str() != id {
            // Found by a barcode: institutions that know the patron under
            // another barcode are asked again by the primary id.
            let again = self.lookup_everywhere(primary_id.as_str()).await?;
            for ((_, answer), (_, by_id)) in lookups.iter_mut().zip(again) {
                if matches!(answer, Ok(None)) {
                    *answer = by_id;
                }
            }
        }
        let (registry, outcomes, audit) = futures::join!(
            self.ports.registry.get(&primary_id),
            self.ports.ledger.outcomes(&primary_id),
            self.ports.audit.for_patron(&primary_id),
        );
        let mut outcomes = outcomes?;
        let audit = audit?;
        // A primary-id change's jobs ran under the old id.
        for entry in &audit {
            if entry.primary_id != primary_id {
                outcomes.extend(self.ports.ledger.outcomes(&entry.primary_id).await?);
            }
        }
        let rows = lookups
            .into_iter()
            .map(|(institution, answer)| InstitutionRow {
                zone: self.network.is_zone(&institution),
                last_outcome: outcomes
                    .iter()
                    .filter(|o| o.institution == institution)
                    .max_by_key(|o| o.finished_at)
                    .cloned(),
                presence: match answer {
                    Ok(Some(user)) => Presence::Present {
                        account: AccountSummary::of(&user),
                    },
                    Ok(None) => Presence::Absent,
                    Err(reason) => Presence::Unreachable { reason },
                },
                institution,
            })
            .collect();
        let audit = audit
            .into_iter()
            .map(|entry| report(entry, &outcomes))
            .collect();
        Ok(PatronOverview {
            primary_id,
            rows,
            registry: registry?,
            audit,
        })
    }

    /// Each institution's answer for `id`: the record, none, or why not.
    ///
    /// Looking a network-zone patron up in a member institution makes Alma
    /// copy and link it there (that is how the workers link): a search must
    /// change nothing, so when the registry knows the zone holds the patron,
    /// only the zone and the members the registry lists are asked, and the
    /// others are shown without an account.
    async fn lookup_everywhere(
        &self,
        id: &str,
    ) -> Result<Vec<(InstitutionCode, Result<Option<AlmaUser>, String>)>, ConsoleError> {
        let Ok(id) = PrimaryId::parse(id) else {
            return Ok(self
                .institutions()
                .into_iter()
                .map(|i| (i, Ok(None)))
                .collect());
        };
        let known = self.ports.registry.get(&id).await?;
        let held_in_zone = known
            .as_ref()
            .is_some_and(|entry| entry.holdings.contains_key(&self.network.zone));
        let asks = self.institutions().into_iter().map(|institution| {
            let id = id.clone();
            let ask = !held_in_zone
                || self.network.is_zone(&institution)
                || known
                    .as_ref()
                    .is_some_and(|entry| entry.holdings.contains_key(&institution));
            async move {
                if !ask {
                    return (institution, Ok(None));
                }
                let answer =
                    tokio::time::timeout(self.timeout, self.ports.alma.get_user(&institution, &id))
                        .await;
                let answer = match answer {
                    Err(_) => Err(format!("no answer within {} s", self.timeout.as_secs_f32())),
                    Ok(Ok(user)) => Ok(Some(user)),
                    Ok(Err(AlmaError::NotFound { .. })) => Ok(None),
                    Ok(Err(error)) => Err(error.to_string()),
                };
                (institution, answer)
            }
        });
        Ok(join_all(asks).await)
    }

    /// What an action would do, institution by institution, for the
    /// confirmation page: the institutions it would queue a job for.
    pub async fn plan(
        &self,
        actor: &Account,
        primary_id: &PrimaryId,
        action: &ConsoleAction,
    ) -> Result<(PatronOverview, Vec<InstitutionCode>), ConsoleError> {
        let overview = self.overview(actor, primary_id).await?;
        let targets = self
            .targets(&overview, action)
            .await?
            .into_iter()
            .map(|(i, _)| i)
            .collect();
        Ok((overview, targets))
    }

    /// Queues the action's jobs (one per institution it applies to) on the
    /// institutions' queues and writes the audit entry.
    pub async fn perform(
        &self,
        actor: &Account,
        primary_id: &PrimaryId,
        action: ConsoleAction,
    ) -> Result<AuditEntry, ConsoleError> {
        let overview = self.overview(actor, primary_id).await?;
        let targets = self.targets(&overview, &action).await?;
        if targets.is_empty() {
            return Err(ConsoleError::NothingToDo);
        }
        let now = self.ports.clock.now();
        let id = format!("console:{}", uuid::Uuid::new_v4());
        let jobs: Vec<Job> = targets
            .iter()
            .map(|(institution, (job_action, user))| Job {
                event_id: id.clone(),
                institution: institution.clone(),
                origin: institution.clone(),
                action: *job_action,
                primary_id: overview.primary_id.clone(),
                event_time: now,
                user: user.clone(),
            })
            .collect();
        let receipt = EventReceipt {
            event_id: id.clone(),
            institution: self.network.zone.clone(),
            received_at: now,
            keep_until: now + WebhookReceiver::DEFAULT_RETENTION,
        };
        self.ports.inbox.accept(&receipt, &jobs).await?;
        let entry = AuditEntry {
            id,
            primary_id: overview.primary_id.clone(),
            actor: actor.id,
            actor_name: actor.user_name.as_str().to_owned(),
            action,
            institutions: targets.into_iter().map(|(i, _)| i).collect(),
            at: now,
        };
        self.ports.audit.record(&entry).await?;
        Ok(entry)
    }

    /// Writes one audit entry per patron whose differences `actor` had
    /// repaired from the reconcile run `run` (the jobs are already queued,
    /// with the entry's id as their event id).
    pub async fn record_repairs(
        &self,
        actor: &Account,
        run: &str,
        repaired: &[RepairedPatron],
    ) -> Result<(), ConsoleError> {
        let now = self.ports.clock.now();
        for patron in repaired {
            let entry = AuditEntry {
                id: patron.event_id.clone(),
                primary_id: patron.primary_id.clone(),
                actor: actor.id,
                actor_name: actor.user_name.as_str().to_owned(),
                action: ConsoleAction::RepairDrift {
                    run: run.to_owned(),
                },
                institutions: patron.institutions.clone(),
                at: now,
            };
            self.ports.audit.record(&entry).await?;
        }
        Ok(())
    }

    /// The institutions an action applies to (the network zone's own record
    /// included), with the job for each.
    async fn targets(
        &self,
        overview: &PatronOverview,
        action: &ConsoleAction,
    ) -> Result<Vec<Target>, ConsoleError> {
        let holders = overview.reachable_or_unknown();
        let patch = |fields: Map<String, serde_json::Value>| {
            holders
                .iter()
                .map(|row| {
                    (
                        row.institution.clone(),
                        (JobAction::Patch, Some(AlmaUser(fields.clone()))),
                    )
                })
                .collect()
        };
        Ok(match action {
            ConsoleAction::DeleteEverywhere => holders
                .iter()
                .map(|row| (row.institution.clone(), (JobAction::Delete, None)))
                .collect(),
            ConsoleAction::SetExpiry { expiry_date } => {
                let day = json!(alma_date_text(*expiry_date));
                let mut fields = Map::new();
                fields.insert("expiry_date".to_owned(), day.clone());
                fields.insert("purge_date".to_owned(), day);
                patch(fields)
            }
            ConsoleAction::ChangePrimaryId { new_primary_id } => {
                let mut fields = Map::new();
                fields.insert("primary_id".to_owned(), json!(new_primary_id));
                patch(fields)
            }
            ConsoleAction::Redistribute => self.redistribution(overview).await?,
            // Its jobs are a reconcile's: see `record_repairs`.
            ConsoleAction::RepairDrift { .. } => Vec::new(),
        })
    }

    /// The distribution again: for a network-zone patron, a link into every
    /// member institution (as when the zone created it); otherwise upserts of
    /// the record of the first member institution holding its own (not
    /// linked) account, to every other member institution.
    async fn redistribution(&self, overview: &PatronOverview) -> Result<Vec<Target>, ConsoleError> {
        if overview.zone_holds() {
            return Ok(self
                .network
                .members
                .iter()
                .map(|member| (member.clone(), (JobAction::Link, None)))
                .collect());
        }
        let origin = overview
            .holders()
            .into_iter()
            .find(|row| matches!(&row.presence, Presence::Present { account } if !account.linked));
        let Some(origin) = origin else {
            return Ok(Vec::new());
        };
        let record = match self
            .ports
            .alma
            .get_user(&origin.institution, &overview.primary_id)
            .await
        {
            Ok(record) => record,
            Err(AlmaError::NotFound { .. }) => return Ok(Vec::new()),
            Err(error) => return Err(ConsoleError::Unavailable(error.to_string())),
        };
        Ok(self
            .network
            .members
            .iter()
            .filter(|member| **member != origin.institution)
            .map(|member| (member.clone(), (JobAction::Upsert, Some(record.clone()))))
            .collect())
    }
}

/// One institution an action applies to, with the job's action and record.
type Target = (InstitutionCode, (JobAction, Option<AlmaUser>));

/// An audit entry with its per-institution results from the ledger.
fn report(entry: AuditEntry, outcomes: &[JobOutcome]) -> AuditReport {
    let results = entry
        .institutions
        .iter()
        .map(|institution| {
            let outcome = outcomes
                .iter()
                .find(|o| o.event_id == entry.id && &o.institution == institution);
            let result = match outcome {
                None => InstitutionResult::Queued,
                Some(o) if o.status == OutcomeStatus::Applied => InstitutionResult::Done,
                // Dead-lettered, or skipped because a newer change of the
                // patron was applied there first (`STALE`): refused with its
                // reason, unless Alma could not be reached.
                Some(o) => {
                    let reason = o.reason.clone().unwrap_or_default();
                    if reason.code == "ALMA_UNAVAILABLE" || reason.code == "PER_SECOND_THRESHOLD" {
                        InstitutionResult::Unreachable {
                            message: reason.message,
                        }
                    } else {
                        InstitutionResult::Refused {
                            code: reason.code,
                            message: reason.message,
                        }
                    }
                }
            };
            (institution.clone(), result)
        })
        .collect();
    AuditReport { entry, results }
}
