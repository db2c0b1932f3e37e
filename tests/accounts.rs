//! End-to-end tests of login accounts over real HTTP against `patron-hub serve`:
//! links are read from the `.eml` files of the outbox and followed, as a person
//! would.

mod support;

use patron_hub_mail::outbox;
use serde_json::{json, Value};
use support::*;

const ADMIN_PASSWORD: &str = "correct horse battery staple 42";

async fn server() -> DemoServer {
    DemoServer::start_with(&[("PATRON_HUB_DEMO_ADMIN_PASSWORD", ADMIN_PASSWORD)]).await
}

/// Follows the set-password link mailed to `email`, then logs in with the new password.
async fn accept_invitation(s: &DemoServer, email: &str, identifier: &str, password: &str) -> Value {
    let invite = mailed_token(s, email, "/password-reset/confirm");
    let confirmation = json!({"token": invite, "password": password});
    let (status, _, _) = call(
        s,
        reqwest::Method::POST,
        "/password-reset/confirm",
        None,
        Some(confirmation),
    )
    .await;
    assert_eq!(status, 200);
    let (status, session) = login(s, identifier, password).await;
    assert_eq!(status, 201, "{session}");
    session
}

#[tokio::test]
async fn a_patron_registers_activates_logs_in_and_resets_a_forgotten_password() {
    let s = server().await;
    let registration = json!({"email": "Zoe.Martin@Example.org", "first_name": "Zoé", "last_name": "Martin", "password": "a long enough pass phrase"});
    let (status, _, first) = call(
        &s,
        reqwest::Method::POST,
        "/accounts/registrations",
        None,
        Some(registration.clone()),
    )
    .await;
    assert_eq!(status, 202);
    // Pending: cannot log in yet.
    assert_eq!(
        login(&s, "zoe.martin@example.org", "a long enough pass phrase")
            .await
            .0,
        401
    );

    let token = mailed_token(&s, "zoe.martin@example.org", "/accounts/activate");
    let (status, _, _) = call(
        &s,
        reqwest::Method::POST,
        "/accounts/activation",
        None,
        Some(json!({"token": token, "password": "a long enough pass phrase"})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _, _) = call(
        &s,
        reqwest::Method::POST,
        "/accounts/activation",
        None,
        Some(json!({"token": token, "password": "a long enough pass phrase"})),
    )
    .await;
    assert_eq!(status, 400, "an activation link works once");

    // Registering the same address again answers exactly the same.
    let (status, _, again) = call(
        &s,
        reqwest::Method::POST,
        "/accounts/registrations",
        None,
        Some(registration),
    )
    .await;
    assert_eq!((status, again), (202, first));

    let (status, session) = login(&s, "zoe.martin@example.org", "a long enough pass phrase").await;
    assert_eq!(status, 201, "{session}");
    let old_session = session["token"].as_str().unwrap().to_owned();
    let (status, me, _) = call(
        &s,
        reqwest::Method::GET,
        "/accounts/me",
        Some(&old_session),
        None,
    )
    .await;
    assert_eq!(
        (status, me["email"].clone()),
        (200, json!("zoe.martin@example.org"))
    );
    assert!(me.get("password_hash").is_none());

    // Forgotten password: known and unknown addresses get byte-identical answers.
    let (known_status, _, known) = call(
        &s,
        reqwest::Method::POST,
        "/password-reset",
        None,
        Some(json!({"email": "zoe.martin@example.org"})),
    )
    .await;
    let (unknown_status, _, unknown) = call(
        &s,
        reqwest::Method::POST,
        "/password-reset",
        None,
        Some(json!({"email": "nobody@example.org"})),
    )
    .await;
    assert_eq!((known_status, &known), (unknown_status, &unknown));
    assert_eq!(known_status, 202);
    let reset = mailed_token(&s, "zoe.martin@example.org", "/password-reset/confirm");
    let (status, body, _) = call(
        &s,
        reqwest::Method::POST,
        "/password-reset/confirm",
        None,
        Some(json!({"token": reset, "password": "short"})),
    )
    .await;
    assert_eq!(
        (status, body["code"].clone()),
        (422, json!("WEAK_PASSWORD"))
    );
    let (status, _, _) = call(
        &s,
        reqwest::Method::POST,
        "/password-reset/confirm",
        None,
        Some(json!({"token": reset, "password": "another long pass phrase"})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body, _) = call(
        &s,
        reqwest::Method::GET,
        "/accounts/me",
        Some(&old_session),
        None,
    )
    .await;
    assert_eq!(
        (status, body["code"].clone()),
        (401, json!("UNAUTHENTICATED")),
        "a reset ends every session"
    );
    assert_eq!(
        login(&s, "zoe.martin@example.org", "a long enough pass phrase")
            .await
            .0,
        401
    );
    let (status, session) = login(&s, "zoe.martin@example.org", "another long pass phrase").await;
    assert_eq!(status, 201);
    let (status, _, _) = call(
        &s,
        reqwest::Method::DELETE,
        "/sessions/current",
        session["token"].as_str(),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, _, _) = call(
        &s,
        reqwest::Method::GET,
        "/accounts/me",
        session["token"].as_str(),
        None,
    )
    .await;
    assert_eq!(status, 401, "logged out");
}

#[tokio::test]
async fn repeated_failed_logins_are_locked_out_whether_or_not_the_account_exists() {
    let s = server().await;
    for identifier in ["admin", "no-such-user"] {
        for attempt in 1..=10 {
            let (status, body) = login(&s, identifier, "wrong password, wrong").await;
            assert_eq!(
                (status, body["code"].clone()),
                (401, json!("INVALID_CREDENTIALS")),
                "{identifier} attempt {attempt}"
            );
        }
        let (status, body) = login(&s, identifier, ADMIN_PASSWORD).await;
        assert_eq!(
            (status, body["code"].clone()),
            (429, json!("TOO_MANY_ATTEMPTS")),
            "{identifier}"
        );
    }
}

/// One address may try 100 logins in 15 minutes, whatever identifiers it
/// names (each stays under its own lockout); the next gets 429, even with the
/// right password.
#[tokio::test]
async fn one_address_trying_many_identifiers_is_stopped_after_100_logins() {
    let s = server().await;
    for attempt in 1..=100 {
        let (status, body) = login(&s, &format!("guess-{attempt}"), "wrong password, wrong").await;
        assert_eq!(
            (status, body["code"].clone()),
            (401, json!("INVALID_CREDENTIALS")),
            "attempt {attempt}"
        );
    }
    let (status, body) = login(&s, "admin", ADMIN_PASSWORD).await;
    assert_eq!(
        (status, body["code"].clone()),
        (429, json!("TOO_MANY_ATTEMPTS"))
    );
}

#[tokio::test]
async fn an_administrator_invites_an_account_and_only_administrators_administer() {
    let s = server().await;
    let (status, admin) = login(&s, "admin", ADMIN_PASSWORD).await;
    assert_eq!(status, 201, "{admin}");
    let admin = admin["token"].as_str().unwrap().to_owned();
    let new = json!({"user_name": "j.dupont", "email": "jean.dupont@example.org", "first_name": "Jean", "last_name": "Dupont", "mail": "invite"});
    let (status, created, _) = call(
        &s,
        reqwest::Method::POST,
        "/accounts",
        Some(&admin),
        Some(new.clone()),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let (status, body, _) = call(
        &s,
        reqwest::Method::POST,
        "/accounts",
        Some(&admin),
        Some(new),
    )
    .await;
    assert_eq!(
        (status, body["code"].clone()),
        (409, json!("USER_NAME_TAKEN"))
    );
    let (status, body, _) = call(&s, reqwest::Method::POST, "/accounts", Some(&admin), Some(json!({"user_name": "jérôme", "email": "x@example.org", "first_name": "J", "last_name": "D"}))).await;
    assert_eq!(
        (status, body["code"].clone()),
        (422, json!("VALIDATION_ERROR"))
    );
    assert!(
        body["message"].as_str().unwrap().contains("user_name"),
        "the field is named: {body}"
    );

    let jean = accept_invitation(
        &s,
        "jean.dupont@example.org",
        "j.dupont",
        "jean's own pass phrase",
    )
    .await;
    let jean = jean["token"].as_str().unwrap().to_owned();

    let (status, body, _) = call(
        &s,
        reqwest::Method::GET,
        "/accounts?search=dupont",
        Some(&jean),
        None,
    )
    .await;
    assert_eq!((status, body["code"].clone()), (403, json!("FORBIDDEN")));
    let (status, found, _) = call(
        &s,
        reqwest::Method::GET,
        "/accounts?search=dupont",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!((status, found["total"].clone()), (200, json!(1)));
    let id = found["items"][0]["id"].as_str().unwrap().to_owned();
    let (status, body, _) = call(
        &s,
        reqwest::Method::PATCH,
        &format!("/accounts/{id}"),
        Some(&jean),
        Some(json!({"network_roles": ["SUPER_ADMIN"]})),
    )
    .await;
    assert_eq!(
        (status, body["code"].clone()),
        (403, json!("FORBIDDEN")),
        "no one grants themselves a network role"
    );
    let (status, body, _) = call(
        &s,
        reqwest::Method::PATCH,
        &format!("/accounts/{id}"),
        Some(&admin),
        Some(json!({"active": false})),
    )
    .await;
    assert_eq!((status, body["state"].clone()), (200, json!("inactive")));
    assert_eq!(
        login(&s, "j.dupont", "jean's own pass phrase").await.0,
        401,
        "an inactive account cannot log in"
    );
    let (status, body, _) = call(&s, reqwest::Method::POST, "/accounts", Some(&admin), Some(json!({"user_name": "someone.else", "email": "jean.dupont@example.org", "first_name": "A", "last_name": "B"}))).await;
    assert_eq!(
        (status, body["code"].clone()),
        (409, json!("EMAIL_TAKEN")),
        "an inactive account keeps its e-mail"
    );
}

#[tokio::test]
async fn bad_bodies_get_json_errors() {
    let s = server().await;
    let response = s
        .http
        .post(format!("{}/sessions", s.base))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "INVALID_JSON");
    let (status, body, _) = call(
        &s,
        reqwest::Method::POST,
        "/accounts/registrations",
        None,
        Some(json!({"email": "a@example.org", "role": "SUPER_ADMIN"})),
    )
    .await;
    assert_eq!(
        (status, body["code"].clone()),
        (422, json!("VALIDATION_ERROR")),
        "unknown fields are refused: {body}"
    );
}

/// An `.xlsx` file with the given header and rows.
fn spreadsheet(rows: &[&[&str]]) -> Vec<u8> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, value) in row.iter().enumerate() {
            sheet.write_string(r as u32, c as u16, *value).unwrap();
        }
    }
    workbook.save_to_buffer().unwrap()
}

async fn upload(s: &DemoServer, token: &str, file: Vec<u8>) -> (u16, Value) {
    let response = s
        .http
        .post(format!("{}/accounts/import", s.base))
        .bearer_auth(token)
        .header(
            "content-type",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        .body(file)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn a_bulk_import_creates_everything_or_nothing() {
    let s = server().await;
    let (_, admin) = login(&s, "admin", ADMIN_PASSWORD).await;
    let admin = admin["token"].as_str().unwrap().to_owned();
    let header: &[&str] = &["user_name", "Nom", "\"prenom\"", "EMAIL", "roles", "dept"];

    // Line 3 repeats line 2's e-mail and line 4 has a bad user name: nothing is created.
    let bad = spreadsheet(&[
        header,
        &[
            "a.martin",
            "Martin",
            "Anne",
            "anne.martin@example.org",
            "Enseignant",
            "INFO",
        ],
        &[
            "b.martin",
            "Martin",
            "Bruno",
            "anne.martin@example.org",
            "",
            "INFO",
        ],
        &[
            "c martin",
            "Martin",
            "Céline",
            "celine.martin@example.org",
            "",
            "",
        ],
    ]);
    let (status, body) = upload(&s, &admin, bad).await;
    assert_eq!(
        (status, body["code"].clone()),
        (422, json!("IMPORT_REJECTED")),
        "{body}"
    );
    let errors: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert!(
        errors.iter().any(|e| e.starts_with("Line 3:")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.starts_with("Line 4:")),
        "{errors:?}"
    );
    let (_, found, _) = call(
        &s,
        reqwest::Method::GET,
        "/accounts?search=martin",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(found["total"], 0, "nothing was created");

    let (status, body) = upload(
        &s,
        &admin,
        spreadsheet(&[
            header,
            &[
                "a.martin",
                "Martin",
                "Anne",
                "anne.martin@example.org",
                "Enseignant, Secrétariat",
                "INFO",
            ],
        ]),
    )
    .await;
    assert_eq!((status, body["created"].clone()), (201, json!(1)), "{body}");
    let anne = accept_invitation(
        &s,
        "anne.martin@example.org",
        "a.martin",
        "anne's own pass phrase",
    )
    .await;
    assert_eq!(
        anne["account"]["department_roles"],
        json!(["dept:INFO", "Enseignant", "Secrétariat"])
    );

    let (status, body) = upload(&s, anne["token"].as_str().unwrap(), spreadsheet(&[header])).await;
    assert_eq!(
        (status, body["code"].clone()),
        (403, json!("FORBIDDEN")),
        "only the super administrator imports"
    );
    let (status, body) = upload(&s, &admin, b"user_name,nom\n".to_vec()).await;
    assert_eq!(
        (status, body["code"].clone()),
        (422, json!("IMPORT_REJECTED"))
    );
    let (status, body) = upload(
        &s,
        &admin,
        spreadsheet(&[&["user_name", "nom", "email", "telephone"]]),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(
        body["errors"],
        json!([
            "Line 1: missing column(s): prenom, roles, dept",
            "Line 1: unknown column(s): telephone"
        ])
    );
}

#[tokio::test]
async fn the_import_command_creates_accounts_or_lists_every_error() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let run = |args: &[&str]| {
        std::process::Command::new(BINARY)
            .args(args)
            .args(["--data", data.to_str().unwrap()])
            .output()
            .unwrap()
    };
    let created = run(&[
        "create-admin",
        "--email",
        "root@example.org",
        "--user-name",
        "root",
    ]);
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    assert!(String::from_utf8_lossy(&created.stdout).contains("/password-reset/confirm?token="));

    let header: &[&str] = &["user_name", "nom", "prenom", "email", "roles", "dept"];
    let bad = dir.path().join("bad.xlsx");
    std::fs::write(
        &bad,
        spreadsheet(&[header, &["x", "X", "Y", "not-an-address", "", ""]]),
    )
    .unwrap();
    let refused = run(&["import-users", bad.to_str().unwrap(), "--as", "root"]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("Line 2:"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    let good = dir.path().join("good.xlsx");
    std::fs::write(
        &good,
        spreadsheet(&[
            header,
            &["p.one", "One", "P", "p.one@example.org", "", ""],
            &["p.two", "Two", "P", "p.two@example.org", "", ""],
        ]),
    )
    .unwrap();
    let imported = run(&["import-users", good.to_str().unwrap(), "--as", "root"]);
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    assert!(String::from_utf8_lossy(&imported.stdout).contains("2 accounts created"));
    assert!(
        String::from_utf8_lossy(&imported.stderr).contains("invitations ["),
        "a progress bar is drawn"
    );
    let invited: Vec<String> = outbox::read_all(data.join("outbox"))
        .unwrap()
        .into_iter()
        .map(|m| m.to)
        .collect();
    assert!(
        invited.iter().any(|to| to.contains("p.one@example.org"))
            && invited.iter().any(|to| to.contains("p.two@example.org")),
        "{invited:?}"
    );
}
