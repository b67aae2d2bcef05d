//! `ApiQuery`: axum's query-string extractor with its rejections turned into a 400 [`ApiError`] that names
//! the parameter. Query structs deny unknown fields, so a misspelt filter is an error, never silently ignored.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::ApiError;

/// A parsed query string.
pub(crate) struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        parse(query).map(Self)
    }
}

/// Parses a query string into `T`, naming the offending parameter in the error when serde does.
pub(crate) fn parse<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    serde_urlencoded_parse(query).map_err(|message| {
        // serde_urlencoded says "<field>: unknown field `<field>`, expected one of …" or "<field>: <problem>".
        if let Some(rest) = message.split("unknown field `").nth(1) {
            let name = rest.split('`').next().unwrap_or_default().to_owned();
            let message = format!("unknown query parameter `{name}`");
            return ApiError::InvalidQuery { field: Some(name), message };
        }
        let field = message.split_once(": ").map(|(field, _)| field.to_owned()).filter(|f| !f.contains(' '));
        ApiError::InvalidQuery { field, message: format!("invalid query string: {message}") }
    })
}

fn serde_urlencoded_parse<T: DeserializeOwned>(query: &str) -> Result<T, String> {
    // axum's own Query extractor, run on a synthetic URI, so the parsing rules are exactly axum's.
    let uri: axum::http::Uri = format!("/?{query}").parse().map_err(|e: axum::http::uri::InvalidUri| e.to_string())?;
    axum::extract::Query::<T>::try_from_uri(&uri).map(|q| q.0).map_err(|rejection| {
        let text = rejection.body_text();
        text.strip_prefix("Failed to deserialize query string: ").unwrap_or(&text).to_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Q {
        #[serde(default)]
        since: Option<String>,
    }

    #[test]
    fn unknown_parameters_are_named() {
        assert!(parse::<Q>("since=x").is_ok());
        match parse::<Q>("sinse=x") {
            Err(ApiError::InvalidQuery { field, message }) => {
                assert_eq!(field.as_deref(), Some("sinse"));
                assert_eq!(message, "unknown query parameter `sinse`");
            }
            other => panic!("expected InvalidQuery, got {other:?}"),
        }
    }
}
