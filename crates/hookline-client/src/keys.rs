//! `/v1/api-keys` (the platform's keys) and `/v1/platforms` (a client made with the admin token).

use futures_util::stream::Stream;
use reqwest::Method;

use crate::{Client, Error, ListOptions, proto};

impl Client {
    /// `POST /v1/api-keys`: the answer carries the key, shown this once.
    pub async fn create_api_key(&self, key: &proto::CreateApiKey) -> Result<proto::ApiKey, Error> {
        self.send(Method::POST, &["v1", "api-keys"], Some(key)).await
    }

    /// `GET /v1/api-keys`: the platform's keys, oldest first, never the keys themselves.
    pub async fn api_keys(&self) -> Result<proto::List<proto::ApiKey>, Error> {
        self.get(&["v1", "api-keys"], &[]).await
    }

    /// `DELETE /v1/api-keys/{id}`: the key stops working within a second on every node.
    pub async fn revoke_api_key(&self, id: &str) -> Result<(), Error> {
        self.call(Method::DELETE, self.url(&["v1", "api-keys", id], &[]), None::<&()>).await.map(drop)
    }

    /// `POST /v1/platforms` (admin token): the answer carries the platform's first API key.
    pub async fn create_platform(&self, platform: &proto::CreatePlatform) -> Result<proto::Platform, Error> {
        self.send(Method::POST, &["v1", "platforms"], Some(platform)).await
    }

    /// `GET /v1/platforms` (admin token): one page, by id.
    pub async fn platforms(&self, options: &ListOptions) -> Result<proto::List<proto::Platform>, Error> {
        self.get(&["v1", "platforms"], &options.query()).await
    }

    /// Every platform (admin token), following the cursor `page_size` at a time.
    pub fn platforms_all(&self, page_size: usize) -> impl Stream<Item = Result<proto::Platform, Error>> + '_ {
        self.all(vec!["v1".into(), "platforms".into()], Vec::new(), page_size)
    }

    /// `GET /v1/platforms/{id}` (admin token).
    pub async fn platform(&self, id: &str) -> Result<proto::Platform, Error> {
        self.get(&["v1", "platforms", id], &[]).await
    }

    /// `PATCH /v1/platforms/{id}` (admin token): only the fields set change.
    pub async fn update_platform(&self, id: &str, patch: &proto::UpdatePlatform) -> Result<proto::Platform, Error> {
        self.send(Method::PATCH, &["v1", "platforms", id], Some(patch)).await
    }

    /// `DELETE /v1/platforms/{id}` (admin token): the platform and everything it owns.
    pub async fn delete_platform(&self, id: &str) -> Result<(), Error> {
        self.call(Method::DELETE, self.url(&["v1", "platforms", id], &[]), None::<&()>).await.map(drop)
    }
}
