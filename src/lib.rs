//! cutover: declarative, staged traffic migrations from an Istio ServiceEntry host to a
//! GCPBackend host.
//!
//! The pipeline, one module each:
//!
//! 1. [`plan`]: read and validate migration plans (and the base VirtualServices they name).
//! 2. [`render`]: turn each migration into its files (one VirtualService per stage).
//! 3. [`check`]: read every rendered manifest back and check it against Istio's rules, before anything is written.
//! 4. [`sync`]: compare the rendered tree with the disk, then apply the difference atomically.
//! 5. [`review`]: diffs, traffic tables and reports for people and bots.
//!
//! [`vs`] is the VirtualService model the steps share, [`layout`] the one place that
//! names generated files; [`staged`] is the next commit as files (what `check --staged`
//! checks); [`cli`] is the command-line interface on top, one file per command.

pub mod check;
pub mod cli;
pub mod error;
pub mod git;
pub mod layout;
pub mod plan;
pub mod render;
pub mod repo;
pub mod review;
pub mod staged;
pub mod sync;
pub mod vs;
pub mod yaml;

pub use error::{Diagnostic, Error, Result};
pub use plan::Plan;
pub use render::Templates;
