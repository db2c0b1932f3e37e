//! The `accounts-api` function: self-registration and activation, password
//! reset, sessions (login, logout), the profile, and account administration;
//! and the HTML pages the mailed links open (`pages`).

mod auth;
mod body;
mod error;
mod pages;
mod routes;
pub mod spreadsheet;
mod view;

pub(crate) use auth::{
    cookie_name, expired_session_cookie, read_cookie, secure_attribute, session_cookie,
    SessionToken,
};
pub use auth::{CurrentAccount, SESSION_COOKIE};
pub(crate) use error::retry_after;
pub use routes::router;
