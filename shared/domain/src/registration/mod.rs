//! Patron registration with staging records (seed 002): the discovery layer's
//! Tier 1 and Tier 2 forms land in staging records, the registration-status
//! query answers from the patron registry, and staff complete the registration
//! on site, which creates (or renews) the patron in Alma and distributes it.

mod alma_record;
mod client_keys;
mod error;
mod ports;
mod registry;
mod service;
mod settings;
mod staging;
mod staging_change;
mod status;
mod sync;
mod verification;

pub use client_keys::{hash_key, ClientKey, ClientKeys, ClientScope};
pub use error::RegistrationError;
pub use ports::{
    DomainEvent, EventLog, EventPublisher, PatronRegistry, RecordWriteError, StagingRecords,
};
pub use registry::{
    alma_date, alma_date_text, email_key, Holding, PatronSnapshot, PatronStatus, RecordType,
    RegistryChange, RegistryEntry,
};
pub use service::{
    Completed, Completion, RegistrationPorts, RegistrationService, Submitted, PATRON_REGISTERED,
};
pub use settings::{RegistrationSettings, UserGroupValidity};
pub use staging::{
    AddressInfo, Communication, ContactInfo, ContactInfoInput, ExternalSystemId, GeneralInfo,
    GeneralInfoInput, StagingInput, StagingRecord, Tier,
};
pub use status::{registration_status, PatronIdentifier};
pub use sync::RegistrySync;
pub use verification::StagingEmailVerification;
