//! Text preprocessing: the tokenizer with the pipeline's own truncation and padding.

pub mod tokenize;

pub use tokenize::{TextTokenizer, TokenBatch};
