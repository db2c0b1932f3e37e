//! Login accounts of staff and patrons: who they are, how they prove it
//! (argon2id passwords, single-use e-mailed tokens, sessions), their lifecycle
//! (pending activation, active, inactive — never deleted) and the ports their
//! storage and mail go through.

mod model;
mod ports;
mod token;

pub use model::{
    Account, AccountId, AccountState, Email, InvalidField, Language, NetworkRole, OrganizationId, PersonName, UserName,
};
pub use ports::{
    AccountStore, AccountWriteError, LoginAttempts, Mail, MailError, Mailer, SessionRecord, SessionStore, TokenPurpose,
    TokenRecord, TokenStore,
};
pub use token::{SecretToken, TokenHash};
