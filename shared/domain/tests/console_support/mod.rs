//! What the staff console tests share: a `Console` over real parts — the
//! SQLite store (registry, ledger, inbox, queues, audit log), the Alma sandbox
//! on a free loopback port reached through the real Alma client, and a
//! distributor whose workers drain the institutions' queues — plus sample
//! patrons and staff accounts.

use chrono::{NaiveDate, Utc};
use patron_hub_alma::{AlmaClient, AlmaInstitution};
use patron_hub_alma_sandbox::{spawn, RunningSandbox, SandboxConfig};
use patron_hub_domain::accounts::{
    Account, AccountId, AccountState, Email, Language, NetworkRole, PersonName, UserName,
};
use patron_hub_domain::alma::AlmaUsers;
use patron_hub_domain::console::{
    Console, ConsolePorts, InstitutionResult, InstitutionRow, PatronOverview, Presence,
};
use patron_hub_domain::distribution::{work_batch, work_once, Distributor, WorkerSettings};
use patron_hub_domain::ports::{Delivery, JobQueue};
use patron_hub_domain::registration::RegistrySync;
use patron_hub_domain::{AlmaUser, InstitutionCode, Network, PrimaryId, SystemClock};
use patron_hub_store_sqlite::SqliteStore;
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;

/// The demo network's zone.
pub const ZONE: &str = "DEMO_NETWORK";

/// The demo network's members, in the order the console lists them.
pub const MEMBERS: [&str; 3] = ["DEMO_A", "DEMO_B", "DEMO_C"];

/// The `user_identifier` type the registry reads externalSystemIds from.
const EXTERNAL_ID_TYPE: &str = "OTHER_ID_1";

/// The pace of the client: under the sandbox's 25 calls per second.
const CALLS_PER_SECOND: u32 = 20;

/// How long the Alma client lets one call take: well beyond the console's
/// timeouts, so that a slow institution is cut by the console, not the client.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(20);

/// Everything a console test works with. Fields drop in order: the store's
/// folder goes last.
pub struct World {
    /// The console under test.
    pub console: Console,
    /// The Alma sandbox, to seed patrons, inject faults and read records and counters.
    pub sandbox: RunningSandbox,
    /// The real Alma client, as the console and the workers use it.
    pub alma: Arc<AlmaClient>,
    /// The SQLite store behind every port.
    pub store: SqliteStore,
    /// Keeps the registry current, as webhooks and the workers do.
    pub sync: Arc<RegistrySync>,
    distributor: Distributor,
    _folder: TempDir,
}

/// An institution code of the demo network.
pub fn code(text: &str) -> InstitutionCode {
    InstitutionCode::parse(text).expect("a demo institution code")
}

/// A primary id.
pub fn id(text: &str) -> PrimaryId {
    PrimaryId::parse(text).expect("a valid primary id")
}

/// Every institution of the demo network, the zone first.
pub fn all_institutions() -> Vec<InstitutionCode> {
    std::iter::once(ZONE).chain(MEMBERS).map(code).collect()
}

impl World {
    /// A fresh sandbox and store; the console waits `timeout` per institution.
    pub async fn new(timeout: Duration) -> Self {
        let sandbox = spawn(SandboxConfig::demo(), "127.0.0.1:0")
            .await
            .expect("the sandbox listens on a free port");
        let institutions = all_institutions()
            .into_iter()
            .map(|code| AlmaInstitution {
                api_key: format!("demo-key-{code}"),
                code,
                base_url: sandbox.base_url.clone(),
                calls_per_second: CALLS_PER_SECOND,
            })
            .collect();
        let alma = Arc::new(AlmaClient::new(institutions, CLIENT_TIMEOUT).expect("a client"));
        let folder = tempfile::tempdir().expect("a temporary folder");
        let store = SqliteStore::open(&folder.path().join("hub.sqlite3"), Arc::new(SystemClock))
            .expect("a fresh store");
        let sync = Arc::new(RegistrySync::new(Arc::new(store.clone()), EXTERNAL_ID_TYPE));
        let network = Network {
            zone: code(ZONE),
            members: MEMBERS.into_iter().map(code).collect(),
        };
        let ports = ConsolePorts {
            alma: alma.clone(),
            registry: Arc::new(store.clone()),
            ledger: Arc::new(store.clone()),
            inbox: Arc::new(store.clone()),
            audit: Arc::new(store.clone()),
            clock: Arc::new(SystemClock),
        };
        let distributor = Distributor::new(
            alma.clone(),
            Arc::new(store.clone()),
            Arc::new(SystemClock),
            code(ZONE),
            WorkerSettings::default(),
        )
        .with_registry(sync.clone());
        Self {
            console: Console::new(ports, network, timeout),
            sandbox,
            alma,
            store,
            sync,
            distributor,
            _folder: folder,
        }
    }

    /// With the console's default timeout.
    pub async fn demo() -> Self {
        Self::new(Console::DEFAULT_TIMEOUT).await
    }

    /// Creates `user` in `institution` through the Alma API (no webhook, as in
    /// Alma) and records it in the patron registry, as its webhook would have.
    pub async fn seed(&self, institution: &str, user: &AlmaUser) {
        let created = self
            .alma
            .create_user(&code(institution), user)
            .await
            .unwrap_or_else(|error| panic!("seeding {institution}: {error}"));
        self.sync
            .observe(&code(institution), &created, Utc::now())
            .await
            .expect("the registry records the patron");
    }

    /// The sandbox's stored record, read without a counted call or a link.
    pub fn record(&self, institution: &str, primary_id: &str) -> Option<Value> {
        self.sandbox.sandbox.user(institution, primary_id)
    }

    /// Runs the workers of every institution until no queue hands out a job.
    pub async fn drain(&self) {
        loop {
            let mut taken = 0;
            for institution in all_institutions() {
                taken += work_once(
                    &self.store,
                    &self.distributor,
                    &SystemClock,
                    &institution,
                    10,
                )
                .await
                .expect("the queues and the ledger answer");
            }
            if taken == 0 {
                return;
            }
        }
    }

    /// Takes every job visible on `institution`'s queue, without working on it.
    pub async fn take_jobs(&self, institution: &str) -> Vec<Delivery> {
        let lease = self.distributor.settings().lease();
        self.store
            .receive(&code(institution), 10, lease)
            .await
            .expect("the queue answers")
    }

    /// Works on deliveries taken with [`World::take_jobs`], as a worker would.
    pub async fn work(&self, deliveries: &[Delivery]) {
        for settled in work_batch(&self.store, &self.distributor, &SystemClock, deliveries).await {
            settled.expect("the queue and the ledger answer");
        }
    }

    /// How many API calls the sandbox counted for `institution` with `method`.
    pub fn calls(&self, institution: &str, method: &str) -> u64 {
        self.sandbox
            .sandbox
            .stats()
            .iter()
            .filter(|call| call.institution == institution && call.method == method)
            .map(|call| call.count)
            .sum()
    }

    /// Every API call the sandbox counted.
    pub fn all_calls(&self) -> u64 {
        self.sandbox.sandbox.stats().iter().map(|c| c.count).sum()
    }
}

/// Ada, as an institution's local account: a barcode, an e-mail (with capitals),
/// dates, and `extra` top-level fields on top.
pub fn ada(primary_id: &str, extra: Value) -> AlmaUser {
    let mut record = json!({
        "primary_id": primary_id,
        "first_name": "Ada",
        "last_name": "Lovelace-Byron",
        "user_group": {"value": "PEB", "desc": "Prêt entre bibliothèques"},
        "job_category": {"value": "Exterieur"},
        "status": {"value": "ACTIVE"},
        "expiry_date": "2026-12-31Z",
        "purge_date": "2027-06-30Z",
        "contact_info": {"email": [{"email_address": "Ada.Lovelace@Example.org", "preferred": true}]},
        "user_identifier": [{"id_type": {"value": "BARCODE"}, "value": format!("BC-{primary_id}")}],
    });
    if let (Value::Object(base), Value::Object(extra)) = (&mut record, extra) {
        base.extend(extra);
    }
    serde_json::from_value(record).expect("the sample is a JSON object")
}

/// An active login account holding `roles`.
pub fn account(roles: &[NetworkRole]) -> Account {
    let word = uuid::Uuid::new_v4().simple().to_string()[..10].to_owned();
    Account {
        id: AccountId::new(),
        user_name: UserName::parse(&format!("staff.{word}")).expect("a user name"),
        email: Email::parse(&format!("staff.{word}@example.org")).expect("an e-mail"),
        first_name: PersonName::parse("first_name", "Marie").expect("a name"),
        last_name: PersonName::parse("last_name", "Curie").expect("a name"),
        department: None,
        department_roles: Vec::new(),
        paid: true,
        state: AccountState::Active,
        expires_on: None,
        network_roles: roles.iter().copied().collect::<BTreeSet<_>>(),
        password_hash: None,
        language: Language::Fr,
        created_at: Utc::now(),
        last_seen_at: None,
        password_changed_at: None,
        version: 1,
    }
}

/// Network staff.
pub fn staff() -> Account {
    account(&[NetworkRole::NetworkStaff])
}

/// The institutions of an overview's rows, in order.
pub fn row_institutions(overview: &PatronOverview) -> Vec<String> {
    overview
        .rows
        .iter()
        .map(|row| row.institution.to_string())
        .collect()
}

/// The row of `institution`.
pub fn row<'o>(overview: &'o PatronOverview, institution: &str) -> &'o InstitutionRow {
    overview
        .rows
        .iter()
        .find(|row| row.institution.as_str() == institution)
        .unwrap_or_else(|| panic!("no row for {institution}"))
}

/// Each row's institution with whether it holds the patron: "present",
/// "absent" or "unreachable".
pub fn presences(overview: &PatronOverview) -> Vec<(String, &'static str)> {
    overview
        .rows
        .iter()
        .map(|row| {
            let state = match row.presence {
                Presence::Present { .. } => "present",
                Presence::Absent => "absent",
                Presence::Unreachable { .. } => "unreachable",
            };
            (row.institution.to_string(), state)
        })
        .collect()
}

/// `pairs` as owned (institution, state) pairs, for comparing with [`presences`].
pub fn expected(pairs: &[(&str, &'static str)]) -> Vec<(String, &'static str)> {
    pairs
        .iter()
        .map(|(institution, state)| ((*institution).to_owned(), *state))
        .collect()
}

/// The results of the audit report of action `action_id` in `overview`.
pub fn results_of(overview: &PatronOverview, action_id: &str) -> Vec<(String, InstitutionResult)> {
    let report = overview
        .audit
        .iter()
        .find(|report| report.entry.id == action_id)
        .unwrap_or_else(|| panic!("no audit report of {action_id} for {}", overview.primary_id));
    report
        .results
        .iter()
        .map(|(institution, result)| (institution.to_string(), result.clone()))
        .collect()
}

/// A record without the fields Alma stamps on every write (and `without`).
pub fn unstamped(record: &Value, without: &[&str]) -> Map<String, Value> {
    let mut fields = record.as_object().cloned().unwrap_or_default();
    for field in ["last_modified_date"].iter().chain(without) {
        fields.remove(*field);
    }
    fields
}

/// A day.
pub fn day(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).expect("a valid day")
}
