//! The due indexes on the table are as the crate doc lays them out, read back
//! raw through the SDK: an account's expiry entry exists exactly while it can
//! expire and moves with its expiry date, a token's expiry entry has the
//! token's TTL and goes with the token, and a staging record's update entry
//! moves with each update and goes with the record.

mod raw;
mod support;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use patron_hub_domain::accounts::{
    Account, AccountId, AccountState, AccountStore, Email, Language, PersonName, SecretToken,
    TokenPurpose, TokenRecord, TokenStore, UserName,
};
use patron_hub_domain::registration::{
    AddressInfo, ContactInfo, ExternalSystemId, GeneralInfo, StagingRecord, StagingRecords, Tier,
};
use patron_hub_domain::SystemClock;
use raw::{item, number, partition, sort_keys, text};
use std::collections::BTreeSet;
use std::sync::Arc;
use support::Fixture;

fn word() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..10].to_owned()
}

fn day(month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2031, month, day).expect("a valid date")
}

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 250_000_000).expect("a valid time")
}

fn time_key(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

fn account(expires_on: Option<NaiveDate>) -> Account {
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
        expires_on,
        network_roles: BTreeSet::new(),
        password_hash: None,
        language: Language::Fr,
        created_at: Utc::now(),
        last_seen_at: None,
        password_changed_at: None,
        version: 1,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accounts_expiry_entry_exists_exactly_while_it_can_expire() {
    const INDEX: &str = "DUE#ACCOUNT_EXPIRY";
    let fixture = Fixture::new().await;
    let store = fixture.store(fixture.queues.clone(), Arc::new(SystemClock));
    let mut stored = account(Some(day(6, 30)));
    AccountStore::create(&store, &stored).await.expect("create");
    let id = stored.id;
    let entry = item(&fixture, INDEX, &format!("2031-06-30#{id}"))
        .await
        .expect("the expiry entry");
    assert_eq!(entry.get("account_id"), Some(&text(&id.to_string())));

    let steps: [(Option<NaiveDate>, AccountState, Option<String>); 5] = [
        (
            Some(day(7, 31)),
            AccountState::Active,
            Some(format!("2031-07-31#{id}")),
        ),
        (Some(day(7, 31)), AccountState::Inactive, None),
        (None, AccountState::Active, None),
        (
            Some(day(5, 1)),
            AccountState::PendingActivation,
            Some(format!("2031-05-01#{id}")),
        ),
        (
            Some(day(5, 1)),
            AccountState::Active,
            Some(format!("2031-05-01#{id}")),
        ),
    ];
    for (expires_on, state, entry) in steps {
        stored = Account {
            expires_on,
            state,
            version: stored.version + 1,
            ..stored
        };
        AccountStore::update(&store, &stored).await.expect("update");
        assert_eq!(
            sort_keys(&fixture, INDEX).await,
            Vec::from_iter(entry),
            "{expires_on:?} {state:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tokens_expiry_entry_has_its_ttl_and_goes_with_it() {
    const INDEX: &str = "DUE#TOKEN_EXPIRY";
    let fixture = Fixture::new().await;
    let store = fixture.store(fixture.queues.clone(), Arc::new(SystemClock));
    let token = |account_id| TokenRecord {
        hash: SecretToken::generate().hash(),
        account_id,
        purpose: TokenPurpose::PasswordReset,
        issued_at: at(1_900_000_000),
        expires_at: at(1_900_001_800),
    };
    let used = token(AccountId::new());
    store.issue(&used).await.expect("issue");
    let sk = format!("{}#{}", time_key(used.expires_at), used.hash.as_str());
    assert_eq!(sort_keys(&fixture, INDEX).await, std::slice::from_ref(&sk));
    let entry = &partition(&fixture, INDEX).await[0];
    assert_eq!(
        entry.get("account_id"),
        Some(&text(&used.account_id.to_string()))
    );
    assert_eq!(entry.get("hash"), Some(&text(used.hash.as_str())));
    assert_eq!(entry.get("expires_at"), Some(&number(1_900_001_801)));
    let index = item(
        &fixture,
        &format!("ACCOUNT#{}", used.account_id),
        &format!("TOKEN#{}", used.hash.as_str()),
    )
    .await
    .expect("the account's index entry");
    assert_eq!(index.get("due"), Some(&text(&sk)));
    assert!(store
        .consume(&used.hash, at(1_900_000_060))
        .await
        .expect("consume")
        .is_some());
    assert!(sort_keys(&fixture, INDEX).await.is_empty(), "consumed");

    let owner = AccountId::new();
    for _ in 0..2 {
        store.issue(&token(owner)).await.expect("issue");
    }
    assert_eq!(sort_keys(&fixture, INDEX).await.len(), 2);
    store.revoke_all(owner).await.expect("revoke_all");
    assert!(sort_keys(&fixture, INDEX).await.is_empty(), "revoked");
}

fn staging_record(updated: DateTime<Utc>) -> StagingRecord {
    StagingRecord {
        external_system_id: ExternalSystemId::generate(),
        status: Tier::Tier2,
        is_email_verified: false,
        minor: false,
        general_info: GeneralInfo {
            first_name: "Zoë".to_owned(),
            preferred_first_name: None,
            middle_name: None,
            last_name: "Ørsted".to_owned(),
        },
        address_info: AddressInfo {
            address_line0: None,
            address_line1: None,
            city: Some("Genève".to_owned()),
            province: None,
            zip: None,
            country: Some("CH".to_owned()),
        },
        contact_info: ContactInfo {
            phone: None,
            mobile_phone: None,
            email: Email::parse(&format!("reg.{}@example.org", word())).expect("a valid e-mail"),
        },
        preferred_email_communication: Vec::new(),
        created_date: updated,
        updated_date: updated,
        version: 1,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_staging_records_update_entry_moves_with_it() {
    const INDEX: &str = "DUE#STAGING_UPDATED";
    let fixture = Fixture::new().await;
    let store = fixture.store(fixture.queues.clone(), Arc::new(SystemClock));
    let record = staging_record(at(1_900_000_000));
    let id = record.external_system_id.clone();
    StagingRecords::create(&store, &record)
        .await
        .expect("create");
    let first = format!("{}#{id}", time_key(record.updated_date));
    assert_eq!(sort_keys(&fixture, INDEX).await, [first]);
    let entry = &partition(&fixture, INDEX).await[0];
    assert_eq!(
        entry.get("record_pk"),
        Some(&text(&format!("STAGING#{id}")))
    );
    assert_eq!(
        entry.get("marker_pk"),
        Some(&text(&format!(
            "STAGING_EMAIL#{}",
            record.contact_info.email
        )))
    );
    assert_eq!(entry.get("version"), Some(&number(1)));

    let updated = StagingRecord {
        is_email_verified: true,
        updated_date: at(1_900_086_400),
        version: 2,
        ..record
    };
    StagingRecords::update(&store, &updated)
        .await
        .expect("update");
    let moved = format!("{}#{id}", time_key(updated.updated_date));
    assert_eq!(
        sort_keys(&fixture, INDEX).await,
        std::slice::from_ref(&moved)
    );
    let entry = item(&fixture, INDEX, &moved)
        .await
        .expect("the moved entry");
    assert_eq!(entry.get("version"), Some(&number(2)));
    StagingRecords::remove(&store, &updated)
        .await
        .expect("remove");
    assert!(partition(&fixture, INDEX).await.is_empty(), "removed");
}
