//! The rule for the properties Herald adds to the original product's entities (`IsPublic`,
//! `Language`, …; `spec/api.md`, "Properties Herald adds"): clients of the original product
//! never send them, so a full-replace PUT that omits one keeps the stored value, an explicit
//! `null` (or an empty list) erases it, and a value sets it.
//!
//! Every input of an extension property is an [`Extension`]; the store resolves it against the
//! value it holds ([`Extension::resolve`]) in the transaction of the change.

/// An extension property as a request gave it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Extension<T> {
    /// Not in the request: keep the stored value (on a create: the default).
    #[default]
    Omitted,
    /// An explicit `null` (or empty list): erase the stored value, back to the default.
    Erased,
    /// A value.
    Set(T),
}

impl<T> Extension<T> {
    /// The value to store, given the stored one (`None` on a create) and the default that an
    /// erased property has.
    pub fn resolve(self, stored: Option<T>, default: T) -> T {
        match self {
            Extension::Omitted => stored.unwrap_or(default),
            Extension::Erased => default,
            Extension::Set(value) => value,
        }
    }

    /// The same for a property whose erased state is "no value" (`None`).
    pub fn resolve_optional(self, stored: Option<T>) -> Option<T> {
        match self {
            Extension::Omitted => stored,
            Extension::Erased => None,
            Extension::Set(value) => Some(value),
        }
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Extension<U> {
        match self {
            Extension::Omitted => Extension::Omitted,
            Extension::Erased => Extension::Erased,
            Extension::Set(value) => Extension::Set(f(value)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Extension;

    #[test]
    fn omitted_keeps_erased_goes_back_to_the_default_set_sets() {
        assert!(!Extension::Omitted.resolve(Some(false), true));
        assert!(Extension::<bool>::Omitted.resolve(None, true));
        assert!(Extension::Erased.resolve(Some(false), true));
        assert!(!Extension::Set(false).resolve(Some(true), true));
        assert!(Extension::Set(true).resolve(None, false));
    }

    #[test]
    fn optional_properties_are_erased_to_none() {
        assert_eq!(Extension::Omitted.resolve_optional(Some("de")), Some("de"));
        assert_eq!(Extension::Erased.resolve_optional(Some("de")), None);
        assert_eq!(
            Extension::Set("fr").resolve_optional(Some("de")),
            Some("fr")
        );
        assert_eq!(Extension::Set(2).map(|n| n * 2), Extension::Set(4));
        assert_eq!(Extension::<i32>::Erased.map(|n| n * 2), Extension::Erased);
    }
}
