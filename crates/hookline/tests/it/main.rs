//! hookline's end-to-end tests: the real server on port 0, real receivers on loopback.

mod api;
mod bench;
mod cli;
mod cli_trigger;
mod cli_verify;
mod delivery;
mod failure;
mod multinode;
mod process;
mod smtp;
mod snippets;
mod support;
