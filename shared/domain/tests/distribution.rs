//! The distributor over real parts (the SQLite ledger and queue, the Alma
//! sandbox through the real Alma client): how tries, waits and leases are
//! counted, and the guard against overwriting a different person.

use chrono::{DateTime, TimeDelta, Utc};
use patron_hub_alma::{AlmaClient, AlmaInstitution};
use patron_hub_alma_sandbox::{spawn, Faults, RunningSandbox, SandboxConfig};
use patron_hub_domain::alma::AlmaUsers;
use patron_hub_domain::distribution::{
    work_batch, Disposition, Distributor, OutcomeStatus, Settled, WorkerSettings, LANE_BUSY,
    PRIMARY_ID_COLLISION,
};
use patron_hub_domain::ports::{Claim, Delivery, DistributionLedger, JobQueue};
use patron_hub_domain::{AlmaUser, InstitutionCode, Job, JobAction, PrimaryId, SystemClock};
use patron_hub_store_sqlite::SqliteStore;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;

/// A distributor, its store and the sandbox it writes to.
struct Bench {
    distributor: Distributor,
    store: SqliteStore,
    sandbox: RunningSandbox,
    alma: Arc<AlmaClient>,
    _folder: TempDir,
}

impl Bench {
    async fn new(settings: WorkerSettings) -> Self {
        let sandbox = spawn(SandboxConfig::demo(), "127.0.0.1:0")
            .await
            .expect("the sandbox listens on a free port");
        let institutions = ["DEMO_NETWORK", "DEMO_A", "DEMO_B", "DEMO_C"]
            .map(|code| AlmaInstitution {
                api_key: format!("demo-key-{code}"),
                code: code_of(code),
                base_url: sandbox.base_url.clone(),
                calls_per_second: 20,
            })
            .to_vec();
        let alma = Arc::new(AlmaClient::new(institutions, Duration::from_secs(10)).unwrap());
        let folder = tempfile::tempdir().unwrap();
        let store =
            SqliteStore::open(&folder.path().join("hub.sqlite3"), Arc::new(SystemClock)).unwrap();
        let distributor = Distributor::new(
            alma.clone(),
            Arc::new(store.clone()),
            Arc::new(SystemClock),
            code_of("DEMO_NETWORK"),
            settings,
        );
        Self {
            distributor,
            store,
            sandbox,
            alma,
            _folder: folder,
        }
    }

    async fn handle(&self, job: &Job, receive_count: u32) -> Disposition {
        let delivery = Delivery {
            handle: "not settled in these cases".to_owned(),
            job: job.clone(),
            receive_count,
            queued_at: None,
        };
        self.distributor.handle(&delivery).await.unwrap()
    }

    fn faults(&self, institution: &str, faults: Faults) {
        self.sandbox.sandbox.set_faults(Some(institution), faults);
    }
}

fn code_of(text: &str) -> InstitutionCode {
    InstitutionCode::parse(text).unwrap()
}

fn reader(primary_id: &str, first_name: &str, last_name: &str) -> AlmaUser {
    serde_json::from_value(json!({
        "primary_id": primary_id, "first_name": first_name, "last_name": last_name,
        "job_category": {"value": "Exterieur"}, "user_group": {"value": "EXT"},
        "status": {"value": "ACTIVE"}, "expiry_date": "2030-06-30Z",
        "contact_info": {"email": [{"email_address": format!("{primary_id}@example.org"), "preferred": true}]}
    }))
    .unwrap()
}

/// An upsert of `user` from DEMO_A into `target`, for an event at `event_time`.
fn upsert(event_id: &str, target: &str, user: &AlmaUser, event_time: DateTime<Utc>) -> Job {
    Job {
        event_id: event_id.to_owned(),
        institution: code_of(target),
        origin: code_of("DEMO_A"),
        action: JobAction::Upsert,
        primary_id: user.primary_id().unwrap(),
        event_time,
        user: Some(user.clone()),
    }
}

fn settings(max_attempts: u32, max_waits: u32) -> WorkerSettings {
    WorkerSettings {
        max_attempts,
        max_waits,
        ..WorkerSettings::default()
    }
}

fn last_name(record: Option<Value>) -> Value {
    record.expect("the user exists")["last_name"].clone()
}

#[tokio::test]
async fn waiting_for_a_busy_lane_never_uses_up_attempts() {
    let bench = Bench::new(settings(2, 100)).await;
    let t = Utc::now();
    let camille = reader("waits-1", "Camille", "Lecteur");
    let creation = upsert("evt-create", "DEMO_B", &camille, t - TimeDelta::seconds(10));
    let update = upsert("evt-update", "DEMO_B", &camille, t);
    // The creation holds the patron's lane in DEMO_B (a worker died with it).
    let held = bench
        .store
        .claim(&creation, t, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(held, Claim::Proceed { tries: 0 });
    for receive_count in 1..=12 {
        let waited = bench.handle(&update, receive_count).await;
        assert!(
            matches!(&waited, Disposition::Retry { reason, .. } if reason.starts_with("wait")),
            "delivery {receive_count} waits: {waited:?}"
        );
    }
    bench.store.release(&creation).await.unwrap();
    // The lane is free; the first try of the update meets a dropped connection.
    bench.faults(
        "DEMO_B",
        Faults {
            drop_rate: 1.0,
            ..Faults::default()
        },
    );
    let first_try = bench.handle(&update, 13).await;
    assert!(
        matches!(&first_try, Disposition::Retry { reason, .. } if reason.starts_with("try 1")),
        "twelve waits later, the first failure is try 1 of 2 and is retried: {first_try:?}"
    );
    let second_try = bench.handle(&update, 14).await;
    assert!(
        matches!(&second_try, Disposition::DeadLetter { attempts: 2, reason } if reason.code == "ALMA_UNAVAILABLE"),
        "the second failed try uses up the 2 attempts: {second_try:?}"
    );
}

#[tokio::test]
async fn a_job_that_never_gets_its_lane_is_given_up_as_lane_busy() {
    let bench = Bench::new(settings(3, 4)).await;
    let t = Utc::now();
    let camille = reader("waits-2", "Camille", "Lecteur");
    let holder = upsert("evt-holder", "DEMO_C", &camille, t - TimeDelta::seconds(10));
    let waiting = upsert("evt-waiting", "DEMO_C", &camille, t);
    bench
        .store
        .claim(&holder, t, Duration::from_secs(600))
        .await
        .unwrap();
    for receive_count in 1..=7 {
        let disposition = bench.handle(&waiting, receive_count).await;
        let Disposition::Retry { after, .. } = disposition else {
            panic!("delivery {receive_count} of 3 + 4 allowed waits: {disposition:?}");
        };
        assert!(
            after <= bench.distributor.settings().lease() + Duration::from_secs(1),
            "a wait never lasts beyond the lease and its margin: {after:?}"
        );
    }
    let given_up = bench.handle(&waiting, 8).await;
    assert!(
        matches!(&given_up, Disposition::DeadLetter { attempts: 0, reason } if reason.code == LANE_BUSY),
        "{given_up:?}"
    );
}

#[tokio::test]
async fn a_running_job_keeps_its_claim_its_lane_and_its_queue_lease() {
    let bench = Bench::new(WorkerSettings {
        lease_seconds: 2,
        ..WorkerSettings::default()
    })
    .await;
    // Every call in DEMO_B takes 4.5 s: twice the lease.
    bench.faults(
        "DEMO_B",
        Faults {
            latency_ms: 4_500,
            ..Faults::default()
        },
    );
    let t = Utc::now();
    let camille = reader("lease-1", "Camille", "Lecteur");
    let slow = upsert("evt-slow", "DEMO_B", &camille, t - TimeDelta::seconds(10));
    let next = upsert("evt-next", "DEMO_B", &camille, t);
    bench
        .store
        .enqueue(std::slice::from_ref(&slow))
        .await
        .unwrap();
    let lease = bench.distributor.settings().lease();
    let deliveries = bench
        .store
        .receive(&slow.institution, 10, lease)
        .await
        .unwrap();
    assert_eq!(deliveries.len(), 1);
    let worker =
        async { work_batch(&bench.store, &bench.distributor, &SystemClock, &deliveries).await };
    let meanwhile = async {
        tokio::time::sleep(Duration::from_secs(3)).await;
        let now = Utc::now();
        let next_claim = bench.store.claim(&next, now, lease).await.unwrap();
        let twin_claim = bench.store.claim(&slow, now, lease).await.unwrap();
        let redelivered = bench
            .store
            .receive(&slow.institution, 10, lease)
            .await
            .unwrap();
        (next_claim, twin_claim, redelivered.len())
    };
    let (settled, (next_claim, twin_claim, redelivered)) = tokio::join!(worker, meanwhile);
    assert_eq!(next_claim, Claim::Busy, "the patron's lane is still held");
    assert_eq!(twin_claim, Claim::Busy, "the job is still claimed");
    assert_eq!(redelivered, 0, "the job is still hidden on its queue");
    assert!(
        matches!(settled[..], [Ok(Settled::Completed)]),
        "{settled:?}"
    );
    assert_eq!(
        last_name(bench.sandbox.sandbox.user("DEMO_B", "lease-1")),
        "Lecteur"
    );
}

#[tokio::test]
async fn an_upsert_never_overwrites_a_different_person_with_the_same_primary_id() {
    let bench = Bench::new(WorkerSettings::default()).await;
    let t = Utc::now();
    // DEMO_B has its own user "shared-1", whom patron-hub never wrote.
    let dominique = reader("shared-1", "Dominique", "Autre");
    bench
        .alma
        .create_user(&code_of("DEMO_B"), &dominique)
        .await
        .unwrap();
    let camille = reader("shared-1", "Camille", "Lecteur");
    let job = upsert("evt-collide", "DEMO_B", &camille, t);
    let refused = bench.handle(&job, 1).await;
    assert!(
        matches!(&refused, Disposition::DeadLetter { reason, .. } if reason.code == PRIMARY_ID_COLLISION),
        "{refused:?}"
    );
    assert_eq!(
        last_name(bench.sandbox.sandbox.user("DEMO_B", "shared-1")),
        "Autre",
        "the other person's record is untouched"
    );
    let outcomes = bench
        .store
        .outcomes(&PrimaryId::parse("shared-1").unwrap())
        .await
        .unwrap();
    assert_eq!(outcomes[0].status, OutcomeStatus::DeadLettered);

    // The same names (case and spaces aside): the same person, updated.
    let same = reader("shared-1", " DOMINIQUE", "autre ");
    let mut same = same;
    same.0
        .insert("expiry_date".to_owned(), json!("2031-01-31Z"));
    let agreed = bench
        .handle(
            &upsert("evt-same", "DEMO_B", &same, t + TimeDelta::seconds(1)),
            1,
        )
        .await;
    assert!(matches!(agreed, Disposition::Done(Some(_))), "{agreed:?}");
    assert_eq!(
        bench.sandbox.sandbox.user("DEMO_B", "shared-1").unwrap()["expiry_date"],
        "2031-01-31Z"
    );

    // Written by patron-hub once, a later change of names is the same patron's.
    let renamed = reader("shared-1", "Dominique", "Renommée");
    let followed = bench
        .handle(
            &upsert("evt-renamed", "DEMO_B", &renamed, t + TimeDelta::seconds(2)),
            1,
        )
        .await;
    assert!(
        matches!(followed, Disposition::Done(Some(_))),
        "{followed:?}"
    );
    assert_eq!(
        last_name(bench.sandbox.sandbox.user("DEMO_B", "shared-1")),
        "Renommée"
    );
}

#[tokio::test]
async fn a_write_whose_answer_was_lost_keeps_the_record_the_patrons() {
    let bench = Bench::new(WorkerSettings::default()).await;
    let t = Utc::now();
    // The creation reaches DEMO_C, but its answer is lost on the way back.
    bench.faults(
        "DEMO_C",
        Faults {
            lost_reply_rate: 1.0,
            ..Faults::default()
        },
    );
    let first = reader("unheard-1", "Camille", "Lecteur");
    let creation = bench
        .handle(
            &upsert("evt-first", "DEMO_C", &first, t - TimeDelta::seconds(5)),
            1,
        )
        .await;
    assert!(
        matches!(creation, Disposition::Retry { .. }),
        "{creation:?}"
    );
    assert_eq!(
        last_name(bench.sandbox.sandbox.user("DEMO_C", "unheard-1")),
        "Lecteur",
        "the write was applied"
    );
    bench.sandbox.sandbox.clear_faults();
    // The patron's next change, with a new name, gets there first: the record
    // is the one patron-hub wrote, not a stranger's.
    let renamed = reader("unheard-1", "Camille", "Nouveau");
    let next = bench
        .handle(&upsert("evt-next", "DEMO_C", &renamed, t), 1)
        .await;
    assert!(matches!(next, Disposition::Done(Some(_))), "{next:?}");
    assert_eq!(
        last_name(bench.sandbox.sandbox.user("DEMO_C", "unheard-1")),
        "Nouveau"
    );
}
