//! `[align]`: which rows are scored, with which metrics, and how their uncertainty is measured:
//! the scoring settings the model set shares ([`crate::evaluate::scoring`]).

pub use crate::evaluate::scoring::ScoringConfig as AlignConfig;
