//! The operations behind both faces of the API: the `/v1` JSON handlers and the `/ui` dashboard pages call
//! these, so every business rule (validation, its error words, what a change sets in motion) is written once.
//! Inputs are the wire types (`hookline-proto`) or plain text from a query or form; outputs are domain types.

pub(crate) mod deliveries;
pub(crate) mod events;
pub(crate) mod inboxes;
pub(crate) mod webhooks;
