//! Service names: their rules, and interning, so errors and events carry a
//! `&'static str` that costs nothing to copy on the rejection path.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

use crate::error::ConfigError;
use crate::sync::unpoisoned;

/// Longest service name.
pub(crate) const MAX_LEN: usize = 128;

/// Checks that `name` is non-empty, at most [`MAX_LEN`] long, and made of
/// `A-Z a-z 0-9 _ . -`.
pub(crate) fn validate(name: &str) -> Result<(), ConfigError> {
    if name.is_empty() {
        return Err(ConfigError::new("service", "\"\"", "must not be empty"));
    }
    if name.len() > MAX_LEN {
        return Err(ConfigError::new(
            "service",
            format!("{name:?}"),
            format!("must be at most {MAX_LEN} characters"),
        ));
    }
    if let Some(bad) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))) {
        return Err(ConfigError::new(
            "service",
            format!("{name:?}"),
            format!("may use only letters, digits, `_`, `.` and `-`, not {bad:?}"),
        ));
    }
    Ok(())
}

/// `name` with every character the rules forbid replaced by `_`, cut to
/// [`MAX_LEN`], and `unnamed` if empty.
pub(crate) fn sanitize(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') { c } else { '_' })
        .take(MAX_LEN)
        .collect();
    if clean.is_empty() { "unnamed".into() } else { clean }
}

/// The one `&'static str` for `name`. Each distinct name is leaked once: services are
/// few and live as long as the program.
pub(crate) fn intern(name: &str) -> &'static str {
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut names = unpoisoned(NAMES.get_or_init(Default::default).lock());
    if let Some(&interned) = names.get(name) {
        return interned;
    }
    let interned: &'static str = Box::leak(name.into());
    names.insert(interned);
    interned
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn service_names_follow_the_rules() {
        for good in ["payments", "api.example.com", "user_service-v2", "A1"] {
            validate(good).unwrap();
        }
        assert_eq!(validate("").unwrap_err().rule, "must not be empty");
        let e = validate("pay ments").unwrap_err();
        assert_eq!(e.rule, "may use only letters, digits, `_`, `.` and `-`, not ' '");
        assert!(validate(&"x".repeat(129)).is_err());
    }

    #[test]
    fn sanitized_names_are_valid() {
        for raw in ["", "pay ments", "über", &"y".repeat(300)] {
            validate(&sanitize(raw)).unwrap();
        }
        assert_eq!(sanitize("pay ments"), "pay_ments");
    }

    #[test]
    fn interning_gives_one_str_per_name() {
        let a = intern("interned-service");
        let b = intern(&String::from("interned-service"));
        assert!(std::ptr::eq(a, b));
    }
}
