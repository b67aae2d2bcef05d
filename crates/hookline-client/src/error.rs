//! [`Error`]: what a call can fail with, keeping the server's own `code`, `message` and `field`.

use hookline_proto::ErrorDetail;

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server answered with an error status and its `{"error": {code, message, field}}` body.
    #[error("{} ({}, HTTP {status})", detail.message, detail.code)]
    Api {
        /// The HTTP status.
        status: u16,
        /// The server's error: a stable `code`, a `message` for people, the request `field` at fault.
        detail: ErrorDetail,
    },
    /// The request did not complete: the server is unreachable, the connection broke, or it timed out.
    #[error("could not reach {url}")]
    Transport {
        /// The URL called.
        url: String,
        /// The transport failure.
        #[source]
        source: reqwest::Error,
    },
    /// The server answered 2xx with a body that is not what the API describes (a proxy, or another service).
    #[error("unexpected answer from {url}")]
    Decode {
        /// The URL called.
        url: String,
        /// Why the body did not decode.
        #[source]
        source: serde_json::Error,
    },
    /// An event stream stayed silent beyond its keep-alive interval: the connection is gone.
    #[error("the event stream from {url} went silent")]
    StreamSilent {
        /// The stream's URL.
        url: String,
    },
    /// The server URL given to [`Client::new`](crate::Client::new) is not an absolute http(s) URL.
    #[error("{0:?} is not a server URL: use e.g. http://localhost:8080")]
    InvalidServer(String),
}

impl Error {
    /// The HTTP status of an API error.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The server's error code (`not_found`, `unauthorized`, `validation_failed`, …) of an API error.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Api { detail, .. } => Some(&detail.code),
            _ => None,
        }
    }

    /// The request field the server blamed, for validation errors.
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::Api { detail, .. } => detail.field.as_deref(),
            _ => None,
        }
    }
}
