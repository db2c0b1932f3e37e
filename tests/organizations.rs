//! End-to-end tests of organizations, memberships and the daily rollover over
//! real HTTP against `patron-hub serve`, and of `patron-hub rollover` on the
//! same data folder.

mod support;

use chrono::{Days, NaiveDate, Utc};
use reqwest::Method;
use serde_json::{json, Value};
use std::process::Command;
use support::*;

const ADMIN_PASSWORD: &str = "correct horse battery staple 42";
const MEMBER_PASSWORD: &str = "a member's long pass phrase";

async fn admin_session(s: &DemoServer) -> String {
    let (status, session) = login(s, "admin", ADMIN_PASSWORD).await;
    assert_eq!(status, 201, "{session}");
    session["token"].as_str().unwrap().to_owned()
}

/// `patron-hub rollover` on the server's data folder; its summary.
fn rollover(s: &DemoServer, date: NaiveDate) -> Value {
    let output = Command::new(BINARY)
        .args([
            "rollover",
            "--data",
            s.data.to_str().unwrap(),
            "--date",
            &date.to_string(),
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[tokio::test]
async fn a_club_takes_a_member_exports_its_list_and_rolls_over_once_a_year() {
    let s = DemoServer::start_with(&[("PATRON_HUB_DEMO_ADMIN_PASSWORD", ADMIN_PASSWORD)]).await;
    let admin = admin_session(&s).await;
    let new = json!({"user_name": "m.curie", "email": "marie.curie@example.org", "first_name": "Marie",
                     "last_name": "Curie", "password": MEMBER_PASSWORD, "mail": "none"});
    let (status, member, _) = call(&s, Method::POST, "/accounts", Some(&admin), Some(new)).await;
    assert_eq!(status, 201, "{member}");
    let member_id = member["id"].as_str().unwrap().to_owned();

    // A club whose yearly window opened 10 days ago.
    let today = Utc::now().date_naive();
    let start = today - Days::new(10);
    let club = json!({"name": "Club de lecture", "require_memberships": true,
                      "membership_start": start, "membership_end": start + Days::new(395),
                      "membership_duration": 396, "membership_fee_paid": 500, "membership_fee_unpaid": 300});
    let (status, club, _) =
        call(&s, Method::POST, "/organizations", Some(&admin), Some(club)).await;
    assert_eq!(status, 201, "{club}");
    let club_id = club["id"].as_str().unwrap().to_owned();

    // The member joins with the export role; the fee is the unpaid one.
    let join = json!({"person": member_id, "roles": ["ORGANIZATION:EXPORT"]});
    let path = format!("/organizations/{club_id}/members");
    let (status, membership, _) = call(&s, Method::POST, &path, Some(&admin), Some(join)).await;
    assert_eq!(status, 201, "{membership}");
    assert_eq!(membership["fee"], 300);

    // The member reads their memberships in the seed's HAL shape, and exports the list.
    let (status, session) = login(&s, "m.curie", MEMBER_PASSWORD).await;
    assert_eq!(status, 201);
    let token = session["token"].as_str().unwrap();
    let (status, listing, _) = call(
        &s,
        Method::GET,
        &format!("/people/{member_id}/memberships"),
        Some(token),
        None,
    )
    .await;
    assert_eq!(status, 200, "{listing}");
    assert_eq!(
        (listing["page"].as_u64(), listing["total"].as_u64()),
        (Some(1), Some(1))
    );
    let item = &listing["_embedded"]["items"][0];
    assert_ne!(
        item["id"],
        member_id.as_str(),
        "a membership has its own id"
    );
    assert_eq!(item["roles"], json!(["ORGANIZATION:EXPORT"]));
    assert_eq!(
        item["_links"]["organization"]["iriTemplate"]["mapping"]["organization"],
        club_id.as_str()
    );
    let csv = s
        .http
        .get(format!("{}/organizations/{club_id}/members.csv", s.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(csv
        .text()
        .await
        .unwrap()
        .contains("marie.curie@example.org"));
    let (status, _, _) = call(
        &s,
        Method::GET,
        &format!("/organizations/{club_id}/statistics"),
        Some(token),
        None,
    )
    .await;
    assert_eq!(status, 403, "exporting is not analysing");

    // A year later the window moves forward once, however often the rollover runs that day.
    let year_later = start + Days::new(366);
    let (dry, first, second) = {
        let dry = Command::new(BINARY)
            .args([
                "rollover",
                "--data",
                s.data.to_str().unwrap(),
                "--date",
                &year_later.to_string(),
                "--dry-run",
            ])
            .output()
            .unwrap();
        (
            serde_json::from_slice::<Value>(&dry.stdout).unwrap(),
            rollover(&s, year_later),
            rollover(&s, year_later),
        )
    };
    assert_eq!(dry["organizations_rolled"], 1);
    assert_eq!(first["organizations_rolled"], 1, "{first}");
    assert_eq!(second["organizations_rolled"], 0, "{second}");
    // A run for a day a year on finds today's sessions over, and purges them.
    assert_eq!(first["sessions_purged"], 2, "{first}");
    let admin = admin_session(&s).await;
    let (_, club, _) = call(
        &s,
        Method::GET,
        &format!("/organizations/{club_id}"),
        Some(&admin),
        None,
    )
    .await;
    let moved = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap();
    let moved = club["membership_start"]
        .as_str()
        .map(|d| d.parse().unwrap())
        .unwrap_or(moved);
    assert_eq!(moved, patron_hub_domain::organizations::next_year(start));

    // An expiry date in the past is refused (issue 11, 5.5); an account past
    // its expiry date becomes inactive and can no longer log in.
    let expire = |day: NaiveDate| json!({"expires_on": day.to_string()});
    let account_path = format!("/accounts/{member_id}");
    let yesterday = today - Days::new(1);
    let (status, refused, _) = call(
        &s,
        Method::PATCH,
        &account_path,
        Some(&admin),
        Some(expire(yesterday)),
    )
    .await;
    assert_eq!(status, 422, "{refused}");
    let (status, _, _) = call(
        &s,
        Method::PATCH,
        &account_path,
        Some(&admin),
        Some(expire(today)),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(rollover(&s, today)["accounts_deactivated"], 0);
    let admin = {
        let deactivated = rollover(&s, today + Days::new(1));
        assert_eq!(deactivated["accounts_deactivated"], 1, "{deactivated}");
        // That run found today's sessions over too.
        admin_session(&s).await
    };
    let (_, account, _) = call(
        &s,
        Method::GET,
        &format!("/accounts/{member_id}"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(account["state"], "inactive");
    assert_eq!(login(&s, "m.curie", MEMBER_PASSWORD).await.0, 401);
}
