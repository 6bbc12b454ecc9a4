//! Tokenisation with the pipeline's settings, whatever the tokenizer file says.
//!
//! all-MiniLM-L6-v2's tokenizer.json pads and truncates to 128. The research truncates captions
//! at 64 tokens and a batch only needs to be as long as its longest caption, so we override
//! both: truncation to `max_length`, padding to the longest sequence of the batch.

use std::path::{Path, PathBuf};

use ndarray::Array2;
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use crate::error::{Error, Result};

pub struct TextTokenizer {
    path: PathBuf,
    inner: Tokenizer,
}

/// A padded batch: `[B, T]` token ids, attention mask and token type ids (int64, as BERT-style
/// ONNX graphs take them).
pub struct TokenBatch {
    pub input_ids: Array2<i64>,
    pub attention_mask: Array2<i64>,
    pub token_type_ids: Array2<i64>,
}

impl TextTokenizer {
    pub fn open(path: &Path, max_length: usize) -> Result<Self> {
        let err = |message: String| Error::Tokenizer {
            path: path.to_path_buf(),
            message,
        };
        let mut inner = Tokenizer::from_file(path).map_err(|e| err(e.to_string()))?;
        let pad = inner.get_padding().cloned().unwrap_or_default();
        inner.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            ..pad
        }));
        inner
            .with_truncation(Some(TruncationParams {
                max_length,
                ..Default::default()
            }))
            .map_err(|e| err(e.to_string()))?;
        Ok(Self {
            path: path.to_path_buf(),
            inner,
        })
    }

    /// Each text's token count after truncation, special tokens included (what a batch of it
    /// alone would be padded to).
    pub fn lengths(&self, texts: &[&str]) -> Result<Vec<usize>> {
        use rayon::prelude::*;
        texts
            .par_iter()
            .map(|t| {
                self.inner
                    .encode(*t, true)
                    .map(|e| e.get_attention_mask().iter().filter(|&&m| m == 1).count())
                    .map_err(|e| Error::Tokenizer {
                        path: self.path.clone(),
                        message: e.to_string(),
                    })
            })
            .collect()
    }

    pub fn encode_batch(&self, texts: &[&str]) -> Result<TokenBatch> {
        let encodings =
            self.inner
                .encode_batch(texts.to_vec(), true)
                .map_err(|e| Error::Tokenizer {
                    path: self.path.clone(),
                    message: e.to_string(),
                })?;
        let t = encodings.first().map_or(0, |e| e.get_ids().len());
        let b = encodings.len();
        let mut batch = TokenBatch {
            input_ids: Array2::zeros((b, t)),
            attention_mask: Array2::zeros((b, t)),
            token_type_ids: Array2::zeros((b, t)),
        };
        for (i, e) in encodings.iter().enumerate() {
            for (j, ((id, m), ty)) in e
                .get_ids()
                .iter()
                .zip(e.get_attention_mask())
                .zip(e.get_type_ids())
                .enumerate()
            {
                batch.input_ids[[i, j]] = i64::from(*id);
                batch.attention_mask[[i, j]] = i64::from(*m);
                batch.token_type_ids[[i, j]] = i64::from(*ty);
            }
        }
        Ok(batch)
    }
}
