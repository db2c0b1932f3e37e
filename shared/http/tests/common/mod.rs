//! What several router test suites share: the first super administrator,
//! logged in, and accounts with network roles.

#![allow(dead_code)] // each test file uses its own part of this module

use axum::body::Body;
use axum::http::{Method, Request};
use patron_hub_domain::accounts::{
    Account, AccountService, Email, MailOption, NewAccount, UserName,
};

/// A password the policy accepts, for every account the suites make.
pub const PASSWORD: &str = "tortue bleue du lundi matin";

/// The first super administrator, given a password through its link, logged in.
pub async fn super_admin_session(accounts: &AccountService) -> (Account, String) {
    let (_, link) = accounts
        .create_super_admin(
            Email::parse("chief@patrons.test").unwrap(),
            UserName::parse("chief").unwrap(),
        )
        .await
        .unwrap();
    let (_, token) = link.split_once("?token=").unwrap();
    accounts
        .confirm_password_reset(token, PASSWORD)
        .await
        .unwrap();
    let (session, chief) = accounts.login("chief", PASSWORD).await.unwrap();
    (chief, session.expose().to_owned())
}

/// A new active account `user_name@patrons.test` holding the network `roles`,
/// with [`PASSWORD`], created by the holder of `admin_token`.
pub async fn account_with_roles(
    accounts: &AccountService,
    admin_token: &str,
    user_name: &str,
    roles: &[&str],
) -> Account {
    let admin = accounts.authenticate(admin_token).await.unwrap();
    accounts
        .create_account(
            &admin,
            NewAccount {
                user_name: user_name.to_owned(),
                email: format!("{user_name}@patrons.test"),
                first_name: "Camille".to_owned(),
                last_name: "Lefebvre".to_owned(),
                password: Some(PASSWORD.to_owned()),
                mail: MailOption::None,
                network_roles: roles.iter().map(|r| (*r).to_owned()).collect(),
                ..NewAccount::default()
            },
        )
        .await
        .unwrap()
}

/// The origin of the suites' public base URL (`http://localhost:8080`).
pub const OWN_ORIGIN: &str = "http://localhost:8080";

/// Another origin of the same site: the sandbox's port on the same host.
pub const SIBLING_ORIGIN: &str = "http://localhost:8081";

/// `method uri` authenticated by the session cookie (plain-HTTP name) as a
/// browser sends it: with `content_type` when given, the body, and `headers`.
pub fn cookie_request(
    method: Method,
    uri: &str,
    session: &str,
    content_type: Option<&str>,
    body: &str,
    headers: &[(&str, &str)],
) -> Request<Body> {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header("cookie", format!("other=1; patron_hub_session={session}"))
        .header("content-length", body.len().to_string());
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.body(Body::from(body.to_owned())).unwrap()
}
