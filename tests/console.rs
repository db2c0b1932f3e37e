//! End-to-end tests of the staff console in a real browser: headless Chromium,
//! driven through chromedriver, against the real `patron-hub serve` binary and
//! its Alma sandbox. The browser does what staff do (log in, search, open a
//! patron, confirm an action); the sandbox's records tell what Alma now holds.

mod support;

use reqwest::{redirect, Method, StatusCode};
use std::time::Duration;
use support::browser::Browser;
use support::*;

const ADMIN_PASSWORD: &str = "correct horse battery staple 42";
/// The member institutions of the demo network, and its network zone.
const MEMBERS: [&str; 3] = ["DEMO_A", "DEMO_B", "DEMO_C"];
const ZONE: &str = "DEMO_NETWORK";
/// Distribution and console actions go through the workers: this is plenty.
const SETTLE: Duration = Duration::from_secs(30);
/// A whole browser test; past this it fails instead of hanging.
const TEST_LIMIT: Duration = Duration::from_secs(240);

async fn server() -> DemoServer {
    DemoServer::start_with(&[("PATRON_HUB_DEMO_ADMIN_PASSWORD", ADMIN_PASSWORD)]).await
}

/// Runs one browser scenario within [`TEST_LIMIT`].
async fn bounded(scenario: impl std::future::Future<Output = ()>) {
    tokio::time::timeout(TEST_LIMIT, scenario)
        .await
        .unwrap_or_else(|_| panic!("the browser test took more than {TEST_LIMIT:?}"));
}

/// Logs in through the console's login form (English pages).
async fn log_in(browser: &Browser, s: &DemoServer) {
    browser
        .open(&format!("{}/console/login?lang=en", s.base))
        .await;
    browser.fill("input#user_name", "admin").await;
    browser.fill("input#password", ADMIN_PASSWORD).await;
    browser.click("main form button[type=submit]").await;
    assert_eq!(
        browser.path().await,
        "/console",
        "logged in, on the search page"
    );
    browser.find("input#q").await;
}

/// With `PATRON_HUB_UPDATE_DOCS=1`, copies a screenshot into `docs/`, where
/// the README shows it.
fn publish(screenshot: &std::path::Path) {
    if std::env::var("PATRON_HUB_UPDATE_DOCS").as_deref() != Ok("1") {
        return;
    }
    let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs");
    std::fs::create_dir_all(&docs).unwrap();
    let target = docs
        .canonicalize()
        .unwrap()
        .join(screenshot.file_name().unwrap());
    std::fs::copy(screenshot, &target).unwrap();
    println!("README image updated: {}", target.display());
}

/// An external reader created by a librarian in DEMO_A.
async fn reader_in_demo_a(s: &DemoServer, primary_id: &str) {
    s.librarian(
        Method::POST,
        "DEMO_A/users",
        Some(external_reader(primary_id)),
    )
    .await;
}

#[tokio::test]
async fn staff_find_a_patron_in_three_institutions_and_change_its_expiry_date_everywhere() {
    let browser = Browser::start().await;
    let s = server().await;
    bounded(async {
        log_in(&browser, &s).await;
        let id = "console-reader-1";
        reader_in_demo_a(&s, id).await;
        for institution in ["DEMO_B", "DEMO_C"] {
            s.user_eventually(institution, id).await;
        }
        for institution in MEMBERS {
            let user = sandbox_user(&s.http, &s.sandbox, institution, id)
                .await
                .unwrap();
            assert!(
                user["expiry_date"]
                    .as_str()
                    .unwrap()
                    .starts_with("2030-06-30"),
                "{institution} starts with the reader's expiry date: {user}"
            );
        }

        // Search by primary id: every institution answers on one card.
        browser.fill("input#q", id).await;
        browser.click("form[role=search] button[type=submit]").await;
        assert_eq!(browser.path().await, "/console/search");
        for institution in MEMBERS {
            browser
                .find(&format!(
                    r#"article.card li[data-institution="{institution}"] .state-present"#
                ))
                .await;
        }
        browser
            .find(&format!(
                r#"article.card li[data-institution="{ZONE}"] .state-absent"#
            ))
            .await;
        assert_eq!(
            browser.all("article.card").await.len(),
            1,
            "one patron found"
        );
        browser.screenshot("console-search.png").await;

        // The patron page: one row per institution, the three members present.
        browser.click("article.card h3 a").await;
        assert_eq!(browser.path().await, format!("/console/patrons/{id}"));
        for institution in MEMBERS {
            let row = browser.text(&format!("tr#institution-{institution}")).await;
            assert!(row.contains("2030-06-30"), "{institution}: {row}");
            browser
                .find(&format!("tr#institution-{institution} .state-present"))
                .await;
        }
        browser
            .find(&format!("tr#institution-{ZONE} .state-absent"))
            .await;

        // The expiry-date action, behind its confirmation page.
        browser.click(r#"a.button[href*="/actions/expiry"]"#).await;
        assert_eq!(
            browser.path().await,
            format!("/console/patrons/{id}/actions/expiry")
        );
        for institution in MEMBERS {
            browser
                .find(&format!(r#"li[data-institution="{institution}"]"#))
                .await;
        }
        browser.fill("input#expiry_date", "12/31/2031").await;
        let typed = browser.find("input#expiry_date").await.prop("value").await;
        assert_eq!(
            typed.unwrap().as_deref(),
            Some("2031-12-31"),
            "the date typed"
        );
        browser.click("main form button[type=submit]").await;
        assert_eq!(browser.path().await, format!("/console/patrons/{id}"));
        browser.find(r#"tr[id^="audit-"]"#).await;

        // The workers applied it: Alma's records changed in every institution.
        for institution in MEMBERS {
            eventually(
                &format!("the new expiry date in {institution}"),
                SETTLE,
                || async {
                    let user = sandbox_user(&s.http, &s.sandbox, institution, id).await?;
                    let day = |field: &str| user[field].as_str().unwrap_or("").to_owned();
                    (day("expiry_date").starts_with("2031-12-31")
                        && day("purge_date").starts_with("2031-12-31"))
                    .then_some(())
                },
            )
            .await;
        }

        // And the patron page says so, institution by institution.
        let done = r#"tr[id^="audit-"] li[data-institution] .result-done"#;
        eventually(
            "every institution done on the patron page",
            SETTLE,
            || async {
                browser
                    .open(&format!("{}/console/patrons/{id}?lang=en", s.base))
                    .await;
                (browser.all(done).await.len() == MEMBERS.len()).then_some(())
            },
        )
        .await;
        for institution in MEMBERS {
            let result = browser
                .text(&format!(
                    r#"tr[id^="audit-"] li[data-institution="{institution}"]"#
                ))
                .await;
            assert!(result.contains("done"), "{institution}: {result}");
            let row = browser.text(&format!("tr#institution-{institution}")).await;
            assert!(row.contains("2031-12-31"), "{institution} now: {row}");
        }
        let page = browser.screenshot("console-patron-page.png").await;
        publish(&page);
    })
    .await;
    browser.quit().await;
}

/// A patron of the network zone: the zone's webhook linked her into every
/// member; the console's expiry action changes the zone's own record (through
/// the zone's worker) and every linked copy.
#[tokio::test]
async fn the_expiry_of_a_network_zone_patron_changes_in_the_zone_and_every_member() {
    let browser = Browser::start().await;
    let s = server().await;
    bounded(async {
        log_in(&browser, &s).await;
        let id = "console-zone-patron-1";
        s.librarian(
            Method::POST,
            &format!("{ZONE}/users"),
            Some(external_reader(id)),
        )
        .await;
        for institution in MEMBERS {
            s.user_eventually(institution, id).await;
        }

        browser
            .open(&format!(
                "{}/console/patrons/{id}/actions/expiry?lang=en",
                s.base
            ))
            .await;
        for institution in std::iter::once(ZONE).chain(MEMBERS) {
            browser
                .find(&format!(r#"li[data-institution="{institution}"]"#))
                .await;
        }
        browser.fill("input#expiry_date", "12/31/2031").await;
        browser.click("main form button[type=submit]").await;
        assert_eq!(browser.path().await, format!("/console/patrons/{id}"));

        for institution in std::iter::once(ZONE).chain(MEMBERS) {
            eventually(
                &format!("the new expiry date in {institution}"),
                SETTLE,
                || async {
                    let user = sandbox_user(&s.http, &s.sandbox, institution, id).await?;
                    let day = user["expiry_date"].as_str().unwrap_or("").to_owned();
                    day.starts_with("2031-12-31").then_some(())
                },
            )
            .await;
        }
        let done = r#"tr[id^="audit-"] li[data-institution] .result-done"#;
        eventually("four institutions done", SETTLE, || async {
            browser
                .open(&format!("{}/console/patrons/{id}?lang=en", s.base))
                .await;
            (browser.all(done).await.len() == MEMBERS.len() + 1).then_some(())
        })
        .await;
        browser
            .find(&format!(
                r#"tr[id^="audit-"] li[data-institution="{ZONE}"] .result-done"#
            ))
            .await;
    })
    .await;
    browser.quit().await;
}

#[tokio::test]
async fn a_form_without_its_csrf_token_is_refused_and_a_logged_out_browser_is_sent_to_log_in() {
    let browser = Browser::start().await;
    let s = server().await;
    let no_redirects = reqwest::Client::builder()
        .redirect(redirect::Policy::none())
        .build()
        .unwrap();
    bounded(async {
        // Not logged in yet: a patron page leads to the login form.
        browser
            .open(&format!("{}/console/patrons/x?lang=en", s.base))
            .await;
        assert_eq!(browser.path().await, "/console/login");
        browser.find("input#password").await;

        log_in(&browser, &s).await;
        let id = "console-reader-2";
        reader_in_demo_a(&s, id).await;

        // The confirmation form, with its hidden token taken out before sending.
        browser
            .open(&format!(
                "{}/console/patrons/{id}/actions/expiry?lang=en",
                s.base
            ))
            .await;
        browser.fill("input#expiry_date", "12/31/2031").await;
        let removed = browser
            .execute(
                "const f = document.querySelectorAll('main form input[name=csrf]');\
                 f.forEach(e => e.remove()); return f.length;",
            )
            .await;
        assert_eq!(removed, 1, "the form had one token field");
        browser.click("main form button[type=submit]").await;
        assert_eq!(browser.heading().await, "Form expired");
        assert_eq!(
            browser.path().await,
            format!("/console/patrons/{id}/actions/expiry"),
            "the refusal is the answer to the POST, not a redirect"
        );
        // Nothing was done: no audit entry, DEMO_A's record unchanged.
        browser
            .open(&format!("{}/console/patrons/{id}?lang=en", s.base))
            .await;
        browser.find("tr#institution-DEMO_A .state-present").await;
        assert!(
            browser.all(r#"tr[id^="audit-"]"#).await.is_empty(),
            "no action was recorded"
        );
        let user = sandbox_user(&s.http, &s.sandbox, "DEMO_A", id)
            .await
            .unwrap();
        assert!(user["expiry_date"]
            .as_str()
            .unwrap()
            .starts_with("2030-06-30"));

        // The same session's cookie without a token, or with a wrong one: refused.
        let cookie = browser.cookie_header().await;
        assert!(
            cookie.contains("session"),
            "the browser holds a session: {cookie}"
        );
        let token = browser
            .find("form.logout input[name=csrf]")
            .await
            .attr("value")
            .await
            .unwrap()
            .unwrap();
        let logout = format!("{}/console/logout?lang=en", s.base);
        for form in [vec![], vec![("csrf", "0".repeat(token.len()))]] {
            let response = no_redirects
                .post(&logout)
                .header("cookie", &cookie)
                .form(&form)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "form {form:?}");
        }
        // Still signed in after the refused logouts.
        browser.open(&format!("{}/console?lang=en", s.base)).await;
        assert_eq!(browser.path().await, "/console");
        browser.find("input#q").await;

        // The real logout button; then the patron page leads to the login form.
        browser.click("form.logout button[type=submit]").await;
        assert_eq!(browser.path().await, "/console/login");
        browser
            .open(&format!("{}/console/patrons/{id}?lang=en", s.base))
            .await;
        assert_eq!(browser.path().await, "/console/login");
        browser.find("input#password").await;
        // The old session cookie is worth nothing now.
        let response = no_redirects
            .get(format!("{}/console/patrons/{id}", s.base))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert!(response.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/console/login"));
    })
    .await;
    browser.quit().await;
}

/// The Operations page after real work: a reader created in DEMO_A is
/// applied in DEMO_B, while DEMO_C answers every call with a 500; the page
/// charts both, drawn by the server (the browser runs no script).
#[tokio::test]
async fn staff_see_the_operations_of_each_institution_charted() {
    let browser = Browser::start().await;
    let s = server().await;
    bounded(async {
        s.faults(serde_json::json!({"institution": "DEMO_C", "error_rate": 1.0}))
            .await;
        log_in(&browser, &s).await;
        reader_in_demo_a(&s, "operations-reader-1").await;
        s.user_eventually("DEMO_B", "operations-reader-1").await;

        let charted = |institution: &'static str, series: &'static str| {
            let (browser, base) = (&browser, s.base.clone());
            async move {
                browser
                    .open(&format!("{base}/console/operations?lang=en"))
                    .await;
                let css = format!(r#"section[data-institution="{institution}"] svg rect.{series}"#);
                (!browser.all(&css).await.is_empty()).then_some(())
            }
        };
        eventually("DEMO_B's applied job charted", SETTLE, || {
            charted("DEMO_B", "series-1")
        })
        .await;
        eventually("DEMO_C's 500 answers charted", SETTLE, || {
            charted("DEMO_C", "series-2")
        })
        .await;
        assert_eq!(browser.path().await, "/console/operations");
        let totals = browser
            .text(r#"section[data-institution="DEMO_B"] table"#)
            .await;
        assert!(totals.contains("Applied"), "{totals}");
        assert_eq!(
            browser
                .all(r#"section[data-institution="DEMO_B"] svg"#)
                .await
                .len(),
            3,
            "jobs, lag and Alma answers"
        );
        assert!(browser.all("script").await.is_empty(), "no script at all");
        let page = browser.screenshot("console-operations.png").await;
        publish(&page);
    })
    .await;
    browser.quit().await;
}
