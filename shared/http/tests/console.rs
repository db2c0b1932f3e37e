//! The staff console router in-process (`tower::ServiceExt::oneshot`) over
//! real parts: SQLite for every port, the Alma sandbox on a loopback port
//! through the real Alma client, real account sessions, and the distributor's
//! workers when an action has to be carried out.

mod common;
mod console_support;

use axum::body::Body;
use axum::http::header::{CONTENT_TYPE, COOKIE};
use axum::http::{Method, Request, StatusCode};
use chrono::Utc;
use common::PASSWORD;
use console_support::*;
use patron_hub_alma_sandbox::Faults;
use patron_hub_domain::distribution::FailureReason;
use patron_hub_domain::operations::{OperationsLog, Tally};
use patron_hub_domain::ports::JobQueue;
use patron_hub_domain::{Job, JobAction, PrimaryId};
use patron_hub_http::client_address::ClientAddress;
use std::net::IpAddr;

const ADA: &str = "ADA-0001";

/// The `<tr>` of an institution on the patron page.
fn institution_row<'p>(page: &'p str, institution: &str) -> &'p str {
    let start = page
        .find(&format!(r#"<tr id="institution-{institution}">"#))
        .unwrap_or_else(|| panic!("no row for {institution}"));
    let end = page[start..].find("</tr>").unwrap();
    &page[start..start + end]
}

/// The `<li>` an institution has in a list of the page (search card, audit).
fn institution_items<'p>(page: &'p str, institution: &str) -> Vec<&'p str> {
    let marker = format!(r#"<li data-institution="{institution}">"#);
    page.match_indices(&marker)
        .map(|(start, _)| {
            let end = page[start..].find("</li>").unwrap();
            &page[start..start + end]
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_sets_the_session_cookie_as_the_accounts_api_does_and_opens_the_console() {
    let desk = Desk::start().await;
    desk.account("desk", &["NETWORK_STAFF"]).await;
    let form = desk.get("/console/login", None).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains(r#"<html lang="fr">"#));
    assert!(form.body.contains(r#"<label for="user_name">"#));
    assert!(form.body.contains(r#"<label for="password">"#));
    let pre_session = form.set_cookie("patron_hub_console_login").unwrap();
    for attribute in ["; Path=/", "; HttpOnly", "; SameSite=Strict"] {
        assert!(pre_session.contains(attribute), "{pre_session}");
    }

    let answer = desk.log_in("desk", PASSWORD).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    assert_eq!(answer.location(), "/console");
    let session = answer.set_cookie("patron_hub_session").unwrap();
    for attribute in ["; Path=/", "; HttpOnly", "; SameSite=Strict", "; Max-Age="] {
        assert!(session.contains(attribute), "{session}");
    }
    assert!(
        !session.contains("Secure"),
        "plain HTTP on localhost: {session}"
    );
    let used_form = answer.set_cookie("patron_hub_console_login").unwrap();
    assert!(used_form.contains("Max-Age=0"), "{used_form}");

    let cookie = answer.cookie_pair("patron_hub_session").unwrap();
    let home = desk.get("/console", Some(&cookie)).await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.body);
    assert!(home.body.contains(r#"<label for="q">"#));
    assert!(home.body.contains("<strong>desk</strong>"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_https_both_cookies_are_host_prefixed_and_secure() {
    let desk = Desk::at("https://hub.example.org").await;
    desk.account("desk", &["SUPER_ADMIN"]).await;
    let form = desk.get("/console/login", None).await;
    let pre_session = form.set_cookie("__Host-patron_hub_console_login").unwrap();
    assert!(pre_session.contains("; Secure"), "{pre_session}");
    let pre_session = form.cookie_pair("__Host-patron_hub_console_login").unwrap();
    let answer = desk
        .post(
            "/console/login",
            Some(&pre_session),
            &[
                ("user_name", "desk"),
                ("password", PASSWORD),
                ("csrf", &form.csrf()),
            ],
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let session = answer.set_cookie("__Host-patron_hub_session").unwrap();
    for attribute in ["; Path=/", "; HttpOnly", "; SameSite=Strict", "; Secure"] {
        assert!(session.contains(attribute), "{session}");
    }
    assert!(answer.set_cookie("patron_hub_session").is_none());

    let cookie = answer.cookie_pair("__Host-patron_hub_session").unwrap();
    assert_eq!(
        desk.get("/console", Some(&cookie)).await.status,
        StatusCode::OK
    );
    let unprefixed = cookie.trim_start_matches("__Host-");
    let answer = desk.get("/console", Some(unprefixed)).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "the name counts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_shows_the_form_again_without_a_session() {
    let desk = Desk::start().await;
    desk.account("desk", &["NETWORK_STAFF"]).await;
    let answer = desk.log_in("desk", "not the password").await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert!(answer
        .body
        .contains("Nom d&#39;utilisateur ou mot de passe incorrect."));
    assert!(
        answer.body.contains(r#"value="desk""#),
        "the user name is kept"
    );
    assert!(answer.set_cookie("patron_hub_session").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_form_without_its_token_its_cookie_or_its_origin_is_refused() {
    let desk = Desk::start().await;
    desk.account("desk", &["NETWORK_STAFF"]).await;
    let form = desk.get("/console/login", None).await;
    let pre_session = form.cookie_pair("patron_hub_console_login").unwrap();
    let other_form = desk.get("/console/login", None).await;
    let csrf = form.csrf();
    let fields = |csrf: &str| {
        vec![
            ("user_name".to_owned(), "desk".to_owned()),
            ("password".to_owned(), PASSWORD.to_owned()),
            ("csrf".to_owned(), csrf.to_owned()),
        ]
    };
    let attempts = [
        (Some(pre_session.clone()), fields("")),
        (Some(pre_session.clone()), fields(&other_form.csrf())),
        (None, fields(&csrf)),
        (
            other_form.cookie_pair("patron_hub_console_login"),
            fields(&csrf),
        ),
    ];
    for (cookie, fields) in attempts {
        let fields: Vec<(&str, &str)> = fields
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let answer = desk
            .post("/console/login", cookie.as_deref(), &fields)
            .await;
        assert_eq!(
            answer.status,
            StatusCode::FORBIDDEN,
            "{cookie:?} {fields:?}"
        );
        assert!(answer.body.contains("Formulaire expiré"));
        assert!(answer.set_cookie("patron_hub_session").is_none());
    }

    let cross_site = Request::builder()
        .method(Method::POST)
        .uri("/console/login")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(COOKIE, &pre_session)
        .header("sec-fetch-site", "cross-site")
        .body(Body::from(form_fields(&[
            ("user_name", "desk"),
            ("password", PASSWORD),
            ("csrf", &csrf),
        ])))
        .unwrap();
    let answer = desk.send(cross_site).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(answer.set_cookie("patron_hub_session").is_none());

    let answer = desk.log_in("desk", PASSWORD).await;
    assert_eq!(
        answer.status,
        StatusCode::SEE_OTHER,
        "the right form still works"
    );
}

fn form_fields(fields: &[(&str, &str)]) -> String {
    console_support::form(fields)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logged_out_browser_is_sent_to_the_login_page() {
    let desk = Desk::start().await;
    let pages = [
        "/console",
        "/console/search?q=ADA",
        "/console/patrons/ADA-0001",
        "/console/patrons/ADA-0001/actions/delete",
        "/console/dead-letters",
        "/console/operations",
    ];
    for cookie in [None, Some("patron_hub_session=not-a-session")] {
        for page in pages {
            let answer = desk.get(page, cookie).await;
            assert_eq!(answer.status, StatusCode::SEE_OTHER, "{page} {cookie:?}");
            assert_eq!(answer.location(), "/console/login", "{page}");
        }
        for form in [
            "/console/patrons/ADA-0001/actions/expiry",
            "/console/dead-letters/replay",
            "/console/dead-letters/replay-all",
            "/console/logout",
        ] {
            let answer = desk.post(form, cookie, &[("csrf", "x")]).await;
            assert_eq!(answer.status, StatusCode::SEE_OTHER, "{form} {cookie:?}");
            assert_eq!(answer.location(), "/console/login", "{form}");
        }
    }
    let answer = desk.get("/console/dead-letters?lang=en", None).await;
    assert_eq!(answer.location(), "/console/login?lang=en");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_without_a_staff_role_gets_403() {
    let desk = Desk::start().await;
    desk.account("reader", &[]).await;
    let answer = desk.log_in("reader", PASSWORD).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.body);
    assert!(answer.body.contains("réservée au personnel du réseau"));
    assert!(answer.set_cookie("patron_hub_session").is_none());

    // A session opened elsewhere (the accounts API) does not open the console.
    let (session, _) = desk.accounts.login("reader", PASSWORD).await.unwrap();
    let cookie = format!("patron_hub_session={}", session.expose());
    for page in [
        "/console",
        "/console/search?q=ADA",
        "/console/dead-letters",
        "/console/operations",
    ] {
        let answer = desk.get(page, Some(&cookie)).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{page}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_finds_a_patron_present_in_three_institutions() {
    let desk = Desk::start().await;
    let cookie = desk.staff_cookie().await;
    desk.patron_everywhere(ADA).await;

    let answer = desk
        .get(&format!("/console/search?q={ADA}"), Some(&cookie))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body.matches(r#"<article class="card""#).count(), 1);
    assert!(answer.body.contains(&format!(
        r#"<a href="/console/patrons/{ADA}">{ADA}</a> — Ada Lovelace"#
    )));
    for member in MEMBERS {
        let items = institution_items(&answer.body, member);
        assert_eq!(items.len(), 1, "{member}");
        assert!(
            items[0].contains(r#"<span class="state-present">présent</span>"#),
            "{}",
            items[0]
        );
        assert!(items[0].contains("2026-12-31"), "{}", items[0]);
    }
    let zone = institution_items(&answer.body, ZONE);
    assert!(zone[0].contains("absent"), "{}", zone[0]);

    let nobody = desk.get("/console/search?q=NOBODY-9", Some(&cookie)).await;
    assert_eq!(nobody.status, StatusCode::OK);
    assert!(nobody.body.contains("Aucun lecteur trouvé."));
    assert!(!nobody.body.contains("<article"));

    let empty = desk.get("/console/search?q=+", Some(&cookie)).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.body.contains("Saisissez un identifiant principal"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_institution_that_does_not_answer_in_time_is_shown_as_unreachable() {
    let desk = Desk::start().await;
    let cookie = desk.staff_cookie().await;
    desk.patron_everywhere(ADA).await;
    let slow = Faults {
        latency_ms: 4_000,
        ..Faults::default()
    };
    desk.sandbox.sandbox.set_faults(Some("DEMO_B"), slow);

    let answer = desk
        .get(&format!("/console/search?q={ADA}"), Some(&cookie))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let b = institution_items(&answer.body, "DEMO_B");
    assert!(
        b[0].contains(r#"<span class="state-unreachable">injoignable</span>"#),
        "{}",
        b[0]
    );
    for member in ["DEMO_A", "DEMO_C"] {
        let items = institution_items(&answer.body, member);
        assert!(items[0].contains("state-present"), "{}", items[0]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_patron_page_shows_one_row_per_institution_and_every_action() {
    let desk = Desk::start().await;
    let cookie = desk.staff_cookie().await;
    desk.patron_everywhere(ADA).await;

    let answer = desk
        .get(&format!("/console/patrons/{ADA}"), Some(&cookie))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body.matches(r#"<tr id="institution-"#).count(), 4);
    for member in MEMBERS {
        let row = institution_row(&answer.body, member);
        for shown in [
            "présent",
            "local",
            "ACTIVE",
            "PEB",
            "2026-12-31",
            "2027-06-30",
        ] {
            assert!(row.contains(shown), "{member} lacks {shown}: {row}");
        }
    }
    let zone = institution_row(&answer.body, ZONE);
    assert!(
        zone.contains("absent") && zone.contains("zone réseau"),
        "{zone}"
    );
    for action in ["delete", "expiry", "primary-id", "redistribute"] {
        let link = format!(r#"href="/console/patrons/{ADA}/actions/{action}""#);
        assert!(answer.body.contains(&link), "{link}");
    }
    assert!(answer.body.contains("Aucune action sur ce lecteur."));
}

/// The confirmation page of `action` and its CSRF token.
async fn confirmation(desk: &Desk, cookie: &str, action: &str) -> Reply {
    let page = desk
        .get(
            &format!("/console/patrons/{ADA}/actions/{action}"),
            Some(cookie),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_without_its_token_or_from_another_site_is_refused_and_changes_nothing() {
    let desk = Desk::start().await;
    let cookie = desk.staff_cookie().await;
    desk.patron_everywhere(ADA).await;
    let right = confirmation(&desk, &cookie, "expiry").await.csrf();
    desk.account("other", &["NETWORK_STAFF"]).await;
    let other = desk
        .log_in("other", PASSWORD)
        .await
        .cookie_pair("patron_hub_session")
        .unwrap();
    let others_token = desk.get("/console", Some(&other)).await.csrf();
    assert_ne!(others_token, right);

    let uri = format!("/console/patrons/{ADA}/actions/expiry");
    let zeros = "0".repeat(64);
    let wrong_tokens = [
        vec![("expiry_date", "2027-06-30")],
        vec![("expiry_date", "2027-06-30"), ("csrf", "")],
        vec![("expiry_date", "2027-06-30"), ("csrf", zeros.as_str())],
        vec![
            ("expiry_date", "2027-06-30"),
            ("csrf", others_token.as_str()),
        ],
    ];
    for fields in &wrong_tokens {
        let answer = desk.post(&uri, Some(&cookie), fields).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{fields:?}");
        assert!(answer.body.contains("Formulaire expiré"), "{}", answer.body);
        assert!(answer.body.contains("rien n&#39;a été modifié"));
    }
    let fields = [("expiry_date", "2027-06-30"), ("csrf", right.as_str())];
    let foreign = [
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
        ("origin", "https://evil.example"),
    ];
    for (header, value) in foreign {
        let mut request = post(&uri, Some(&cookie), &fields);
        request.headers_mut().remove("sec-fetch-site");
        request.headers_mut().insert(header, value.parse().unwrap());
        let answer = desk.send(request).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{header}: {value}");
    }

    for member in MEMBERS {
        assert!(desk.take_jobs(member).await.is_empty(), "{member}");
    }
    let patron = desk
        .get(&format!("/console/patrons/{ADA}"), Some(&cookie))
        .await;
    assert!(patron.body.contains("Aucune action sur ce lecteur."));

    // The same form, from the console's own origin, goes through.
    let mut request = post(&uri, Some(&cookie), &fields);
    request
        .headers_mut()
        .insert("origin", "http://localhost:8080".parse().unwrap());
    assert_eq!(desk.send(request).await.status, StatusCode::SEE_OTHER);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setting_the_expiry_date_queues_one_patch_per_institution_holding_the_patron() {
    let desk = Desk::start().await;
    let cookie = desk.staff_cookie().await;
    desk.patron_everywhere(ADA).await;

    let page = confirmation(&desk, &cookie, "expiry").await;
    assert!(page.body.contains(r#"<label for="expiry_date">"#));
    assert!(page.body.contains(
        r#"<input id="expiry_date" name="expiry_date" type="date" required value="2026-12-31""#
    ));
    for member in MEMBERS {
        assert_eq!(institution_items(&page.body, member).len(), 1, "{member}");
    }
    assert!(page
        .body
        .contains(&format!("Aucun changement dans : {ZONE}")));

    let answer = desk
        .post(
            &format!("/console/patrons/{ADA}/actions/expiry"),
            Some(&cookie),
            &[("csrf", &page.csrf()), ("expiry_date", "2027-06-30")],
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    assert_eq!(answer.location(), format!("/console/patrons/{ADA}"));

    let mut event_ids = Vec::new();
    for member in MEMBERS {
        let jobs = desk.take_jobs(member).await;
        assert_eq!(jobs.len(), 1, "{member}");
        let job = &jobs[0].job;
        assert_eq!(job.action, JobAction::Patch);
        assert_eq!(job.primary_id.as_str(), ADA);
        let fields = &job.user.as_ref().unwrap().0;
        assert_eq!(fields["expiry_date"], "2027-06-30Z");
        assert_eq!(fields["purge_date"], "2027-06-30Z");
        event_ids.push(job.event_id.clone());
    }
    assert!(desk.take_jobs(ZONE).await.is_empty());
    event_ids.dedup();
    assert_eq!(
        event_ids.len(),
        1,
        "one action, one event id: {event_ids:?}"
    );

    let patron = desk
        .get(&format!("/console/patrons/{ADA}"), Some(&cookie))
        .await;
    assert!(patron
        .body
        .contains(&format!(r#"<tr id="audit-{}">"#, event_ids[0])));
    assert!(patron
        .body
        .contains("Changer la date d&#39;expiration partout → 2027-06-30"));
    for member in MEMBERS {
        let results = institution_items(&patron.body, member);
        assert!(
            results[0].contains("en file d&#39;attente"),
            "{}",
            results[0]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_the_workers_ran_the_audit_shows_each_institutions_result() {
    let desk = Desk::start().await;
    let cookie = desk.staff_cookie().await;
    desk.patron_everywhere(ADA).await;
    let page = confirmation(&desk, &cookie, "expiry").await;
    let answer = desk
        .post(
            &format!("/console/patrons/{ADA}/actions/expiry?lang=en"),
            Some(&cookie),
            &[("csrf", &page.csrf()), ("expiry_date", "2027-09-30")],
        )
        .await;
    assert_eq!(answer.location(), format!("/console/patrons/{ADA}?lang=en"));
    desk.drain().await;

    let patron = desk.get(answer.location(), Some(&cookie)).await;
    for member in MEMBERS {
        let results = institution_items(&patron.body, member);
        assert!(
            results[0].contains(r#"<span class="result-done">done</span>"#),
            "{}",
            results[0]
        );
        let row = institution_row(&patron.body, member);
        assert!(row.contains("2027-09-30"), "{row}");
        let record = desk.sandbox.sandbox.user(member, ADA).unwrap();
        assert_eq!(record["expiry_date"], "2027-09-30Z", "{member}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_date_or_primary_id_shows_the_form_again_and_queues_nothing() {
    let desk = Desk::start().await;
    let cookie = desk.staff_cookie().await;
    desk.patron_everywhere(ADA).await;
    let csrf = confirmation(&desk, &cookie, "expiry").await.csrf();
    let cases = [
        (
            "expiry",
            "expiry_date",
            "31/12/2027",
            "Saisissez une date valide",
        ),
        ("primary-id", "new_primary_id", "A/B", "sans « / »"),
        (
            "primary-id",
            "new_primary_id",
            ADA,
            "celui que le lecteur a déjà",
        ),
    ];
    for (action, field, value, problem) in cases {
        let answer = desk
            .post(
                &format!("/console/patrons/{ADA}/actions/{action}"),
                Some(&cookie),
                &[("csrf", &csrf), (field, value)],
            )
            .await;
        assert_eq!(
            answer.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{action} {value}"
        );
        assert!(answer.body.contains(problem), "{}", answer.body);
        assert!(answer.body.contains(&format!(r#"name="{field}""#)));
    }
    for member in MEMBERS {
        assert!(desk.take_jobs(member).await.is_empty(), "{member}");
    }
}

/// Puts a job for `ADA` on `institution`'s queue and gives it up at once.
async fn dead_letter(desk: &Desk, institution: &str, code_text: &str) {
    let job = Job {
        event_id: format!("evt-{institution}"),
        institution: code(institution),
        origin: code("DEMO_A"),
        action: JobAction::Delete,
        primary_id: PrimaryId::parse(ADA).unwrap(),
        event_time: Utc::now(),
        user: None,
    };
    desk.store.enqueue(&[job]).await.unwrap();
    let delivery = desk.take_jobs(institution).await.pop().unwrap();
    let reason = FailureReason {
        code: code_text.to_owned(),
        message: "User has loans <and fees>".to_owned(),
    };
    desk.store
        .dead_letter(&delivery, &reason, 1, Utc::now())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_are_listed_and_replayed_one_or_all() {
    let desk = Desk::start().await;
    let cookie = desk.staff_cookie().await;
    dead_letter(&desk, "DEMO_B", "401861").await;
    let stored = desk.store.dead_letters(&code("DEMO_B")).await.unwrap();

    let page = desk.get("/console/dead-letters", Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page
        .body
        .contains("<code>401861</code> User has loans &lt;and fees&gt;"));
    assert!(page
        .body
        .contains(&format!("<td>{}</td>", stored[0].attempts)));
    assert!(page
        .body
        .contains(&format!(r#"<a href="/console/patrons/{ADA}">"#)));
    assert!(page.body.contains(r#"<th scope="row">DEMO_B</th>"#));

    let answer = desk
        .post(
            "/console/dead-letters/replay",
            Some(&cookie),
            &[
                ("csrf", &page.csrf()),
                ("institution", "DEMO_B"),
                ("id", &stored[0].id),
            ],
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    assert_eq!(answer.location(), "/console/dead-letters?replayed=1");
    assert!(desk
        .store
        .dead_letters(&code("DEMO_B"))
        .await
        .unwrap()
        .is_empty());
    let back = desk.take_jobs("DEMO_B").await;
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].job.event_id, "evt-DEMO_B");
    let page = desk.get(answer.location(), Some(&cookie)).await;
    assert!(page.body.contains("Travaux remis en file : 1"));
    assert!(page.body.contains("Aucun travail en échec."));

    dead_letter(&desk, "DEMO_A", "60101").await;
    dead_letter(&desk, "DEMO_C", "RETRIES_EXHAUSTED").await;
    let page = desk.get("/console/dead-letters", Some(&cookie)).await;
    assert_eq!(page.body.matches(r#"<th scope="row">"#).count(), 2);
    let answer = desk
        .post(
            "/console/dead-letters/replay-all",
            Some(&cookie),
            &[("csrf", &page.csrf())],
        )
        .await;
    assert_eq!(answer.location(), "/console/dead-letters?replayed=2");
    for member in ["DEMO_A", "DEMO_C"] {
        assert!(desk
            .store
            .dead_letters(&code(member))
            .await
            .unwrap()
            .is_empty());
        assert_eq!(desk.take_jobs(member).await.len(), 1, "{member}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_are_in_french_or_in_english() {
    let desk = Desk::start().await;
    let cookie = desk.staff_cookie().await;

    let french = desk.get("/console", Some(&cookie)).await;
    assert!(french.body.contains(r#"<html lang="fr">"#));
    assert!(french.body.contains("<h1>Rechercher un lecteur</h1>"));
    assert!(french
        .body
        .contains("Identifiant principal, code-barres ou adresse e-mail"));
    assert!(french
        .body
        .contains(r#"href="/console?lang=en" hreflang="en""#));

    let english = desk.get("/console?lang=en", Some(&cookie)).await;
    assert!(english.body.contains(r#"<html lang="en">"#));
    assert!(english.body.contains("<h1>Find a patron</h1>"));
    assert!(english
        .body
        .contains(r#"<label for="q">Primary id, barcode or e-mail address</label>"#));
    assert!(english
        .body
        .contains(r#"href="/console/dead-letters?lang=en""#));
    assert!(english.body.contains(r#"action="/console/logout?lang=en""#));
    assert!(english
        .body
        .contains(r#"<input type="hidden" name="lang" value="en">"#));
    assert!(english
        .body
        .contains(r#"href="/console?lang=fr" hreflang="fr""#));

    let mut preferred = get("/console/dead-letters", Some(&cookie));
    preferred.headers_mut().insert(
        "accept-language",
        "en-GB,en;q=0.9,fr;q=0.5".parse().unwrap(),
    );
    let preferred = desk.send(preferred).await;
    assert!(preferred.body.contains(r#"<html lang="en">"#));
    assert!(preferred.body.contains("<h1>Dead letters</h1>"));
    assert!(
        preferred.body.contains(r#"href="/console/dead-letters""#),
        "the header keeps it"
    );

    let login = desk.get("/console/login?lang=en", None).await;
    assert!(login
        .body
        .contains(r#"<label for="user_name">User name</label>"#));
    assert!(login.body.contains(r#"action="/console/login?lang=en""#));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_has_the_security_headers_and_every_value_is_escaped() {
    let desk = Desk::start().await;
    let cookie = desk.staff_cookie().await;
    let answers = [
        desk.get("/console/login", None).await,
        desk.get("/console", None).await,
        desk.get("/console", Some(&cookie)).await,
        desk.get("/console/style.css", None).await,
    ];
    for answer in &answers {
        let csp = answer.header("content-security-policy");
        assert!(csp.contains("default-src 'self'"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(csp.contains("script-src 'none'"), "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(answer.header("x-content-type-options"), "nosniff");
        assert_eq!(answer.header("referrer-policy"), "same-origin");
    }
    assert_eq!(answers[2].header("cache-control"), "no-store");
    assert!(!answers[2].body.contains("<script"), "no script at all");

    let typed = "%3Cimg%20src%3Dx%20onerror%3D%22alert(1)%22%3E%26%27";
    let answer = desk
        .get(&format!("/console/search?q={typed}"), Some(&cookie))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert!(!answer.body.contains("<img"), "{}", answer.body);
    let escaped = "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;&#39;";
    assert!(answer.body.contains(&format!(r#"value="{escaped}""#)));
    assert!(answer.body.contains(&format!("<q>{escaped}</q>")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logging_out_ends_the_session_and_needs_the_token() {
    let desk = Desk::start().await;
    let cookie = desk.staff_cookie().await;
    let csrf = desk.get("/console", Some(&cookie)).await.csrf();

    let refused = desk.post("/console/logout", Some(&cookie), &[]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(
        desk.get("/console", Some(&cookie)).await.status,
        StatusCode::OK
    );

    let answer = desk
        .post("/console/logout", Some(&cookie), &[("csrf", &csrf)])
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.location(), "/console/login");
    let removed = answer.set_cookie("patron_hub_session").unwrap();
    assert!(removed.contains("Max-Age=0"), "{removed}");
    let after = desk.get("/console", Some(&cookie)).await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    assert_eq!(after.location(), "/console/login");
}

/// The console's login form counts against its address's login limit (100
/// in 15 minutes, whatever user names it tries): past it, the form answers
/// 429 even to the right password, while another address still logs in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_is_stopped_after_100_console_logins() {
    let desk = Desk::start().await;
    desk.account("desk", &["NETWORK_STAFF"]).await;
    let from = |ip: [u8; 4]| ClientAddress(IpAddr::from(ip));
    let log_in = |user_name: String, address: ClientAddress| {
        let desk = &desk;
        async move {
            let form = desk.get("/console/login", None).await;
            let pre_session = form.cookie_pair("patron_hub_console_login").unwrap();
            let mut request = post(
                "/console/login",
                Some(&pre_session),
                &[
                    ("user_name", &user_name),
                    ("password", PASSWORD),
                    ("csrf", &form.csrf()),
                ],
            );
            request.extensions_mut().insert(address);
            desk.send(request).await
        }
    };
    let crowded = from([203, 0, 113, 7]);
    for attempt in 1..=100 {
        let answer = log_in(format!("guess-{attempt}"), crowded).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }
    let stopped = log_in("desk".to_owned(), crowded).await;
    assert_eq!(stopped.status, StatusCode::TOO_MANY_REQUESTS);
    // Issue 11, point 5.8: it says which limit, and when to come back.
    assert!(
        stopped
            .body
            .contains("Trop de connexions depuis cette adresse réseau"),
        "{}",
        stopped.body
    );
    assert_eq!(stopped.header("retry-after"), "900");
    let elsewhere = log_in("desk".to_owned(), from([198, 51, 100, 9])).await;
    assert_eq!(
        elsewhere.status,
        StatusCode::SEE_OTHER,
        "{}",
        elsewhere.body
    );
}

#[tokio::test]
async fn staff_see_the_last_reconciles_drift_and_repair_it_behind_a_confirmation() {
    let desk = Desk::start().await;
    let cookie = desk.staff_cookie().await;
    let page = desk.get("/console/drift?lang=en", Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("No reconcile has run yet."));

    // An external reader created through the API in DEMO_B only: a dry run finds it missing.
    let mut reader = ada("drift-1");
    reader.0.insert(
        "job_category".to_owned(),
        serde_json::json!({"value": "Exterieur"}),
    );
    desk.seed("DEMO_B", &reader).await;
    let dry = desk
        .reconciliation
        .start(
            patron_hub_domain::reconciliation::RunKind::Reconcile,
            true,
            None,
        )
        .await
        .unwrap();
    let dry = desk.reconciliation.finish(dry, |_| ()).await.unwrap();
    let page = desk.get("/console/drift?lang=en", Some(&cookie)).await;
    assert!(page.body.contains(&dry.id), "{}", page.body);
    assert!(page.body.contains("(dry run: nothing was changed)"));
    assert_eq!(page.body.matches(r#"data-kind="missing""#).count(), 2);
    assert!(page
        .body
        .contains(r#"<a href="/console/patrons/drift-1?lang=en">"#));
    let confirm_path = format!("/console/drift/repair?run={}&amp;lang=en", dry.id);
    assert!(page.body.contains(&confirm_path), "{}", page.body);

    let confirmation = desk
        .get(&confirm_path.replace("&amp;", "&"), Some(&cookie))
        .await;
    assert_eq!(confirmation.status, StatusCode::OK, "{}", confirmation.body);
    assert!(confirmation.body.contains("Repair (2)"));
    let refused = desk
        .post(
            "/console/drift/repair",
            Some(&cookie),
            &[("csrf", "forged"), ("run", &dry.id)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(
        desk.take_jobs("DEMO_A").await.is_empty(),
        "a refused form queues nothing"
    );

    let repaired = desk
        .post(
            "/console/drift/repair",
            Some(&cookie),
            &[("csrf", &confirmation.csrf()), ("run", &dry.id)],
        )
        .await;
    assert_eq!(repaired.status, StatusCode::SEE_OTHER, "{}", repaired.body);
    assert_eq!(repaired.location(), "/console/drift?repaired=1");
    desk.drain().await;
    for member in ["DEMO_A", "DEMO_C"] {
        assert!(
            desk.sandbox.sandbox.user(member, "drift-1").is_some(),
            "repaired into {member}"
        );
    }
    let page = desk.get(repaired.location(), Some(&cookie)).await;
    assert!(page.body.contains("Lecteurs réparés : 1"));
    assert!(
        !page.body.contains("/console/drift/repair?"),
        "nothing left to repair"
    );
    let patron = desk
        .get("/console/patrons/drift-1?lang=en", Some(&cookie))
        .await;
    assert!(
        patron.body.contains("Repair a difference"),
        "the audit log shows the repair: {}",
        patron.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_see_each_institutions_last_day_as_charts_and_totals() {
    let desk = Desk::start().await;
    let cookie = desk.staff_cookie().await;
    let demo_b = patron_hub_domain::InstitutionCode::parse("DEMO_B").unwrap();
    let now = Utc::now();
    let tallies = [
        Tally::Applied {
            lag: Some(std::time::Duration::from_secs(2)),
        },
        Tally::Applied {
            lag: Some(std::time::Duration::from_secs(40)),
        },
        Tally::DeadLettered,
        Tally::AlmaThrottled,
        Tally::AlmaFailed,
        Tally::AlmaFailed,
    ];
    for tally in tallies {
        desk.store.add(&demo_b, now, tally).await.unwrap();
    }
    // Older than the day shown: not counted.
    let old = now - chrono::TimeDelta::hours(25);
    desk.store
        .add(&demo_b, old, Tally::DeadLettered)
        .await
        .unwrap();

    let page = desk.get("/console/operations?lang=en", Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page
        .header("content-security-policy")
        .contains("script-src 'none'"));
    assert!(!page.body.contains("<script"));
    for code in ["DEMO_NETWORK", "DEMO_A", "DEMO_B", "DEMO_C"] {
        assert!(page.body.contains(&format!("<h2>{code}</h2>")), "{code}");
    }
    let demo_b_section = page.body.split("<h2>DEMO_B</h2>").nth(1).unwrap();
    let demo_b_section = demo_b_section.split("</section>").next().unwrap();
    assert!(
        demo_b_section
            .contains("<td>2</td><td>1</td><td>≤ 5 s</td><td>≤ 60 s</td><td>1</td><td>2</td>"),
        "DEMO_B's day: 2 applied, 1 dead-lettered, p50, p95, one 429, two 5xx: {demo_b_section}"
    );
    assert_eq!(demo_b_section.matches("<svg ").count(), 3, "three charts");
    // One bar each: applied, dead-lettered, p50, p95, 429, 5xx, in the last bucket.
    assert_eq!(demo_b_section.matches("<rect ").count(), 6);
    assert!(demo_b_section.contains(": Applied 2 jobs</title>"));
    let demo_a_section = page.body.split("<h2>DEMO_A</h2>").nth(1).unwrap();
    let demo_a_section = demo_a_section.split("</section>").next().unwrap();
    assert_eq!(
        demo_a_section.matches("<rect ").count(),
        0,
        "nothing in DEMO_A"
    );
    assert!(page.body.contains("Last reconciliation"));
    assert!(
        page.body.contains(r#"href="/console/operations?lang=en""#),
        "in the menu"
    );
}
