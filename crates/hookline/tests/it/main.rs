//! hookline's end-to-end tests: the real server on port 0, real receivers on loopback.

mod api;
mod bench;
mod delivery;
mod failure;
mod hardening;
mod multinode;
mod process;
mod smtp;
mod support;
