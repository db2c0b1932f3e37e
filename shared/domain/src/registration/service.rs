//! The registration use cases: staging records (Tier 1 and Tier 2), the
//! registration-status query, and on-site completion (new patron or renewal).

use super::alma_record::{has_external_id, new_patron, renewed};
use super::staging_change::change_staging;
use super::{
    registration_status, DomainEvent, EventPublisher, ExternalSystemId, PatronIdentifier,
    RecordType, RecordWriteError, RegistrationError, RegistrationSettings, RegistryEntry,
    RegistrySync, StagingInput, StagingRecord, StagingRecords,
};
use crate::accounts::InvalidField;
use crate::alma::{AlmaError, AlmaUsers};
use crate::ports::{EventReceipt, WebhookInbox};
use crate::{AlmaUser, Clock, InstitutionCode, Job, JobAction, Network, PrimaryId};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Arc;

use super::staging_change::MAX_RACES;

/// The type of the event published when a registration is completed.
pub const PATRON_REGISTERED: &str = "patron.registered";

/// Whether a submission made a new staging record or updated the e-mail's one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Submitted {
    /// A new record (201).
    Created,
    /// The e-mail's existing record, updated (200).
    Updated,
}

/// What staff enter at the desk to complete a registration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Completion {
    /// The institution where the patron is registered first.
    pub home_institution: String,
    /// The library card number, made outside patron-hub.
    pub barcode: String,
    /// The Alma user group.
    pub user_group: String,
    /// The expiry date; default: today + the user group's validity.
    #[serde(default)]
    pub expiry_date: Option<NaiveDate>,
}

/// What a completion did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Completed {
    /// The patron's primary id in every institution.
    pub primary_id: PrimaryId,
    /// The institution the patron was created (or renewed) in first.
    pub home_institution: InstitutionCode,
    /// The expiry date set.
    pub expiry_date: NaiveDate,
    /// True when an expired patron was renewed instead of a new one created.
    pub renewal: bool,
}

/// What the Alma write of a completion did.
struct Written {
    /// The institution written to.
    origin: InstitutionCode,
    /// The record Alma holds there now.
    record: AlmaUser,
    /// The other institutions to queue it to.
    targets: Vec<InstitutionCode>,
    /// Whether an expired patron was renewed.
    renewal: bool,
}

/// Everything registration talks to, built once at start-up.
pub struct RegistrationService {
    staging: Arc<dyn StagingRecords>,
    sync: Arc<RegistrySync>,
    alma: Arc<dyn AlmaUsers>,
    inbox: Arc<dyn WebhookInbox>,
    events: Arc<dyn EventPublisher>,
    clock: Arc<dyn Clock>,
    network: Network,
    settings: RegistrationSettings,
}

/// The ports a [`RegistrationService`] is built from.
pub struct RegistrationPorts {
    /// Staging records.
    pub staging: Arc<dyn StagingRecords>,
    /// The registry, with how it is kept current.
    pub sync: Arc<RegistrySync>,
    /// Alma of every institution.
    pub alma: Arc<dyn AlmaUsers>,
    /// Queues the distribution of a completed registration.
    pub inbox: Arc<dyn WebhookInbox>,
    /// Publishes `patron.registered`.
    pub events: Arc<dyn EventPublisher>,
    /// The time.
    pub clock: Arc<dyn Clock>,
}

impl RegistrationService {
    /// A service for `network`.
    pub fn new(ports: RegistrationPorts, network: Network, settings: RegistrationSettings) -> Self {
        Self {
            staging: ports.staging,
            sync: ports.sync,
            alma: ports.alma,
            inbox: ports.inbox,
            events: ports.events,
            clock: ports.clock,
            network,
            settings,
        }
    }

    /// The settings in force.
    pub fn settings(&self) -> &RegistrationSettings {
        &self.settings
    }

    fn today(&self) -> NaiveDate {
        self.clock.now().date_naive()
    }

    /// `POST /patron`: creates a staging record, or updates the one that
    /// already has this e-mail; refused when an active patron has the e-mail.
    pub async fn submit(
        &self,
        input: &StagingInput,
    ) -> Result<(StagingRecord, Submitted), RegistrationError> {
        let email = input.email()?;
        let today = self.today();
        let patrons = self.sync.registry().find_by_email(email.as_str()).await?;
        if patrons.iter().any(|p| p.is_current_patron(today)) {
            return Err(RegistrationError::PatronAlreadyExists);
        }
        for _ in 0..MAX_RACES {
            let now = self.clock.now();
            match self.staging.find_by_email(&email).await? {
                Some(stored) => {
                    let merged = input.merge_into(&stored, now)?;
                    match self.staging.update(&merged).await {
                        Ok(()) => return Ok((merged, Submitted::Updated)),
                        Err(RecordWriteError::VersionConflict) => continue,
                        Err(other) => return Err(other.into()),
                    }
                }
                None => {
                    let record = input.create(ExternalSystemId::generate(), now)?;
                    match self.staging.create(&record).await {
                        Ok(()) => return Ok((record, Submitted::Created)),
                        Err(RecordWriteError::EmailTaken) => continue,
                        Err(other) => return Err(other.into()),
                    }
                }
            }
        }
        Err(RegistrationError::Conflict)
    }

    /// `PUT /patron/{externalSystemId}`: merges the body into the record.
    pub async fn update(
        &self,
        id: &ExternalSystemId,
        input: &StagingInput,
    ) -> Result<StagingRecord, RegistrationError> {
        change_staging(
            self.staging.as_ref(),
            self.clock.as_ref(),
            id,
            |stored, now| input.merge_into(stored, now),
        )
        .await?
        .ok_or(RegistrationError::StagingNotFound)
    }

    /// One staging record.
    pub async fn staging_record(
        &self,
        id: &ExternalSystemId,
    ) -> Result<StagingRecord, RegistrationError> {
        self.staging
            .get(id)
            .await?
            .ok_or(RegistrationError::StagingNotFound)
    }

    /// `GET /patron-registration-status`: one indexed read of the registry.
    pub async fn status(
        &self,
        identifier: &PatronIdentifier,
    ) -> Result<RegistryEntry, RegistrationError> {
        let registry = self.sync.registry();
        let matches = match identifier {
            PatronIdentifier::Email(email) => registry.find_by_email(email).await?,
            PatronIdentifier::ExternalSystemId(id) => registry.find_by_external_id(id).await?,
        };
        registration_status(matches, self.today())
    }

    /// On-site completion: creates the patron in the home institution (or
    /// renews the expired patron with this e-mail), records it in the
    /// registry, queues its distribution, publishes `patron.registered`, and
    /// only then removes the staging record. Safe to repeat after a failure.
    pub async fn complete(
        &self,
        id: &ExternalSystemId,
        completion: &Completion,
    ) -> Result<Completed, RegistrationError> {
        let staging = self.staging_record(id).await?;
        let home = self.home_institution(completion)?;
        let expiry = self.expiry(completion)?;
        let barcode = completion.barcode.trim();
        if barcode.is_empty() || barcode.chars().count() > 255 || barcode.contains('/') {
            return Err(
                InvalidField::new("barcode", "must be 1 to 255 characters, without '/'").into(),
            );
        }
        let email = staging.contact_info.email.as_str();
        let Written {
            origin,
            record,
            targets,
            renewal,
        } = self
            .write_in_alma(&staging, completion, &home, expiry)
            .await?;
        let primary_id = record
            .primary_id()
            .ok_or_else(|| RegistrationError::AlmaRejected {
                code: "NO_PRIMARY_ID".to_owned(),
                message: "Alma returned a user without a primary_id".to_owned(),
            })?;
        let now = self.clock.now();
        self.sync.observe(&origin, &record, now).await?;
        self.distribute(&staging, &origin, &primary_id, &record, targets, now)
            .await?;
        self.events
            .publish(&DomainEvent {
                id: format!("{PATRON_REGISTERED}:{id}"),
                kind: PATRON_REGISTERED.to_owned(),
                time: now,
                detail: json!({
                    "primaryId": primary_id,
                    "externalSystemId": id,
                    "email": email,
                    "homeInstitution": origin,
                    "userGroup": completion.user_group,
                    "expiryDate": expiry,
                    "minor": staging.minor,
                    "renewal": renewal,
                }),
            })
            .await?;
        self.remove_staging(id).await?;
        Ok(Completed {
            primary_id,
            home_institution: origin,
            expiry_date: expiry,
            renewal,
        })
    }

    /// Creates the patron in the home institution, or renews the expired
    /// patron with the staging record's e-mail where it is held. A registry
    /// entry whose account Alma no longer has is corrected and looked at again.
    async fn write_in_alma(
        &self,
        staging: &StagingRecord,
        completion: &Completion,
        home: &InstitutionCode,
        expiry: NaiveDate,
    ) -> Result<Written, RegistrationError> {
        let email = staging.contact_info.email.as_str();
        for _ in 0..MAX_RACES {
            let today = self.today();
            let patrons: Vec<RegistryEntry> = self
                .sync
                .registry()
                .find_by_email(email)
                .await?
                .into_iter()
                .filter(|entry| entry.record_type == RecordType::Patron)
                .collect();
            if patrons.iter().any(|p| p.is_current_patron(today)) {
                return Err(RegistrationError::PatronAlreadyExists);
            }
            let expired = match patrons.as_slice() {
                [] => {
                    let record = self
                        .create_in_home(staging, completion, home, expiry)
                        .await?;
                    let targets = self.network.members.iter().filter(|m| *m != home);
                    return Ok(Written {
                        origin: home.clone(),
                        record,
                        targets: targets.cloned().collect(),
                        renewal: false,
                    });
                }
                [expired] => expired,
                _ => return Err(RegistrationError::MultipleUsers),
            };
            let held: Vec<&InstitutionCode> = expired
                .holdings
                .keys()
                .filter(|i| self.network.is_member(i))
                .collect();
            let origin = match held.iter().find(|i| **i == home) {
                Some(home) => (*home).clone(),
                None => held.first().map_or_else(|| home.clone(), |i| (*i).clone()),
            };
            match self.renew_in(&origin, &expired.primary_id, expiry).await {
                Ok(record) => {
                    let targets = held.into_iter().filter(|i| **i != origin);
                    return Ok(Written {
                        origin: origin.clone(),
                        record,
                        targets: targets.cloned().collect(),
                        renewal: true,
                    });
                }
                Err(AlmaError::NotFound { .. }) => {
                    self.sync
                        .forget(&origin, &expired.primary_id, self.clock.now())
                        .await?;
                }
                Err(error) => return Err(alma_error(error)),
            }
        }
        Err(RegistrationError::Conflict)
    }

    /// Removes the staging record once the patron exists, whatever version a
    /// concurrent Tier 2 update left it at.
    async fn remove_staging(&self, id: &ExternalSystemId) -> Result<(), RegistrationError> {
        for _ in 0..MAX_RACES {
            let Some(current) = self.staging.get(id).await? else {
                return Ok(());
            };
            match self.staging.remove(&current).await {
                Ok(()) => return Ok(()),
                Err(RecordWriteError::VersionConflict) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        Err(RegistrationError::Conflict)
    }

    fn home_institution(
        &self,
        completion: &Completion,
    ) -> Result<InstitutionCode, RegistrationError> {
        InstitutionCode::parse(completion.home_institution.trim())
            .ok()
            .filter(|code| self.network.is_member(code))
            .ok_or_else(|| {
                InvalidField::new(
                    "homeInstitution",
                    "is not a member institution of the network",
                )
                .into()
            })
    }

    fn expiry(&self, completion: &Completion) -> Result<NaiveDate, RegistrationError> {
        let days = self
            .settings
            .validity_days(&completion.user_group)
            .ok_or_else(|| {
                let groups: Vec<&str> = self
                    .settings
                    .user_groups
                    .iter()
                    .map(|g| g.code.as_str())
                    .collect();
                InvalidField::new(
                    "userGroup",
                    format!("must be one of: {}", groups.join(", ")),
                )
            })?;
        let today = self.today();
        match completion.expiry_date {
            Some(date) if date < today => {
                Err(InvalidField::new("expiryDate", "must not be in the past").into())
            }
            Some(date) => Ok(date),
            None => Ok(today + chrono::Days::new(u64::from(days))),
        }
    }

    /// Creates the patron in the home institution. A repeat after a failure
    /// finds the record it created the first time (same primary id and
    /// externalSystemId) and carries on with it.
    async fn create_in_home(
        &self,
        staging: &StagingRecord,
        completion: &Completion,
        home: &InstitutionCode,
        expiry: NaiveDate,
    ) -> Result<AlmaUser, RegistrationError> {
        let user = new_patron(staging, completion, expiry, &self.settings);
        match self.alma.create_user(home, &user).await {
            Ok(created) => Ok(created),
            Err(AlmaError::AlreadyExists { code, message }) => {
                let id = staging.external_system_id.as_str();
                let primary_id = PrimaryId::parse(id).map_err(|_| alma_refusal(&code, &message))?;
                match self.alma.get_user(home, &primary_id).await {
                    Ok(existing) if has_external_id(&existing, &self.settings, id) => Ok(existing),
                    Ok(_) | Err(AlmaError::NotFound { .. }) => Err(alma_refusal(&code, &message)),
                    Err(error) => Err(alma_error(error)),
                }
            }
            Err(error) => Err(alma_error(error)),
        }
    }

    async fn renew_in(
        &self,
        institution: &InstitutionCode,
        primary_id: &PrimaryId,
        expiry: NaiveDate,
    ) -> Result<AlmaUser, AlmaError> {
        let current = self.alma.get_user(institution, primary_id).await?;
        self.alma
            .update_user(institution, primary_id, &renewed(&current, expiry))
            .await
    }

    /// Queues the new record to the other institutions through the same
    /// per-institution workers as webhooks (Alma fires no webhook for API
    /// writes). Recorded once per staging record, so a repeat queues nothing twice.
    async fn distribute(
        &self,
        staging: &StagingRecord,
        origin: &InstitutionCode,
        primary_id: &PrimaryId,
        record: &AlmaUser,
        targets: Vec<InstitutionCode>,
        now: DateTime<Utc>,
    ) -> Result<(), RegistrationError> {
        let event_id = format!("registration:{}", staging.external_system_id);
        let jobs: Vec<Job> = targets
            .into_iter()
            .map(|institution| Job {
                event_id: event_id.clone(),
                institution,
                origin: origin.clone(),
                action: JobAction::Upsert,
                primary_id: primary_id.clone(),
                event_time: now,
                user: Some(record.clone()),
            })
            .collect();
        let receipt = EventReceipt {
            event_id,
            institution: origin.clone(),
            received_at: now,
            keep_until: now + crate::webhook::WebhookReceiver::DEFAULT_RETENTION,
        };
        self.inbox.accept(&receipt, &jobs).await?;
        Ok(())
    }
}

fn alma_refusal(code: &str, message: &str) -> RegistrationError {
    RegistrationError::AlmaRejected {
        code: code.to_owned(),
        message: message.to_owned(),
    }
}

fn alma_error(error: AlmaError) -> RegistrationError {
    match error {
        AlmaError::Rejected { code, message, .. } | AlmaError::AlreadyExists { code, message } => {
            RegistrationError::AlmaRejected { code, message }
        }
        AlmaError::NotFound { code } => RegistrationError::AlmaRejected {
            code,
            message: "the user was not found in Alma".to_owned(),
        },
        AlmaError::Throttled { .. } | AlmaError::Unavailable(_) => {
            RegistrationError::AlmaUnavailable(error.to_string())
        }
    }
}
