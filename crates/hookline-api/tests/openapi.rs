//! The OpenAPI document is complete: every response has a description (OpenAPI 3.1 requires one), and every
//! operation documents the errors it can answer with, each with the `ErrorBody` schema. `cargo test` catches a
//! route added without them; CI's `.ci/schemathesis.sh` checks the same against a running server.

#![cfg(test)]

use serde_json::Value;

fn document() -> Value {
    serde_json::to_value(hookline_api::openapi_document()).expect("the document serializes")
}

fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut found = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                found.push((method.to_uppercase(), path.clone(), operation.clone()));
            }
        }
    }
    found
}

#[test]
fn every_response_has_a_description() {
    let doc = document();
    assert!(doc["openapi"].as_str().expect("version").starts_with("3.1"));
    let operations = operations(&doc);
    assert!(operations.len() >= 22, "{} operations", operations.len());
    for (method, path, operation) in &operations {
        for (status, response) in operation["responses"].as_object().expect("responses") {
            let description = response["description"].as_str().unwrap_or_default();
            assert!(!description.is_empty(), "{method} {path} {status} has no description");
        }
    }
}

#[test]
fn every_operation_documents_its_errors() {
    let doc = document();
    for (method, path, operation) in operations(&doc) {
        let responses = operation["responses"].as_object().expect("responses");
        let label = format!("{method} {path}");
        let open = operation["security"].as_array().is_some_and(|s| s.iter().any(|r| r == &serde_json::json!({})));
        let mut expected = Vec::new();
        if !open {
            expected.push("401");
            // A read-only API key is refused on every write; the admin token's routes take no API key.
            if method != "GET" && path.starts_with("/v1/") && !path.starts_with("/v1/platforms") {
                expected.push("403");
            }
        }
        if path.contains('{') {
            expected.push("404");
        }
        if operation.get("requestBody").is_some() {
            expected.extend(["400", "413", "415", "422"]);
        }
        let has_query = operation["parameters"].as_array().is_some_and(|p| p.iter().any(|p| p["in"] == "query"));
        if has_query {
            expected.push("400");
        }
        if path.starts_with("/v1/") {
            expected.extend(["500", "503"]);
        }
        for status in expected {
            let response = responses.get(status).unwrap_or_else(|| panic!("{label} does not document {status}"));
            let schema = &response["content"]["application/json"]["schema"]["$ref"];
            assert_eq!(schema, "#/components/schemas/ErrorBody", "{label} {status} has the error body");
        }
        let success = responses.keys().filter(|status| status.starts_with('2')).count();
        assert_eq!(success, 1, "{label} documents exactly one success");
    }
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
    assert!(doc["components"]["schemas"]["EventType"]["properties"]["sample"].is_object());
}
