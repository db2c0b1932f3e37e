//! The database schema and its migrations, numbered by `PRAGMA user_version`.

use crate::codec::db_error;
use patron_hub_domain::StoreError;
use rusqlite::{Connection, TransactionBehavior};

/// Migration `n` takes a database at `user_version = n` to `n + 1`. Append only:
/// a released migration is never edited.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: webhook inbox, job queues with dead letters, distribution ledger.
    "
    CREATE TABLE inbox_events (
        event_id       TEXT PRIMARY KEY NOT NULL,
        institution    TEXT NOT NULL,
        received_at_us INTEGER NOT NULL,
        keep_until_us  INTEGER NOT NULL
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX inbox_events_by_expiry ON inbox_events (keep_until_us);

    CREATE TABLE queue_jobs (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        institution   TEXT NOT NULL,
        job           TEXT NOT NULL,
        attempts      INTEGER NOT NULL DEFAULT 0,
        visible_at_us INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX queue_jobs_by_visibility ON queue_jobs (institution, visible_at_us, id);

    CREATE TABLE dead_letters (
        id             INTEGER PRIMARY KEY AUTOINCREMENT,
        institution    TEXT NOT NULL,
        job            TEXT NOT NULL,
        reason_code    TEXT NOT NULL,
        reason_message TEXT NOT NULL,
        attempts       INTEGER NOT NULL,
        dead_at        TEXT NOT NULL,
        dead_at_us     INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX dead_letters_by_institution ON dead_letters (institution, dead_at_us, id);

    CREATE TABLE job_claims (
        event_id       TEXT NOT NULL,
        institution    TEXT NOT NULL,
        state          TEXT NOT NULL CHECK (state IN ('held', 'done')),
        lease_until_us INTEGER,
        PRIMARY KEY (event_id, institution)
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE patron_last_applied (
        primary_id  TEXT NOT NULL,
        institution TEXT NOT NULL,
        event_time  TEXT NOT NULL,
        PRIMARY KEY (primary_id, institution)
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE job_outcomes (
        id             INTEGER PRIMARY KEY,
        primary_id     TEXT NOT NULL,
        finished_at_us INTEGER NOT NULL,
        outcome        TEXT NOT NULL
    ) STRICT;
    CREATE INDEX job_outcomes_by_patron ON job_outcomes (primary_id, finished_at_us, id);
    ",
    // 2: login accounts with their reserved e-mails, single-use tokens, sessions and
    // failed logins. Tokens and sessions are kept by their SHA-256 only.
    "
    CREATE TABLE accounts (
        id            TEXT PRIMARY KEY NOT NULL,
        user_name_key TEXT NOT NULL,
        email         TEXT NOT NULL,
        version       INTEGER NOT NULL,
        search_text   TEXT NOT NULL,
        account       TEXT NOT NULL
    ) STRICT, WITHOUT ROWID;
    CREATE UNIQUE INDEX accounts_by_user_name ON accounts (user_name_key);
    CREATE UNIQUE INDEX accounts_by_email ON accounts (email);

    CREATE TABLE reserved_emails (
        email      TEXT PRIMARY KEY NOT NULL,
        account_id TEXT NOT NULL
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE account_tokens (
        hash          TEXT PRIMARY KEY NOT NULL,
        account_id    TEXT NOT NULL,
        expires_at_us INTEGER NOT NULL,
        token         TEXT NOT NULL
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX account_tokens_by_account ON account_tokens (account_id, expires_at_us);

    CREATE TABLE account_sessions (
        hash         TEXT PRIMARY KEY NOT NULL,
        account_id   TEXT NOT NULL,
        created_at   TEXT NOT NULL,
        last_used_at TEXT NOT NULL
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX account_sessions_by_account ON account_sessions (account_id);

    CREATE TABLE login_failures (
        id           INTEGER PRIMARY KEY,
        identifier   TEXT NOT NULL,
        failed_at_us INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX login_failures_by_identifier ON login_failures (identifier, failed_at_us);
    ",
    // 3: registration: the patron registry with its (non-unique) e-mail and
    // external-id lookup keys, staging records (one per e-mail), domain events.
    "
    CREATE TABLE registry_entries (
        primary_id TEXT PRIMARY KEY NOT NULL,
        version    INTEGER NOT NULL,
        entry      TEXT NOT NULL
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE registry_keys (
        kind       TEXT NOT NULL CHECK (kind IN ('email', 'external_id')),
        key        TEXT NOT NULL,
        primary_id TEXT NOT NULL,
        PRIMARY KEY (kind, key, primary_id)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX registry_keys_by_patron ON registry_keys (primary_id);

    CREATE TABLE staging_records (
        external_system_id TEXT PRIMARY KEY NOT NULL,
        email              TEXT NOT NULL,
        version            INTEGER NOT NULL,
        record             TEXT NOT NULL
    ) STRICT, WITHOUT ROWID;
    CREATE UNIQUE INDEX staging_records_by_email ON staging_records (email);

    CREATE TABLE events (
        id      TEXT PRIMARY KEY NOT NULL,
        kind    TEXT NOT NULL,
        time_us INTEGER NOT NULL,
        event   TEXT NOT NULL
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX events_by_kind ON events (kind, time_us DESC, id);
    ",
    // 4: organizations (indexed by the day their yearly rollover is due),
    // memberships (listed by organization and by person in start order), the fee
    // entries memberships charged, and one AGENT marker per person. Days are
    // stored as day numbers (see `codec::day_number`), so they order as dates.
    "
    CREATE TABLE organizations (
        id           TEXT PRIMARY KEY NOT NULL,
        version      INTEGER NOT NULL,
        rollover_due INTEGER,
        rolled_on    INTEGER,
        organization TEXT NOT NULL
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX organizations_by_rollover_due ON organizations (rollover_due);

    CREATE TABLE memberships (
        id           TEXT PRIMARY KEY NOT NULL,
        person       TEXT NOT NULL,
        organization TEXT NOT NULL,
        date_start   INTEGER NOT NULL,
        date_end     INTEGER NOT NULL,
        version      INTEGER NOT NULL,
        membership   TEXT NOT NULL
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX memberships_by_organization ON memberships (organization, date_start);
    CREATE INDEX memberships_by_person ON memberships (person, date_start);

    CREATE TABLE fee_entries (
        id            INTEGER PRIMARY KEY,
        organization  TEXT NOT NULL,
        charged_at_us INTEGER NOT NULL,
        entry         TEXT NOT NULL
    ) STRICT;
    CREATE INDEX fee_entries_by_organization ON fee_entries (organization, charged_at_us);

    CREATE TABLE agent_markers (
        person       TEXT PRIMARY KEY NOT NULL,
        organization TEXT NOT NULL,
        membership   TEXT NOT NULL,
        date_end     INTEGER NOT NULL
    ) STRICT, WITHOUT ROWID;
    ",
    // 5: what the daily rollover reads by due date: accounts by expiry day (a day
    // number, NULL when the account has none or is inactive), tokens by expiry,
    // staging records by their last update (microseconds). The new columns are
    // filled from the stored JSON: 1721424.5 is the Julian day of 31 December of
    // year 0, so a date's Julian day minus it is its day number; an RFC 3339
    // time's whole seconds come from `unixepoch` and its fraction (up to nine
    // digits before the `Z`) is cut to six, as `codec::micros` does.
    "
    ALTER TABLE accounts ADD COLUMN expires_on INTEGER;
    UPDATE accounts
    SET expires_on = CAST(julianday(account ->> '$.expires_on') - 1721424.5 AS INTEGER)
    WHERE account ->> '$.state' <> 'inactive';
    CREATE INDEX accounts_by_expiry ON accounts (expires_on) WHERE expires_on IS NOT NULL;

    CREATE INDEX account_tokens_by_expiry ON account_tokens (expires_at_us);

    ALTER TABLE staging_records ADD COLUMN updated_at_us INTEGER;
    UPDATE staging_records
    SET updated_at_us = unixepoch(substr(record ->> '$.updatedDate', 1, 19)) * 1000000
        + CASE WHEN substr(record ->> '$.updatedDate', 20, 1) = '.'
          THEN CAST(substr(rtrim(substr(record ->> '$.updatedDate', 21), 'Z') || '000000', 1, 6)
               AS INTEGER)
          ELSE 0 END;
    CREATE INDEX staging_records_by_update ON staging_records (updated_at_us);
    ",
    // 6: the staff console's audit log: one row per action (its JSON), and one
    // index row per primary id it is listed under (two for a primary-id change),
    // read newest first.
    "
    CREATE TABLE audit_entries (
        id    TEXT PRIMARY KEY NOT NULL,
        entry TEXT NOT NULL
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE audit_by_patron (
        primary_id TEXT NOT NULL,
        at_us      INTEGER NOT NULL,
        id         TEXT NOT NULL,
        PRIMARY KEY (primary_id, at_us, id)
    ) STRICT, WITHOUT ROWID;
    ",
    // 7: one lane per patron and institution: the job (its event id) that is
    // applying a change to that patron there, until its lease ends, so that two
    // events of one patron never reach one institution at the same time.
    "
    CREATE TABLE patron_lanes (
        primary_id     TEXT NOT NULL,
        institution    TEXT NOT NULL,
        holder         TEXT NOT NULL,
        lease_until_us INTEGER NOT NULL,
        PRIMARY KEY (primary_id, institution)
    ) STRICT, WITHOUT ROWID;
    ",
    // 8: the overlap check of a new membership reads only that person's
    // memberships of that organization (a person who founded many
    // organizations made it read all of theirs).
    "
    CREATE INDEX memberships_by_person_and_organization
        ON memberships (person, organization, date_start);
    ",
    // 9: a job's claim counts the tries that reached Alma (`tries`), kept
    // when a transient failure releases it, so that waits for a busy lane
    // never use up its attempts; and the patrons patron-hub wrote in each
    // institution (noted before the write), so that an upsert never takes a
    // different person with the same primary id for one it wrote (jobs
    // applied before this migration left a position, which counts too).
    "
    CREATE TABLE job_claims_v9 (
        event_id       TEXT NOT NULL,
        institution    TEXT NOT NULL,
        state          TEXT NOT NULL CHECK (state IN ('held', 'released', 'done')),
        lease_until_us INTEGER,
        tries          INTEGER NOT NULL DEFAULT 0 CHECK (tries >= 0),
        PRIMARY KEY (event_id, institution)
    ) STRICT, WITHOUT ROWID;
    INSERT INTO job_claims_v9 (event_id, institution, state, lease_until_us)
        SELECT event_id, institution, state, lease_until_us FROM job_claims;
    DROP TABLE job_claims;
    ALTER TABLE job_claims_v9 RENAME TO job_claims;

    CREATE TABLE patron_writes (
        primary_id  TEXT NOT NULL,
        institution TEXT NOT NULL,
        PRIMARY KEY (primary_id, institution)
    ) STRICT, WITHOUT ROWID;
    ",
    // 10 (issue 11, point 5.2: the daily rollover purges sessions and counters):
    // - each counted failed login or request keeps when no window counts it any
    //   more (`forget_at_us`, its time plus its window), so that the rows of
    //   identifiers never tried again can be purged by one index range; rows
    //   from before get the longest window any counter uses (an hour);
    // - each session keeps its start in microseconds (`started_at_us`, the
    //   text `created_at` does not sort like time), to purge those past their
    //   absolute timeout by one index range.
    "
    ALTER TABLE login_failures ADD COLUMN forget_at_us INTEGER NOT NULL DEFAULT 0;
    UPDATE login_failures SET forget_at_us = failed_at_us + 3600000000;
    CREATE INDEX login_failures_by_forget_at ON login_failures (forget_at_us);

    ALTER TABLE account_sessions ADD COLUMN started_at_us INTEGER NOT NULL DEFAULT 0;
    UPDATE account_sessions
        SET started_at_us = CAST(round(unixepoch(created_at, 'subsec') * 1000000) AS INTEGER);
    CREATE INDEX account_sessions_by_start ON account_sessions (started_at_us);
    ",
    // 11: backfills and reconciles: each run (its JSON and version), listed
    // per kind by start; the versions a reconcile read, per run in primary-id
    // then institution order; the differences it found, per run in patron,
    // institution then kind order. Text compares byte by byte (BINARY), as
    // Rust's strings and DynamoDB's sort keys do, so both backends page alike.
    "
    CREATE TABLE reconciliation_runs (
        id            TEXT PRIMARY KEY NOT NULL,
        kind          TEXT NOT NULL,
        started_at_us INTEGER NOT NULL,
        version       INTEGER NOT NULL CHECK (version >= 1),
        run           TEXT NOT NULL
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX reconciliation_runs_by_kind
        ON reconciliation_runs (kind, started_at_us, id);

    CREATE TABLE reconciliation_versions (
        run_id      TEXT NOT NULL,
        primary_id  TEXT NOT NULL,
        institution TEXT NOT NULL,
        version     TEXT NOT NULL,
        PRIMARY KEY (run_id, primary_id, institution)
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE reconciliation_differences (
        run_id      TEXT NOT NULL,
        primary_id  TEXT NOT NULL,
        institution TEXT NOT NULL,
        kind        TEXT NOT NULL,
        difference  TEXT NOT NULL,
        PRIMARY KEY (run_id, primary_id, institution, kind)
    ) STRICT, WITHOUT ROWID;
    ",
    // 12: when each queued job was queued (jobs queued before this migration
    // take the time they were last made visible), for the oldest job's age
    // and each job's lag.
    "
    ALTER TABLE queue_jobs ADD COLUMN queued_at_us INTEGER;
    UPDATE queue_jobs SET queued_at_us = visible_at_us;
    CREATE INDEX queue_jobs_by_age ON queue_jobs (institution, queued_at_us);
    ",
    // 13: the operations time series, one counter per institution, 10-minute
    // bucket (its start in seconds since the epoch) and series.
    "
    CREATE TABLE operations_counters (
        institution  TEXT NOT NULL,
        bucket_start INTEGER NOT NULL,
        series       TEXT NOT NULL,
        count        INTEGER NOT NULL,
        PRIMARY KEY (institution, bucket_start, series)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX operations_counters_by_start ON operations_counters (bucket_start);
    ",
    // 14 (issue 14, point 3: rate counters are not login failures): the
    // counted requests get a table of their own, keyed by the domain's
    // `CountedRequest::key`; the rows they had among the failed logins (every
    // key but a login identifier's `login:…` and an account's
    // `login-account:…`) move there, their keys without the `login:` the
    // identifiers and e-mails in them carried.
    "
    CREATE TABLE request_counts (
        id            INTEGER PRIMARY KEY,
        counter       TEXT NOT NULL,
        counted_at_us INTEGER NOT NULL,
        forget_at_us  INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX request_counts_by_counter ON request_counts (counter, counted_at_us);
    CREATE INDEX request_counts_by_forget_at ON request_counts (forget_at_us);

    INSERT INTO request_counts (counter, counted_at_us, forget_at_us)
        SELECT CASE
                WHEN identifier GLOB 'registration:login:*'
                    THEN 'registration:' || substr(identifier, 20)
                WHEN identifier GLOB 'password-reset:login:*'
                    THEN 'password-reset:' || substr(identifier, 22)
                WHEN identifier GLOB 'email-change:to:login:*'
                    THEN 'email-change:to:' || substr(identifier, 23)
                ELSE identifier
            END,
            failed_at_us, forget_at_us
        FROM login_failures
        WHERE NOT (identifier GLOB 'login:*' OR identifier GLOB 'login-account:*');
    DELETE FROM login_failures
        WHERE NOT (identifier GLOB 'login:*' OR identifier GLOB 'login-account:*');
    ",
];

/// Brings the database to the newest schema, one transaction per migration. The
/// version is read inside each write transaction, so two processes opening the same
/// new file at once cannot both apply a migration. Refuses a database written by a
/// newer patron-hub.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    loop {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db_error)?;
        let current: i64 = tx
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(db_error)?;
        let Some(sql) = usize::try_from(current)
            .ok()
            .and_then(|version| MIGRATIONS.get(version))
        else {
            let known = MIGRATIONS.len() as i64;
            return if current == known {
                Ok(())
            } else {
                Err(StoreError::Corrupt(format!(
                    "the database has schema version {current}; this program knows up to {known}"
                )))
            };
        };
        tx.execute_batch(sql).map_err(db_error)?;
        tx.pragma_update(None, "user_version", current + 1)
            .map_err(db_error)?;
        tx.commit().map_err(db_error)?;
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A new in-memory database with the whole schema.
    pub(crate) fn migrated_in_memory() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        conn
    }

    /// A new in-memory database with only the first `version` migrations, to
    /// hold rows written before a later migration.
    pub(crate) fn migrated_in_memory_up_to(version: usize) -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        for sql in &MIGRATIONS[..version] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", version as i64)
            .unwrap();
        conn
    }

    /// The query plan SQLite chooses for `sql`, one step per line.
    pub(crate) fn query_plan(conn: &Connection, sql: &str) -> String {
        let mut explain = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let unbound = vec![rusqlite::types::Null; explain.parameter_count()];
        let steps = explain
            .query_map(rusqlite::params_from_iter(unbound), |row| {
                row.get::<_, String>(3)
            })
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        steps.join("\n")
    }

    #[test]
    fn migrates_a_new_database_once_and_refuses_a_newer_one() {
        let mut conn = migrated_in_memory();
        migrate(&mut conn).unwrap();
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len() as i64);
        conn.pragma_update(None, "user_version", version + 1)
            .unwrap();
        assert!(matches!(migrate(&mut conn), Err(StoreError::Corrupt(_))));
    }
}
