//! `/openapi.json`: the description of every JSON route, for client authors and
//! API fuzzers. Each router adds its paths here when it is added to the server.

use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

/// The OpenAPI document of every JSON route patron-hub serves.
pub fn document() -> Value {
    let error = json!({"$ref": "#/components/schemas/Error"});
    let error_response = |description: &str| json!({"description": description, "content": {"application/json": {"schema": error}}});
    json!({
        "openapi": "3.0.3",
        "info": {"title": "patron-hub", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Keeps library patron accounts consistent across the institutions of an Alma network."},
        "paths": {
            "/healthz": {"get": {"summary": "Liveness", "responses": {"200": {"description": "alive"}}}},
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
        "components": {"schemas": {
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
    })
}

/// The `/openapi.json` route.
pub fn router() -> Router {
    Router::new().route("/openapi.json", get(|| async { Json(document()) }))
}
