//! The hookline binary's library half: configuration, wiring, startup and shutdown. `main.rs` parses the
//! command line and calls in here; the end-to-end tests start the same [`serve::start`] on port 0.
//!
//! Invariant: nothing depends on this crate but `hookline-bench`, which starts [`serve::start`] in process
//! for its `--in-process` mode.

pub mod cli;
pub mod config;
pub mod dev;
pub mod files;
pub mod inbox_pruner;
pub mod listener;
pub mod retention;
pub mod secrets_key;
pub mod serve;
pub mod telemetry;
