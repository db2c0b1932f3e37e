//! Issue 11, point 5.2: the counters of identifiers tried once and never
//! again, the per-address counters and the sessions left behind are rows
//! that nothing else removes; the daily rollover purges them, so that a flood
//! of random identifiers leaves no row behind.

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use patron_hub_domain::accounts::{
    AccountId, AccountSettings, AddressFlow, CountedRequest, LoginAttempts, RequestCounters,
    SecretToken, SessionRecord, SessionStore,
};
use patron_hub_domain::organizations::{Rollover, RolloverStores};
use patron_hub_domain::SystemClock;
use patron_hub_store_sqlite::SqliteStore;
use std::path::Path;
use std::sync::Arc;

/// The rows of `table` in the database at `path`, read by another connection.
fn rows(path: &Path, table: &str) -> i64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |row| {
        row.get(0)
    })
    .unwrap()
}

#[tokio::test]
async fn a_flood_of_identifiers_tried_once_leaves_no_rows_after_the_daily_purge() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("patron-hub.sqlite3");
    let store = Arc::new(SqliteStore::open(&path, Arc::new(SystemClock)).unwrap());
    let at = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
    // Random identifiers, each tried once (the lockout's 15-minute window),
    // and per-address counters (an hour's window).
    for i in 0..400 {
        let identifier = format!("login:{}@flood.example", uuid::Uuid::new_v4().simple());
        let at = at + Duration::seconds(i);
        store
            .record_failure(&identifier, at, at - Duration::minutes(15))
            .await
            .unwrap();
    }
    for i in 0..100 {
        let request = CountedRequest::Address {
            flow: AddressFlow::Login,
            address: format!("198.51.100.{i}").parse().unwrap(),
        };
        store.count(&request, at, Duration::hours(1)).await.unwrap();
    }
    // Sessions nobody ended (their holders closed the browser).
    for _ in 0..20 {
        let session = SessionRecord {
            hash: SecretToken::generate().hash(),
            account_id: AccountId::new(),
            created_at: at,
            last_used_at: at,
        };
        store.create(&session).await.unwrap();
    }
    assert_eq!(rows(&path, "login_failures"), 400);
    assert_eq!(rows(&path, "request_counts"), 100);
    assert_eq!(rows(&path, "account_sessions"), 20);

    let stores = RolloverStores {
        organizations: store.clone(),
        accounts: store.clone(),
        tokens: store.clone(),
        sessions: store.clone(),
        attempts: store.clone(),
        requests: store.clone(),
        staging: store.clone(),
    };
    let rollover = Rollover::new(
        stores,
        Rollover::DEFAULT_STAGING_RETENTION_DAYS,
        AccountSettings::default().session_absolute,
    );
    // The same day's run keeps what may still count; the next day's purges all.
    let same_day = rollover
        .run(NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(), false)
        .await
        .unwrap();
    assert_eq!((same_day.counters_purged, same_day.sessions_purged), (0, 0));
    let next_day = rollover
        .run(NaiveDate::from_ymd_opt(2026, 3, 3).unwrap(), false)
        .await
        .unwrap();
    assert_eq!(
        (next_day.counters_purged, next_day.sessions_purged),
        (500, 20)
    );
    assert_eq!(rows(&path, "login_failures"), 0);
    assert_eq!(rows(&path, "request_counts"), 0);
    assert_eq!(rows(&path, "account_sessions"), 0);
}
