//! Lists: one page at a time, or every item as a stream that follows `next_cursor`.

use futures_util::stream::{self, Stream, TryStreamExt};
use serde::de::DeserializeOwned;

use crate::{Client, Error, proto};

/// `?limit=&after=` of a list call.
#[derive(Debug, Clone, Default)]
pub struct ListOptions {
    /// At most this many items per page (the server allows 1 to 1000; default 100).
    pub limit: Option<usize>,
    /// The `next_cursor` of the previous page.
    pub after: Option<String>,
}

impl ListOptions {
    pub(crate) fn query(&self) -> Vec<(&'static str, String)> {
        let mut query = Vec::new();
        if let Some(limit) = self.limit {
            query.push(("limit", limit.to_string()));
        }
        if let Some(after) = &self.after {
            query.push(("after", after.clone()));
        }
        query
    }
}

impl Client {
    /// Every item of the list at `segments`, page after page of `page_size`, as a stream. `extra` is added to
    /// each page's query (e.g. `status`). The stream ends after the page without a `next_cursor`.
    pub(crate) fn all<'a, T: DeserializeOwned + 'a>(
        &'a self,
        segments: Vec<String>,
        extra: Vec<(&'static str, String)>,
        page_size: usize,
    ) -> impl Stream<Item = Result<T, Error>> + 'a {
        // The state is the cursor to ask for next: `Some(None)` is the first page, `None` means done.
        let pages = stream::try_unfold(Some(None::<String>), move |cursor| {
            let segments = segments.clone();
            let extra = extra.clone();
            async move {
                let Some(after) = cursor else { return Ok(None) };
                let options = ListOptions { limit: Some(page_size), after };
                let mut query = options.query();
                query.extend(extra);
                let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
                let page: proto::List<T> = self.get(&segments, &query).await?;
                let next = page.next_cursor.map(Some);
                Ok::<_, Error>(Some((page.data, next)))
            }
        });
        pages.map_ok(|items| stream::iter(items.into_iter().map(Ok))).try_flatten()
    }
}
