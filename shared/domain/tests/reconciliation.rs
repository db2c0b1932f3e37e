//! Backfill and reconcile over real parts: the SQLite store (runs, registry,
//! ledger, queues), the Alma sandbox through the real Alma client, and the
//! distributor draining the repair jobs.

use chrono::Utc;
use patron_hub_alma::{AlmaClient, AlmaInstitution};
use patron_hub_alma_sandbox::{spawn, RunningSandbox, SandboxConfig, Seed};
use patron_hub_domain::alma::AlmaUsers;
use patron_hub_domain::distribution::{work_once, Distributor, WorkerSettings};
use patron_hub_domain::ports::JobQueue;
use patron_hub_domain::reconciliation::{
    Begun, DriftKind, Position, ReconcileSettings, Reconciliation, ReconciliationPorts,
    ReconciliationStore, Run, RunKind,
};
use patron_hub_domain::registration::RegistrySync;
use patron_hub_domain::{
    AlmaUser, Clock, FixedClock, InstitutionCode, Network, PrimaryId, SystemClock,
};
use patron_hub_store_sqlite::SqliteStore;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;

const ZONE: &str = "DEMO_NETWORK";
const MEMBERS: [&str; 3] = ["DEMO_A", "DEMO_B", "DEMO_C"];

fn code(text: &str) -> InstitutionCode {
    InstitutionCode::parse(text).unwrap()
}

fn id(text: &str) -> PrimaryId {
    PrimaryId::parse(text).unwrap()
}

/// A network on the sandbox, its store, and the use cases under test.
struct World {
    sandbox: RunningSandbox,
    alma: Arc<AlmaClient>,
    store: SqliteStore,
    sync: Arc<RegistrySync>,
    distributor: Distributor,
    _folder: TempDir,
}

impl World {
    async fn new() -> Self {
        let sandbox = spawn(SandboxConfig::demo(), "127.0.0.1:0").await.unwrap();
        let institutions = std::iter::once(ZONE)
            .chain(MEMBERS)
            .map(|c| AlmaInstitution {
                api_key: format!("demo-key-{c}"),
                code: code(c),
                base_url: sandbox.base_url.clone(),
                calls_per_second: 20,
            })
            .collect();
        let alma = Arc::new(AlmaClient::new(institutions, Duration::from_secs(10)).unwrap());
        let folder = tempfile::tempdir().unwrap();
        let store =
            SqliteStore::open(&folder.path().join("hub.sqlite3"), Arc::new(SystemClock)).unwrap();
        let sync = Arc::new(RegistrySync::new(Arc::new(store.clone()), "OTHER_ID_1"));
        let distributor = Distributor::new(
            alma.clone(),
            Arc::new(store.clone()),
            Arc::new(SystemClock),
            code(ZONE),
            WorkerSettings::default(),
        )
        .with_registry(sync.clone());
        Self {
            sandbox,
            alma,
            store,
            sync,
            distributor,
            _folder: folder,
        }
    }

    fn reconciliation(&self) -> Reconciliation {
        self.reconciliation_at(Arc::new(SystemClock))
    }

    /// The use cases with `clock` as their now.
    fn reconciliation_at(&self, clock: Arc<dyn Clock>) -> Reconciliation {
        Reconciliation::new(
            ReconciliationPorts {
                alma: self.alma.clone(),
                store: Arc::new(self.store.clone()),
                registry: self.sync.clone(),
                ledger: Arc::new(self.store.clone()),
                queue: Arc::new(self.store.clone()),
                clock,
            },
            Network {
                zone: code(ZONE),
                members: MEMBERS.map(code).to_vec(),
            },
            ReconcileSettings {
                categories: vec!["Exterieur".to_owned(), "PEB".to_owned()],
                local_fields: WorkerSettings::default().local_fields,
            },
        )
    }

    /// Creates `user` in `institution` through the Alma API: no webhook.
    async fn create(&self, institution: &str, user: &Value) {
        let user: AlmaUser = serde_json::from_value(user.clone()).unwrap();
        self.alma
            .create_user(&code(institution), &user)
            .await
            .unwrap();
    }

    fn record(&self, institution: &str, primary_id: &str) -> Option<Value> {
        self.sandbox.sandbox.user(institution, primary_id)
    }

    /// Runs the workers until no queue hands out a job.
    async fn drain(&self) {
        loop {
            let mut taken = 0;
            for institution in std::iter::once(ZONE).chain(MEMBERS) {
                taken += work_once(
                    &self.store,
                    &self.distributor,
                    &SystemClock,
                    &code(institution),
                    10,
                )
                .await
                .unwrap();
            }
            if taken == 0 {
                return;
            }
        }
    }

    fn writes(&self) -> u64 {
        self.sandbox
            .sandbox
            .stats()
            .iter()
            .filter(|call| call.method != "GET")
            .map(|call| call.count)
            .sum()
    }
}

/// Every dead letter of every institution.
async fn dead_letters(world: &World) -> Vec<String> {
    let mut all = Vec::new();
    for institution in std::iter::once(ZONE).chain(MEMBERS) {
        for letter in world.store.dead_letters(&code(institution)).await.unwrap() {
            all.push(format!(
                "{institution}: {} {}",
                letter.reason.code, letter.reason.message
            ));
        }
    }
    all
}

/// Runs to its end.
async fn finish(reconciliation: &Reconciliation, mut run: Run) -> Run {
    while !run.is_finished() {
        run = reconciliation.step(&run).await.unwrap();
    }
    run
}

fn reader(primary_id: &str, last_name: &str) -> Value {
    json!({
        "primary_id": primary_id, "first_name": "Camille", "last_name": last_name,
        "job_category": {"value": "Exterieur"}, "user_group": {"value": "EXT"},
        "status": {"value": "ACTIVE"}, "expiry_date": "2030-06-30Z",
        "contact_info": {"email": [{"email_address": format!("{primary_id}@example.org"), "preferred": true}]}
    })
}

#[tokio::test]
async fn a_backfill_records_every_user_of_every_institution_in_the_registry() {
    let world = World::new().await;
    world
        .create("DEMO_B", &reader("before-go-live", "Lecteur"))
        .await;
    world
        .create(
            ZONE,
            &json!({"primary_id": "zone-student", "first_name": "Ada", "last_name": "Zone",
                    "user_group": {"value": "STUDENT"}, "status": {"value": "ACTIVE"},
                    "contact_info": {"email": [{"email_address": "ada@example.org", "preferred": true}]}}),
        )
        .await;
    let registry = world.sync.registry();
    assert!(registry
        .find_by_email("before-go-live@example.org")
        .await
        .unwrap()
        .is_empty());
    let reconciliation = world.reconciliation();
    let run = reconciliation
        .start(RunKind::Backfill, false, None)
        .await
        .unwrap();
    let run = finish(&reconciliation, run).await;
    assert_eq!(run.counts.users_read, 2);
    assert_eq!(run.counts.registry_entries_written, 2);
    assert_eq!(
        run.counts.alma_calls,
        4 + 2,
        "one list per institution, one GET per user"
    );
    let found = registry
        .find_by_email("before-go-live@example.org")
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert!(found[0].holdings.contains_key(&code("DEMO_B")));
    let zone = registry.get(&id("zone-student")).await.unwrap().unwrap();
    assert!(zone.holdings.contains_key(&code(ZONE)));
    assert!(
        world.record("DEMO_A", "zone-student").is_none(),
        "a backfill never makes Alma copy a zone patron"
    );
}

#[tokio::test]
async fn a_stopped_backfill_resumes_without_reading_its_finished_pages_again() {
    let world = World::new().await;
    let seed = Seed {
        prefix: "seeded-".to_owned(),
        job_category: Some("PEB".to_owned()),
        ..Seed::new(150)
    };
    let seeded = world.sandbox.sandbox.seed("DEMO_C", &seed).unwrap();
    assert_eq!(seeded.created, 150);
    let first = world.reconciliation();
    let run = first
        .start(RunKind::Backfill, false, Some(code("DEMO_C")))
        .await
        .unwrap();
    let run = first.step(&run).await.unwrap();
    assert_eq!(run.counts.users_read, 100);
    assert!(matches!(
        run.position,
        Position::Listing { offset: 100, .. }
    ));
    drop(first);
    // Another process finds the unfinished run and goes on from its checkpoint.
    let second = world.reconciliation();
    let resumed = second.unfinished(RunKind::Backfill).await.unwrap().unwrap();
    assert_eq!(resumed.id, run.id);
    let done = finish(&second, resumed).await;
    assert_eq!(done.counts.users_read, 150, "page one was not read again");
    assert_eq!(done.counts.alma_calls, 2 + 150);
    assert!(second
        .unfinished(RunKind::Backfill)
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn a_reader_missing_from_members_is_reported_by_a_dry_run_then_repaired() {
    let world = World::new().await;
    world.create("DEMO_A", &reader("api-only", "Lecteur")).await;
    let reconciliation = world.reconciliation();
    let writes_before = world.writes();
    let dry = reconciliation
        .start(RunKind::Reconcile, true, None)
        .await
        .unwrap();
    let dry = finish(&reconciliation, dry).await;
    assert_eq!(
        (dry.counts.checked, dry.counts.missing, dry.counts.stale),
        (1, 2, 0)
    );
    assert_eq!(dry.counts.jobs_queued, 0);
    assert_eq!(
        world.writes(),
        writes_before,
        "a dry run writes nothing to Alma"
    );
    let found = world.store.differences(&dry.id, None, 10).await.unwrap();
    let kinds: Vec<_> = found
        .iter()
        .map(|d| {
            (
                d.institution.as_str().to_owned(),
                d.kind,
                d.newest_in.as_str().to_owned(),
                d.queued,
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            (
                "DEMO_B".to_owned(),
                DriftKind::Missing,
                "DEMO_A".to_owned(),
                false
            ),
            (
                "DEMO_C".to_owned(),
                DriftKind::Missing,
                "DEMO_A".to_owned(),
                false
            ),
        ]
    );
    world.drain().await;
    assert!(
        world.record("DEMO_B", "api-only").is_none(),
        "nothing was queued"
    );

    let repair = reconciliation
        .start(RunKind::Reconcile, false, None)
        .await
        .unwrap();
    let repair = finish(&reconciliation, repair).await;
    assert_eq!((repair.counts.missing, repair.counts.jobs_queued), (2, 2));
    world.drain().await;
    for member in ["DEMO_B", "DEMO_C"] {
        assert_eq!(
            world.record(member, "api-only").unwrap()["last_name"],
            "Lecteur"
        );
    }
    let again = reconciliation
        .start(RunKind::Reconcile, false, None)
        .await
        .unwrap();
    let again = finish(&reconciliation, again).await;
    assert_eq!(
        (
            again.counts.checked,
            again.counts.missing,
            again.counts.stale,
            again.counts.jobs_queued
        ),
        (1, 0, 0, 0),
        "a second run finds nothing and queues nothing"
    );
}

#[tokio::test]
async fn an_update_made_through_the_api_reaches_the_others_keeping_their_local_fields() {
    let world = World::new().await;
    let reconciliation = world.reconciliation();
    // Created in DEMO_A through the API, then carried to the others by a reconcile.
    world
        .create("DEMO_A", &reader("everywhere", "Lecteur"))
        .await;
    let first = reconciliation
        .start(RunKind::Reconcile, false, None)
        .await
        .unwrap();
    finish(&reconciliation, first).await;
    world.drain().await;
    let note = json!([{"note_text": "caution deposited at DEMO_A", "note_type": {"value": "CIRCULATION"}}]);
    let mut with_note = world.record("DEMO_A", "everywhere").unwrap();
    with_note["user_note"] = note.clone();
    let with_note: AlmaUser = serde_json::from_value(with_note).unwrap();
    world
        .alma
        .update_user(&code("DEMO_A"), &id("everywhere"), &with_note)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let mut renamed = world.record("DEMO_B", "everywhere").unwrap();
    renamed["last_name"] = json!("Renamed");
    let renamed: AlmaUser = serde_json::from_value(renamed).unwrap();
    world
        .alma
        .update_user(&code("DEMO_B"), &id("everywhere"), &renamed)
        .await
        .unwrap();

    let reconciliation = world.reconciliation();
    let run = reconciliation
        .start(RunKind::Reconcile, false, None)
        .await
        .unwrap();
    let run = finish(&reconciliation, run).await;
    assert_eq!(
        (run.counts.stale, run.counts.missing, run.counts.jobs_queued),
        (2, 0, 2)
    );
    assert!(
        dead_letters(&world).await.is_empty(),
        "no record taken for a stranger's"
    );
    let found = world.store.differences(&run.id, None, 10).await.unwrap();
    assert!(found
        .iter()
        .all(|d| d.kind == DriftKind::Stale && d.newest_in.as_str() == "DEMO_B"));
    world.drain().await;
    assert_eq!(dead_letters(&world).await, Vec::<String>::new());
    for member in ["DEMO_A", "DEMO_C"] {
        assert_eq!(
            world.record(member, "everywhere").unwrap()["last_name"],
            "Renamed"
        );
    }
    assert_eq!(
        world.record("DEMO_A", "everywhere").unwrap()["user_note"],
        note,
        "DEMO_A kept its own note"
    );
    let again = reconciliation
        .start(RunKind::Reconcile, false, None)
        .await
        .unwrap();
    let again = finish(&reconciliation, again).await;
    assert_eq!((again.counts.stale, again.counts.jobs_queued), (0, 0));
}

#[tokio::test]
async fn a_zone_patron_without_its_linked_copy_in_a_member_is_linked_there() {
    let world = World::new().await;
    let student = json!({"primary_id": "zone-1", "first_name": "Ada", "last_name": "Zone",
        "user_group": {"value": "STUDENT"}, "status": {"value": "ACTIVE"}});
    world.create(ZONE, &student).await;
    let zone_user: AlmaUser =
        serde_json::from_value(world.record(ZONE, "zone-1").unwrap()).unwrap();
    world
        .sync
        .observe(&code(ZONE), &zone_user, Utc::now())
        .await
        .unwrap();
    // Linked into DEMO_A and DEMO_B (a GET there copies it), never into DEMO_C.
    for member in ["DEMO_A", "DEMO_B"] {
        let copy = world
            .alma
            .get_user(&code(member), &id("zone-1"))
            .await
            .unwrap();
        world
            .sync
            .observe(&code(member), &copy, Utc::now())
            .await
            .unwrap();
    }
    let reconciliation = world.reconciliation();
    let dry = reconciliation
        .start(RunKind::Reconcile, true, None)
        .await
        .unwrap();
    let dry = finish(&reconciliation, dry).await;
    assert_eq!(dry.counts.unlinked, 1);
    assert!(
        world.record("DEMO_C", "zone-1").is_none(),
        "the dry run copied nothing"
    );
    let run = reconciliation
        .start(RunKind::Reconcile, false, None)
        .await
        .unwrap();
    let run = finish(&reconciliation, run).await;
    assert_eq!((run.counts.unlinked, run.counts.jobs_queued), (1, 1));
    world.drain().await;
    let copy = world
        .record("DEMO_C", "zone-1")
        .expect("linked into DEMO_C");
    assert_eq!(copy["last_name"], "Zone");
}

#[tokio::test]
async fn copies_seen_in_sync_are_the_patrons_so_a_later_rename_reaches_them() {
    let world = World::new().await;
    // Made in every member before patron-hub (by another system): alike.
    for member in MEMBERS {
        world.create(member, &reader("old-system", "Lecteur")).await;
    }
    let reconciliation = world.reconciliation();
    // A first reconcile sees "old-system" alike everywhere: nothing to repair.
    let baseline = reconciliation
        .start(RunKind::Reconcile, false, None)
        .await
        .unwrap();
    let baseline = finish(&reconciliation, baseline).await;
    assert_eq!(
        (baseline.counts.checked, baseline.counts.jobs_queued),
        (1, 0)
    );
    // "never-seen" is made by other systems after it, alike in every member.
    for member in MEMBERS {
        world.create(member, &reader("never-seen", "Lecteur")).await;
    }
    // Then both are renamed in DEMO_B through the API.
    for id_text in ["old-system", "never-seen"] {
        let mut renamed = world.record("DEMO_B", id_text).unwrap();
        renamed["last_name"] = json!("Married");
        let renamed: AlmaUser = serde_json::from_value(renamed).unwrap();
        world
            .alma
            .update_user(&code("DEMO_B"), &id(id_text), &renamed)
            .await
            .unwrap();
    }
    let run = reconciliation
        .start(RunKind::Reconcile, false, None)
        .await
        .unwrap();
    finish(&reconciliation, run).await;
    world.drain().await;
    assert_eq!(
        world.record("DEMO_A", "old-system").unwrap()["last_name"],
        "Married"
    );
    assert_eq!(
        world.record("DEMO_C", "old-system").unwrap()["last_name"],
        "Married"
    );
    assert_eq!(
        world.record("DEMO_C", "never-seen").unwrap()["last_name"],
        "Lecteur",
        "a record never seen as the patron's is not overwritten"
    );
    let letters = dead_letters(&world).await;
    assert!(
        letters.iter().all(|l| l.contains("PRIMARY_ID_COLLISION")) && letters.len() == 2,
        "{letters:?}"
    );
}

#[tokio::test]
async fn staff_repair_what_a_dry_run_found_once() {
    let world = World::new().await;
    world
        .create("DEMO_B", &reader("found-dry", "Lecteur"))
        .await;
    let reconciliation = world.reconciliation();
    let dry = reconciliation
        .start(RunKind::Reconcile, true, None)
        .await
        .unwrap();
    let dry = finish(&reconciliation, dry).await;
    assert_eq!(dry.counts.missing, 2);
    let repaired = reconciliation.repair(&dry).await.unwrap();
    assert_eq!(repaired.len(), 1);
    assert_eq!(repaired[0].institutions, [code("DEMO_A"), code("DEMO_C")]);
    world.drain().await;
    for member in ["DEMO_A", "DEMO_C"] {
        assert_eq!(
            world.record(member, "found-dry").unwrap()["last_name"],
            "Lecteur"
        );
    }
    let found = world.store.differences(&dry.id, None, 10).await.unwrap();
    assert!(
        found.iter().all(|d| d.queued),
        "the differences say they were queued"
    );
    assert!(
        reconciliation.repair(&dry).await.unwrap().is_empty(),
        "a second repair queues nothing"
    );
}

#[tokio::test]
async fn a_begun_run_is_left_to_its_process_while_it_runs_and_resumed_once_it_stopped() {
    let world = World::new().await;
    let seed = Seed {
        prefix: "begun-".to_owned(),
        ..Seed::new(120)
    };
    world.sandbox.sandbox.seed("DEMO_B", &seed).unwrap();
    let clock = Arc::new(FixedClock::at(Utc::now()));
    let reconciliation = world.reconciliation_at(clock.clone());
    let only = Some(code("DEMO_B"));
    let Begun::Started(run) = reconciliation
        .begin(RunKind::Backfill, false, only.clone())
        .await
        .unwrap()
    else {
        panic!("nothing to resume: a new run");
    };
    let run = reconciliation.step(&run).await.unwrap();
    // The same request while the checkpoint is fresh: left alone.
    clock.advance(chrono::Duration::seconds(30));
    let again = reconciliation
        .begin(RunKind::Backfill, false, only.clone())
        .await
        .unwrap();
    assert_eq!(again, Begun::AlreadyRunning(run.clone()));
    // Its process stopped: two minutes on, the checkpoint is stale and the
    // same request resumes the run from it.
    clock.advance(chrono::Duration::minutes(2));
    let resumed = reconciliation
        .begin(RunKind::Backfill, false, only.clone())
        .await
        .unwrap();
    assert_eq!(resumed, Begun::Resumed(run.clone()));
    let done = finish(&reconciliation, run.clone()).await;
    assert_eq!(
        done.counts.users_read, 120,
        "the first page was not read again"
    );
    // Finished: the next request is a new run.
    let next = reconciliation
        .begin(RunKind::Backfill, false, only)
        .await
        .unwrap();
    assert!(
        matches!(&next, Begun::Started(r) if r.id != run.id),
        "{next:?}"
    );
}
