//! Bringing the repository in line with the rendered tree: [`compare`] (pure: what would
//! change, and why a change is refused) then [`apply`] (staged, atomic writes), one writer
//! at a time ([`lock`]).

pub mod apply;
pub mod compare;
pub mod lock;
pub mod strays;
