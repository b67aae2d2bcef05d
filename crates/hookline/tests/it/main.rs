//! hookline's end-to-end tests: the real server on port 0, real receivers on loopback.

// The whole crate is test code (cargo compiles it only for `cargo test`); saying so lets clippy.toml's
// allow-unwrap-in-tests cover its helpers too, not only the `#[test]` functions.
#![cfg(test)]

mod api;
mod config_props;
mod delivery;
mod failure;
mod multinode;
#[cfg(feature = "otel")]
mod otel;
mod process;
mod security;
mod smtp;
mod support;
