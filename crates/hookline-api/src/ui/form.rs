//! `FormData`: an `application/x-www-form-urlencoded` body as its list of pairs. Checkbox groups send one
//! pair per checked box under the same name, which serde's form decoding cannot collect, so pages read pairs.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};

use super::errors::UiError;

/// A submitted form.
#[derive(Debug, Default)]
pub(crate) struct FormData(pub Vec<(String, String)>);

impl FormData {
    /// The first value of `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, in order.
    pub(crate) fn all(&self, name: &str) -> Vec<String> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect()
    }

    /// The value of `name`, trimmed; `None` when absent or blank.
    pub(crate) fn text(&self, name: &str) -> Option<String> {
        self.get(name).map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned)
    }
}

impl<S: Send + Sync> FromRequest<S> for FormData {
    type Rejection = UiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|_| UiError::bad_request("The form could not be read."))?;
        Ok(Self(url::form_urlencoded::parse(&bytes).into_owned().collect()))
    }
}
