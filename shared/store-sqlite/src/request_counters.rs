//! Counted requests, one row per request and counter key in
//! `request_counts` (see `counters`), apart from the failed logins.

use crate::counters::REQUEST_COUNTS;
use crate::SqliteStore;
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use patron_hub_domain::accounts::{CountedRequest, RequestCounters};
use patron_hub_domain::StoreError;

#[async_trait]
impl RequestCounters for SqliteStore {
    async fn count(
        &self,
        request: &CountedRequest,
        at: DateTime<Utc>,
        window: Duration,
    ) -> Result<u32, StoreError> {
        let since = at
            .checked_sub_signed(window)
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        self.record_counted(&REQUEST_COUNTS, request.key(), at, since)
            .await
    }

    async fn purge_expired(&self, now: DateTime<Utc>, dry_run: bool) -> Result<u64, StoreError> {
        self.purge_counted(&REQUEST_COUNTS, now, dry_run).await
    }
}

#[cfg(test)]
mod tests {
    use crate::schema::tests::migrated_in_memory_up_to;
    use crate::schema::MIGRATIONS;

    #[test]
    fn migration_14_moves_the_request_counters_out_of_the_login_failures() {
        let conn = migrated_in_memory_up_to(13);
        for identifier in [
            "login:camille@example.org",
            "login-account:0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
            "address:login:198.51.100.7",
            "registration:login:camille@example.org",
            "password-reset:login:camille",
            "email-change:account:0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
            "email-change:to:login:dominique@example.org",
        ] {
            conn.execute(
                "INSERT INTO login_failures (identifier, failed_at_us, forget_at_us) VALUES (?1, 1, 2)",
                [identifier],
            )
            .unwrap();
        }
        conn.execute_batch(MIGRATIONS[13]).unwrap();
        let keys = |sql: &str| -> Vec<String> {
            let mut select = conn.prepare(sql).unwrap();
            let rows = select.query_map([], |row| row.get(0)).unwrap();
            rows.collect::<Result<_, _>>().unwrap()
        };
        assert_eq!(
            keys("SELECT identifier FROM login_failures ORDER BY identifier"),
            [
                "login-account:0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
                "login:camille@example.org",
            ]
        );
        assert_eq!(
            keys("SELECT counter FROM request_counts ORDER BY counter"),
            [
                "address:login:198.51.100.7",
                "email-change:account:0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
                "email-change:to:dominique@example.org",
                "password-reset:camille",
                "registration:camille@example.org",
            ]
        );
    }
}
