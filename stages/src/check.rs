//! Values a stage cannot use, found before any work: each config type lists its own
//! ([`BadValue`]s naming the field, the value and what was expected), and the CLI reports every
//! one at once with the key's full path and where it was set.

use std::fmt;

/// One parameter value a stage cannot run with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadValue {
    /// The field, relative to its config section (`temperature`, `mean`).
    pub field: String,
    /// The value as given.
    pub value: String,
    /// What the stage needs instead.
    pub expected: String,
}

impl fmt::Display for BadValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} = {}: expected {}",
            self.field, self.value, self.expected
        )
    }
}

/// Collects [`BadValue`]s.
#[derive(Debug, Default)]
pub struct Checks(Vec<BadValue>);

impl Checks {
    pub fn new() -> Checks {
        Checks::default()
    }

    /// Records `field = value` unless `ok`.
    pub fn expect(&mut self, ok: bool, field: &str, value: impl fmt::Display, expected: &str) {
        if !ok {
            self.0.push(BadValue {
                field: field.into(),
                value: value.to_string(),
                expected: expected.into(),
            });
        }
    }

    /// `field` must be a finite number >= 0.
    pub fn non_negative(&mut self, field: &str, v: f64) {
        self.expect(v >= 0.0 && v.is_finite(), field, v, "a finite number >= 0");
    }

    /// `field` must be at least 1.
    pub fn positive_count(&mut self, field: &str, v: usize) {
        self.expect(v >= 1, field, v, "at least 1");
    }

    pub fn into_vec(self) -> Vec<BadValue> {
        self.0
    }
}

/// The values as one line each, for an error message.
pub fn listed(values: &[BadValue]) -> String {
    values
        .iter()
        .map(BadValue::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
