//! The client on the wire, against a tiny HTTP server that records each request
//! and answers canned bytes: the exact requests sent, and the answers Alma's
//! sandbox cannot produce (oversized, cut off, mislabelled, silent, redirected).

use patron_hub_alma::{AlmaClient, AlmaInstitution};
use patron_hub_domain::alma::{
    AlmaError, AlmaUsers, PageSize, SearchField, UserOrder, UserQuery, UserSearch,
};
use patron_hub_domain::{AlmaUser, InstitutionCode, PrimaryId};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tracing_subscriber::util::SubscriberInitExt;

const KEY: &str = "wire-test-key-0123";

/// One request as the server read it.
#[derive(Debug, Clone)]
struct Recorded {
    head: String,
    body: Vec<u8>,
}

impl Recorded {
    fn request_line(&self) -> &str {
        self.head.lines().next().unwrap_or_default()
    }

    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
    }
}

/// Serves `answer` (raw response bytes; `None` = never answer) to every connection.
async fn serve(answer: Option<Vec<u8>>) -> (String, Arc<Mutex<Vec<Recorded>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    let recorded = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&recorded);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (answer, log) = (answer.clone(), Arc::clone(&log));
            tokio::spawn(handle(stream, answer, log));
        }
    });
    (base_url, recorded)
}

async fn handle(mut stream: TcpStream, answer: Option<Vec<u8>>, log: Arc<Mutex<Vec<Recorded>>>) {
    let mut read = Vec::new();
    let mut buffer = [0_u8; 4096];
    let head_end = loop {
        if let Some(end) = read.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => read.extend_from_slice(&buffer[..n]),
        }
    };
    let head = String::from_utf8_lossy(&read[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    while read.len() < head_end + length {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => read.extend_from_slice(&buffer[..n]),
        }
    }
    let body = read[head_end..head_end + length].to_vec();
    log.lock().unwrap().push(Recorded { head, body });
    match answer {
        Some(bytes) => {
            let _ = stream.write_all(&bytes).await;
            let _ = stream.shutdown().await;
        }
        None => tokio::time::sleep(Duration::from_secs(30)).await,
    }
}

fn response(status: &str, content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut bytes = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

fn client(base_url: &str, timeout: Duration) -> AlmaClient {
    AlmaClient::new(
        vec![AlmaInstitution {
            code: institution(),
            base_url: base_url.to_owned(),
            api_key: KEY.to_owned(),
            calls_per_second: 50,
        }],
        timeout,
    )
    .unwrap()
}

fn institution() -> InstitutionCode {
    InstitutionCode::parse("WIRE_A").unwrap()
}

fn id(text: &str) -> PrimaryId {
    PrimaryId::parse(text).unwrap()
}

fn user() -> AlmaUser {
    serde_json::from_value(json!({"primary_id": "p 1", "last_name": "Doe"})).unwrap()
}

fn ok_user() -> Vec<u8> {
    response(
        "200 OK",
        "application/json",
        br#"{"primary_id":"p 1","last_name":"Doe"}"#,
    )
}

fn unavailable(result: Result<impl std::fmt::Debug, AlmaError>) -> String {
    match result {
        Err(AlmaError::Unavailable(description)) => {
            assert!(!description.contains(KEY), "{description}");
            description
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn sends_each_call_with_the_key_json_and_exact_query() {
    let (base_url, recorded) = serve(Some(ok_user())).await;
    let alma = client(&base_url, Duration::from_secs(5));
    let (a, p1) = (institution(), id("p 1"));
    let zone = InstitutionCode::parse("WIRE_NETWORK").unwrap();
    alma.get_user(&a, &p1).await.unwrap();
    alma.create_user(&a, &user()).await.unwrap();
    alma.create_linked_user(&a, &zone, &p1).await.unwrap();
    alma.update_user(&a, &p1, &user()).await.unwrap();
    alma.delete_user(&a, &p1).await.unwrap();

    let requests = recorded.lock().unwrap().clone();
    let lines: Vec<&str> = requests.iter().map(Recorded::request_line).collect();
    assert_eq!(
        lines,
        [
            "GET /almaws/v1/users/p%201?user_id_type=all_unique&view=full&expand=none HTTP/1.1",
            "POST /almaws/v1/users?social_authentication=false&send_pin_number_letter=false&registration_rules=false HTTP/1.1",
            "POST /almaws/v1/users?social_authentication=false&send_pin_number_letter=false&registration_rules=false&source_institution_code=WIRE_NETWORK&source_user_id=p+1 HTTP/1.1",
            "PUT /almaws/v1/users/p%201?user_id_type=all_unique&recalculate_roles=true&send_pin_number_letter=false&registration_rules=false HTTP/1.1",
            "DELETE /almaws/v1/users/p%201?user_id_type=all_unique HTTP/1.1",
        ]
    );
    for request in &requests {
        assert_eq!(
            request.header("authorization").as_deref(),
            Some("apikey wire-test-key-0123")
        );
        assert_eq!(
            request.header("accept").as_deref(),
            Some("application/json")
        );
    }
    let sent_user: serde_json::Value = serde_json::from_slice(&requests[1].body).unwrap();
    assert_eq!(sent_user, json!({"primary_id": "p 1", "last_name": "Doe"}));
    assert_eq!(
        requests[1].header("content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(requests[2].body, b"{}");
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&requests[3].body).unwrap(),
        sent_user
    );
    assert!(requests[0].body.is_empty() && requests[4].body.is_empty());
}

#[tokio::test]
async fn lists_with_the_exact_query_and_reads_alma_s_users_object() {
    let list =
        br#"{"user":[{"primary_id":"p 1","last_name":"Doe","link":"x"}],"total_record_count":101}"#;
    let (base_url, recorded) = serve(Some(response("200 OK", "application/json", list))).await;
    let alma = client(&base_url, Duration::from_secs(5));
    let a = institution();
    let query = UserQuery {
        search: UserSearch::new(SearchField::JobCategory, "Prêt entre"),
        order_by: Some(UserOrder::LastName),
        limit: PageSize::new(50).unwrap(),
        offset: 100,
    };
    let page = alma.list_users(&a, &query).await.unwrap();
    assert_eq!(page.total_record_count, 101);
    assert_eq!(page.users[0].primary_id().unwrap().as_str(), "p 1");
    let copies = alma
        .linked_copies(
            &a,
            &InstitutionCode::parse("WIRE_NETWORK").unwrap(),
            &id("p 1"),
        )
        .await
        .unwrap();
    assert_eq!(copies.len(), 1);

    let requests = recorded.lock().unwrap().clone();
    let lines: Vec<&str> = requests.iter().map(Recorded::request_line).collect();
    assert_eq!(
        lines,
        [
            "GET /almaws/v1/users?limit=50&offset=100&order_by=last_name&q=job_category%7EPr%C3%AAt+entre HTTP/1.1",
            "GET /almaws/v1/users?limit=100&offset=0&source_institution_code=WIRE_NETWORK&source_user_id=p+1 HTTP/1.1",
        ]
    );
    for request in &requests {
        assert_eq!(
            request.header("authorization").as_deref(),
            Some("apikey wire-test-key-0123")
        );
        assert!(request.body.is_empty());
    }
}

#[tokio::test]
async fn a_list_answer_that_is_not_alma_s_users_object_is_unavailable() {
    for body in ["[]", r#"{"user":[]}"#, r#"<users total_record_count="0"/>"#] {
        let answer = response("200 OK", "application/json", body.as_bytes());
        let (base_url, _) = serve(Some(answer)).await;
        let result = client(&base_url, Duration::from_secs(5))
            .list_users(&institution(), &UserQuery::default())
            .await;
        assert!(unavailable(result).contains("200"));
    }
}

#[tokio::test]
async fn reads_an_xml_error_labelled_json() {
    let xml = br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><web_service_result xmlns="http://com/exlibris/urm/general/xmlbeans"><errorsExist>true</errorsExist><errorList><error><errorCode>UNAUTHORIZED</errorCode><errorMessage>API-key not defined or not configured to allow this API.</errorMessage></error></errorList></web_service_result>"#;
    let (base_url, _) = serve(Some(response("400 Bad Request", "application/json", xml))).await;
    let refused = client(&base_url, Duration::from_secs(5))
        .get_user(&institution(), &id("p1"))
        .await
        .unwrap_err();
    assert_eq!(
        refused,
        AlmaError::Rejected {
            status: 400,
            code: "UNAUTHORIZED".to_owned(),
            message: "API-key not defined or not configured to allow this API.".to_owned()
        }
    );
}

#[tokio::test]
async fn a_success_that_is_not_a_json_object_is_unavailable() {
    let page = response(
        "200 OK",
        "text/html",
        b"<html><body>Maintenance</body></html>",
    );
    let (base_url, _) = serve(Some(page)).await;
    let result = client(&base_url, Duration::from_secs(5))
        .get_user(&institution(), &id("p1"))
        .await;
    assert!(unavailable(result).contains("200"));
}

#[tokio::test]
async fn a_body_cut_off_before_its_length_is_unavailable() {
    let mut cut = response(
        "200 OK",
        "application/json",
        br#"{"primary_id":"p1","last_name":"Doe"}"#,
    );
    cut.truncate(cut.len() - 10);
    let (base_url, _) = serve(Some(cut)).await;
    let result = client(&base_url, Duration::from_secs(5))
        .get_user(&institution(), &id("p1"))
        .await;
    unavailable(result);
}

#[tokio::test]
async fn an_answer_over_two_mebibytes_is_refused_declared_or_streamed() {
    let huge = format!(
        r#"{{"primary_id":"p1","note":"{}"}}"#,
        "x".repeat(2 * 1024 * 1024)
    );
    let declared = response("200 OK", "application/json", huge.as_bytes());
    let mut streamed =
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            .to_vec();
    for piece in huge.as_bytes().chunks(64 * 1024) {
        streamed.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        streamed.extend_from_slice(piece);
        streamed.extend_from_slice(b"\r\n");
    }
    streamed.extend_from_slice(b"0\r\n\r\n");
    for answer in [declared, streamed] {
        let (base_url, _) = serve(Some(answer)).await;
        let refused = client(&base_url, Duration::from_secs(5))
            .get_user(&institution(), &id("p1"))
            .await
            .unwrap_err();
        assert!(
            matches!(refused, AlmaError::Rejected { status: 200, ref code, .. } if code == "ANSWER_TOO_LARGE"),
            "{refused:?}"
        );
    }
    // Just under the limit is a user record.
    let fits = format!(
        r#"{{"primary_id":"p1","note":"{}"}}"#,
        "x".repeat(2 * 1024 * 1024 - 64)
    );
    let (base_url, _) = serve(Some(response(
        "200 OK",
        "application/json",
        fits.as_bytes(),
    )))
    .await;
    let user = client(&base_url, Duration::from_secs(5))
        .get_user(&institution(), &id("p1"))
        .await
        .unwrap();
    assert_eq!(user.primary_id(), Some(id("p1")));
}

#[tokio::test]
async fn a_silent_server_times_out_as_unavailable() {
    let (base_url, _) = serve(None).await;
    let started = std::time::Instant::now();
    let result = client(&base_url, Duration::from_millis(300))
        .get_user(&institution(), &id("p1"))
        .await;
    assert!(unavailable(result).contains("timed out"));
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_closed_port_is_unavailable() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let result = client(&base_url, Duration::from_secs(5))
        .delete_user(&institution(), &id("p1"))
        .await;
    assert!(unavailable(result).contains("connect"));
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let redirect = b"HTTP/1.1 301 Moved Permanently\r\nLocation: https://elsewhere.example/almaws/v1/users/p1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec();
    let (base_url, recorded) = serve(Some(redirect)).await;
    let refused = client(&base_url, Duration::from_secs(5))
        .get_user(&institution(), &id("p1"))
        .await
        .unwrap_err();
    assert!(
        matches!(refused, AlmaError::Rejected { status: 301, ref code, .. } if code == "HTTP_301")
    );
    assert_eq!(recorded.lock().unwrap().len(), 1);
}

/// A log sink for the test's own subscriber.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_one_debug_event_per_call_without_key_or_record() {
    let captured = Captured::default();
    let sink = captured.clone();
    let _subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || sink.clone())
        .set_default();
    let (base_url, _) = serve(Some(ok_user())).await;
    let alma = client(&base_url, Duration::from_secs(5));
    let record: AlmaUser =
        serde_json::from_value(json!({"primary_id": "p1", "last_name": "Very-Private-Name"}))
            .unwrap();
    alma.create_user(&institution(), &record).await.unwrap();
    alma.update_user(&institution(), &id("p1"), &record)
        .await
        .unwrap();

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let events: Vec<&str> = logs
        .lines()
        .filter(|line| line.contains("alma call"))
        .collect();
    assert_eq!(events.len(), 2, "{logs}");
    for (event, method) in events.iter().zip(["POST", "PUT"]) {
        for field in ["DEBUG", "institution=WIRE_A", "status=200", "elapsed_ms="] {
            assert!(event.contains(field), "{field} missing in {event}");
        }
        assert!(event.contains(&format!("method={method}")), "{event}");
    }
    assert!(
        !logs.contains(KEY) && !logs.contains("Very-Private-Name"),
        "{logs}"
    );
}
