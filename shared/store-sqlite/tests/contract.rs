//! The shared contract suites (storage and queues, organizations and
//! memberships, the staff console's audit log) against a fresh SQLite file per
//! case.

use chrono::{DateTime, Utc};
use patron_hub_contract::{Backend, ConsoleBackend, OrganizationBackend};
use patron_hub_domain::{Clock, SystemClock};
use patron_hub_store_sqlite::SqliteStore;
use std::sync::Arc;
use tempfile::TempDir;

/// The real clock, owning the case's temporary folder: the store keeps its clock
/// until it is dropped (after its connection), so the folder lives exactly as long
/// as the store.
struct ClockInTempDir {
    _folder: TempDir,
}

impl Clock for ClockInTempDir {
    fn now(&self) -> DateTime<Utc> {
        SystemClock.now()
    }
}

/// A store on a new file in a new temporary folder.
fn fresh_store() -> SqliteStore {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let path = folder.path().join("patron-hub.sqlite3");
    SqliteStore::open(&path, Arc::new(ClockInTempDir { _folder: folder })).expect("a fresh store")
}

async fn backend() -> Backend {
    let store = fresh_store();
    Backend {
        inbox: Arc::new(store.clone()),
        queue: Arc::new(store.clone()),
        ledger: Arc::new(store.clone()),
        accounts: Arc::new(store.clone()),
        tokens: Arc::new(store.clone()),
        sessions: Arc::new(store.clone()),
        attempts: Arc::new(store.clone()),
        requests: Arc::new(store.clone()),
        registry: Arc::new(store.clone()),
        staging: Arc::new(store.clone()),
        events: Arc::new(store.clone()),
        event_log: Arc::new(store.clone()),
        reconciliation: Arc::new(store.clone()),
        operations: Arc::new(store),
    }
}

async fn organization_backend() -> OrganizationBackend {
    let store = fresh_store();
    OrganizationBackend {
        organizations: Arc::new(store.clone()),
        memberships: Arc::new(store.clone()),
        accounts: Arc::new(store),
    }
}

async fn console_backend() -> ConsoleBackend {
    ConsoleBackend {
        audit: Arc::new(fresh_store()),
    }
}

patron_hub_contract::contract_tests!(backend);
patron_hub_contract::organization_contract_tests!(organization_backend);
patron_hub_contract::console_contract_tests!(console_backend);
