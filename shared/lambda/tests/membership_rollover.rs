//! The `membership-rollover` function on its AWS path: the `Rollover` built by
//! the wiring, over a DynamoDB table on moto seeded through the ports, run by
//! the function's handler with its sample payloads: the dry run of
//! `scheduled-dry-run.json` counts without writing, the scheduled payload runs for the
//! clock's day, and a second run for the same day changes nothing.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use patron_hub_domain::accounts::{
    Account, AccountId, AccountState, AccountStore, Email, Language, LoginAttempts, OrganizationId,
    PersonName, SecretToken, SessionRecord, SessionStore, TokenPurpose, TokenRecord, TokenStore,
    UserName,
};
use patron_hub_domain::organizations::{
    Membership, MembershipId, MembershipPolicy, Organization, OrganizationStore, Role,
    RolloverSummary,
};
use patron_hub_domain::registration::{ExternalSystemId, StagingInput, StagingRecords};
use patron_hub_domain::{FixedClock, SystemClock};
use patron_hub_lambda::rollover::handle_rollover;
use patron_hub_lambda::wiring::{membership_rollover, AwsClients};
use patron_hub_lambda::Environment;
use patron_hub_store_aws::AwsStore;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use uuid::Uuid;

/// The day of the sample dry run.
const RUN_DAY: &str = "2026-09-01";

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

fn sample(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../events/membership-rollover")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn club(start: &str, end: &str) -> Organization {
    Organization {
        id: OrganizationId(Uuid::new_v4()),
        name: format!("Club {start}"),
        parent: None,
        policy: MembershipPolicy {
            require_memberships: true,
            membership_start: Some(day(start)),
            membership_end: Some(day(end)),
            membership_duration: Some(396),
            membership_fee_paid: 500,
            membership_fee_unpaid: 300,
        },
        titles: Vec::new(),
        rolled_on: None,
        created_at: at("2025-06-01T10:00:00Z"),
        version: 1,
    }
}

fn founder(organization: &Organization, person: AccountId) -> Membership {
    Membership {
        id: MembershipId::new(),
        person,
        organization: organization.id,
        roles: BTreeSet::from([Role::Admin]),
        titles: Vec::new(),
        date_start: day("2025-06-01"),
        date_end: MembershipPolicy::default().end_for(day("2025-06-01")),
        fee: 0,
        created_at: organization.created_at,
        version: 1,
    }
}

fn account(user_name: &str, state: AccountState, expires_on: Option<&str>) -> Account {
    Account {
        id: AccountId(Uuid::new_v4()),
        user_name: UserName::parse(user_name).unwrap(),
        email: Email::parse(&format!("{user_name}@example.org")).unwrap(),
        first_name: PersonName::parse("first_name", "Sample").unwrap(),
        last_name: PersonName::parse("last_name", "Patron").unwrap(),
        department: None,
        department_roles: Vec::new(),
        paid: false,
        state,
        expires_on: expires_on.map(day),
        network_roles: BTreeSet::new(),
        password_hash: None,
        language: Language::default(),
        created_at: at("2025-06-01T10:00:00Z"),
        last_seen_at: None,
        password_changed_at: None,
        version: 1,
    }
}

fn token(account_id: AccountId, expires_at: &str) -> (SecretToken, TokenRecord) {
    let secret = SecretToken::generate();
    let record = TokenRecord {
        hash: secret.hash(),
        account_id,
        purpose: TokenPurpose::PasswordReset,
        issued_at: at(expires_at) - chrono::Duration::days(2),
        expires_at: at(expires_at),
    };
    (secret, record)
}

fn staging_record(email: &str, updated: &str) -> patron_hub_domain::registration::StagingRecord {
    let input: StagingInput = serde_json::from_value(json!({
        "generalInfo": {"firstName": "Léa", "lastName": "Durand"},
        "contactInfo": {"email": email}
    }))
    .unwrap();
    input
        .create(ExternalSystemId::generate(), at(updated))
        .unwrap()
}

fn expected(dry_run: bool, each: u64) -> RolloverSummary {
    RolloverSummary {
        date: Some(day(RUN_DAY)),
        dry_run,
        organizations_rolled: each,
        accounts_deactivated: each,
        staging_records_purged: each,
        tokens_purged: each,
        sessions_purged: each,
        counters_purged: each,
    }
}

#[tokio::test]
async fn the_daily_rollover_on_dynamodb_is_dry_runnable_and_idempotent() {
    assert!(
        std::env::var_os("AWS_ENDPOINT_URL").is_some(),
        "AWS_ENDPOINT_URL is not set: these tests need moto. Run ./scripts/test, or start \
         `python3 -m moto.server -H 127.0.0.1 -p 5055` and set AWS_ENDPOINT_URL=http://127.0.0.1:5055 \
         AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=eu-west-1"
    );
    let aws = AwsClients::load().await;
    let table = format!("rollover-{}", Uuid::new_v4().simple());
    patron_hub_store_aws::provision(&aws.dynamodb, &aws.sqs, &table, "unused-", &[])
        .await
        .unwrap();
    let store = AwsStore::new(
        aws.dynamodb.clone(),
        aws.sqs.clone(),
        table.clone(),
        Default::default(),
        Arc::new(SystemClock),
    );

    // Due: the window opened 2025-09-01, a year before the run. Not due: it
    // opened 2026-01-01.
    let due = club("2025-09-01", "2026-08-31");
    let not_due = club("2026-01-01", "2026-12-31");
    // Expired the day before the run; expiring on the run's day (still valid);
    // expired long ago but already inactive.
    let expired = account("expired", AccountState::Active, Some("2026-08-31"));
    let last_day = account("lastday", AccountState::Active, Some(RUN_DAY));
    let closed = account("closed", AccountState::Inactive, Some("2026-01-01"));
    for person in [&expired, &last_day, &closed] {
        AccountStore::create(&store, person).await.unwrap();
    }
    for organization in [&due, &not_due] {
        OrganizationStore::create(&store, organization, &founder(organization, last_day.id))
            .await
            .unwrap();
    }
    // Tokens expired before the run's first instant go; one expiring later that day stays.
    let (used_up, used_up_record) = token(expired.id, "2026-08-31T23:00:00Z");
    let (live, live_record) = token(last_day.id, "2026-09-01T10:00:00Z");
    for record in [&used_up_record, &live_record] {
        store.issue(record).await.unwrap();
    }
    // Sessions started before the run's first instant less the absolute
    // timeout (8 hours: 2026-08-31T16:00) go; one started later stays.
    for started in ["2026-08-31T12:00:00Z", "2026-08-31T20:00:00Z"] {
        let session = SessionRecord {
            hash: SecretToken::generate().hash(),
            account_id: last_day.id,
            created_at: at(started),
            last_used_at: at(started),
        };
        SessionStore::create(&store, &session).await.unwrap();
    }
    // Failed logins no 15-minute window reaching the run's first instant
    // counts go (23:00 + 15 min); one that a window still counts stays.
    for failed in ["2026-08-31T23:00:00Z", "2026-08-31T23:50:00Z"] {
        let at = at(failed);
        LoginAttempts::record_failure(&store, "ghost", at, at - chrono::Duration::minutes(15))
            .await
            .unwrap();
    }
    // Kept STAGING_RETENTION_DAYS = 30 days after their last update: the
    // cut-off is 2026-08-02 (the default 365 would keep both).
    let stale = staging_record("stale@example.org", "2026-07-01T12:00:00Z");
    let recent = staging_record("recent@example.org", "2026-08-20T12:00:00Z");
    for record in [&stale, &recent] {
        StagingRecords::create(&store, record).await.unwrap();
    }

    let env = Environment::from_pairs(&[
        ("PATRON_HUB_TABLE", &table),
        ("STAGING_RETENTION_DAYS", "30"),
    ]);
    let rollover = membership_rollover(&env, &aws).await.unwrap();
    // The schedule's payload names no day: the clock's day is the run's.
    let clock = FixedClock::at(Utc.with_ymd_and_hms(2026, 9, 1, 0, 15, 0).unwrap());

    // The sample dry run counts what is due and writes nothing ...
    let summary = handle_rollover(&rollover, &SystemClock, sample("scheduled-dry-run.json"))
        .await
        .unwrap();
    assert_eq!(summary, expected(true, 1));
    let unchanged = OrganizationStore::get(&store, due.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(unchanged, due);
    // ... so the scheduled run finds the same.
    let summary = handle_rollover(&rollover, &clock, sample("scheduled.json"))
        .await
        .unwrap();
    assert_eq!(summary, expected(false, 1));

    let rolled = OrganizationStore::get(&store, due.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            rolled.policy.membership_start,
            rolled.policy.membership_end,
            rolled.rolled_on,
            rolled.version
        ),
        (
            Some(day("2026-09-01")),
            Some(day("2027-08-31")),
            Some(day(RUN_DAY)),
            2
        )
    );
    let untouched = OrganizationStore::get(&store, not_due.id).await.unwrap();
    assert_eq!(untouched.as_ref(), Some(&not_due));
    let state = |account: &Account| {
        let store = store.clone();
        let id = account.id;
        async move { AccountStore::get(&store, id).await.unwrap().unwrap().state }
    };
    assert_eq!(state(&expired).await, AccountState::Inactive);
    assert_eq!(state(&last_day).await, AccountState::Active);
    assert_eq!(state(&closed).await, AccountState::Inactive);
    assert!(StagingRecords::get(&store, &stale.external_system_id)
        .await
        .unwrap()
        .is_none());
    assert!(StagingRecords::get(&store, &recent.external_system_id)
        .await
        .unwrap()
        .is_some());

    // A second run for the same day changes nothing.
    let again = handle_rollover(&rollover, &clock, json!({})).await.unwrap();
    assert_eq!(again, expected(false, 0));
    let still = OrganizationStore::get(&store, due.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(still, rolled);

    // The purged token is gone; the other one is still there to be used.
    let before_expiry = at("2026-08-30T00:00:00Z");
    assert!(store
        .consume(&used_up.hash(), before_expiry)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .consume(&live.hash(), before_expiry)
        .await
        .unwrap()
        .is_some());
}

#[tokio::test]
async fn a_payload_that_is_not_a_request_fails_without_writing() {
    let aws = AwsClients::load().await;
    // Never reaches the table: the payload is refused first.
    let env = Environment::from_pairs(&[("PATRON_HUB_TABLE", "no-such-table")]);
    let rollover = membership_rollover(&env, &aws).await.unwrap();
    for payload in [json!({"date": "31/08/2026"}), json!({"dryrun": true})] {
        let failure = handle_rollover(&rollover, &SystemClock, payload.clone()).await;
        assert!(
            matches!(
                failure,
                Err(patron_hub_lambda::rollover::RolloverFailure::InvalidRequest(_))
            ),
            "{payload}: {failure:?}"
        );
    }
    let invalid = Environment::from_pairs(&[
        ("PATRON_HUB_TABLE", "no-such-table"),
        ("STAGING_RETENTION_DAYS", "a year"),
    ]);
    assert!(membership_rollover(&invalid, &aws).await.is_err());
}
