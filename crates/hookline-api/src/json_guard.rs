//! The JSON guard: refuses request bodies that serde_json would accept but a receiver may not be able to read.
//!
//! An event's `data` is kept as raw text (`serde_json::value::RawValue`) and forwarded byte for byte. serde_json
//! skips over a raw value without its recursion limit and without decoding its strings, so on its own it
//! accepts 500,000 levels of nesting and `"\ud800"` escapes that encode no character; both would be stored and
//! then sent to receivers whose parsers give up on them. This scan runs over the whole body before it is
//! parsed, so it covers `data` and every other field alike. It checks only these two things: everything else
//! about the syntax is left to serde_json, which runs next.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};

use crate::ApiError;

#[cfg(test)]
mod tests;

/// The deepest nesting of arrays and objects a request body may have; the body's own top-level object counts.
/// serde_json's limit for typed parsing is the same.
pub(crate) const MAX_DEPTH: usize = 128;

/// Why a body was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Arrays and objects nest deeper than [`MAX_DEPTH`]; `offset` is the byte that went one level too deep.
    TooDeep { offset: usize },
    /// A `\uD800`–`\uDFFF` escape that is not half of a surrogate pair; `escape` is its text.
    LoneSurrogate { offset: usize, escape: String },
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        let message = match refusal {
            Refusal::TooDeep { offset } => format!(
                "request body is not acceptable JSON: arrays and objects nest deeper than {MAX_DEPTH} levels \
                 (at byte {offset})"
            ),
            Refusal::LoneSurrogate { offset, escape } => format!(
                "request body is not acceptable JSON: the escape {escape} at byte {offset} is a lone UTF-16 \
                 surrogate, which encodes no character"
            ),
        };
        ApiError::BadRequest { code: "invalid_json", message }
    }
}

/// Scans `body` for nesting deeper than [`MAX_DEPTH`] and lone surrogate escapes. Any bytes are accepted as
/// input: what is not JSON at all passes here and is refused by the parser.
pub(crate) fn check(body: &[u8]) -> Result<(), Refusal> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut at = 0;
    while at < body.len() {
        let byte = body[at];
        if in_string {
            match byte {
                b'"' => in_string = false,
                b'\\' if body.get(at + 1) == Some(&b'u') => {
                    at += unicode_escape_len(body, at)?;
                    continue;
                }
                // Any other escape is two bytes; skipping the second keeps an escaped quote inside the string.
                b'\\' => at += 1,
                _ => {}
            }
        } else {
            match byte {
                b'"' => in_string = true,
                b'[' | b'{' => {
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return Err(Refusal::TooDeep { offset: at });
                    }
                }
                b']' | b'}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        at += 1;
    }
    Ok(())
}

/// Reads the body of a request, checks it, and gives back a request with the same head and body.
pub(crate) async fn guarded<S: Send + Sync>(request: Request, state: &S) -> Result<Request, ApiError> {
    let (parts, body) = request.into_parts();
    // The head goes along so that `Bytes` applies the router's body limit, which lives in its extensions.
    let bytes = Bytes::from_request(Request::from_parts(parts.clone(), body), state)
        .await
        .map_err(crate::json::body_read_error)?;
    check(&bytes)?;
    Ok(Request::from_parts(parts, axum::body::Body::from(bytes)))
}

/// The length of the `\u` escape at `at`, with its low half when it is a high surrogate. A malformed escape
/// (not four hex digits) counts as two bytes: the parser refuses it with a better message than ours.
fn unicode_escape_len(body: &[u8], at: usize) -> Result<usize, Refusal> {
    let Some(unit) = hex4(body, at + 2) else { return Ok(2) };
    let lone =
        || Refusal::LoneSurrogate { offset: at, escape: String::from_utf8_lossy(&body[at..at + 6]).into_owned() };
    match unit {
        0xD800..=0xDBFF => {
            let low = (body.get(at + 6) == Some(&b'\\') && body.get(at + 7) == Some(&b'u'))
                .then(|| hex4(body, at + 8))
                .flatten();
            match low {
                Some(0xDC00..=0xDFFF) => Ok(12),
                _ => Err(lone()),
            }
        }
        0xDC00..=0xDFFF => Err(lone()),
        _ => Ok(6),
    }
}

/// The four hex digits at `at` as a number, if they are there.
fn hex4(body: &[u8], at: usize) -> Option<u16> {
    let digits = body.get(at..at + 4)?;
    let text = std::str::from_utf8(digits).ok()?;
    if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u16::from_str_radix(text, 16).ok()
}
