//! Datasets of image–caption pairs: reading them ([`tuxpaint`], [`flickr30k`], [`manifest_file`]),
//! validating every record ([`validate`]) and splitting by image ([`split`]).
//!
//! Readers only list candidate records; [`validate`] decides which are usable, so every dataset
//! kind reports bad records the same way (path, reason), all at once.

pub mod flickr30k;
pub mod ingest;
pub mod manifest_file;
pub mod probe;
pub mod record;
pub mod spec;
pub mod split;
pub mod tuxpaint;
pub mod validate;

pub use record::{BadRecord, Candidate, Record, Split};
pub use spec::DatasetSpec;
