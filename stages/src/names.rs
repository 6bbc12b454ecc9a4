//! Enums whose values are fixed names: written as those strings in JSON, in Parquet and on the
//! report page, and parsed back from them. One list per enum gives the names, `ALL`, parsing,
//! serde and the Parquet column type, so a value is never spelled twice.

/// Declares an enum of named values:
/// ```ignore
/// named_enum! {
///     /// Which way a retrieval query goes.
///     pub enum Direction { ImageToText = "image_to_text", TextToImage = "text_to_image" }
/// }
/// ```
#[macro_export]
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value's name in files and on the page.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// The value named `s`, if any.
            pub fn parse(s: &str) -> Option<$name> {
                match s {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }

            /// `a`, `b` or `c`: for error messages.
            pub fn expected() -> String {
                $name::ALL
                    .iter()
                    .map(|v| format!("`{}`", v.as_str()))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <String as serde::Deserialize>::deserialize(d)?;
                $name::parse(&s).ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "unknown {} `{s}`: expected one of {}",
                        stringify!($name),
                        $name::expected()
                    ))
                })
            }
        }

        impl $crate::table::Cell for $name {
            fn column(values: Vec<Self>) -> $crate::table::Column {
                $crate::table::Column::Str(values.iter().map(|v| v.as_str().to_string()).collect())
            }

            fn read(table: &$crate::table::Table, name: &str) -> $crate::Result<Vec<Self>> {
                table.parsed(name, |s| $name::parse(s), &$name::expected())
            }
        }
    };
}

#[cfg(test)]
mod tests {
    crate::named_enum! {
        /// A test enum.
        pub enum Colour { Red = "red", DarkBlue = "dark_blue" }
    }

    #[test]
    fn names_round_trip_and_unknown_names_are_listed() {
        assert_eq!(Colour::DarkBlue.as_str(), "dark_blue");
        assert_eq!(Colour::parse("red"), Some(Colour::Red));
        assert_eq!(Colour::ALL.len(), 2);
        assert_eq!(
            serde_json::to_string(&Colour::DarkBlue).unwrap(),
            "\"dark_blue\""
        );
        let err = serde_json::from_str::<Colour>("\"blue\"")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`blue`") && err.contains("`dark_blue`"),
            "{err}"
        );
    }
}
