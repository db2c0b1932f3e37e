//! The registration routes' part of `/openapi.json`: paths, parameters and
//! the schemas of staging records, the patron view and completions.

use serde_json::{json, Map, Value};

/// Client systems authenticate with their key; staff routes also take a session.
fn security(staff: bool) -> Value {
    if staff {
        json!([{"apiKey": []}, {"bearer": []}])
    } else {
        json!([{"apiKey": []}])
    }
}

/// Responses by status: a 2xx names its schema, an error (`None`) is `{"code","message"}`.
fn answers(list: &[(&str, &str, Option<&str>)]) -> Value {
    let mut responses = Map::new();
    for (status, description, schema) in list {
        let schema = format!("#/components/schemas/{}", schema.unwrap_or("Error"));
        responses.insert(
            (*status).to_owned(),
            json!({"description": description,
                   "content": {"application/json": {"schema": {"$ref": schema}}}}),
        );
    }
    Value::Object(responses)
}

fn body(schema: &str) -> Value {
    json!({"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}})
}

fn path_id() -> Value {
    json!({"name": "externalSystemId", "in": "path", "required": true,
           "schema": {"type": "string", "minLength": 1, "maxLength": 255}})
}

fn status_operation() -> Value {
    json!({
        "summary": "Registration status of the one patron an e-mail or externalSystemId designates",
        "security": security(false),
        "parameters": [
            {"name": "emailId", "in": "query", "required": false, "schema": {"type": "string"}},
            {"name": "externalSystemId", "in": "query", "required": false, "schema": {"type": "string"}}
        ],
        "responses": answers(&[
            ("200", "the active patron", Some("Patron")),
            ("400", "INVALID_IDENTIFIERS or MULTIPLE_USER_WITH_EMAIL", None),
            ("401", "UNAUTHORIZED", None),
            ("404", "ACCOUNT_EXPIRED, USER_ACCOUNT_INACTIVE or USER_NOT_FOUND", None)
        ])
    })
}

/// The registration paths, with their operations.
pub fn paths() -> Vec<(&'static str, Value)> {
    vec![
        (
            "/patron",
            json!({"post": {
                "summary": "Create a staging record, or update the one holding the e-mail",
                "security": security(false),
                "requestBody": body("StagingInput"),
                "responses": answers(&[
                    ("200", "the e-mail's staging record, updated", Some("StagingRecord")),
                    ("201", "a new staging record", Some("StagingRecord")),
                    ("400", "MISSING_BODY", None),
                    ("401", "UNAUTHORIZED", None),
                    ("409", "PATRON_ALREADY_EXISTS", None),
                    ("422", "VALIDATION_ERROR naming the field", None)
                ])
            }}),
        ),
        (
            "/patron/{externalSystemId}",
            json!({
                "get": {
                    "summary": "One staging record",
                    "security": security(false),
                    "parameters": [path_id()],
                    "responses": answers(&[
                        ("200", "the staging record", Some("StagingRecord")),
                        ("401", "UNAUTHORIZED", None),
                        ("404", "STAGING_USER_NOT_FOUND", None)
                    ])
                },
                "put": {
                    "summary": "Merge into a staging record (absent fields and empty lists keep the stored values; the e-mail never changes)",
                    "security": security(false),
                    "parameters": [path_id()],
                    "requestBody": body("StagingInput"),
                    "responses": answers(&[
                        ("200", "the merged record", Some("StagingRecord")),
                        ("400", "MISSING_BODY", None),
                        ("401", "UNAUTHORIZED", None),
                        ("404", "STAGING_USER_NOT_FOUND", None),
                        ("422", "VALIDATION_ERROR naming the field", None)
                    ])
                }
            }),
        ),
        (
            "/patron/{externalSystemId}/complete",
            json!({"post": {
                "summary": "On-site completion by staff: creates (201) or renews (200) the patron in Alma",
                "security": security(true),
                "parameters": [path_id()],
                "requestBody": body("Completion"),
                "responses": answers(&[
                    ("200", "an expired patron renewed", Some("Completed")),
                    ("201", "the patron created in the home institution", Some("Completed")),
                    ("400", "MISSING_BODY", None),
                    ("401", "UNAUTHORIZED", None),
                    ("403", "FORBIDDEN: not staff", None),
                    ("404", "STAGING_USER_NOT_FOUND", None),
                    ("409", "PATRON_ALREADY_EXISTS", None),
                    ("422", "VALIDATION_ERROR, or ALMA_REJECTED with Alma's errorCode", None),
                    ("503", "ALMA_UNAVAILABLE: nothing lost, retry", None)
                ])
            }}),
        ),
        (
            "/patron-registration-status",
            json!({"get": status_operation()}),
        ),
        (
            "/patron/registration-status",
            json!({"get": status_operation()}),
        ),
        (
            "/events",
            json!({"get": {
                "summary": "The newest published events of one type (local server only)",
                "security": security(true),
                "parameters": [
                    {"name": "type", "in": "query", "required": true, "schema": {"type": "string", "example": "patron.registered"}},
                    {"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}}
                ],
                "responses": answers(&[
                    ("200", "newest first", Some("Events")),
                    ("400", "INVALID_PARAMETER", None),
                    ("401", "UNAUTHORIZED", None),
                    ("403", "FORBIDDEN: not staff", None)
                ])
            }}),
        ),
    ]
}

/// The schemas the registration paths refer to, by name.
pub fn schemas() -> Vec<(&'static str, Value)> {
    let text = json!({"type": "string", "maxLength": 200});
    vec![
        (
            "StagingInput",
            json!({"type": "object", "additionalProperties": false, "properties": {
                "externalSystemId": {"description": "ignored"},
                "status": {"type": "string", "enum": ["TIER-1", "TIER-2"]},
                "isEmailVerified": {"type": "boolean"},
                "minor": {"type": "boolean"},
                "generalInfo": {"type": "object", "additionalProperties": false, "properties": {
                    "firstName": text, "preferredFirstName": text, "middleName": text, "lastName": text}},
                "addressInfo": {"type": "object", "additionalProperties": false, "properties": {
                    "addressLine0": text, "addressLine1": text, "city": text,
                    "province": text, "zip": text, "country": text}},
                "contactInfo": {"type": "object", "additionalProperties": false, "properties": {
                    "phone": text, "mobilePhone": text, "email": {"type": "string", "format": "email"}}},
                "preferredEmailCommunication": {"type": "array", "maxItems": 3, "uniqueItems": true,
                    "items": {"type": "string", "enum": ["Support", "Programs", "Services"]}}
            }}),
        ),
        (
            "StagingRecord",
            json!({"type": "object", "required": [
            "externalSystemId", "status", "isEmailVerified", "minor", "generalInfo",
            "addressInfo", "contactInfo", "preferredEmailCommunication", "createdDate",
            "updatedDate", "version"]}),
        ),
        (
            "Patron",
            json!({"type": "object", "required": ["primaryId", "type", "active", "status", "emails", "institutions"],
            "properties": {
                "primaryId": {"type": "string"},
                "externalSystemId": {"type": "string", "nullable": true},
                "type": {"type": "string", "enum": ["patron"]},
                "active": {"type": "boolean"},
                "status": {"type": "string", "enum": ["ACTIVE"]},
                "userGroup": {"type": "string", "nullable": true},
                "expirationDate": {"type": "string", "format": "date", "nullable": true},
                "emails": {"type": "array", "items": {"type": "string"}},
                "firstName": {"type": "string", "nullable": true},
                "lastName": {"type": "string", "nullable": true},
                "institutions": {"type": "array", "items": {"type": "string"}}}}),
        ),
        (
            "Completion",
            json!({"type": "object", "additionalProperties": false,
            "required": ["homeInstitution", "barcode", "userGroup"],
            "properties": {
                "homeInstitution": {"type": "string"},
                "barcode": {"type": "string", "minLength": 1, "maxLength": 255},
                "userGroup": {"type": "string"},
                "expiryDate": {"type": "string", "format": "date"}}}),
        ),
        (
            "Completed",
            json!({"type": "object", "required": ["primaryId", "homeInstitution", "expiryDate", "renewal"],
            "properties": {
                "primaryId": {"type": "string"},
                "homeInstitution": {"type": "string"},
                "expiryDate": {"type": "string", "format": "date"},
                "renewal": {"type": "boolean"}}}),
        ),
        (
            "Events",
            json!({"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": {
            "type": "object", "required": ["id", "type", "time", "detail"], "properties": {
                "id": {"type": "string"}, "type": {"type": "string"},
                "time": {"type": "string", "format": "date-time"}, "detail": {"type": "object"}}}}}}),
        ),
    ]
}
