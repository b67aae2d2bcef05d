//! hookline-bench's tests: the benchmark itself, run with tiny counts against a real server on loopback.

// The whole crate is test code (cargo compiles it only for `cargo test`); saying so lets clippy.toml's
// allow-unwrap-in-tests cover its helpers too, not only the `#[test]` functions.
#![cfg(test)]

mod quick;
