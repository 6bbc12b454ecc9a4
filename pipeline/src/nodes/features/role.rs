//! The experiment's roles: three encoder names the adapters' experiment reads.

use stages::features::EncoderSpec;
use stages::features::spec::EncoderKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Image,
    Text,
    Reference,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Image, Role::Text, Role::Reference];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Image => "image",
            Role::Text => "text",
            Role::Reference => "reference",
        }
    }

    pub(crate) fn defaults(self) -> EncoderSpec {
        match self {
            Role::Image => EncoderSpec::embedded_image(),
            Role::Text => EncoderSpec::embedded_text(),
            Role::Reference => EncoderSpec::embedded_reference(),
        }
    }

    /// The kind of model the role needs.
    pub fn kind(self) -> EncoderKind {
        match self {
            Role::Text => EncoderKind::Text,
            Role::Image | Role::Reference => EncoderKind::Image,
        }
    }

    /// The role's encoder section.
    pub fn section(self) -> String {
        format!("encoders.{}", self.as_str())
    }
}
