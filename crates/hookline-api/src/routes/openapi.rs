//! Completes the generated OpenAPI document: every response gets a description (OpenAPI 3.1 requires one),
//! and every operation documents the errors its extractors and the store can answer with, from rules that
//! mirror how requests are handled. The handlers' own annotations stay short and keep what is specific to
//! them (a 409, a 503 body); the rules add the rest, so a new route is complete the moment it is annotated.
//!
//! The rules, per operation:
//! - authenticated (no `security(())` override): `401`; and when it writes (not `GET`) with an API key (not the
//!   admin token's `/v1/platforms`): `403` (a read-only key);
//! - a path parameter: `404` (an id of the wrong shape is a 404, like an unknown one);
//! - query parameters: `400` (a malformed query);
//! - a request body: `400` (not JSON), `413` (too large), `415` (not `application/json`), `422` (invalid);
//! - under `/v1`: `500` (our failure, opaque) and `503` (shutting down, database unavailable).

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::{Content, OpenApi, Ref, RefOr, Response};

/// Adds the documented error responses and fills in missing descriptions.
pub(crate) fn complete(openapi: &mut OpenApi) {
    for (path, item) in openapi.paths.paths.iter_mut() {
        let operations = [
            (&mut item.get, false),
            (&mut item.post, true),
            (&mut item.put, true),
            (&mut item.patch, true),
            (&mut item.delete, true),
            (&mut item.head, false),
        ];
        for (operation, writes) in operations {
            let Some(operation) = operation else { continue };
            for status in error_statuses(path, operation, writes) {
                operation.responses.responses.entry(status.to_string()).or_insert_with(|| error_response(status));
            }
            for (status, response) in operation.responses.responses.iter_mut() {
                if let RefOr::T(response) = response
                    && response.description.is_empty()
                {
                    response.description = describe(status).to_owned();
                }
            }
        }
    }
}

/// The error statuses `operation` on `path` can answer with, by the rules above.
fn error_statuses(path: &str, operation: &Operation, writes: bool) -> Vec<u16> {
    let mut statuses = Vec::new();
    // `security(())` (an empty requirement) marks the routes open without a key (health, readiness, metrics).
    let open = operation.security.as_ref().is_some_and(|requirements| {
        requirements
            .iter()
            .any(|requirement| serde_json::to_value(requirement).is_ok_and(|v| v == serde_json::json!({})))
    });
    if !open {
        statuses.push(401);
        if writes && path.starts_with("/v1/") && !path.starts_with("/v1/platforms") {
            statuses.push(403);
        }
    }
    let parameters = operation.parameters.as_deref().unwrap_or_default();
    let has = |place: ParameterIn| parameters.iter().any(|p| matches!(p, RefOr::T(p) if p.parameter_in == place));
    if has(ParameterIn::Path) || path.contains('{') {
        statuses.push(404);
    }
    if has(ParameterIn::Query) {
        statuses.push(400);
    }
    if operation.request_body.is_some() {
        statuses.extend([400, 413, 415, 422]);
    }
    if path.starts_with("/v1/") {
        statuses.extend([500, 503]);
    }
    statuses
}

fn error_response(status: u16) -> RefOr<Response> {
    let mut response = Response::new(describe(&status.to_string()));
    response
        .content
        .insert("application/json".to_owned(), RefOr::T(Content::new(Some(Ref::from_schema_name("ErrorBody")))));
    RefOr::T(response)
}

/// What a status means on this API, for people reading the document.
fn describe(status: &str) -> &'static str {
    match status {
        "200" => "OK.",
        "201" => "Created.",
        "202" => "Accepted: stored durably; the work happens in the background.",
        "204" => "Done; no content.",
        "400" => {
            "The request is malformed: the body is not JSON or not the expected shape, or a query parameter \
                  does not parse (`invalid_json`, `invalid_body`, `invalid_query`, `invalid_request`)."
        }
        "401" => "No API key, or one the server does not know (`unauthorized`).",
        "403" => "The API key is read-only and the request writes (`read_only_key`).",
        "404" => "No such record for this platform; another platform's record is a 404 too (`not_found`).",
        "405" => "The path exists, not with this method (`method_not_allowed`).",
        "409" => "The request conflicts with the record's current state (`conflict`).",
        "413" => "The body is larger than the server accepts (`payload_too_large`).",
        "415" => "The body is not sent as `Content-Type: application/json` (`unsupported_media_type`).",
        "422" => {
            "A field is invalid; `field` names it (`validation_failed`, `unknown_event_type`), or a configured \
                  limit is reached (`webhook_limit_reached`)."
        }
        "500" => "hookline failed; the error is logged on the server and the answer carries nothing more (`internal`).",
        "503" => {
            "The service cannot serve right now: shutting down (`unavailable`), or the database cannot take \
                  writes (disk full, locked, unreachable: `storage_unavailable`, with `Retry-After`). Nothing was \
                  changed; send the request again."
        }
        _ => "See the body.",
    }
}
