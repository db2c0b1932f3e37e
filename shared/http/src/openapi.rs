//! `/openapi.json`: the description of every JSON route, for client authors and
//! API fuzzers. Each router adds its paths here when it is added to the server.

use crate::{members, registration};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

/// The OpenAPI document of every JSON route patron-hub serves.
pub fn document() -> Value {
    let error = json!({"$ref": "#/components/schemas/Error"});
    let error_response = |description: &str| json!({"description": description, "content": {"application/json": {"schema": error}}});
    // A JSON operation: its required body fields, answers, and whether it needs a session.
    let op = |summary: &str, required: &[&str], answers: &[(&str, &str)], authenticated: bool| {
        let mut responses = serde_json::Map::new();
        for (status, description) in answers {
            let answer = if status.starts_with('2') {
                json!({"description": description, "content": {"application/json": {"schema": {"type": "object"}}}})
            } else {
                error_response(description)
            };
            responses.insert((*status).to_owned(), answer);
        }
        let mut operation = json!({"summary": summary, "responses": responses});
        if !required.is_empty() {
            operation["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {"type": "object", "required": required}}}});
        }
        if authenticated {
            operation["security"] = json!([{"bearer": []}]);
        }
        operation
    };
    let mut document = json!({
        "openapi": "3.0.3",
        "info": {"title": "patron-hub", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Keeps library patron accounts consistent across the institutions of an Alma network."},
        "paths": {
            "/healthz": {"get": {"summary": "Liveness", "responses": {"200": {"description": "alive"}}}},
            "/accounts/registrations": {"post": op("Self-registration (always 202 with the same body)", &["email", "first_name", "last_name", "password"], &[("202", "accepted"), ("400", "not JSON"), ("422", "invalid field or weak password")], false)},
            "/accounts/activation": {"post": op("Activate a registration with its mailed token and its password", &["token", "password"], &[("200", "active"), ("400", "TOKEN_INVALID"), ("401", "wrong password")], false)},
            "/accounts/email-confirmation": {"post": op("Confirm a new e-mail address with its mailed token", &["token"], &[("200", "changed"), ("400", "TOKEN_INVALID")], false)},
            "/password-reset": {"post": op("Ask for a reset link (always 202 with the same body)", &["identifier"], &[("202", "accepted")], false)},
            "/password-reset/confirm": {"post": op("Set a new password with a mailed token", &["token", "password"], &[("200", "changed"), ("400", "TOKEN_INVALID"), ("422", "WEAK_PASSWORD")], false)},
            "/sessions": {"post": op("Log in: a bearer token and a session cookie", &["identifier", "password"], &[("201", "session"), ("401", "INVALID_CREDENTIALS"), ("429", "TOO_MANY_ATTEMPTS")], false)},
            "/sessions/current": {"delete": op("Log out", &[], &[("204", "logged out"), ("401", "UNAUTHENTICATED")], true)},
            "/accounts/me": {
                "get": op("The logged-in account", &[], &[("200", "account"), ("401", "UNAUTHENTICATED")], true),
                "patch": op("Change one's names, language, e-mail or password", &[], &[("200", "account"), ("401", "UNAUTHENTICATED"), ("422", "invalid field")], true)
            },
            "/accounts": {
                "get": op("Search accounts (?search=, ?limit=)", &[], &[("200", "accounts"), ("403", "FORBIDDEN")], true),
                "post": op("Create an account (super administrator)", &["user_name", "email", "first_name", "last_name"], &[("201", "account"), ("403", "FORBIDDEN"), ("409", "taken"), ("422", "invalid field")], true)
            },
            "/accounts/{id}": {
                "get": op("One account", &[], &[("200", "account"), ("403", "FORBIDDEN"), ("404", "ACCOUNT_NOT_FOUND")], true),
                "patch": op("Change an account (names, e-mail, department, expiry, active, network roles)", &[], &[("200", "account"), ("403", "FORBIDDEN"), ("409", "VERSION_CONFLICT")], true)
            },
            "/accounts/import": {"post": {
                "summary": "Bulk import from an .xlsx file (super administrator), all or nothing",
                "security": [{"bearer": []}],
                "requestBody": {"required": true, "content": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {"schema": {"type": "string", "format": "binary"}}}},
                "responses": {"201": {"description": "created"}, "403": error_response("FORBIDDEN"), "422": error_response("IMPORT_REJECTED, with every Line N error")}
            }},
            "/webhooks/alma": {
                "get": {
                    "summary": "Alma's registration handshake",
                    "parameters": [{"name": "challenge", "in": "query", "required": false, "schema": {"type": "string", "maxLength": 1024}}],
                    "responses": {
                        "200": {"description": "the challenge echoed", "content": {"application/json": {"schema": {"type": "object"}}}},
                        "400": error_response("challenge too long")
                    }
                },
                "post": {
                    "summary": "An Alma USER webhook delivery",
                    "parameters": [{"name": "X-Exl-Signature", "in": "header", "required": true,
                                    "description": "Base64 HMAC-SHA256 of the raw body", "schema": {"type": "string"}}],
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["id"]}}}},
                    "responses": {
                        "200": {"description": "accepted, duplicate or ignored",
                                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Reception"}}}},
                        "400": error_response("not JSON, or no id"),
                        "401": error_response("missing or invalid signature"),
                        "413": error_response("body over 256 KiB"),
                        "503": error_response("not recorded; Alma retries")
                    }
                }
            }
        },
        "components": {"securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "apiKey": {"type": "apiKey", "in": "header", "name": "X-Api-Key"}
        }, "schemas": {
            "Error": {"type": "object", "required": ["code", "message"],
                      "properties": {"code": {"type": "string"}, "message": {"type": "string"}}},
            "Reception": {"type": "object", "required": ["status"], "properties": {
                "status": {"type": "string", "enum": ["accepted", "duplicate", "ignored"]},
                "event_id": {"type": "string"},
                "reason": {"type": "string"},
                "jobs": {"type": "array", "items": {"type": "object", "properties": {
                    "institution": {"type": "string"},
                    "action": {"type": "string", "enum": ["link", "upsert", "delete"]},
                    "primary_id": {"type": "string"}}}}}}
        }}
    });
    for (path, operations) in registration::openapi::paths() {
        document["paths"][path] = operations;
    }
    for (name, schema) in registration::openapi::schemas() {
        document["components"]["schemas"][name] = schema;
    }
    for (path, operations) in members::openapi::paths() {
        document["paths"][path] = operations;
    }
    for (name, schema) in members::openapi::schemas() {
        document["components"]["schemas"][name] = schema;
    }
    document
}

/// The `/openapi.json` route.
pub fn router() -> Router {
    Router::new().route("/openapi.json", get(|| async { Json(document()) }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_json_route_is_described() {
        let document = document();
        for path in [
            "/healthz",
            "/webhooks/alma",
            "/accounts/registrations",
            "/accounts/activation",
            "/accounts/email-confirmation",
            "/password-reset",
            "/password-reset/confirm",
            "/sessions",
            "/sessions/current",
            "/accounts/me",
            "/accounts",
            "/accounts/{id}",
            "/accounts/import",
            "/patron",
            "/patron/{externalSystemId}",
            "/patron/{externalSystemId}/complete",
            "/patron-registration-status",
            "/patron/registration-status",
            "/events",
            "/people",
            "/people/{id}",
            "/people/{id}/memberships",
            "/organizations",
            "/organizations/{id}",
            "/organizations/{id}/members",
            "/organizations/{id}/members/{memberId}",
            "/organizations/{id}/members/{memberId}/renewal",
            "/organizations/{id}/statistics",
            "/organizations/{id}/members.xlsx",
            "/organizations/{id}/members.csv",
        ] {
            assert!(document["paths"].get(path).is_some(), "{path} is missing");
        }
        let activation = &document["paths"]["/accounts/activation"]["post"];
        assert_eq!(
            activation["requestBody"]["content"]["application/json"]["schema"]["required"],
            json!(["token", "password"])
        );
        assert_eq!(
            activation["responses"]["400"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/Error"
        );
        let completion = &document["paths"]["/patron/{externalSystemId}/complete"]["post"];
        assert_eq!(
            completion["requestBody"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/Completion"
        );
        assert_eq!(
            completion["security"],
            json!([{"apiKey": []}, {"bearer": []}])
        );
    }

    #[test]
    fn every_schema_referred_to_is_defined() {
        fn refs(value: &Value, found: &mut Vec<String>) {
            match value {
                Value::Object(map) => {
                    if let Some(Value::String(target)) = map.get("$ref") {
                        found.push(target.clone());
                    }
                    map.values().for_each(|v| refs(v, found));
                }
                Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
                _ => {}
            }
        }
        let document = document();
        let mut found = Vec::new();
        refs(&document, &mut found);
        assert!(found.len() > 20, "{found:?}");
        for target in found {
            let name = target.trim_start_matches("#/components/schemas/");
            assert!(
                document["components"]["schemas"].get(name).is_some(),
                "{target} is not defined"
            );
        }
    }
}
