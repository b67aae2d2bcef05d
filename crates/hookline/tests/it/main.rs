//! hookline's end-to-end tests: the real server on port 0, real receivers on loopback.

// The whole crate is test code (cargo compiles it only for `cargo test`); saying so lets clippy.toml's
// allow-unwrap-in-tests cover its helpers too, not only the `#[test]` functions.
#![cfg(test)]

mod api;
mod attempt_headers;
mod browser;
mod cli;
mod cli_inboxes;
mod cli_listen;
mod cli_trigger;
mod cli_verify;
mod config_props;
mod delivery;
mod failure;
mod hardening;
mod inbox;
mod inbox_own;
mod inbox_stream;
mod keys;
mod listen_api;
mod notices;
mod operations;
#[cfg(feature = "otel")]
mod otel;
mod process;
mod security;
mod smtp;
mod smtp_stall;
mod snippets;
mod support;
mod ui;
mod ui_http;
mod ui_inboxes;
