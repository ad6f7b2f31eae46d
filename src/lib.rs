//! cutover: declarative, staged traffic migrations from an Istio ServiceEntry host to a
//! GCPBackend host.
//!
//! A migration plan (YAML, see the README) lists migrations and their rollout stages.
//! cutover renders one VirtualService per stage into the repository ([`render`]),
//! compares the result with what is on disk ([`tree`]), shows the difference as a
//! unified diff ([`diff`]) and applies it atomically ([`write`]). The binary's
//! command-line interface lives in [`cli`].

pub mod base;
pub mod cli;
pub mod diff;
pub mod discover;
pub mod error;
pub mod escape;
pub mod explain;
pub mod header;
pub mod init;
pub mod lint;
pub mod lock;
pub mod names;
pub mod plan;
pub mod promote;
pub mod render;
pub mod repo;
pub mod report;
pub mod review;
pub mod rewrite;
pub mod stage;
pub mod stages;
pub mod status;
pub mod tree;
pub mod validate;
pub mod verify;
pub mod workspace;
pub mod write;
pub mod yaml;

pub use error::{Diagnostic, Error, Result};
pub use plan::Plan;
pub use render::Templates;
