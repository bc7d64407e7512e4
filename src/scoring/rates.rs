//! Currency conversion for price floors.
//!
//! A price floor is registered in one currency and listings are priced in many, so a
//! comparison needs rates. The bundled table is a documented snapshot (approximate
//! mid-market rates, US dollars per unit, as of 2026-11); rights holders who need
//! current rates pass their own table with `--rates FILE` (TOML: `[rates]` with
//! `EUR = 1.08`, meaning one euro is worth 1.08 US dollars). A currency missing from
//! the table gives no price signal rather than a guess.

use std::collections::BTreeMap;

use serde::Deserialize;

/// US dollars per unit of each currency, ISO 4217 codes.
const DEFAULT_RATES: &[(&str, f64)] = &[
    ("USD", 1.0),
    ("EUR", 1.08),
    ("GBP", 1.27),
    ("CNY", 0.139),
    ("JPY", 0.0067),
    ("KRW", 0.00073),
    ("HKD", 0.128),
    ("TWD", 0.031),
    ("SGD", 0.74),
    ("INR", 0.012),
    ("RUB", 0.011),
    ("BRL", 0.18),
    ("MXN", 0.055),
    ("CAD", 0.73),
    ("AUD", 0.65),
    ("NZD", 0.60),
    ("CHF", 1.13),
    ("SEK", 0.095),
    ("NOK", 0.092),
    ("DKK", 0.145),
    ("PLN", 0.25),
    ("CZK", 0.043),
    ("TRY", 0.029),
    ("AED", 0.272),
    ("SAR", 0.267),
    ("ZAR", 0.055),
    ("THB", 0.028),
    ("VND", 0.000039),
    ("IDR", 0.000063),
    ("MYR", 0.22),
    ("PHP", 0.017),
];

/// A table of exchange rates to US dollars.
#[derive(Debug, Clone)]
pub struct Rates {
    usd_per_unit: BTreeMap<String, f64>,
}

impl Default for Rates {
    fn default() -> Self {
        Rates {
            usd_per_unit: DEFAULT_RATES
                .iter()
                .map(|(c, r)| (c.to_string(), *r))
                .collect(),
        }
    }
}

/// An error in a rates file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RatesError {
    /// The file is not valid TOML of the expected shape.
    #[error("not a rates table")]
    Parse(#[from] toml::de::Error),
    /// A rate is not a positive finite number.
    #[error("rates.{currency}: must be a positive number, got {value}")]
    BadRate {
        /// The currency code.
        currency: String,
        /// The rejected value.
        value: f64,
    },
    /// A key is not an ISO 4217-shaped code.
    #[error("rates.{0}: not a three-letter currency code")]
    BadCode(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RatesFile {
    rates: BTreeMap<String, f64>,
}

impl Rates {
    /// The bundled table with the entries of a TOML rates file laid over it.
    pub fn from_toml(text: &str) -> Result<Rates, RatesError> {
        let file: RatesFile = toml::from_str(text)?;
        let mut rates = Rates::default();
        for (code, value) in file.rates {
            if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(RatesError::BadCode(code));
            }
            if !(value.is_finite() && value > 0.0) {
                return Err(RatesError::BadRate {
                    currency: code,
                    value,
                });
            }
            rates.usd_per_unit.insert(code, value);
        }
        Ok(rates)
    }

    /// Converts `amount` from one currency to another, or `None` when either currency
    /// is unknown.
    pub fn convert(&self, amount: f64, from: &str, to: &str) -> Option<f64> {
        if from.eq_ignore_ascii_case(to) {
            return Some(amount);
        }
        let f = self.usd_per_unit.get(&from.to_ascii_uppercase())?;
        let t = self.usd_per_unit.get(&to.to_ascii_uppercase())?;
        Some(amount * f / t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_through_dollars() {
        let r = Rates::default();
        assert_eq!(r.convert(10.0, "usd", "USD"), Some(10.0));
        let cny = r.convert(100.0, "CNY", "USD").unwrap();
        assert!((cny - 13.9).abs() < 1e-9);
        assert_eq!(r.convert(1.0, "XXX", "USD"), None);
    }

    #[test]
    fn file_overrides_and_validates() {
        let r = Rates::from_toml("[rates]\nEUR = 2.0\n").unwrap();
        assert_eq!(r.convert(1.0, "EUR", "USD"), Some(2.0));
        assert!(Rates::from_toml("[rates]\nEUR = -1.0\n").is_err());
        assert!(Rates::from_toml("[rates]\neuro = 1.0\n").is_err());
        assert!(Rates::from_toml("rates = 3").is_err());
    }
}
