//! Deliveries: a webhook's list, one delivery with its attempts, retry.

use futures_util::stream::Stream;
use reqwest::Method;

use crate::{Client, Error, ListOptions, proto};

impl Client {
    /// `GET /v1/webhooks/{id}/deliveries?status=`: one page, newest first.
    pub async fn deliveries(
        &self,
        webhook_id: &str,
        status: Option<&str>,
        options: &ListOptions,
    ) -> Result<proto::List<proto::Delivery>, Error> {
        let mut query = options.query();
        query.extend(status.map(|status| ("status", status.to_owned())));
        self.get(&["v1", "webhooks", webhook_id, "deliveries"], &query).await
    }

    /// Every delivery of a webhook (optionally of one status), following the cursor `page_size` at a time.
    pub fn deliveries_all<'a>(
        &'a self,
        webhook_id: &str,
        status: Option<&str>,
        page_size: usize,
    ) -> impl Stream<Item = Result<proto::Delivery, Error>> + 'a {
        let segments = vec!["v1".into(), "webhooks".into(), webhook_id.to_owned(), "deliveries".into()];
        let extra = status.map(|status| vec![("status", status.to_owned())]).unwrap_or_default();
        self.all(segments, extra, page_size)
    }

    /// `GET /v1/deliveries/{id}`: the delivery with every attempt.
    pub async fn delivery(&self, id: &str) -> Result<proto::DeliveryDetail, Error> {
        self.get(&["v1", "deliveries", id], &[]).await
    }

    /// `POST /v1/deliveries/{id}/retry`: sends it again now.
    pub async fn retry_delivery(&self, id: &str) -> Result<proto::Delivery, Error> {
        self.send(Method::POST, &["v1", "deliveries", id, "retry"], None::<&()>).await
    }
}
