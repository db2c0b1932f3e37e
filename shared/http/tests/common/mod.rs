//! What several router test suites share: the first super administrator, logged in.

use patron_hub_domain::accounts::{Account, AccountService, Email, UserName};

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
