//! The operations time series filled where the work happens, over real
//! parts (the SQLite store, the Alma sandbox through the real Alma client):
//! the worker counts an applied job with its lag and a dead-lettered one,
//! the Alma client counts its 429 and 5xx answers.

use chrono::{TimeDelta, Utc};
use patron_hub_alma::{AlmaClient, AlmaInstitution};
use patron_hub_alma_sandbox::{spawn, Faults, SandboxConfig};
use patron_hub_domain::distribution::{work_batch, Distributor, WorkerSettings};
use patron_hub_domain::operations::{Bucket, OperationsLog};
use patron_hub_domain::ports::JobQueue;
use patron_hub_domain::{AlmaUser, InstitutionCode, Job, JobAction, SystemClock};
use patron_hub_store_sqlite::SqliteStore;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

fn code(text: &str) -> InstitutionCode {
    InstitutionCode::parse(text).unwrap()
}

fn upsert(event_id: &str, target: &str, primary_id: &str) -> Job {
    let user: AlmaUser = serde_json::from_value(json!({
        "primary_id": primary_id, "first_name": "Camille", "last_name": "Lecteur",
        "job_category": {"value": "Exterieur"}, "user_group": {"value": "EXT"},
        "status": {"value": "ACTIVE"}, "expiry_date": "2030-06-30Z",
        "contact_info": {"email": [{"email_address": format!("{primary_id}@example.org"), "preferred": true}]}
    }))
    .unwrap();
    Job {
        event_id: event_id.to_owned(),
        institution: code(target),
        origin: code("DEMO_A"),
        action: JobAction::Upsert,
        primary_id: user.primary_id().unwrap(),
        event_time: Utc::now(),
        user: Some(user),
    }
}

/// The sum of `institution`'s buckets of the last hour.
async fn last_hour(store: &SqliteStore, institution: &str) -> Bucket {
    let now = Utc::now();
    let buckets = store
        .buckets(&code(institution), now - TimeDelta::hours(1), now)
        .await
        .unwrap();
    let mut sum = Bucket::default();
    for bucket in &buckets {
        sum.merge(bucket);
    }
    sum
}

#[tokio::test]
async fn settled_jobs_and_alma_failures_are_counted_per_institution() {
    let sandbox = spawn(SandboxConfig::demo(), "127.0.0.1:0").await.unwrap();
    let folder = tempfile::tempdir().unwrap();
    let store =
        SqliteStore::open(&folder.path().join("hub.sqlite3"), Arc::new(SystemClock)).unwrap();
    let institutions = ["DEMO_NETWORK", "DEMO_A", "DEMO_B", "DEMO_C"]
        .map(|text| AlmaInstitution {
            api_key: format!("demo-key-{text}"),
            code: code(text),
            base_url: sandbox.base_url.clone(),
            calls_per_second: 20,
        })
        .to_vec();
    let alma = AlmaClient::new(institutions, Duration::from_secs(10))
        .unwrap()
        .with_operations(Arc::new(store.clone()));
    let settings = WorkerSettings {
        max_attempts: 1,
        ..WorkerSettings::default()
    };
    let distributor = Distributor::new(
        Arc::new(alma),
        Arc::new(store.clone()),
        Arc::new(SystemClock),
        code("DEMO_NETWORK"),
        settings,
    )
    .with_operations(Arc::new(store.clone()));
    sandbox.sandbox.set_faults(
        Some("DEMO_C"),
        Faults {
            error_rate: 1.0,
            ..Faults::default()
        },
    );
    let jobs = [
        upsert("evt-b", "DEMO_B", "ops-1"),
        upsert("evt-c", "DEMO_C", "ops-2"),
    ];
    store.enqueue(&jobs).await.unwrap();
    for job in &jobs {
        let lease = distributor.settings().lease();
        let deliveries = store.receive(&job.institution, 10, lease).await.unwrap();
        assert_eq!(deliveries.len(), 1);
        work_batch(&store, &distributor, &SystemClock, &deliveries).await;
    }

    let b = last_hour(&store, "DEMO_B").await;
    assert_eq!((b.applied, b.dead_lettered, b.alma_5xx), (1, 0, 0), "{b:?}");
    assert!(
        b.lag_quantile(0.5).is_some(),
        "the applied job's lag: {b:?}"
    );
    let c = last_hour(&store, "DEMO_C").await;
    assert_eq!((c.applied, c.dead_lettered, c.alma_429), (0, 1, 0), "{c:?}");
    assert!(c.alma_5xx >= 1, "DEMO_C's 500 answers: {c:?}");

    sandbox.sandbox.set_faults(
        Some("DEMO_A"),
        Faults {
            throttle_rate: 1.0,
            ..Faults::default()
        },
    );
    let job = upsert("evt-a", "DEMO_A", "ops-3");
    store.enqueue(std::slice::from_ref(&job)).await.unwrap();
    let deliveries = store
        .receive(&job.institution, 10, distributor.settings().lease())
        .await
        .unwrap();
    work_batch(&store, &distributor, &SystemClock, &deliveries).await;
    let a = last_hour(&store, "DEMO_A").await;
    assert!(a.alma_429 >= 1, "DEMO_A's 429 answers: {a:?}");
    assert_eq!(a.applied, 0, "{a:?}");
}
