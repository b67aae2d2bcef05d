//! hookline's end-to-end tests: the real server on port 0, real receivers on loopback.

// Tests fail by panicking, so unwrapping is the point here rather than a shortcut.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api;
mod bench;
mod browser;
mod delivery;
mod failure;
mod multinode;
mod process;
mod smtp;
mod support;
mod ui;
mod ui_http;
