//! What a change means, for people: file diffs ([`diff`]), the traffic each stage sends
//! ([`traffic`]), and the reports built on them ([`report`], [`stages`], [`status`],
//! [`explain`]).

pub mod diff;
pub mod explain;
pub mod report;
pub mod stages;
pub mod status;
pub mod traffic;
