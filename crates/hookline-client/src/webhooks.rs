//! `/v1/webhooks`: create, list, read, update, delete, secret, rotate, test, recover.

use futures_util::stream::Stream;
use reqwest::Method;

use crate::{Client, Error, ListOptions, proto};

impl Client {
    /// `POST /v1/webhooks`: the answer carries the signing secret.
    pub async fn create_webhook(&self, webhook: &proto::CreateWebhook) -> Result<proto::Webhook, Error> {
        self.send(Method::POST, &["v1", "webhooks"], Some(webhook)).await
    }

    /// `GET /v1/webhooks`: one page, oldest first.
    pub async fn webhooks(&self, options: &ListOptions) -> Result<proto::List<proto::Webhook>, Error> {
        self.get(&["v1", "webhooks"], &options.query()).await
    }

    /// Every webhook, following the cursor `page_size` at a time.
    pub fn webhooks_all(&self, page_size: usize) -> impl Stream<Item = Result<proto::Webhook, Error>> + '_ {
        self.all(vec!["v1".into(), "webhooks".into()], Vec::new(), page_size)
    }

    /// `GET /v1/webhooks/{id}`.
    pub async fn webhook(&self, id: &str) -> Result<proto::Webhook, Error> {
        self.get(&["v1", "webhooks", id], &[]).await
    }

    /// `PATCH /v1/webhooks/{id}`: only the fields set change.
    pub async fn update_webhook(&self, id: &str, patch: &proto::UpdateWebhook) -> Result<proto::Webhook, Error> {
        self.send(Method::PATCH, &["v1", "webhooks", id], Some(patch)).await
    }

    /// `DELETE /v1/webhooks/{id}`.
    pub async fn delete_webhook(&self, id: &str) -> Result<(), Error> {
        self.call(Method::DELETE, self.url(&["v1", "webhooks", id], &[]), None::<&()>).await.map(drop)
    }

    /// `GET /v1/webhooks/{id}/secret`: the only read that shows the secret.
    pub async fn webhook_secret(&self, id: &str) -> Result<proto::WebhookSecret, Error> {
        self.get(&["v1", "webhooks", id, "secret"], &[]).await
    }

    /// `POST /v1/webhooks/{id}/rotate-secret`.
    pub async fn rotate_secret(&self, id: &str) -> Result<proto::WebhookSecret, Error> {
        self.send(Method::POST, &["v1", "webhooks", id, "rotate-secret"], None::<&()>).await
    }

    /// `POST /v1/webhooks/{id}/test`: a signed test event to this webhook only.
    pub async fn test_webhook(&self, id: &str, test: &proto::TestWebhook) -> Result<proto::EventAccepted, Error> {
        self.send(Method::POST, &["v1", "webhooks", id, "test"], Some(test)).await
    }

    /// `POST /v1/webhooks/{id}/recover`: re-sends every failed delivery created since `since` (RFC 3339).
    pub async fn recover_webhook(&self, id: &str, since: &str) -> Result<proto::Recovered, Error> {
        let body = proto::RecoverWebhook { since: since.to_owned() };
        self.send(Method::POST, &["v1", "webhooks", id, "recover"], Some(&body)).await
    }
}
