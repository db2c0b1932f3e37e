//! The `accounts-api` function: self-registration and activation, password
//! reset, sessions (login, logout), the profile, and account administration.

mod auth;
mod body;
mod error;
mod routes;
pub mod spreadsheet;
mod view;

pub(crate) use auth::SessionToken;
pub use auth::{CurrentAccount, SESSION_COOKIE};
pub use routes::router;
