//! The staff console over real parts: the SQLite store, the Alma sandbox reached
//! through the real Alma client, and the distribution workers. Searches ask
//! every institution at once; actions are queued per institution, applied by
//! the workers, audited, and reported institution by institution.

mod console_support;

use console_support::{
    account, ada, all_institutions, code, day, expected, id, presences, results_of, row,
    row_institutions, staff, unstamped, World, MEMBERS, ZONE,
};
use patron_hub_alma_sandbox::Faults;
use patron_hub_domain::accounts::NetworkRole;
use patron_hub_domain::alma::{AlmaError, AlmaUsers};
use patron_hub_domain::console::{
    AuditEntry, AuditLog, ConsoleAction, ConsoleError, InstitutionResult, PatronOverview, Presence,
};
use patron_hub_domain::ports::{EventReceipt, WebhookInbox};
use patron_hub_domain::registration::PatronRegistry;
use patron_hub_domain::{Job, JobAction};
use serde_json::json;
use std::time::{Duration, Instant};

/// Ada's expected rows when DEMO_A and DEMO_C hold her account.
const IN_A_AND_C: [(&str, &str); 4] = [
    (ZONE, "absent"),
    ("DEMO_A", "present"),
    ("DEMO_B", "absent"),
    ("DEMO_C", "present"),
];

/// Ada's one overview from a search that must find her.
fn only(mut found: Vec<PatronOverview>) -> PatronOverview {
    assert_eq!(found.len(), 1, "one patron expected, found {found:?}");
    found.remove(0)
}

/// Seeds Ada in DEMO_A and DEMO_C (the same distributed record).
async fn ada_in_a_and_c(world: &World) {
    world.seed("DEMO_A", &ada("p-ada", json!({}))).await;
    world.seed("DEMO_C", &ada("p-ada", json!({}))).await;
}

/// Seeds Ada in every member institution, each with something of its own.
async fn ada_everywhere(world: &World) {
    world
        .seed(
            "DEMO_A",
            &ada("p-ada", json!({"user_note": [{"note_text": "local to A"}]})),
        )
        .await;
    world
        .seed(
            "DEMO_B",
            &ada("p-ada", json!({"user_group": {"value": "STAFF"}})),
        )
        .await;
    world
        .seed("DEMO_C", &ada("p-ada", json!({"pin_number": "4321"})))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_by_primary_id_shows_a_row_per_institution_zone_first() {
    let world = World::demo().await;
    ada_in_a_and_c(&world).await;
    let overview = only(world.console.search(&staff(), "  p-ada ").await.unwrap());
    assert_eq!(overview.primary_id, id("p-ada"));
    assert_eq!(
        row_institutions(&overview),
        [ZONE, "DEMO_A", "DEMO_B", "DEMO_C"]
    );
    let zones: Vec<bool> = overview.rows.iter().map(|row| row.zone).collect();
    assert_eq!(zones, [true, false, false, false]);
    assert_eq!(presences(&overview), expected(&IN_A_AND_C));
    let Presence::Present { account } = &row(&overview, "DEMO_C").presence else {
        panic!("DEMO_C holds Ada");
    };
    assert_eq!(account.primary_id, Some(id("p-ada")));
    assert_eq!(account.last_name.as_deref(), Some("Lovelace-Byron"));
    assert_eq!(account.user_group.as_deref(), Some("PEB"));
    assert_eq!(account.expiry_date, Some(day(2026, 12, 31)));
    assert_eq!(account.purge_date, Some(day(2027, 6, 30)));
    assert!(!account.linked);
    let registry = overview.registry.as_ref().expect("the registry knows Ada");
    assert_eq!(registry.primary_id, id("p-ada"));
    assert!(world
        .console
        .search(&staff(), "p-nobody")
        .await
        .unwrap()
        .is_empty());
    world.sandbox.sandbox.reset_stats();
    let found = world.console.search(&staff(), "p-ada/../x").await;
    assert!(found.unwrap().is_empty(), "an id with a slash is nobody's");
    assert_eq!(world.all_calls(), 0, "and Alma is not asked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_by_barcode_finds_the_patron_under_her_primary_id() {
    let world = World::demo().await;
    ada_in_a_and_c(&world).await;
    let overview = only(world.console.search(&staff(), "BC-p-ada").await.unwrap());
    assert_eq!(overview.primary_id, id("p-ada"));
    assert_eq!(presences(&overview), expected(&IN_A_AND_C));
    assert!(world
        .console
        .search(&staff(), "BC-nobody")
        .await
        .unwrap()
        .is_empty());
}

/// Domain bug: a barcode is an institution's own identifier, but the console
/// asks every institution for the barcode instead of for the primary id it
/// found, so the patron's accounts under other barcodes show as absent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_by_one_institutions_barcode_shows_every_account() {
    let world = World::demo().await;
    let barcode = |value: &str| json!({"user_identifier": [{"id_type": {"value": "BARCODE"}, "value": value}]});
    world.seed("DEMO_A", &ada("p-ada", barcode("A-0042"))).await;
    world.seed("DEMO_C", &ada("p-ada", barcode("C-7777"))).await;
    let overview = only(world.console.search(&staff(), "A-0042").await.unwrap());
    assert_eq!(overview.primary_id, id("p-ada"));
    assert_eq!(presences(&overview), expected(&IN_A_AND_C));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_by_email_finds_every_patron_the_registry_holds_with_it() {
    let world = World::demo().await;
    ada_in_a_and_c(&world).await;
    // Her twin shares the address; Bob does not.
    world.seed("DEMO_B", &ada("p-twin", json!({}))).await;
    let bob = json!({"contact_info": {"email": [{"email_address": "bob@example.org"}]}});
    world.seed("DEMO_B", &ada("p-bob", bob)).await;
    let mut found = world
        .console
        .search(&staff(), " ADA.lovelace@example.ORG ")
        .await
        .unwrap();
    found.sort_by(|a, b| a.primary_id.as_str().cmp(b.primary_id.as_str()));
    let ids: Vec<&str> = found.iter().map(|o| o.primary_id.as_str()).collect();
    assert_eq!(ids, ["p-ada", "p-twin"]);
    assert_eq!(presences(&found[0]), expected(&IN_A_AND_C));
    assert_eq!(
        presences(&found[1]),
        expected(&[
            (ZONE, "absent"),
            ("DEMO_A", "absent"),
            ("DEMO_B", "present"),
            ("DEMO_C", "absent"),
        ])
    );
    let nobody = world.console.search(&staff(), "nobody@example.org").await;
    assert!(nobody.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_institution_is_unreachable_and_the_search_lasts_about_the_timeout() {
    let timeout = Duration::from_millis(600);
    let world = World::new(timeout).await;
    ada_everywhere(&world).await;
    // Every institution is slow, but answers within the timeout; one never does
    // in time. Asked one after the other, the search would last 3 × 300 ms
    // plus the timeout.
    let sluggish = Faults {
        latency_ms: 300,
        ..Faults::default()
    };
    let stuck = Faults {
        latency_ms: 6_000,
        ..Faults::default()
    };
    world.sandbox.sandbox.set_faults(None, sluggish);
    world.sandbox.sandbox.set_faults(Some("DEMO_B"), stuck);
    let started = Instant::now();
    let overview = only(world.console.search(&staff(), "p-ada").await.unwrap());
    let ratio = started.elapsed().as_secs_f64() / timeout.as_secs_f64();
    assert_eq!(
        presences(&overview),
        expected(&[
            (ZONE, "absent"),
            ("DEMO_A", "present"),
            ("DEMO_B", "unreachable"),
            ("DEMO_C", "present"),
        ])
    );
    let Presence::Unreachable { reason } = &row(&overview, "DEMO_B").presence else {
        unreachable!("checked above");
    };
    assert!(!reason.is_empty());
    assert!(
        (1.0..1.5).contains(&ratio),
        "the search took {ratio:.2} × the timeout"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_expiry_queues_one_patch_per_holder_and_changes_only_the_dates() {
    let world = World::demo().await;
    ada_everywhere(&world).await;
    let before: Vec<_> = MEMBERS
        .iter()
        .map(|member| world.record(member, "p-ada").expect("seeded"))
        .collect();
    let marie = staff();
    let action = ConsoleAction::SetExpiry {
        expiry_date: day(2031, 6, 30),
    };
    let (_, planned) = world
        .console
        .plan(&marie, &id("p-ada"), &action)
        .await
        .unwrap();
    let entry = world
        .console
        .perform(&marie, &id("p-ada"), action.clone())
        .await
        .unwrap();
    assert_eq!(entry.institutions, planned);
    assert_eq!(
        entry.institutions,
        MEMBERS.map(code).to_vec(),
        "one per holder"
    );
    assert_eq!((entry.actor, entry.action.clone()), (marie.id, action));
    assert_eq!(entry.actor_name, marie.user_name.as_str());
    let queued = world.console.overview(&marie, &id("p-ada")).await.unwrap();
    assert!(results_of(&queued, &entry.id)
        .iter()
        .all(|(_, result)| *result == InstitutionResult::Queued));

    assert!(world.take_jobs(ZONE).await.is_empty());
    for member in MEMBERS {
        let jobs = world.take_jobs(member).await;
        assert_eq!(jobs.len(), 1, "one job on {member}'s queue");
        let job = &jobs[0].job;
        assert_eq!(
            (job.action, job.event_id.as_str()),
            (JobAction::Patch, entry.id.as_str())
        );
        world.work(&jobs).await;
    }

    for (member, before) in MEMBERS.iter().zip(&before) {
        let after = world.record(member, "p-ada").expect("still there");
        assert_eq!(after["expiry_date"], "2031-06-30Z", "{member}");
        assert_eq!(after["purge_date"], "2031-06-30Z", "{member}");
        let dates = ["expiry_date", "purge_date"];
        assert_eq!(
            unstamped(&after, &dates),
            unstamped(before, &dates),
            "{member}"
        );
    }
    let done = world.console.overview(&marie, &id("p-ada")).await.unwrap();
    let results = results_of(&done, &entry.id);
    assert_eq!(
        results,
        MEMBERS
            .map(|m| (m.to_owned(), InstitutionResult::Done))
            .to_vec()
    );
    for member in MEMBERS {
        let Presence::Present { account } = &row(&done, member).presence else {
            panic!("{member} still holds Ada");
        };
        assert_eq!(account.expiry_date, Some(day(2031, 6, 30)));
        assert_eq!(account.purge_date, Some(day(2031, 6, 30)));
        assert!(row(&done, member).last_outcome.is_some());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_everywhere_is_refused_with_almas_words_where_there_are_loans() {
    let world = World::demo().await;
    world.seed("DEMO_A", &ada("p-ada", json!({}))).await;
    world
        .seed("DEMO_B", &ada("p-ada", json!({"loans": {"value": 2}})))
        .await;
    world.seed("DEMO_C", &ada("p-ada", json!({}))).await;
    let entry = world
        .console
        .perform(&staff(), &id("p-ada"), ConsoleAction::DeleteEverywhere)
        .await
        .unwrap();
    world.drain().await;

    assert_eq!(world.record("DEMO_A", "p-ada"), None);
    assert!(world.record("DEMO_B", "p-ada").is_some());
    assert_eq!(world.record("DEMO_C", "p-ada"), None);
    // What Alma says to that deletion, asked directly.
    let refusal = match world.alma.delete_user(&code("DEMO_B"), &id("p-ada")).await {
        Err(AlmaError::Rejected { code, message, .. }) => {
            InstitutionResult::Refused { code, message }
        }
        other => panic!("Alma should refuse to delete a patron with loans: {other:?}"),
    };
    assert!(matches!(&refusal, InstitutionResult::Refused { code, .. } if code == "401850"));
    let overview = ada_page(&world).await;
    assert_eq!(
        results_of(&overview, &entry.id),
        [
            ("DEMO_A".to_owned(), InstitutionResult::Done),
            ("DEMO_B".to_owned(), refusal),
            ("DEMO_C".to_owned(), InstitutionResult::Done),
        ]
    );
    assert_eq!(
        presences(&overview),
        expected(&[
            (ZONE, "absent"),
            ("DEMO_A", "absent"),
            ("DEMO_B", "present"),
            ("DEMO_C", "absent"),
        ])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn change_primary_id_reads_then_rewrites_only_the_id_everywhere() {
    let world = World::demo().await;
    ada_everywhere(&world).await;
    let before: Vec<_> = MEMBERS
        .iter()
        .map(|member| world.record(member, "p-ada").expect("seeded"))
        .collect();
    let marie = staff();
    let action = ConsoleAction::ChangePrimaryId {
        new_primary_id: id("p-ada-lovelace"),
    };
    let entry = world
        .console
        .perform(&marie, &id("p-ada"), action)
        .await
        .unwrap();
    world.sandbox.sandbox.reset_stats();
    world.drain().await;

    for (member, before) in MEMBERS.iter().zip(&before) {
        // One GET then one PUT: the PUT carried every field of the stored
        // record, which only a GET could have given it.
        assert_eq!(
            (world.calls(member, "GET"), world.calls(member, "PUT")),
            (1, 1),
            "{member}"
        );
        assert_eq!(world.record(member, "p-ada"), None, "{member}");
        let after = world.record(member, "p-ada-lovelace").expect("renamed");
        let mut expected = unstamped(before, &[]);
        expected.insert("primary_id".to_owned(), json!("p-ada-lovelace"));
        assert_eq!(unstamped(&after, &[]), expected, "{member}");
    }
    assert_eq!(world.all_calls(), 3 * 2, "no other call, none to the zone");

    let renamed = world
        .console
        .overview(&marie, &id("p-ada-lovelace"))
        .await
        .unwrap();
    assert!(
        renamed.audit.iter().any(|report| report.entry == entry),
        "the change is on the patron's page under the new id"
    );
    assert!(renamed.holders().len() == MEMBERS.len());
    let registry = renamed.registry.expect("the registry follows the rename");
    assert_eq!(registry.primary_id, id("p-ada-lovelace"));
    let old = world.console.overview(&marie, &id("p-ada")).await.unwrap();
    assert_eq!(
        results_of(&old, &entry.id),
        MEMBERS
            .map(|m| (m.to_owned(), InstitutionResult::Done))
            .to_vec()
    );
}

/// Domain bug: the outcomes of a primary-id change are kept under the old id,
/// so the patron's page (under the new id) reports the change as still queued.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_primary_id_change_reports_its_results_under_the_new_id() {
    let world = World::demo().await;
    ada_everywhere(&world).await;
    let action = ConsoleAction::ChangePrimaryId {
        new_primary_id: id("p-ada-lovelace"),
    };
    let entry = world
        .console
        .perform(&staff(), &id("p-ada"), action)
        .await
        .unwrap();
    world.drain().await;
    let renamed = world
        .console
        .overview(&staff(), &id("p-ada-lovelace"))
        .await
        .unwrap();
    assert_eq!(
        results_of(&renamed, &entry.id),
        MEMBERS
            .map(|m| (m.to_owned(), InstitutionResult::Done))
            .to_vec()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_network_staff_and_super_administrators_may_use_the_console() {
    let world = World::demo().await;
    ada_in_a_and_c(&world).await;
    world.sandbox.sandbox.reset_stats();
    let patron = account(&[]);
    let ada = id("p-ada");
    let expiry = ConsoleAction::SetExpiry {
        expiry_date: day(2031, 6, 30),
    };
    assert_eq!(
        world.console.search(&patron, "p-ada").await.unwrap_err(),
        ConsoleError::Forbidden
    );
    assert_eq!(
        world.console.overview(&patron, &ada).await.unwrap_err(),
        ConsoleError::Forbidden
    );
    assert_eq!(
        world
            .console
            .plan(&patron, &ada, &expiry)
            .await
            .unwrap_err(),
        ConsoleError::Forbidden
    );
    assert_eq!(
        world
            .console
            .perform(&patron, &ada, expiry.clone())
            .await
            .unwrap_err(),
        ConsoleError::Forbidden
    );
    assert_eq!(world.all_calls(), 0, "Alma was never asked");
    assert!(world.store.for_patron(&ada).await.unwrap().is_empty());
    for member in MEMBERS {
        assert!(world.take_jobs(member).await.is_empty());
    }
    let admin = account(&[NetworkRole::SuperAdmin]);
    let found = only(world.console.search(&admin, "p-ada").await.unwrap());
    assert_eq!(presences(&found), expected(&IN_A_AND_C));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_action_on_a_patron_no_institution_holds_is_nothing_to_do() {
    let world = World::demo().await;
    ada_in_a_and_c(&world).await;
    let ghost = id("p-ghost");
    let actions = [
        ConsoleAction::DeleteEverywhere,
        ConsoleAction::SetExpiry {
            expiry_date: day(2031, 6, 30),
        },
        ConsoleAction::ChangePrimaryId {
            new_primary_id: id("p-ghost-2"),
        },
        ConsoleAction::Redistribute,
    ];
    for action in actions {
        let (_, targets) = world.console.plan(&staff(), &ghost, &action).await.unwrap();
        assert!(targets.is_empty(), "{action:?}");
        assert_eq!(
            world
                .console
                .perform(&staff(), &ghost, action.clone())
                .await
                .unwrap_err(),
            ConsoleError::NothingToDo,
            "{action:?}"
        );
    }
    assert!(world.store.for_patron(&ghost).await.unwrap().is_empty());
    for institution in all_institutions() {
        assert!(world.take_jobs(institution.as_str()).await.is_empty());
    }
    assert!(world.store.get(&ghost).await.unwrap().is_none());
}

/// The console must not look a network-zone patron up in members that do not
/// hold it: the same `GET /users/{id}` the workers use to link would make a
/// linked copy in every member institution.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_never_changes_an_institution() {
    let world = World::demo().await;
    world.seed(ZONE, &ada("p-ada", json!({}))).await;
    world.seed("DEMO_A", &ada("p-ada", json!({}))).await;
    let overview = only(world.console.search(&staff(), "p-ada").await.unwrap());
    assert_eq!(world.record("DEMO_B", "p-ada"), None);
    assert_eq!(world.record("DEMO_C", "p-ada"), None);
    assert_eq!(
        presences(&overview),
        expected(&[
            (ZONE, "present"),
            ("DEMO_A", "present"),
            ("DEMO_B", "absent"),
            ("DEMO_C", "absent"),
        ])
    );
}

/// Ada's patron page, as staff see it.
async fn ada_page(world: &World) -> PatronOverview {
    world
        .console
        .overview(&staff(), &id("p-ada"))
        .await
        .unwrap()
}

/// Staff perform `action` on Ada.
async fn on_ada(world: &World, action: ConsoleAction) -> AuditEntry {
    world
        .console
        .perform(&staff(), &id("p-ada"), action)
        .await
        .unwrap()
}

/// Seeds Ada in the network zone (no job category: a university patron) and
/// links her into `members`, as the zone's distribution does.
async fn ada_from_the_zone(world: &World, members: &[&str]) {
    world
        .seed(ZONE, &ada("p-ada", json!({"job_category": null})))
        .await;
    for member in members {
        let copy = world
            .alma
            .get_user(&code(member), &id("p-ada"))
            .await
            .expect("looking her up links her");
        world
            .sync
            .observe(&code(member), &copy, chrono::Utc::now())
            .await
            .expect("the registry records the copy");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_expiry_of_a_zone_patron_changes_the_zone_record_and_every_copy() {
    let world = World::demo().await;
    ada_from_the_zone(&world, &["DEMO_A", "DEMO_C"]).await;
    let action = ConsoleAction::SetExpiry {
        expiry_date: day(2031, 6, 30),
    };
    let (_, planned) = world
        .console
        .plan(&staff(), &id("p-ada"), &action)
        .await
        .unwrap();
    assert_eq!(planned, [ZONE, "DEMO_A", "DEMO_C"].map(code));
    let entry = world
        .console
        .perform(&staff(), &id("p-ada"), action)
        .await
        .unwrap();
    assert_eq!(entry.institutions, planned);
    let zone_jobs = world.take_jobs(ZONE).await;
    assert_eq!(zone_jobs.len(), 1, "the zone has its own queue");
    assert_eq!(zone_jobs[0].job.action, JobAction::Patch);
    world.work(&zone_jobs).await;
    world.drain().await;

    for holder in [ZONE, "DEMO_A", "DEMO_C"] {
        let record = world.record(holder, "p-ada").expect("still there");
        assert_eq!(record["expiry_date"], "2031-06-30Z", "{holder}");
        assert_eq!(record["purge_date"], "2031-06-30Z", "{holder}");
    }
    assert_eq!(world.record("DEMO_B", "p-ada"), None, "no copy made");
    let overview = ada_page(&world).await;
    assert_eq!(
        results_of(&overview, &entry.id),
        [ZONE, "DEMO_A", "DEMO_C"]
            .map(|i| (i.to_owned(), InstitutionResult::Done))
            .to_vec()
    );
}

/// The zone passes its rename down to the copies itself: whichever of the
/// zone's job and a member's job runs first, every one ends done, and each
/// record is renamed once with nothing else changed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn change_primary_id_of_a_zone_patron_renames_the_zone_record_and_every_copy() {
    for zone_first in [true, false] {
        let world = World::demo().await;
        ada_from_the_zone(&world, &["DEMO_A", "DEMO_B", "DEMO_C"]).await;
        let before: Vec<_> = all_institutions()
            .iter()
            .map(|i| world.record(i.as_str(), "p-ada").expect("seeded"))
            .collect();
        let action = ConsoleAction::ChangePrimaryId {
            new_primary_id: id("p-ada-lovelace"),
        };
        let entry = on_ada(&world, action).await;
        if zone_first {
            let zone_jobs = world.take_jobs(ZONE).await;
            world.work(&zone_jobs).await;
        } else {
            let member_jobs = world.take_jobs("DEMO_B").await;
            world.work(&member_jobs).await;
        }
        world.drain().await;

        for (institution, before) in all_institutions().iter().zip(&before) {
            let institution = institution.as_str();
            assert_eq!(world.record(institution, "p-ada"), None, "{institution}");
            let after = world
                .record(institution, "p-ada-lovelace")
                .unwrap_or_else(|| panic!("{institution} renamed (zone first: {zone_first})"));
            let ignored = ["primary_id", "source_link_id"];
            assert_eq!(
                unstamped(&after, &ignored),
                unstamped(before, &ignored),
                "{institution}"
            );
        }
        let renamed = world
            .console
            .overview(&staff(), &id("p-ada-lovelace"))
            .await
            .unwrap();
        assert_eq!(
            results_of(&renamed, &entry.id),
            all_institutions()
                .iter()
                .map(|i| (i.to_string(), InstitutionResult::Done))
                .collect::<Vec<_>>(),
            "zone first: {zone_first}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_everywhere_of_a_zone_patron_deletes_the_zone_record_too() {
    let world = World::demo().await;
    ada_from_the_zone(&world, &["DEMO_B"]).await;
    let entry = on_ada(&world, ConsoleAction::DeleteEverywhere).await;
    assert_eq!(entry.institutions, [ZONE, "DEMO_B"].map(code));
    world.drain().await;
    for institution in all_institutions() {
        assert_eq!(world.record(institution.as_str(), "p-ada"), None);
    }
}

/// Re-running the distribution of a zone patron links her into every member,
/// as the zone's creation webhook would have.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redistributing_a_zone_patron_links_her_into_every_member() {
    let world = World::demo().await;
    ada_from_the_zone(&world, &["DEMO_A"]).await;
    let entry = on_ada(&world, ConsoleAction::Redistribute).await;
    assert_eq!(entry.institutions, MEMBERS.map(code));
    assert!(world.take_jobs(ZONE).await.is_empty());
    world.drain().await;
    for member in MEMBERS {
        let copy = world.record(member, "p-ada").expect("linked");
        assert_eq!(copy["source_institution_code"]["value"], ZONE, "{member}");
    }
}

/// A librarian's newer change in DEMO_A (its webhook accepted while the
/// action waits on the queue) wins there: the action's job is skipped, and
/// the patron page says so instead of calling it done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_action_overtaken_by_a_newer_change_reports_it_as_stale() {
    let world = World::demo().await;
    ada_in_a_and_c(&world).await;
    let entry = on_ada(
        &world,
        ConsoleAction::SetExpiry {
            expiry_date: day(2031, 6, 30),
        },
    )
    .await;
    let later = chrono::Utc::now() + chrono::TimeDelta::hours(1);
    let edit = Job {
        event_id: "librarian-edit".to_owned(),
        institution: code("DEMO_C"),
        origin: code("DEMO_A"),
        action: JobAction::Upsert,
        primary_id: id("p-ada"),
        event_time: later,
        user: Some(ada("p-ada", json!({}))),
    };
    let receipt = EventReceipt {
        event_id: edit.event_id.clone(),
        institution: code("DEMO_A"),
        received_at: chrono::Utc::now(),
        keep_until: later,
    };
    world.store.accept(&receipt, &[edit]).await.unwrap();
    let before = world.record("DEMO_A", "p-ada").unwrap();
    world.drain().await;

    assert_eq!(world.record("DEMO_A", "p-ada").unwrap(), before);
    let overview = ada_page(&world).await;
    let results = results_of(&overview, &entry.id);
    assert!(
        matches!(&results[0], (institution, InstitutionResult::Refused { code, .. })
            if institution == "DEMO_A" && code == "STALE"),
        "{results:?}"
    );
    assert!(
        matches!(&results[1], (institution, InstitutionResult::Done) if institution == "DEMO_C"),
        "{results:?}"
    );
}
