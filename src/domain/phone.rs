//! Cell phone numbers as SMS needs them: E.164 (`+31612345678`), with the `phonenumber` crate
//! (Google's libphonenumber metadata). A number written without `+` is read in the default
//! country (the `sms_default_country` setting); without one, such a number cannot be read.

use std::fmt;
use std::str::FromStr;

use phonenumber::country;
use phonenumber::Mode;

/// A country whose numbers may be written without `+` (ISO 3166-1 alpha-2, e.g. `NL`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Country(country::Id);

impl Country {
    pub fn parse(text: &str) -> Result<Country, String> {
        let code = text.trim().to_ascii_uppercase();
        country::Id::from_str(&code)
            .map(Country)
            .map_err(|_| {
                format!(
                    "Give a country as its two-letter ISO 3166 code, such as NL, DE or US, not {text:?}."
                )
            })
    }

    pub fn code(&self) -> &str {
        self.0.as_ref()
    }
}

impl fmt::Debug for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A number in E.164: `+` and up to 15 digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct E164(String);

impl E164 {
    /// Normalises `raw` (as a customer's `CellPhone` holds it: spaces, dashes, brackets,
    /// a leading `00` or `+`) to E.164, or says why it cannot.
    pub fn normalise(raw: &str, default_country: Option<Country>) -> Result<E164, String> {
        let trimmed = raw.trim();
        let international = trimmed.starts_with('+') || trimmed.starts_with("00");
        let text = match trimmed.strip_prefix("00") {
            Some(rest) => format!("+{rest}"),
            None => trimmed.to_owned(),
        };
        if !international && default_country.is_none() {
            return Err(format!(
                "{trimmed:?} has no country code (+…) and no default country is set (sms_default_country)"
            ));
        }
        let number = phonenumber::parse(default_country.map(|c| c.0), &text)
            .map_err(|_| format!("{trimmed:?} is not a phone number"))?;
        if !number.is_valid() {
            return Err(format!("{trimmed:?} is not a valid phone number"));
        }
        Ok(E164(number.format().mode(Mode::E164).to_string()))
    }

    /// Takes a number already in E.164 (from storage, or a mobile-originated message's
    /// sender, which SMSCs send without the `+`).
    pub fn from_digits(text: &str) -> Option<E164> {
        let digits = text.trim().trim_start_matches('+');
        (!digits.is_empty() && digits.len() <= 15 && digits.bytes().all(|b| b.is_ascii_digit()))
            .then(|| E164(format!("+{digits}")))
    }

    /// With its `+`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Without the `+`, as SMPP carries an international number (TON 1, NPI 1).
    pub fn digits(&self) -> &str {
        &self.0[1..]
    }
}

impl fmt::Display for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the SMS fan-out needs from the settings: whether texts go out at all (an SMS gateway
/// is set), the events texted, and the country of numbers written without `+`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SmsPlan {
    pub enabled: bool,
    pub events: Vec<crate::domain::ticket::EventKind>,
    pub default_country: Option<Country>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_normalised() {
        let nl = Country::parse("nl").unwrap();
        for raw in ["+31 6 1234 5678", "0031612345678", "+31-(0)6-12345678"] {
            let n = E164::normalise(raw, None).unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert_eq!(n.as_str(), "+31612345678");
        }
        assert_eq!(
            E164::normalise("06 12345678", Some(nl)).unwrap().as_str(),
            "+31612345678"
        );
        assert_eq!(
            E164::normalise("06 12345678", Some(nl)).unwrap().digits(),
            "31612345678"
        );
        let de = Country::parse("DE").unwrap();
        assert_eq!(
            E164::normalise("+31612345678", Some(de)).unwrap().as_str(),
            "+31612345678",
            "an international number ignores the default country"
        );
        let e = E164::normalise("06 12345678", None).unwrap_err();
        assert!(e.contains("sms_default_country"), "{e}");
        for bad in ["call me", "+31 6", "12", "+999 1234567", ""] {
            assert!(E164::normalise(bad, Some(nl)).is_err(), "{bad}");
        }
    }

    #[test]
    fn countries() {
        assert_eq!(Country::parse(" us ").unwrap().code(), "US");
        assert!(Country::parse("Netherlands").unwrap_err().contains("NL"));
        assert!(Country::parse("XX").is_err());
    }

    #[test]
    fn senders() {
        assert_eq!(
            E164::from_digits("31612345678").unwrap().as_str(),
            "+31612345678"
        );
        assert_eq!(
            E164::from_digits("+4915112345678").unwrap().digits(),
            "4915112345678"
        );
        assert!(E164::from_digits("INFO").is_none());
        assert!(E164::from_digits("").is_none());
    }
}
