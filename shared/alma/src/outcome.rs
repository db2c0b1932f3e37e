//! What an Alma answer means for the caller: a user record, a page of the
//! list, or an [`AlmaError`] the queue can act on (retry later, or give up).

use crate::answer::{Answer, MAX_ANSWER_BYTES};
use crate::error_body::{parse_error_body, AlmaErrorBody};
use patron_hub_domain::alma::{codes, AlmaError, UserPage};
use patron_hub_domain::AlmaUser;
use serde_json::Value;

/// The code of a success answer over [`MAX_ANSWER_BYTES`].
const ANSWER_TOO_LARGE: &str = "ANSWER_TOO_LARGE";

/// The user record of a successful answer (2xx).
///
/// An answer over the size limit is `Rejected`, not `Unavailable`: Alma would
/// send the same record again, so retrying cannot help, and the job should reach
/// an operator with that reason. A body that is not a JSON object (a proxy's page,
/// a cut-off record) is `Unavailable`: it is not what Alma answers, so a later
/// try may well get the record.
pub(crate) fn user_from_success(status: u16, answer: Answer) -> Result<AlmaUser, AlmaError> {
    match json_object(status, answer, "the user record")? {
        Some(record) => Ok(AlmaUser(record)),
        None => Err(AlmaError::Unavailable(format!(
            "HTTP {status} without a JSON user record"
        ))),
    }
}

/// The page of a successful list answer (2xx): Alma's `users` object, whose
/// `user` is absent on an empty page, and may be a single object rather than
/// an array (as in Alma's JSON rendering of one-element XML lists). Anything
/// else is `Unavailable`, as for a user record.
pub(crate) fn page_from_success(status: u16, answer: Answer) -> Result<UserPage, AlmaError> {
    let not_a_list =
        || AlmaError::Unavailable(format!("HTTP {status} without a JSON list of users"));
    let mut list = json_object(status, answer, "the list of users")?.ok_or_else(not_a_list)?;
    let total_record_count = match list.get("total_record_count") {
        Some(Value::Number(count)) => count.as_u64(),
        Some(Value::String(count)) => count.trim().parse().ok(),
        _ => None,
    }
    .ok_or_else(not_a_list)?;
    let entries = match list.remove("user") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(entries)) => entries,
        Some(single @ Value::Object(_)) => vec![single],
        Some(_) => return Err(not_a_list()),
    };
    let users = entries
        .into_iter()
        .map(|entry| match entry {
            Value::Object(user) => Ok(AlmaUser(user)),
            _ => Err(not_a_list()),
        })
        .collect::<Result<_, _>>()?;
    Ok(UserPage {
        total_record_count,
        users,
    })
}

/// The JSON object of a successful answer; `None` when the body is complete
/// but not one. Over the size limit is `Rejected` (`what` says what was too
/// large), cut off is `Unavailable`.
fn json_object(
    status: u16,
    answer: Answer,
    what: &str,
) -> Result<Option<serde_json::Map<String, Value>>, AlmaError> {
    match answer {
        Answer::Complete(body) => match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(object)) => Ok(Some(object)),
            _ => Ok(None),
        },
        Answer::TooLarge => Err(AlmaError::Rejected {
            status,
            code: ANSWER_TOO_LARGE.to_owned(),
            message: format!(
                "{what} is over {} MiB (the call itself may have been applied)",
                MAX_ANSWER_BYTES / (1024 * 1024)
            ),
        }),
        Answer::CutOff(description) => Err(AlmaError::Unavailable(format!(
            "HTTP {status}, {description}"
        ))),
    }
}

/// The error an unsuccessful answer (not 2xx) stands for.
pub(crate) fn error_from_failure(status: u16, answer: Answer) -> AlmaError {
    let parsed = match &answer {
        Answer::Complete(body) => parse_error_body(body),
        Answer::TooLarge | Answer::CutOff(_) => None,
    };
    let code = parsed.as_ref().map(|error| error.code.as_str());
    if status == 429 || code == Some(codes::PER_SECOND_THRESHOLD) {
        return AlmaError::Throttled {
            code: code.map_or_else(|| http_code(status), str::to_owned),
        };
    }
    if let Some(AlmaErrorBody { code, message }) = parsed {
        match code.as_str() {
            codes::USER_NOT_FOUND
            | codes::USER_NOT_FOUND_BY_TYPE
            | codes::SOURCE_USER_NOT_FOUND => return AlmaError::NotFound { code },
            codes::IDENTIFIER_EXISTS | codes::LINKED_ACCOUNT_EXISTS => {
                return AlmaError::AlreadyExists { code, message }
            }
            _ if status >= 500 => {
                return AlmaError::Unavailable(format!("HTTP {status} {code}: {message}"))
            }
            _ => {
                return AlmaError::Rejected {
                    status,
                    code,
                    message,
                }
            }
        }
    }
    match answer {
        _ if status >= 500 => AlmaError::Unavailable(format!("HTTP {status}")),
        Answer::CutOff(description) => {
            AlmaError::Unavailable(format!("HTTP {status}, {description}"))
        }
        Answer::TooLarge => AlmaError::Rejected {
            status,
            code: http_code(status),
            message: format!("error body over {} MiB", MAX_ANSWER_BYTES / (1024 * 1024)),
        },
        Answer::Complete(_) => AlmaError::Rejected {
            status,
            code: http_code(status),
            message: "no Alma error in the answer".to_owned(),
        },
    }
}

fn http_code(status: u16) -> String {
    format!("HTTP_{status}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json_error(code: &str, message: &str) -> Answer {
        Answer::Complete(
            serde_json::json!({
                "errorsExist": true,
                "errorList": {"error": [{"errorCode": code, "errorMessage": message, "trackingId": "E01-x"}]},
                "result": null
            })
            .to_string()
            .into_bytes(),
        )
    }

    fn text(body: &str) -> Answer {
        Answer::Complete(body.as_bytes().to_vec())
    }

    #[test]
    fn not_found_codes() {
        for code in ["401861", "401890", "4019990"] {
            assert_eq!(
                error_from_failure(400, json_error(code, "not found")),
                AlmaError::NotFound {
                    code: code.to_owned()
                }
            );
        }
    }

    #[test]
    fn already_exists_codes() {
        for code in ["401851", "60227"] {
            assert_eq!(
                error_from_failure(400, json_error(code, "exists")),
                AlmaError::AlreadyExists {
                    code: code.to_owned(),
                    message: "exists".to_owned()
                }
            );
        }
    }

    #[test]
    fn throttled_by_status_or_by_code() {
        let threshold = || {
            json_error(
                "PER_SECOND_THRESHOLD",
                "HTTP requests are more than allowed per second",
            )
        };
        let throttled = AlmaError::Throttled {
            code: "PER_SECOND_THRESHOLD".to_owned(),
        };
        assert_eq!(error_from_failure(429, threshold()), throttled);
        assert_eq!(error_from_failure(400, threshold()), throttled);
        assert_eq!(
            error_from_failure(429, text("Too Many Requests")),
            AlmaError::Throttled {
                code: "HTTP_429".to_owned()
            }
        );
    }

    #[test]
    fn server_errors_and_cut_off_answers_are_unavailable() {
        assert_eq!(
            error_from_failure(500, json_error("60101", "General error")),
            AlmaError::Unavailable("HTTP 500 60101: General error".to_owned())
        );
        assert_eq!(
            error_from_failure(502, text("<html>Bad Gateway</html>")),
            AlmaError::Unavailable("HTTP 502".to_owned())
        );
        assert_eq!(
            error_from_failure(503, Answer::TooLarge),
            AlmaError::Unavailable("HTTP 503".to_owned())
        );
        assert_eq!(
            error_from_failure(
                400,
                Answer::CutOff("connection broken during the answer".to_owned())
            ),
            AlmaError::Unavailable("HTTP 400, connection broken during the answer".to_owned())
        );
    }

    #[test]
    fn other_client_errors_are_rejected_with_alma_s_or_the_http_code() {
        assert_eq!(
            error_from_failure(
                400,
                json_error("401664", "Mandatory field missing: last_name")
            ),
            AlmaError::Rejected {
                status: 400,
                code: "401664".to_owned(),
                message: "Mandatory field missing: last_name".to_owned()
            }
        );
        let xml = r#"<web_service_result xmlns="http://com/exlibris/urm/general/xmlbeans"><errorsExist>true</errorsExist><errorList><error><errorCode>UNAUTHORIZED</errorCode><errorMessage>API-key not defined or not configured to allow this API.</errorMessage></error></errorList></web_service_result>"#;
        assert!(matches!(
            error_from_failure(400, text(xml)),
            AlmaError::Rejected { status: 400, ref code, .. } if code == "UNAUTHORIZED"
        ));
        assert!(matches!(
            error_from_failure(403, text("Forbidden")),
            AlmaError::Rejected { status: 403, ref code, .. } if code == "HTTP_403"
        ));
        assert!(matches!(
            error_from_failure(413, Answer::TooLarge),
            AlmaError::Rejected { status: 413, ref code, .. } if code == "HTTP_413"
        ));
    }

    #[test]
    fn a_list_reads_its_total_and_entries_however_alma_renders_them() {
        let page = |body: &str| page_from_success(200, text(body));
        let two =
            page(r#"{"user":[{"primary_id":"a"},{"primary_id":"b"}],"total_record_count":7}"#)
                .unwrap();
        assert_eq!(two.total_record_count, 7);
        assert_eq!(two.users.len(), 2);
        let empty = page(r#"{"total_record_count":0}"#).unwrap();
        assert_eq!(empty, UserPage::default());
        let single = page(r#"{"user":{"primary_id":"a"},"total_record_count":"1"}"#).unwrap();
        assert_eq!(single.users[0].primary_id().unwrap().as_str(), "a");
        for body in [
            "{}",
            r#"{"user":[]}"#,
            r#"{"user":["a"],"total_record_count":1}"#,
            "[]",
            "<users/>",
        ] {
            assert!(
                matches!(page(body), Err(AlmaError::Unavailable(_))),
                "{body}"
            );
        }
        assert!(matches!(
            page_from_success(200, Answer::TooLarge),
            Err(AlmaError::Rejected { ref code, .. }) if code == ANSWER_TOO_LARGE
        ));
    }

    #[test]
    fn a_success_must_carry_a_json_object() {
        let user =
            user_from_success(200, text(r#"{"primary_id":"p1","last_name":"Doe"}"#)).unwrap();
        assert_eq!(user.primary_id().unwrap().as_str(), "p1");
        for body in ["", "[]", "\"p1\"", "{\"primary_id\":", "<user/>"] {
            assert!(
                matches!(
                    user_from_success(200, text(body)),
                    Err(AlmaError::Unavailable(_))
                ),
                "{body:?}"
            );
        }
        assert!(matches!(
            user_from_success(200, Answer::CutOff("timed out".to_owned())),
            Err(AlmaError::Unavailable(_))
        ));
        assert!(matches!(
            user_from_success(200, Answer::TooLarge),
            Err(AlmaError::Rejected { status: 200, ref code, .. }) if code == ANSWER_TOO_LARGE
        ));
    }
}
