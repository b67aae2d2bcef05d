//! Server-sent event streams (`text/event-stream`): the live inbox stream and a listener's deliveries. A small
//! reader of the format (events separated by a blank line, `event:`, `id:` and `data:` fields, `:` comments for
//! keep-alives), over the response's chunks.

use std::time::Duration;

use reqwest::Method;

use crate::{Client, Error};

/// One event as the server sent it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerEvent {
    /// The `event:` name; `None` for an unnamed (`message`) event.
    pub event: Option<String>,
    /// The `id:`, when the server set one.
    pub id: Option<String>,
    /// The `data:` lines, joined by newlines.
    pub data: String,
}

/// An open event stream. [`EventStream::next_event`] returns `Ok(None)` when the server closed it.
#[derive(Debug)]
pub struct EventStream {
    response: reqwest::Response,
    url: String,
    parser: Parser,
}

/// The format itself, apart from the connection: bytes in, whole events out.
#[derive(Debug, Default)]
struct Parser {
    buffer: Vec<u8>,
    current: ServerEvent,
    has_data: bool,
}

impl Parser {
    fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// The next whole event in what was pushed; `None` until one is complete. An event without `data:` is
    /// not dispatched (as in browsers).
    fn next_event(&mut self) -> Option<ServerEvent> {
        while let Some(end) = self.buffer.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.buffer.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line[..end]);
            let line = line.strip_suffix('\r').unwrap_or(&line);
            if line.is_empty() {
                if self.has_data {
                    self.has_data = false;
                    return Some(std::mem::take(&mut self.current));
                }
                self.current = ServerEvent::default();
                continue;
            }
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "event" => self.current.event = Some(value.to_owned()),
                "id" => self.current.id = Some(value.to_owned()),
                "data" => {
                    if self.has_data {
                        self.current.data.push('\n');
                    }
                    self.current.data.push_str(value);
                    self.has_data = true;
                }
                _ => {}
            }
        }
        None
    }
}

/// How long a stream may stay silent: the server sends a keep-alive comment every 15 s, so a longer silence
/// means the connection is gone even if no error says so.
const SILENCE: Duration = Duration::from_secs(45);

impl EventStream {
    /// The next event, waiting for it; `Ok(None)` at the end of the stream.
    pub async fn next_event(&mut self) -> Result<Option<ServerEvent>, Error> {
        loop {
            if let Some(event) = self.parser.next_event() {
                return Ok(Some(event));
            }
            let chunk = tokio::time::timeout(SILENCE, self.response.chunk()).await;
            match chunk.ok() {
                Some(Ok(Some(bytes))) => self.parser.push(&bytes),
                Some(Ok(None)) => return Ok(None),
                Some(Err(source)) => return Err(Error::Transport { url: self.url.clone(), source }),
                None => return Err(Error::StreamSilent { url: self.url.clone() }),
            }
        }
    }
}

impl Client {
    /// Opens the event stream at `segments`, resuming after `last_event_id` when given.
    pub(crate) async fn event_stream(
        &self,
        segments: &[&str],
        last_event_id: Option<&str>,
    ) -> Result<EventStream, Error> {
        let url = self.url(segments, &[]);
        let transport = |source| Error::Transport { url: url.to_string(), source };
        // A stream lives as long as the server keeps it (at most its `stream_max`), beyond the client's
        // per-request timeout; silence is caught by `SILENCE` instead.
        let mut request = self
            .http
            .request(Method::GET, url.clone())
            .bearer_auth(&self.api_key)
            .header("accept", "text/event-stream")
            .timeout(Duration::from_secs(24 * 3600));
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        if !status.is_success() {
            let bytes = response.bytes().await.map_err(transport)?;
            return Err(Error::Api { status: status.as_u16(), detail: crate::transport::error_detail(status, &bytes) });
        }
        Ok(EventStream { response, url: url.to_string(), parser: Parser::default() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(chunks: &[&str]) -> Vec<ServerEvent> {
        let mut parser = Parser::default();
        let mut out = Vec::new();
        for chunk in chunks {
            parser.push(chunk.as_bytes());
            while let Some(event) = parser.next_event() {
                out.push(event);
            }
        }
        out
    }

    fn event(name: Option<&str>, id: Option<&str>, data: &str) -> ServerEvent {
        ServerEvent { event: name.map(str::to_owned), id: id.map(str::to_owned), data: data.to_owned() }
    }

    #[test]
    fn events_split_anywhere_with_comments_crlf_and_multi_line_data() {
        let cases: &[(&[&str], Vec<ServerEvent>)] = &[
            (&["data: {\"a\":1}\n\n"], vec![event(None, None, "{\"a\":1}")]),
            (&["id: dlv_1\nda", "ta: x\n", "\n"], vec![event(None, Some("dlv_1"), "x")]),
            (&[":\n\n", ": keep-alive\n\n", "data:no-space\n\n"], vec![event(None, None, "no-space")]),
            (&["event: end\r\ndata: {}\r\n\r\n"], vec![event(Some("end"), None, "{}")]),
            (&["data: a\ndata: b\n\n"], vec![event(None, None, "a\nb")]),
            (&["event: nothing\n\ndata: after\n\n"], vec![event(None, None, "after")]),
            (&["data: unfinished\n"], vec![]),
        ];
        for (chunks, expected) in cases {
            assert_eq!(&events(chunks), expected, "{chunks:?}");
        }
    }
}
