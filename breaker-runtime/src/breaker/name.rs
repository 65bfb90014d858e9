//! Service names: their rules, and interning, so errors and events carry a
//! `&'static str` that costs nothing to copy on the rejection path.

use std::borrow::Cow;
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
    let clean: String = allowed(name).take(MAX_LEN).collect();
    if clean.is_empty() { "unnamed".into() } else { clean }
}

/// `host` as a service is named after it: an IPv6 address without its brackets, a
/// name without the root's final dot.
pub(crate) fn bare_host(host: &str) -> &str {
    let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    host.strip_suffix('.').unwrap_or(host)
}

/// `name`'s characters, each one the rules forbid as `_`.
fn allowed(name: &str) -> impl Iterator<Item = char> + '_ {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') { c } else { '_' })
}

/// A valid name for `raw`, a host: `raw` itself when it is one; else every forbidden
/// character replaced by `_` (an IPv6 address's `:`), and, past [`MAX_LEN`], cut and
/// ended with a hash of the whole, so that two long hosts keep two names (and the same
/// host the same name in every run).
pub(crate) fn of_host(raw: Cow<'_, str>) -> Cow<'_, str> {
    if validate(&raw).is_ok() {
        return raw;
    }
    let mut name = allowed(&raw).collect::<String>();
    if name.len() > MAX_LEN {
        // FNV-1a: stable from run to run, unlike the standard library's hasher.
        let hash = raw
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
        name.truncate(MAX_LEN - 17);
        name.push_str(&format!("-{hash:016x}"));
    }
    Cow::Owned(name)
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
    fn hosts_get_valid_names() {
        assert!(matches!(of_host(Cow::Borrowed("api.example.com")), Cow::Borrowed("api.example.com")));
        assert_eq!(of_host(Cow::Borrowed("::1")), "__1");
        assert_eq!(of_host(Cow::Borrowed("fe80::1%eth0")), "fe80__1_eth0");
        let long = |last: char| format!("{}{last}.example", "a".repeat(200));
        let (a, b) =
            (of_host(Cow::Owned(long('x'))).into_owned(), of_host(Cow::Owned(long('y'))).into_owned());
        assert_eq!(a.len(), MAX_LEN);
        assert_ne!(a, b);
        assert_eq!(a, of_host(Cow::Owned(long('x'))));
        for name in [a, b] {
            validate(&name).unwrap();
        }
    }

    #[test]
    fn interning_gives_one_str_per_name() {
        let a = intern("interned-service");
        let b = intern(&String::from("interned-service"));
        assert!(std::ptr::eq(a, b));
    }
}
