//! A node's key: blake3 over a canonical encoding of everything its output depends on.
//!
//! The encoding is JSON with sorted object keys (serde_json's default map is a BTreeMap) of:
//! stage name, stage version, default-filled parameters, each input node's key, and the content
//! hash of each external file or folder (by its path relative to the config's folder, so that
//! moving the checkout does not invalidate anything). Changing any of these changes this key and,
//! through the input keys, exactly the keys downstream of it.

use std::collections::BTreeMap;

use serde_json::{Value, json};

/// Hex characters kept from the blake3 digest (128 bits): short enough for folder names,
/// far beyond collision range.
pub const KEY_HEX_LEN: usize = 32;
/// How many characters the CLI shows.
pub const SHORT_LEN: usize = 12;

const DOMAIN: &str = "pipeline stage key v1\n";

pub struct KeyInput<'a> {
    pub stage: &'a str,
    pub version: u32,
    pub params: &'a Value,
    pub inputs: &'a BTreeMap<String, String>,
    pub externals: &'a BTreeMap<String, String>,
}

pub fn compute(k: &KeyInput) -> String {
    let doc = json!({
        "stage": k.stage,
        "version": k.version,
        "params": k.params,
        "inputs": k.inputs,
        "externals": k.externals,
    });
    let mut hasher = blake3::Hasher::new();
    hasher.update(DOMAIN.as_bytes());
    hasher.update(&serde_json::to_vec(&doc).expect("JSON values always serialise"));
    hasher.finalize().to_hex()[..KEY_HEX_LEN].to_string()
}

pub fn short(key: &str) -> &str {
    &key[..SHORT_LEN.min(key.len())]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(params: Value, inputs: &[(&str, &str)], ext: &[(&str, &str)], version: u32) -> String {
        let inputs = inputs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        let externals = ext
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        compute(&KeyInput {
            stage: "s",
            version,
            params: &params,
            inputs: &inputs,
            externals: &externals,
        })
    }

    #[test]
    fn key_is_independent_of_field_order_and_sensitive_to_everything() {
        let a: Value = serde_json::from_str(r#"{"x": 1, "y": [1, 2]}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"y": [1, 2], "x": 1}"#).unwrap();
        let base = key(a.clone(), &[("i", "k1")], &[("f", "h1")], 1);
        assert_eq!(base, key(b, &[("i", "k1")], &[("f", "h1")], 1));
        assert_eq!(base.len(), KEY_HEX_LEN);
        assert_ne!(
            base,
            key(
                json!({"x": 2, "y": [1, 2]}),
                &[("i", "k1")],
                &[("f", "h1")],
                1
            )
        );
        assert_ne!(base, key(a.clone(), &[("i", "k2")], &[("f", "h1")], 1));
        assert_ne!(base, key(a.clone(), &[("i", "k1")], &[("f", "h2")], 1));
        assert_ne!(base, key(a, &[("i", "k1")], &[("f", "h1")], 2));
    }
}
