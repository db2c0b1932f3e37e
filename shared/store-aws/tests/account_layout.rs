//! The accounts items on the table are as the crate doc lays them out, read
//! back raw through the SDK: a rename and an e-mail change leave no orphaned or
//! duplicate marker or directory entry, identifiers of failed logins are kept
//! only as their SHA-256, and tokens and sessions get their TTL.

mod raw;
mod support;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, TimeDelta, Utc};
use patron_hub_domain::accounts::{
    Account, AccountId, AccountState, AccountStore, Email, Language, LoginAttempts, PersonName,
    SecretToken, SessionRecord, SessionStore, TokenPurpose, TokenRecord, TokenStore, UserName,
};
use patron_hub_domain::SystemClock;
use raw::{item, partition, text, Item};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use support::Fixture;

fn word() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..10].to_owned()
}

fn account() -> Account {
    let word = word();
    Account {
        id: AccountId::new(),
        user_name: UserName::parse(&format!("Lib.{word}")).expect("a valid user name"),
        email: Email::parse(&format!("lib.{word}@example.org")).expect("a valid e-mail"),
        first_name: PersonName::parse("first_name", "Zoé").expect("a valid name"),
        last_name: PersonName::parse("last_name", "Lefèvre").expect("a valid name"),
        department: None,
        department_roles: Vec::new(),
        paid: false,
        state: AccountState::Active,
        expires_on: None,
        network_roles: BTreeSet::new(),
        password_hash: None,
        language: Language::Fr,
        created_at: Utc::now(),
        last_seen_at: None,
        password_changed_at: None,
        version: 1,
    }
}

fn ttl(item: &Item) -> i64 {
    match item.get("expires_at") {
        Some(AttributeValue::N(seconds)) => seconds.parse().expect("a TTL in seconds"),
        other => panic!("no TTL: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rename_and_an_email_change_leave_no_stray_marker_or_entry() {
    let fixture = Fixture::new().await;
    let store = fixture.store(fixture.queues.clone(), Arc::new(SystemClock));
    let before = account();
    AccountStore::create(&store, &before).await.expect("create");
    let after = Account {
        user_name: UserName::parse(&format!("Renamed.{}", word())).expect("a valid user name"),
        email: Email::parse(&format!("new.{}@example.org", word())).expect("a valid e-mail"),
        last_name: PersonName::parse("last_name", "Dupont").expect("a valid name"),
        version: 2,
        ..before.clone()
    };
    store.update(&after).await.expect("update");

    let id = text(&before.id.to_string());
    let old_name = format!("USERNAME#{}", before.user_name.key());
    let new_name = format!("USERNAME#{}", after.user_name.key());
    assert_eq!(
        item(&fixture, &old_name, "MARKER").await,
        None,
        "the old user name is free"
    );
    let marker = item(&fixture, &new_name, "MARKER")
        .await
        .expect("the new user-name marker");
    assert_eq!(marker.get("account_id"), Some(&id));
    for address in [&before.email, &after.email] {
        let marker = item(&fixture, &format!("EMAIL#{address}"), "MARKER")
            .await
            .unwrap_or_else(|| panic!("the e-mail {address} stays reserved"));
        assert_eq!(marker.get("account_id"), Some(&id));
    }

    let entries = partition(&fixture, "ACCOUNTS").await;
    assert_eq!(
        entries.len(),
        1,
        "one directory entry per account: {entries:?}"
    );
    let entry = &entries[0];
    let sk = format!("{}#{}", after.user_name.key(), after.id);
    assert_eq!(entry.get("sk"), Some(&text(&sk)));
    let search = format!("{}\n{}\nzoé\ndupont", after.user_name.key(), after.email);
    assert_eq!(entry.get("search"), Some(&text(&search)));
    assert_eq!(
        partition(&fixture, &format!("ACCOUNT#{}", before.id))
            .await
            .len(),
        1,
        "the account partition holds only the account"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_are_kept_under_the_identifiers_sha256_only() {
    let fixture = Fixture::new().await;
    let store = fixture.store(fixture.queues.clone(), Arc::new(SystemClock));
    let identifier = format!("Camille.{}@Example.org", word());
    let at = Utc::now();
    let counted = store
        .record_failure(&identifier, at, at - TimeDelta::minutes(15))
        .await
        .expect("record_failure");
    assert_eq!(counted, 1);

    let digest: String = Sha256::digest(identifier.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let failures = partition(&fixture, &format!("LOGIN#{digest}")).await;
    assert_eq!(failures.len(), 1);
    let stored = format!("{:?}", failures[0]);
    assert!(
        !stored.contains(&identifier),
        "the identifier is stored as typed: {stored}"
    );
    assert!(!stored.to_lowercase().contains(&identifier.to_lowercase()));
    assert!(partition(&fixture, &format!("LOGIN#{identifier}"))
        .await
        .is_empty());
    let forget_at = (at + TimeDelta::minutes(15)).timestamp();
    assert!(
        (forget_at..=forget_at + 1).contains(&ttl(&failures[0])),
        "one window later"
    );
}

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 250_000_000).expect("a valid time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_and_sessions_expire_by_ttl_when_they_stop_being_valid() {
    let fixture = Fixture::new().await;
    let store = fixture
        .store(fixture.queues.clone(), Arc::new(SystemClock))
        .with_session_lifetime(Duration::from_secs(3600));
    let owner = AccountId::new();
    let secret = SecretToken::generate();
    let token = TokenRecord {
        hash: secret.hash(),
        account_id: owner,
        purpose: TokenPurpose::PasswordReset,
        issued_at: at(1_900_000_000),
        expires_at: at(1_900_001_800),
    };
    store.issue(&token).await.expect("issue");
    let stored = item(&fixture, &format!("TOKEN#{}", token.hash.as_str()), "TOKEN")
        .await
        .expect("the token item");
    assert_eq!(
        ttl(&stored),
        1_900_001_801,
        "rounded up: never purged early"
    );
    assert!(!format!("{stored:?}").contains(secret.expose()));
    let index = item(
        &fixture,
        &format!("ACCOUNT#{owner}"),
        &format!("TOKEN#{}", token.hash.as_str()),
    )
    .await
    .expect("the token's index entry");
    assert_eq!(ttl(&index), 1_900_001_801);

    let session = SessionRecord {
        hash: SecretToken::generate().hash(),
        account_id: owner,
        created_at: at(1_900_000_000),
        last_used_at: at(1_900_000_000),
    };
    SessionStore::create(&store, &session)
        .await
        .expect("create session");
    let stored = item(
        &fixture,
        &format!("SESSION#{}", session.hash.as_str()),
        "SESSION",
    )
    .await
    .expect("the session item");
    assert_eq!(
        ttl(&stored),
        1_900_003_601,
        "the configured absolute timeout"
    );

    assert!(store
        .consume(&token.hash, at(1_900_000_060))
        .await
        .expect("consume")
        .is_some());
    assert_eq!(
        partition(&fixture, &format!("ACCOUNT#{owner}")).await.len(),
        1,
        "the used token's index entry is gone, the session's stays"
    );
}
