//! HTTP headers as an attempt sent and received them, kept the way they are stored: one compact JSON text,
//! `[["name","value"],…]`, in the order sent or received.
//!
//! The delivery hot path builds each list once per attempt straight into that text (one growing `String`, no
//! allocation per header), the store writes the text as it is, and only a reader of a delivery's page parses it
//! back into pairs. A response's headers are bounded ([`MAX_RESPONSE_HEADERS`], [`MAX_RESPONSE_HEADER_BYTES`]):
//! what does not fit is left out and counted, so a receiver answering a thousand headers costs a bounded row.

use std::fmt::Write as _;

/// At most this many of a response's headers are kept.
pub const MAX_RESPONSE_HEADERS: usize = 64;

/// At most this many bytes of a response's header names and values are kept, in total.
pub const MAX_RESPONSE_HEADER_BYTES: usize = 8 * 1024;

/// Response headers whose values may be the receiver's credentials: kept by name, value replaced.
const REDACTED_RESPONSE_HEADERS: [&str; 4] = ["authorization", "proxy-authorization", "set-cookie", "cookie"];

/// What a redacted value reads as.
pub const REDACTED: &str = "(redacted)";

/// Headers as compact JSON text, and how many were left out because they went beyond the bounds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HeaderList {
    json: String,
    omitted: u32,
}

impl HeaderList {
    /// A stored list: `None` when `json` is not an array of `[name, value]` string pairs.
    pub fn from_stored(json: String, omitted: u32) -> Option<Self> {
        // Owned strings: a value with an escape (a quote, a tab) cannot be borrowed from the text.
        serde_json::from_str::<Vec<(String, String)>>(&json).ok()?;
        Some(Self { json, omitted })
    }

    /// The list as its compact JSON text, as stored.
    pub fn json(&self) -> &str {
        &self.json
    }

    /// How many headers were left out (beyond [`MAX_RESPONSE_HEADERS`] or [`MAX_RESPONSE_HEADER_BYTES`]).
    pub fn omitted(&self) -> u32 {
        self.omitted
    }

    /// The headers as `(name, value)` pairs, in order.
    pub fn entries(&self) -> Vec<(String, String)> {
        // The text was built by the builder or checked by `from_stored`, so it parses.
        serde_json::from_str(&self.json).unwrap_or_default()
    }
}

/// Builds a [`HeaderList`] one header at a time, straight into its JSON text.
#[derive(Debug)]
pub struct HeaderListBuilder {
    json: String,
    kept: usize,
    bytes: usize,
    omitted: u32,
    max_headers: usize,
    max_bytes: usize,
    redact: bool,
}

impl HeaderListBuilder {
    /// A list of the headers hookline sends: every one kept, as sent.
    pub fn request() -> Self {
        Self::with_limits(usize::MAX, usize::MAX, false)
    }

    /// A list of a receiver's answer: bounded, with credential-bearing values redacted.
    pub fn response() -> Self {
        Self::with_limits(MAX_RESPONSE_HEADERS, MAX_RESPONSE_HEADER_BYTES, true)
    }

    fn with_limits(max_headers: usize, max_bytes: usize, redact: bool) -> Self {
        let mut json = String::with_capacity(640);
        json.push('[');
        Self { json, kept: 0, bytes: 0, omitted: 0, max_headers, max_bytes, redact }
    }

    /// Adds a header; a value that is not UTF-8 is kept lossily. Beyond the bounds, it is counted, not kept.
    pub fn push(&mut self, name: &str, value: &[u8]) {
        let size = name.len() + value.len();
        if self.kept >= self.max_headers || self.bytes.saturating_add(size) > self.max_bytes {
            self.omitted = self.omitted.saturating_add(1);
            return;
        }
        self.kept += 1;
        self.bytes += size;
        if self.kept > 1 {
            self.json.push(',');
        }
        self.json.push('[');
        push_json_string(&mut self.json, name);
        self.json.push(',');
        if self.redact && REDACTED_RESPONSE_HEADERS.iter().any(|redacted| name.eq_ignore_ascii_case(redacted)) {
            push_json_string(&mut self.json, REDACTED);
        } else {
            push_json_string(&mut self.json, &String::from_utf8_lossy(value));
        }
        self.json.push(']');
    }

    /// The finished list.
    pub fn finish(mut self) -> HeaderList {
        self.json.push(']');
        HeaderList { json: self.json, omitted: self.omitted }
    }
}

/// Appends `text` as a JSON string: quotes, backslashes and control characters escaped.
fn push_json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_is_compact_json_in_order_and_reads_back() {
        let mut builder = HeaderListBuilder::request();
        builder.push("content-type", b"application/json");
        builder.push("x-odd", b"a \"quoted\" \\ value\twith\x01control");
        builder.push("x-latin1", b"caf\xe9");
        let list = builder.finish();
        assert!(HeaderList::from_stored(list.json().to_owned(), 0).is_some(), "escaped text reads back");
        assert_eq!(
            list.json(),
            r#"[["content-type","application/json"],["x-odd","a \"quoted\" \\ value\u0009with\u0001control"],["x-latin1","caf�"]]"#
        );
        assert_eq!(list.omitted(), 0);
        let entries = list.entries();
        assert_eq!(entries[1], ("x-odd".to_owned(), "a \"quoted\" \\ value\twith\u{1}control".to_owned()));
        assert_eq!(HeaderList::from_stored(list.json().to_owned(), 0), Some(list));
        assert_eq!(HeaderListBuilder::request().finish().json(), "[]");
    }

    #[test]
    fn stored_text_that_is_not_a_list_of_pairs_is_refused() {
        for bad in ["", "{}", "[1]", r#"[["a"]]"#, r#"[["a","b","c"]]"#, r#"[["a",1]]"#] {
            assert_eq!(HeaderList::from_stored(bad.to_owned(), 0), None, "{bad}");
        }
    }

    #[test]
    fn a_response_list_is_bounded_counted_and_redacted() {
        let mut builder = HeaderListBuilder::response();
        builder.push("Set-Cookie", b"session=secret");
        builder.push("authorization", b"Bearer secret");
        for n in 0..100 {
            builder.push(&format!("x-h{n}"), b"v");
        }
        let list = builder.finish();
        assert_eq!(list.entries().len(), MAX_RESPONSE_HEADERS);
        assert_eq!(list.omitted(), 102 - MAX_RESPONSE_HEADERS as u32);
        assert_eq!(list.entries()[0], ("Set-Cookie".to_owned(), REDACTED.to_owned()));
        assert!(!list.json().contains("secret"));

        // The byte bound: a huge header is left out, smaller ones after it still fit.
        let mut builder = HeaderListBuilder::response();
        builder.push("x-big", &vec![b'a'; MAX_RESPONSE_HEADER_BYTES]);
        builder.push("x-small", b"1");
        let list = builder.finish();
        assert_eq!(list.entries(), vec![("x-small".to_owned(), "1".to_owned())]);
        assert_eq!(list.omitted(), 1);
    }
}
