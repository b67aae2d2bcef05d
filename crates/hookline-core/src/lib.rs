//! hookline's domain model and pure logic.
//!
//! Invariants (written as absences): this crate does no IO, spawns nothing, and knows nothing of SQL or of the
//! JSON wire format of `/v1`. It reads the clock and the operating system's randomness only in constructors
//! that callers invoke at the edge: [`Timestamp::now`], and the `generate` constructors of ids (UUIDv7: time
//! and randomness), secrets and API keys. Everything else takes time (`now`) and jitter as parameters, so retry
//! behaviour is testable without sleeping.

pub mod catalog;
pub mod delivery;
pub mod event;
pub mod headers;
pub mod ids;
pub mod inbox;
pub mod notification;
pub mod platform;
pub mod redact;
pub mod retry;
pub mod secret;
pub mod signing;
pub mod time;
pub mod webhook;

pub use crate::time::Timestamp;

/// A value that failed validation at the edge: which field, and a message a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    /// The request field at fault, e.g. `url` or `events[2]`.
    pub field: String,
    /// What is wrong with it, as a sentence.
    pub message: String,
}

impl ValidationError {
    /// Builds an error for `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

/// Fills `buf` from the operating system's secure random source.
///
/// This is the one place core touches randomness; it is used only by the `generate` constructors of ids,
/// secrets and API keys, which callers invoke at the edge.
pub(crate) fn random_bytes(buf: &mut [u8]) {
    // getrandom only fails when the OS has no entropy source at all, in which case no secret can be made
    // safely and stopping is the right answer.
    #[allow(clippy::expect_used)]
    getrandom::fill(buf).expect("the operating system must provide secure randomness");
}
