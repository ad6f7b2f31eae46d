//! The integration tests: one binary, one module per concern (cargo builds and links it
//! once). Most modules run the `cutover` binary through the `Test` builder of `test.rs`;
//! a few call the library directly.
//!
//! Fixtures live in `fixtures/<group>/<case>/` with `input/` (what cutover reads) and
//! `expected/` (what it must produce: the tree `cutover render` writes, or insta snapshots
//! of what a command printed); see `fixtures/README.md`. After an intended change of
//! output, `cargo insta review` accepts new snapshots.

mod test;

mod agreement;
mod base_inputs;
mod base_text;
mod cli;
mod controllers;
mod corpus;
mod crash;
mod extras;
mod golden;
mod hostile;
mod import;
mod install;
mod invalid;
mod lint;
mod promote;
mod properties;
mod readme;
mod real_world;
mod references;
mod review;
mod rewrite;
mod scenarios;
mod schema;
mod staging;
mod status;
mod usage;
mod validators;
mod verify;
