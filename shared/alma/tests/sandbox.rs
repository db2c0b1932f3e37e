//! The client against the Alma sandbox: every call of the port, and the error
//! each kind of Alma answer becomes.

use patron_hub_alma::{AlmaClient, AlmaInstitution};
use patron_hub_alma_sandbox::{spawn, Faults, RunningSandbox, SandboxConfig, Seed};
use patron_hub_domain::alma::{
    AlmaError, AlmaUsers, PageSize, SearchField, UserOrder, UserQuery, UserSearch,
};
use patron_hub_domain::{AlmaUser, InstitutionCode, PrimaryId};
use serde_json::{json, Value};
use std::time::Duration;

const ZONE: &str = "DEMO_NETWORK";

struct Network {
    running: RunningSandbox,
    alma: AlmaClient,
}

/// A fresh demo sandbox and a client of all its institutions at `calls_per_second`.
async fn network(calls_per_second: u32, timeout: Duration) -> Network {
    let running = spawn(SandboxConfig::demo(), "127.0.0.1:0").await.unwrap();
    let institutions = [ZONE, "DEMO_A", "DEMO_B", "DEMO_C"]
        .into_iter()
        .map(|code| AlmaInstitution {
            code: code_of(code),
            base_url: running.base_url.clone(),
            api_key: format!("demo-key-{code}"),
            calls_per_second,
        })
        .collect();
    let alma = AlmaClient::new(institutions, timeout).unwrap();
    Network { running, alma }
}

async fn demo() -> Network {
    network(20, Duration::from_secs(5)).await
}

fn code_of(code: &str) -> InstitutionCode {
    InstitutionCode::parse(code).unwrap()
}

fn id(text: &str) -> PrimaryId {
    PrimaryId::parse(text).unwrap()
}

fn patron(primary_id: &str, last_name: &str) -> AlmaUser {
    serde_json::from_value(json!({
        "primary_id": primary_id,
        "first_name": "Ada",
        "last_name": last_name,
        "user_group": {"value": "PEB"},
        "job_category": {"value": "Exterieur"},
        "contact_info": {"email": [{"email_address": "ada@example.org", "preferred": true}]},
    }))
    .unwrap()
}

fn rejected_code(error: AlmaError) -> (u16, String) {
    match error {
        AlmaError::Rejected { status, code, .. } => (status, code),
        other => panic!("expected Rejected, got {other:?}"),
    }
}

/// How many calls the sandbox counted for `institution` with `status`.
fn counted(running: &RunningSandbox, institution: &str, status: u16) -> u64 {
    running
        .sandbox
        .stats()
        .iter()
        .filter(|call| call.institution == institution && call.status == status)
        .map(|call| call.count)
        .sum()
}

#[tokio::test]
async fn creates_then_reads_a_patron() {
    let Network { running, alma } = demo().await;
    let a = code_of("DEMO_A");
    let created = alma
        .create_user(&a, &patron("ext-1 é", "Lovelace"))
        .await
        .unwrap();
    assert_eq!(created.primary_id(), Some(id("ext-1 é")));
    let stored = running
        .sandbox
        .user("DEMO_A", "ext-1 é")
        .expect("stored in DEMO_A");
    assert_eq!(stored["last_name"], "Lovelace");

    let read = alma.get_user(&a, &id("ext-1 é")).await.unwrap();
    assert_eq!(read.0["last_name"], "Lovelace");
    assert_eq!(read.code_value("job_category"), Some("Exterieur"));
    assert!(running.sandbox.user("DEMO_B", "ext-1 é").is_none());
}

#[tokio::test]
async fn a_missing_patron_is_not_found_on_get_put_and_delete() {
    let Network { alma, .. } = demo().await;
    let a = code_of("DEMO_A");
    let nobody = id("nobody");
    assert_eq!(
        alma.get_user(&a, &nobody).await.unwrap_err(),
        AlmaError::NotFound {
            code: "401861".to_owned()
        }
    );
    assert!(matches!(
        alma.update_user(&a, &nobody, &patron("nobody", "X"))
            .await
            .unwrap_err(),
        AlmaError::NotFound { .. }
    ));
    assert_eq!(
        alma.delete_user(&a, &nobody).await.unwrap_err(),
        AlmaError::NotFound {
            code: "401890".to_owned()
        }
    );
}

#[tokio::test]
async fn a_second_create_already_exists() {
    let Network { alma, .. } = demo().await;
    let a = code_of("DEMO_A");
    alma.create_user(&a, &patron("dup-1", "First"))
        .await
        .unwrap();
    let again = alma
        .create_user(&a, &patron("dup-1", "Second"))
        .await
        .unwrap_err();
    assert!(
        matches!(again, AlmaError::AlreadyExists { ref code, .. } if code == "401851"),
        "{again:?}"
    );
}

#[tokio::test]
async fn update_swaps_the_whole_record() {
    let Network { running, alma } = demo().await;
    let b = code_of("DEMO_B");
    alma.create_user(&b, &patron("upd-1", "Before"))
        .await
        .unwrap();
    let mut changed = patron("upd-1", "After");
    changed.0.remove("contact_info");
    let updated = alma.update_user(&b, &id("upd-1"), &changed).await.unwrap();
    assert_eq!(updated.0["last_name"], "After");
    let stored = running.sandbox.user("DEMO_B", "upd-1").unwrap();
    assert_eq!(stored["last_name"], "After");
    assert_eq!(stored.get("contact_info"), None);
}

#[tokio::test]
async fn delete_removes_the_patron_once() {
    let Network { running, alma } = demo().await;
    let c = code_of("DEMO_C");
    alma.create_user(&c, &patron("del-1", "Gone"))
        .await
        .unwrap();
    alma.delete_user(&c, &id("del-1")).await.unwrap();
    assert!(running.sandbox.user("DEMO_C", "del-1").is_none());
    assert!(matches!(
        alma.delete_user(&c, &id("del-1")).await.unwrap_err(),
        AlmaError::NotFound { .. }
    ));
}

#[tokio::test]
async fn links_a_zone_patron_once_and_knows_missing_sources() {
    let Network { running, alma } = demo().await;
    let (zone, a) = (code_of(ZONE), code_of("DEMO_A"));
    alma.create_user(&zone, &patron("nz-1", "Zone"))
        .await
        .unwrap();

    let linked = alma
        .create_linked_user(&a, &zone, &id("nz-1"))
        .await
        .unwrap();
    assert_eq!(linked.0["last_name"], "Zone");
    let copy = running
        .sandbox
        .user("DEMO_A", "nz-1")
        .expect("a linked copy in DEMO_A");
    assert_eq!(copy["source_institution_code"]["value"], ZONE);

    let again = alma
        .create_linked_user(&a, &zone, &id("nz-1"))
        .await
        .unwrap_err();
    assert!(
        matches!(again, AlmaError::AlreadyExists { ref code, .. } if code == "60227"),
        "{again:?}"
    );
    assert_eq!(
        alma.create_linked_user(&a, &zone, &id("nz-missing"))
            .await
            .unwrap_err(),
        AlmaError::NotFound {
            code: "4019990".to_owned()
        }
    );
}

#[tokio::test]
async fn pages_through_every_user_and_searches_one_field() {
    let Network { running, alma } = demo().await;
    let mut seed = Seed::new(230);
    seed.job_category = Some("Exterieur".to_owned());
    running.sandbox.seed("DEMO_A", &seed).unwrap();
    let mut outsider = patron("other", "Outsider");
    outsider
        .0
        .insert("job_category".to_owned(), json!({"value": "PEB"}));
    alma.create_user(&code_of("DEMO_A"), &outsider)
        .await
        .unwrap();
    let a = code_of("DEMO_A");

    let mut query = UserQuery {
        search: UserSearch::new(SearchField::JobCategory, "Exterieur"),
        order_by: Some(UserOrder::PrimaryId),
        ..UserQuery::default()
    };
    let mut seen = Vec::new();
    loop {
        let page = alma.list_users(&a, &query).await.unwrap();
        assert_eq!(page.total_record_count, 230);
        for user in &page.users {
            assert!(user.0.get("contact_info").is_none(), "a brief record");
            seen.push(user.primary_id().unwrap());
        }
        query.offset += u32::from(query.limit.get());
        if u64::from(query.offset) >= page.total_record_count {
            break;
        }
    }
    assert_eq!(seen.len(), 230);
    assert!(
        seen.windows(2).all(|pair| pair[0] < pair[1]),
        "in order, once each"
    );
    assert_eq!(seen[0].as_str(), "seed-0000001");

    let everyone = alma
        .list_users(
            &a,
            &UserQuery {
                limit: PageSize::new(0).unwrap(),
                ..UserQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (everyone.total_record_count, everyone.users.len()),
        (231, 0)
    );
    assert_eq!(
        counted(&running, "DEMO_A", 200),
        5,
        "one create, three pages, one count"
    );
}

#[tokio::test]
async fn finds_linked_copies_or_none_and_knows_missing_sources() {
    let Network { running, alma } = demo().await;
    let (zone, a, b) = (code_of(ZONE), code_of("DEMO_A"), code_of("DEMO_B"));
    alma.create_user(&zone, &patron("nz-3", "Linked"))
        .await
        .unwrap();
    alma.create_linked_user(&a, &zone, &id("nz-3"))
        .await
        .unwrap();

    let copies = alma.linked_copies(&a, &zone, &id("nz-3")).await.unwrap();
    let ids: Vec<_> = copies.iter().filter_map(|copy| copy.primary_id()).collect();
    assert_eq!(ids, [id("nz-3")]);
    assert!(alma
        .linked_copies(&b, &zone, &id("nz-3"))
        .await
        .unwrap()
        .is_empty());
    assert!(
        running.sandbox.user("DEMO_B", "nz-3").is_none(),
        "nothing copied"
    );
    assert_eq!(
        alma.linked_copies(&a, &zone, &id("nz-ghost"))
            .await
            .unwrap_err(),
        AlmaError::NotFound {
            code: "401861".to_owned()
        }
    );
    let elsewhere = alma
        .linked_copies(&a, &code_of("ELSEWHERE"), &id("nz-3"))
        .await
        .unwrap_err();
    assert_eq!(rejected_code(elsewhere), (400, "401651".to_owned()));
}

#[tokio::test]
async fn looking_up_a_zone_patron_in_a_member_copies_it() {
    let Network { running, alma } = demo().await;
    alma.create_user(&code_of(ZONE), &patron("nz-2", "Copied"))
        .await
        .unwrap();
    let found = alma
        .get_user(&code_of("DEMO_B"), &id("nz-2"))
        .await
        .unwrap();
    assert_eq!(found.0["last_name"], "Copied");
    let copy: Value = running
        .sandbox
        .user("DEMO_B", "nz-2")
        .expect("copied on lookup");
    assert_eq!(copy["source_link_id"], "nz-2");
}

#[tokio::test]
async fn invalid_records_and_bad_keys_are_rejected_for_good() {
    let Network { running, alma } = demo().await;
    let a = code_of("DEMO_A");
    let mut nameless = patron("bad-1", "X");
    nameless.0.remove("last_name");
    assert_eq!(
        rejected_code(alma.create_user(&a, &nameless).await.unwrap_err()),
        (400, "401664".to_owned())
    );
    running
        .sandbox
        .set_user_groups("DEMO_A", Some(vec!["STAFF".to_owned()]));
    assert_eq!(
        rejected_code(
            alma.create_user(&a, &patron("bad-2", "Y"))
                .await
                .unwrap_err()
        ),
        (400, "401852".to_owned())
    );

    // A wrong key: Alma's XML error body.
    let wrong_key = AlmaClient::new(
        vec![AlmaInstitution {
            code: a.clone(),
            base_url: running.base_url.clone(),
            api_key: "not-a-demo-key".to_owned(),
            calls_per_second: 20,
        }],
        Duration::from_secs(5),
    )
    .unwrap();
    let refused = wrong_key.get_user(&a, &id("anyone")).await.unwrap_err();
    assert_eq!(rejected_code(refused), (400, "UNAUTHORIZED".to_owned()));
}

#[tokio::test]
async fn over_the_threshold_is_throttled() {
    // Paced at 200/s against a 25/s threshold.
    let Network { running, alma } = network(200, Duration::from_secs(5)).await;
    let alma = std::sync::Arc::new(alma);
    let mut calls = tokio::task::JoinSet::new();
    for n in 0..60 {
        let alma = std::sync::Arc::clone(&alma);
        calls.spawn(async move {
            alma.get_user(&code_of("DEMO_A"), &id(&format!("t-{n}")))
                .await
        });
    }
    let results = calls.join_all().await;
    let throttled = results
        .iter()
        .filter(|result| {
            matches!(result, Err(AlmaError::Throttled { code }) if code == "PER_SECOND_THRESHOLD")
        })
        .count();
    let not_found = results
        .iter()
        .filter(|result| matches!(result, Err(AlmaError::NotFound { .. })))
        .count();
    assert_eq!(throttled + not_found, 60, "{results:?}");
    assert!(throttled > 0, "no call was throttled");
    assert_eq!(throttled as u64, counted(&running, "DEMO_A", 429));
}

#[tokio::test]
async fn server_errors_and_dropped_connections_are_unavailable_and_not_retried() {
    let Network { running, alma } = demo().await;
    let c = code_of("DEMO_C");
    running.sandbox.set_faults(
        Some("DEMO_C"),
        Faults {
            error_rate: 1.0,
            ..Faults::default()
        },
    );
    let failed = alma.get_user(&c, &id("p1")).await.unwrap_err();
    assert!(
        matches!(&failed, AlmaError::Unavailable(text) if text.contains("500")),
        "{failed:?}"
    );
    assert_eq!(counted(&running, "DEMO_C", 500), 1, "the client retried");

    running.sandbox.set_faults(
        Some("DEMO_C"),
        Faults {
            drop_rate: 1.0,
            ..Faults::default()
        },
    );
    let dropped = alma
        .create_user(&c, &patron("p1", "Dropped"))
        .await
        .unwrap_err();
    assert!(matches!(dropped, AlmaError::Unavailable(_)), "{dropped:?}");
    assert_eq!(counted(&running, "DEMO_C", 0), 1, "the client retried");

    // Other institutions are untouched.
    alma.create_user(&code_of("DEMO_A"), &patron("p1", "Fine"))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_slow_alma_times_out_as_unavailable() {
    let Network { running, alma } = network(20, Duration::from_millis(300)).await;
    running.sandbox.set_faults(
        None,
        Faults {
            latency_ms: 2_000,
            ..Faults::default()
        },
    );
    let slow = alma
        .get_user(&code_of("DEMO_B"), &id("p1"))
        .await
        .unwrap_err();
    assert!(
        matches!(&slow, AlmaError::Unavailable(text) if text.contains("timed out")),
        "{slow:?}"
    );
}
