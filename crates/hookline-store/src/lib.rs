//! hookline's storage boundary: the role traits each user of the store depends on, the types they take and
//! return, and what every backend shares (row decoding, the failure policy's plan of effects, the statements
//! written the same on both). The backends live in their own crates, `hookline-store-sqlite` and
//! `hookline-store-postgres`, so nothing above this crate compiles a database driver.
//!
//! The roles match their users: [`DeliveryQueue`] is the delivery engine's, [`NoticeQueue`] the notifier's,
//! [`ApiStore`] the HTTP API's. [`Store`] is all three, for the wiring in `serve` and for the conformance suite.
//!
//! Invariants: no SQL runs here, and nothing above this crate knows which backend is in use. Every method that
//! changes data either commits all of its change or none of it, and a method returns `Ok` for a write only
//! after that write is committed.

mod admin;
mod api;
pub mod decode;
mod error;
pub mod hourly;
pub mod inbox;
pub mod listen;
mod operations;
pub mod policy;
mod queues;
pub mod secrets;
pub mod statements;
mod types;
pub mod ui;

pub use crate::admin::{AdminStore, ApiKeyRecord};
pub use crate::api::ApiStore;
pub use crate::error::StoreError;
pub use crate::inbox::InboxStore;
pub use crate::listen::ListenStore;
pub use crate::operations::{OperationsStore, Pruned};
pub use crate::queues::{DeliveryQueue, NoticeQueue};
pub use crate::secrets::SecretCipher;
pub use crate::types::*;
pub use crate::ui::UiStore;

/// Shorthand for store results.
pub type StoreResult<T> = Result<T, StoreError>;

/// A whole store: every role (the API's includes [`InboxStore`] and [`UiStore`]). Each backend implements the three role traits, and with them this one (a blanket
/// implementation); `serve` opens one and hands each user its own role (`Arc<dyn Store>` upcasts to
/// `Arc<dyn DeliveryQueue>` and so on). The conformance suite in `tests/it/` runs against each backend.
pub trait Store: ApiStore + DeliveryQueue + NoticeQueue {}

impl<T: ApiStore + DeliveryQueue + NoticeQueue + ?Sized> Store for T {}
