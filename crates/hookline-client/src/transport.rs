//! One request: build the URL from escaped path segments, send with the API key, decode the answer or the
//! server's error body.

use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Client, Error, proto};

impl Client {
    /// The URL of `segments` under the server (each segment escaped, so an id can never change the path)
    /// with `query`.
    pub(crate) fn url(&self, segments: &[&str], query: &[(&str, String)]) -> url::Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query.iter().map(|(name, value)| (*name, value.as_str())));
        }
        url
    }

    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &[(&str, String)],
    ) -> Result<T, Error> {
        let bytes = self.call(Method::GET, self.url(segments, query), None::<&()>).await?;
        decode(self.url(segments, query), &bytes)
    }

    pub(crate) async fn send<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<&B>,
    ) -> Result<T, Error> {
        let url = self.url(segments, &[]);
        let bytes = self.call(method, url.clone(), body).await?;
        decode(url, &bytes)
    }

    /// Sends the request; a 2xx answer's body, or the error the server gave.
    pub(crate) async fn call<B: Serialize>(
        &self,
        method: Method,
        url: url::Url,
        body: Option<&B>,
    ) -> Result<Vec<u8>, Error> {
        let transport = |source| Error::Transport { url: url.to_string(), source };
        let mut request = self.http.request(method, url.clone()).bearer_auth(&self.api_key);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(transport)?;
        if status.is_success() {
            return Ok(bytes.to_vec());
        }
        Err(Error::Api { status: status.as_u16(), detail: error_detail(status, &bytes) })
    }
}

fn decode<T: DeserializeOwned>(url: url::Url, bytes: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(bytes).map_err(|source| Error::Decode { url: url.to_string(), source })
}

/// The server's `{"error": …}` body, or, when something else answered (a proxy's HTML page), a detail made
/// from the status and the start of the body.
pub(crate) fn error_detail(status: reqwest::StatusCode, bytes: &[u8]) -> proto::ErrorDetail {
    if let Ok(body) = serde_json::from_slice::<proto::ErrorBody>(bytes) {
        return body.error;
    }
    let text = String::from_utf8_lossy(bytes);
    let excerpt: String = text.trim().chars().take(200).collect();
    let reason = status.canonical_reason().unwrap_or("error");
    proto::ErrorDetail {
        code: format!("http_{}", status.as_u16()),
        message: if excerpt.is_empty() { reason.to_owned() } else { format!("{reason}: {excerpt}") },
        field: None,
    }
}
