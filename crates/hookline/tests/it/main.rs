//! hookline's end-to-end tests: the real server on port 0, real receivers on loopback.

// Tests fail by panicking, so unwrapping (in helpers too, not only in #[test] functions) is the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api;
mod bench;
mod delivery;
mod failure;
mod inbox;
mod inbox_own;
mod inbox_stream;
mod multinode;
mod process;
mod smtp;
mod support;
