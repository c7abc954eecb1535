//! `string_enum!`: closed sets of Ironic strings as Rust enums.
//!
//! Ironic keeps states, verbs and modes as bare strings; Ferric keeps them as enums
//! so a typo is a compile error. Every such enum needs the same things — the exact
//! wire string, `Display`, `FromStr`, serde as that string, and a list of all
//! values for exhaustive tests — so one macro writes them, and the string table is
//! the single place a spelling lives.

/// Declares an enum whose values are exact Ironic strings.
///
/// ```text
/// string_enum! {
///     /// Doc for the enum.
///     pub enum Example, "example kind" {
///         /// Doc for the value.
///         One => "one",
///     }
/// }
/// ```
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident, $kind:literal {
            $( $(#[$vmeta:meta])* $variant:ident => $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value, in declaration order; for exhaustive tables and tests.
            pub const ALL: &'static [$name] = &[ $( $name::$variant, )+ ];

            /// The exact string Ironic uses on the wire and in its database.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text, )+
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::error::ParseError;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                match text {
                    $( $text => Ok($name::$variant), )+
                    other => Err($crate::error::ParseError::new($kind, other)),
                }
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(deserializer)?;
                text.parse().map_err(::serde::de::Error::custom)
            }
        }
    };
}
