//! The JSON envelope of an Alma webhook and the user event inside it.

use crate::{AlmaUser, InstitutionCode};
use chrono::{DateTime, Utc};
use serde_json::Value;

/// What happened to the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserEventKind {
    /// `USER_CREATED`.
    Created,
    /// `USER_UPDATED`.
    Updated,
    /// `USER_DELETED`.
    Deleted,
}

impl UserEventKind {
    /// Alma's name of the event.
    pub fn as_str(self) -> &'static str {
        match self {
            UserEventKind::Created => "USER_CREATED",
            UserEventKind::Updated => "USER_UPDATED",
            UserEventKind::Deleted => "USER_DELETED",
        }
    }

    /// Reads `event.value` (`USER_CREATED` …) or, in the older form where
    /// `event` is null, `webhook_user.method` (`CREATE`, `UPDATE`, `DELETE`).
    fn parse(name: &str) -> Option<Self> {
        match name.trim().to_ascii_uppercase().as_str() {
            "USER_CREATED" | "CREATE" | "CREATED" => Some(Self::Created),
            "USER_UPDATED" | "UPDATE" | "UPDATED" => Some(Self::Updated),
            "USER_DELETED" | "DELETE" | "DELETED" => Some(Self::Deleted),
            _ => None,
        }
    }
}

/// A user event patron-hub can route.
#[derive(Debug, Clone, PartialEq)]
pub struct UserEvent {
    /// Alma's message id.
    pub id: String,
    /// The institution (or network zone) that sent it.
    pub institution: InstitutionCode,
    /// What happened.
    pub kind: UserEventKind,
    /// When it happened.
    pub time: DateTime<Utc>,
    /// The user record as Alma sent it.
    pub user: AlmaUser,
}

/// A parsed delivery: its id, and either a routable user event or why it is not one.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    /// Alma's message id: the idempotency key.
    pub id: String,
    /// The user event, or the reason the delivery is ignored.
    pub event: Result<UserEvent, String>,
}

/// Why a delivery is bad input (answered with 400, never retried by Alma).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// The body is not a JSON object.
    #[error("the body is not a JSON object")]
    NotJson,
    /// The body has no usable `id`.
    #[error("the body has no message id")]
    MissingId,
}

/// Parses a delivery's body. Only a body that is not JSON or has no `id` is an
/// error; anything else that cannot be routed comes back as an ignore reason.
/// `received_at` stands in for a missing or unreadable `time`.
pub fn parse_envelope(body: &[u8], received_at: DateTime<Utc>) -> Result<Envelope, EnvelopeError> {
    let Ok(Value::Object(envelope)) = serde_json::from_slice::<Value>(body) else {
        return Err(EnvelopeError::NotJson);
    };
    let id = match envelope.get("id") {
        Some(Value::String(id)) if !id.trim().is_empty() && id.len() <= 256 => id.trim().to_owned(),
        Some(Value::Number(id)) => id.to_string(),
        _ => return Err(EnvelopeError::MissingId),
    };
    let event = user_event(&id, &envelope, received_at);
    Ok(Envelope { id, event })
}

fn user_event(
    id: &str,
    envelope: &serde_json::Map<String, Value>,
    received_at: DateTime<Utc>,
) -> Result<UserEvent, String> {
    let action = envelope
        .get("action")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if action != "USER" {
        return Err(format!("action {action:?} is not handled"));
    }
    let code = code_value(envelope.get("institution")).unwrap_or_default();
    let institution =
        InstitutionCode::parse(code).map_err(|_| format!("institution {code:?} is not valid"))?;
    let webhook_user = envelope.get("webhook_user");
    let kind_name = code_value(envelope.get("event"))
        .or_else(|| webhook_user?.get("method")?.as_str())
        .unwrap_or_default();
    let kind = UserEventKind::parse(kind_name)
        .ok_or_else(|| format!("event {kind_name:?} is not handled"))?;
    let user = webhook_user
        .and_then(|w| w.get("user"))
        .and_then(|u| serde_json::from_value::<AlmaUser>(u.clone()).ok())
        .ok_or_else(|| "the delivery carries no user".to_owned())?;
    let time = envelope
        .get("time")
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(received_at);
    Ok(UserEvent {
        id: id.to_owned(),
        institution,
        kind,
        time,
        user,
    })
}

/// Alma's code-table fields are `{"value": …, "desc": …}`; accept a bare string too.
fn code_value(field: Option<&Value>) -> Option<&str> {
    match field? {
        Value::Object(code) => code.get("value")?.as_str(),
        Value::String(value) => Some(value),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(body: Value) -> Result<Envelope, EnvelopeError> {
        parse_envelope(body.to_string().as_bytes(), DateTime::UNIX_EPOCH)
    }

    #[test]
    fn reads_the_current_form() {
        let envelope = parse(json!({
            "id": "3235071115491107182", "action": "USER",
            "institution": {"value": "DEMO_A", "desc": "A"}, "time": "2020-08-17T15:03:24.605Z",
            "event": {"value": "USER_UPDATED", "desc": "updated"},
            "webhook_user": {"cause": "UI", "user": {"primary_id": "p1"}}
        }))
        .unwrap();
        let event = envelope.event.unwrap();
        assert_eq!(event.kind, UserEventKind::Updated);
        assert_eq!(event.institution.as_str(), "DEMO_A");
        assert_eq!(event.time.to_rfc3339(), "2020-08-17T15:03:24.605+00:00");
    }

    #[test]
    fn reads_the_older_form_with_a_null_event() {
        let envelope = parse(json!({
            "id": "1", "action": "USER", "institution": {"value": "EXLDEV1_INST"}, "event": null,
            "webhook_user": {"method": "UPDATE", "user": {"primary_id": "p1"}}
        }))
        .unwrap();
        assert_eq!(envelope.event.unwrap().kind, UserEventKind::Updated);
    }

    #[test]
    fn bad_bodies_are_errors_and_unroutable_ones_are_ignored() {
        assert_eq!(
            parse_envelope(b"not json", DateTime::UNIX_EPOCH),
            Err(EnvelopeError::NotJson)
        );
        assert_eq!(parse(json!([1])), Err(EnvelopeError::NotJson));
        assert_eq!(
            parse(json!({"action": "USER"})),
            Err(EnvelopeError::MissingId)
        );
        assert_eq!(parse(json!({"id": ""})), Err(EnvelopeError::MissingId));
        assert!(parse(json!({"id": "1", "action": "LOAN"}))
            .unwrap()
            .event
            .is_err());
        assert!(parse(
            json!({"id": "1", "action": "USER", "institution": {"value": "A"},
            "event": {"value": "USER_MERGED"}, "webhook_user": {"user": {}}})
        )
        .unwrap()
        .event
        .is_err());
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        for body in [
            &b"\xff\xfe"[..],
            b"{}",
            b"{\"id\":1}",
            b"null",
            b"{\"id\":{}}",
        ] {
            let _ = parse_envelope(body, DateTime::UNIX_EPOCH);
        }
    }
}
