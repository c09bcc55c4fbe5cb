//! Scenario files: the format ([`model`]), loading with located errors ([`load`]), and the
//! suite that ships with the tool ([`suite`]).

pub mod duration;
pub mod idref;
pub mod load;
pub mod model;
pub mod patterns;
pub mod props;
pub mod suite;

pub use load::{LoadError, LoadedScenario, load_str};
pub use model::Scenario;
