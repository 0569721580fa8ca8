//! A string that must never be printed: keys, passwords, tokens, SAS signatures.

use std::fmt;

/// A secret string (application key, password, access token, certificate, SAS signature).
///
/// `Debug` and `Display` print `****`, so a secret can sit inside any structure that is logged or
/// formatted into an error message without leaking. The value is reachable only through
/// [`Secret::expose`], which makes every place that uses the real value easy to find.
///
/// ```
/// use kusto_data::Secret;
/// let key = Secret::new("s3cr3t");
/// assert_eq!(format!("{key} {key:?}"), "**** ****");
/// assert_eq!(key.expose(), "s3cr3t");
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Secret(String);

impl Secret {
    /// The text printed in place of every secret.
    pub const MASK: &'static str = "****";

    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret value itself. Use it only to send it where it belongs.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(Self::MASK)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(Self::MASK)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_mask_the_value() {
        let secret = Secret::new("canary-value-123");
        let nested = format!("{:?} {} {:#?}", Some(&secret), secret, vec![secret.clone()]);
        assert!(!nested.contains("canary"), "{nested}");
        assert_eq!(secret.expose(), "canary-value-123");
    }
}
