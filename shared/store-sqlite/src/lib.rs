//! The SQLite adapters of patron-hub's storage ports for the one-machine
//! deployment: the webhook inbox, the durable per-institution job queues (with
//! visibility times, attempts, fenced leases and dead letters), the
//! distribution ledger, the login accounts with their single-use tokens,
//! sessions, failed-login counts and counted requests, registration's patron registry, staging
//! records and domain events, the organizations with their memberships, fee
//! entries and AGENT markers, the staff console's audit log, and the runs of
//! backfills and reconciles with the versions and differences they keep, all
//! in one WAL-mode file under the data folder.
//!
//! It owns the schema and its migrations, and keeps each port's promise in one
//! transaction. It must never decide what a job does to Alma (the domain does),
//! never run SQLite on an async worker thread, never answer before the change
//! is committed, and never keep a token or session token itself: only its hash.

mod accounts;
mod agents;
mod audit;
mod codec;
mod counters;
mod events;
mod inbox;
mod ledger;
mod login_attempts;
mod memberships;
mod operations;
mod organizations;
mod purge;
mod queue;
mod reconciliation;
mod registry;
mod request_counters;
mod schema;
mod sessions;
mod staging;
mod tokens;

use codec::db_error;
use patron_hub_domain::{Clock, StoreError};
use rusqlite::{Connection, Transaction, TransactionBehavior};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a statement waits for another process (e.g. a `patron-hub` operator
/// command beside `serve`) to release the file before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The patron-hub database in one SQLite file. Implements `WebhookInbox`,
/// `JobQueue`, `DistributionLedger`, `AccountStore`, `TokenStore`, `SessionStore`,
/// `LoginAttempts`, `RequestCounters`, `PatronRegistry`, `StagingRecords`, `EventPublisher`,
/// `EventLog`, `OrganizationStore`, `MembershipStore`, `AuditLog` and
/// `ReconciliationStore`; cheap to clone (one shared connection).
#[derive(Clone)]
pub struct SqliteStore {
    shared: Arc<Shared>,
}

/// What every clone of a store shares.
struct Shared {
    /// The one connection: SQLite has one writer at a time anyway, and rusqlite
    /// is blocking, so every call takes it on a blocking thread.
    connection: Mutex<Connection>,
    /// Where queue visibility times and receipt purges read "now".
    clock: Arc<dyn Clock>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and its folder, and brings
    /// the schema up to date. Journal in WAL mode with `synchronous = FULL`: WAL
    /// alone already makes a committed transaction survive a SIGKILL (the commit
    /// has written it to the WAL file before returning), and FULL also makes it
    /// survive a power cut or OS crash, because an accepted webhook is answered
    /// 200 and Alma never sends it again. The cost is one fsync per commit.
    pub fn open(path: &Path, clock: Arc<dyn Clock>) -> Result<Self, StoreError> {
        if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder).map_err(|error| {
                StoreError::Unavailable(format!("cannot create {}: {error}", folder.display()))
            })?;
        }
        let mut connection = Connection::open(path).map_err(db_error)?;
        connection.busy_timeout(BUSY_TIMEOUT).map_err(db_error)?;
        let journal: String = connection
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(db_error)?;
        if !journal.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Unavailable(format!(
                "{} cannot use write-ahead logging (journal mode {journal})",
                path.display()
            )));
        }
        connection
            .pragma_update(None, "synchronous", "FULL")
            .map_err(db_error)?;
        schema::migrate(&mut connection)?;
        Ok(Self {
            shared: Arc::new(Shared {
                connection: Mutex::new(connection),
                clock,
            }),
        })
    }

    /// The store's clock.
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.shared.clock.now()
    }

    /// Runs `work` in one write transaction (taking the write lock up front, so it
    /// never fails half-way on a lock upgrade) and commits it if `work` succeeds;
    /// if `work` fails, everything it wrote is rolled back.
    async fn write<T, E, F>(&self, work: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T, E> + Send + 'static,
    {
        self.run(TransactionBehavior::Immediate, work).await
    }

    /// Runs `work` in one read transaction: a consistent snapshot.
    async fn read<T, E, F>(&self, work: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T, E> + Send + 'static,
    {
        self.run(TransactionBehavior::Deferred, work).await
    }

    /// Runs `work` in a transaction on a blocking thread, holding the connection.
    async fn run<T, E, F>(&self, behavior: TransactionBehavior, work: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T, E> + Send + 'static,
    {
        let shared = self.shared.clone();
        tokio::task::spawn_blocking(move || {
            // A panic elsewhere while holding the lock left no transaction open
            // (dropping one rolls it back), so the connection is still sound.
            let mut connection = shared
                .connection
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let tx = connection
                .transaction_with_behavior(behavior)
                .map_err(db_error)?;
            let value = work(&tx)?;
            tx.commit().map_err(db_error)?;
            Ok(value)
        })
        .await
        .map_err(|error| StoreError::Unavailable(format!("sqlite task failed: {error}")))?
    }
}
