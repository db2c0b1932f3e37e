//! Login accounts of staff and patrons: who they are, how they prove it
//! (argon2id passwords, single-use e-mailed tokens, sessions), their lifecycle
//! (pending activation, active, inactive — never deleted), the ports their
//! storage and mail go through, and the use cases ([`AccountService`]).

mod error;
mod fields;
mod hasher;
mod import;
mod mails;
mod model;
mod password;
mod ports;
mod requests;
mod service;
mod settings;
mod token;

pub use error::{AccountError, RateLimit};
pub use fields::IMPORTED_DEPARTMENT_PREFIX;
pub use hasher::{
    HashingError, PasswordHasher, Verification, ARGON2_ITERATIONS, ARGON2_MEMORY_KIB,
    ARGON2_PARALLELISM,
};
pub use mails::{activation_link, email_confirmation_link, password_link, AccountMail};
pub use model::{
    Account, AccountId, AccountState, Email, InvalidField, Language, NetworkRole, OrganizationId,
    PersonName, UserName,
};
pub use password::{PasswordPolicy, WeakPassword, MAX_PASSWORD_LENGTH};
pub use ports::{
    AccountStore, AccountWriteError, CountedRequest, EmailConfirmed, LoginAttempts, Mail,
    MailError, Mailer, RequestCounters, SessionRecord, SessionStore, TokenPurpose, TokenRecord,
    TokenStore,
};
pub use requests::{AccountPatch, ImportRow, MailOption, NewAccount, ProfileChange, Registration};
pub use service::{
    AccountService, ImportProgress, MailedLink, DEMO_ADMIN_EMAIL, DEMO_ADMIN_USER_NAME,
    MAX_SEARCH_RESULTS,
};
pub use settings::{
    AccountPorts, AccountSettings, AddressFlow, AddressLimit, AddressLimits, ImportLimits,
};
pub use token::{SecretToken, TokenHash};
