//! Checking the attribute: every key's value, the keys against each other, and the
//! function it is put on. Every problem is reported at the token that caused it, and
//! independent problems are all reported together.

use std::collections::BTreeMap;

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{FnArg, LitStr, Pat, Path, ReturnType, Type};

use crate::args::{Entry, Value};
use crate::item::Function;
use crate::keys;

/// The defaults of `breaker_runtime::defaults` that the cross-key rules need. They
/// must match the runtime's (the `tests` package checks that they do).
mod defaults {
    pub(crate) const WINDOW_NANOS: u64 = 60_000_000_000;
    pub(crate) const BUCKETS: u64 = 10;
    pub(crate) const RECOVERY_NANOS: u64 = 30_000_000_000;
}

/// What kind of value a key takes, and its range.
#[derive(Clone, Copy)]
enum Kind {
    Service,
    /// A setting of the key table.
    Setting(keys::Kind),
    Fallback,
    Classify,
    Crate,
}

/// The key `name`, if it is one: its name as a `&'static str`, and its kind.
fn key(name: &str) -> Option<(&'static str, Kind)> {
    match name {
        "service" => Some(("service", Kind::Service)),
        "fallback" => Some(("fallback", Kind::Fallback)),
        "classify" => Some(("classify", Kind::Classify)),
        "crate" => Some(("crate", Kind::Crate)),
        _ => keys::setting(name).map(|s| (s.name, Kind::Setting(s.kind))),
    }
}

/// Every key, in the order the README lists them.
fn key_names() -> Vec<&'static str> {
    let mut names = vec!["service"];
    names.extend(keys::SETTINGS.iter().map(|s| s.name));
    names.extend(keys::CODE.iter().filter(|k| **k != "service"));
    names
}

/// A checked numeric setting.
#[derive(Clone, Copy)]
pub(crate) enum Setting {
    Count(u32),
    Rate(f64),
    Nanos(u64),
    Switch(bool),
    /// `"off"`: the rule or policy is turned off.
    Off,
}

/// Whether `key` takes `"off"`.
fn has_off(key: &str) -> bool {
    keys::setting(key).is_some_and(|s| s.off)
}

/// The attribute, checked.
pub(crate) struct Checked {
    pub(crate) service: Option<LitStr>,
    /// Numeric settings by key, with the span of their value.
    pub(crate) settings: BTreeMap<&'static str, (Setting, Span)>,
    pub(crate) fallbacks: Vec<Path>,
    pub(crate) classify: Option<Path>,
    pub(crate) krate: Option<Path>,
}

/// Collects errors.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn add(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub(crate) fn at(&mut self, span: Span, message: impl std::fmt::Display) {
        self.add(syn::Error::new(span, message));
    }

    /// An error under all of the value `value`.
    pub(crate) fn on(&mut self, value: &Value, message: impl std::fmt::Display) {
        match value {
            Value::Path(path) => self.under(path, message),
            Value::Other(tokens) => self.under(tokens, message),
            _ => self.at(value.span(), message),
        }
    }

    /// An error under all of `tokens` (syn spans it from their first to their last).
    pub(crate) fn under(&mut self, tokens: impl quote::ToTokens, message: impl std::fmt::Display) {
        self.add(syn::Error::new_spanned(tokens, message));
    }

    /// Whether any error so far contains `text`.
    pub(crate) fn mentions(&self, text: &str) -> bool {
        self.0.as_ref().is_some_and(|all| all.clone().into_iter().any(|e| e.to_string().contains(text)))
    }

    pub(crate) fn into_result(self) -> Result<(), syn::Error> {
        self.0.map_or(Ok(()), Err)
    }
}

/// Checks the attribute's entries; `function` is the name of the protected function,
/// for messages.
pub(crate) fn check_args(entries: Vec<Entry>, function: &syn::Ident, errors: &mut Errors) -> Checked {
    let mut checked = Checked {
        service: None,
        settings: BTreeMap::new(),
        fallbacks: Vec::new(),
        classify: None,
        krate: None,
    };
    let mut seen: BTreeMap<String, Span> = BTreeMap::new();
    for Entry { key, value } in entries {
        let name = key.to_string();
        let Some((key_name, kind)) = self::key(&name) else {
            errors.at(key.span(), unknown_key(&name));
            continue;
        };
        if let Some(&first) = seen.get(&name) {
            errors.at(
                key.span(),
                format!("duplicate key `{name}`: each key may be given once; remove one of them"),
            );
            errors.at(first, format!("`{name}` is first given here"));
            continue;
        }
        seen.insert(name, key.span());
        if let Value::Str(lit) = &value {
            if lit.value() == "off" && matches!(kind, Kind::Setting(_)) {
                if has_off(key_name) {
                    checked.settings.insert(key_name, (Setting::Off, value.span()));
                } else {
                    errors.at(
                        lit.span(),
                        format!(
                            "`{key_name}` cannot be \"off\"; only {} and {} can",
                            keys::off_names()[..keys::off_names().len() - 1].join(", "),
                            keys::off_names()[keys::off_names().len() - 1]
                        ),
                    );
                }
                continue;
            }
        }
        match kind {
            Kind::Service => checked.service = check_service(value, errors),
            Kind::Setting(keys::Kind::Count { min, max }) => {
                if let Some(n) = check_count(key_name, &value, min, max, errors) {
                    checked.settings.insert(key_name, (Setting::Count(n), value.span()));
                }
            }
            Kind::Setting(keys::Kind::Rate) => {
                if let Some(r) = check_rate(key_name, &value, errors) {
                    checked.settings.insert(key_name, (Setting::Rate(r), value.span()));
                }
            }
            Kind::Setting(keys::Kind::Duration) => {
                if let Some(nanos) = check_duration(key_name, &value, errors) {
                    checked.settings.insert(key_name, (Setting::Nanos(nanos), value.span()));
                }
            }
            Kind::Setting(keys::Kind::Switch) => match &value {
                Value::Bool(lit) => {
                    checked.settings.insert(key_name, (Setting::Switch(lit.value), value.span()));
                }
                other => errors.on(
                    other,
                    format!("`{key_name}` takes `true` or `false`, like `{key_name} = true`, not {}", other.kind()),
                ),
            },
            Kind::Fallback => match value {
                Value::Path(path) => checked.fallbacks.push(path),
                Value::List(paths, span) if paths.is_empty() => {
                    errors.at(span, "`fallback = []` names no fallback: list at least one function, or remove the key");
                }
                Value::List(paths, _) => checked.fallbacks = paths,
                other => errors.on(&other,
                    format!(
                        "`fallback` takes the path of a function, or a list of them (`fallback = f` or `fallback = [f, g]`), each taking the parameters of `{function}` and returning its return type; not {}",
                        other.kind()
                    ),
                ),
            },
            Kind::Classify => match value {
                Value::Path(path) => checked.classify = Some(path),
                other => errors.on(&other,
                    format!("`classify` takes the path of a function `fn(&E) -> Outcome`, not {}", other.kind()),
                ),
            },
            Kind::Crate => match value {
                Value::Path(path) => checked.krate = Some(path),
                Value::Str(lit) => match lit.parse::<Path>() {
                    Ok(path) => checked.krate = Some(path),
                    Err(_) => errors.at(lit.span(), "`crate` takes the path of the runtime crate, like `crate = my_breaker`"),
                },
                other => errors.on(&other, "`crate` takes the path of the runtime crate, like `crate = my_breaker`"),
            },
        }
    }
    check_combinations(&checked, function, errors);
    checked
}

/// `key = <a valid value>`, for messages.
pub(crate) fn example(key: &str) -> String {
    let value = match self::key(key).map(|(_, kind)| kind) {
        Some(Kind::Service) => "\"payments\"".to_owned(),
        Some(Kind::Setting(keys::Kind::Count { min, max })) => example_count(min, max).to_string(),
        Some(Kind::Setting(keys::Kind::Rate)) => "0.5".to_owned(),
        Some(Kind::Setting(keys::Kind::Duration)) => "\"10s\"".to_owned(),
        Some(Kind::Setting(keys::Kind::Switch)) => "true".to_owned(),
        Some(Kind::Fallback) => "a_function".to_owned(),
        Some(Kind::Classify) => "a_classifier".to_owned(),
        Some(Kind::Crate) => "my_breaker".to_owned(),
        None => "<value>".to_owned(),
    };
    format!("{key} = {value}")
}

fn unknown_key(name: &str) -> String {
    let valid = key_names();
    let suggestion = nearest(name, &valid).map(|k| format!("did you mean `{k}`? ")).unwrap_or_default();
    format!("unknown key `{name}`; {suggestion}expected one of: {}", valid.join(", "))
}

fn check_service(value: Value, errors: &mut Errors) -> Option<LitStr> {
    let Value::Str(lit) = value else {
        errors.on(
            &value,
            format!("`service` takes a string literal, like `service = \"payments\"`, not {}", value.kind()),
        );
        return None;
    };
    let name = lit.value();
    if name.is_empty() {
        errors.at(lit.span(), "`service` must not be empty: name the service this breaker protects");
        return None;
    }
    if name.len() > 128 {
        errors.at(lit.span(), "`service` must be at most 128 characters");
        return None;
    }
    if let Some(bad) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))) {
        errors
            .at(lit.span(), format!("`service` may use only letters, digits, `_`, `.` and `-`, not {bad:?}"));
        return None;
    }
    Some(lit)
}

/// `, or "off"` for keys that take it, for messages.
fn or_off(key: &str) -> &'static str {
    if has_off(key) { ", or \"off\"" } else { "" }
}

fn check_count(key: &str, value: &Value, min: u64, max: u64, errors: &mut Errors) -> Option<u32> {
    let Value::Int(lit) = value else {
        errors.on(
            value,
            format!(
                "`{key}` takes a whole number, like `{key} = {}`{}, not {}",
                example_count(min, max),
                or_off(key),
                value.kind()
            ),
        );
        return None;
    };
    match lit.base10_parse::<u64>() {
        Ok(n) if n >= min && n <= max => u32::try_from(n).ok(),
        _ => {
            errors.at(lit.span(), format!("`{key}` must be between {min} and {max}, not {lit}"));
            None
        }
    }
}

/// A valid value of a count, for messages.
fn example_count(min: u64, max: u64) -> u64 {
    5.clamp(min, max)
}

fn check_rate(key: &str, value: &Value, errors: &mut Errors) -> Option<f64> {
    let rate = match value {
        Value::Float(lit) => lit.base10_parse::<f64>().ok(),
        Value::Int(lit) => lit.base10_parse::<u32>().ok().map(f64::from),
        other => {
            errors.on(
                other,
                format!(
                    "`{key}` takes a number between 0 and 1, like `{key} = 0.5`{}, not {}",
                    or_off(key),
                    other.kind()
                ),
            );
            return None;
        }
    };
    match rate {
        Some(r) if r > 0.0 && r <= 1.0 => Some(r),
        _ => {
            let written = match value {
                Value::Float(lit) => lit.to_string(),
                Value::Int(lit) => lit.to_string(),
                _ => String::new(),
            };
            errors.on(
                value,
                format!(
                    "`{key}` must be greater than 0 and at most 1, not {written}: it is a rate (0.5 is 50%)"
                ),
            );
            None
        }
    }
}

const DURATION_FORMS: &str = "write a number and a unit (`ns`, `us`, `ms`, `s`, `m` or `h`), like \"250ms\", \"1.5s\", \"30s\" or \"5m\"";

fn check_duration(key: &str, value: &Value, errors: &mut Errors) -> Option<u64> {
    let Value::Str(lit) = value else {
        errors.on(
            value,
            format!("`{key}` takes a duration string{}: {DURATION_FORMS}, not {}", or_off(key), value.kind()),
        );
        return None;
    };
    match parse_duration(&lit.value()) {
        Err(DurationError::Malformed) => {
            errors.at(lit.span(), format!("`{key}`: {:?} is not a duration: {DURATION_FORMS}", lit.value()));
            None
        }
        Err(DurationError::TooLong) => {
            errors.at(
                lit.span(),
                format!(
                    "`{key}`: {:?} is too long: a duration can be at most \"{MAX_DURATION_TEXT}\" (about 584 years)",
                    lit.value()
                ),
            );
            None
        }
        Ok(0) => {
            let off = if has_off(key) { ", write \"off\" to turn it off," } else { "" };
            errors.at(
                lit.span(),
                format!("`{key}` must be greater than 0: give a duration like \"30s\"{off} or remove the key for the default"),
            );
            None
        }
        Ok(nanos) => Some(nanos),
    }
}

/// Why a duration string was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DurationError {
    /// Not a number and a unit.
    Malformed,
    /// More nanoseconds than 64 bits hold.
    TooLong,
}

/// The longest duration: `u64::MAX` nanoseconds, rounded down to hours.
const MAX_DURATION_TEXT: &str = "5124095h";

/// `"250ms"`, `"30s"`, `"1.5s"`, `"5m"`, `"1h"` as nanoseconds.
///
/// The runtime parses configuration files with its own copy
/// (`breaker_runtime::registry::file::parse_duration`): this crate depends on syn,
/// quote and proc-macro2 only, and the runtime cannot be a dependency of its own macro.
/// Both are tested on the same forms.
pub(crate) fn parse_duration(text: &str) -> Result<u64, DurationError> {
    use DurationError::{Malformed, TooLong};
    let text = text.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).ok_or(Malformed)?;
    let (number, unit) = text.split_at(split);
    let scale: u64 = match unit.trim() {
        "ns" => 1,
        "us" | "µs" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return Err(Malformed),
    };
    if number.is_empty() || number.starts_with('.') || number.ends_with('.') {
        return Err(Malformed);
    }
    // Digits only from here: a number that does not parse has too many of them.
    let digits = |part: &str| part.parse::<u64>().map_err(|_| TooLong);
    let (whole, fraction) = match number.split_once('.') {
        None => (number, ""),
        Some((_, fraction)) if fraction.contains('.') => return Err(Malformed),
        Some((whole, fraction)) => (whole, fraction),
    };
    let mut nanos = digits(whole)?.checked_mul(scale).ok_or(TooLong)?;
    if !fraction.is_empty() {
        // Digits beyond the nanosecond say nothing: keep the first 18 (they fit in u64).
        let kept = &fraction[..fraction.len().min(18)];
        let places = 10u128.pow(u32::try_from(kept.len()).unwrap_or(18));
        let part = u128::from(digits(kept)?) * u128::from(scale) / places;
        nanos = nanos.checked_add(u64::try_from(part).map_err(|_| TooLong)?).ok_or(TooLong)?;
    }
    Ok(nanos)
}

fn nanos(checked: &Checked, key: &str) -> Option<(u64, Span)> {
    match checked.settings.get(key) {
        Some(&(Setting::Nanos(n), span)) => Some((n, span)),
        _ => None,
    }
}

fn count(checked: &Checked, key: &str) -> Option<(u32, Span)> {
    match checked.settings.get(key) {
        Some(&(Setting::Count(n), span)) => Some((n, span)),
        _ => None,
    }
}

fn show(nanos: u64) -> String {
    format!("{:?}", std::time::Duration::from_nanos(nanos))
}

/// The span of `key`'s value if it is set to `"off"`.
fn off(checked: &Checked, key: &str) -> Option<Span> {
    match checked.settings.get(key) {
        Some(&(Setting::Off, span)) => Some(span),
        _ => None,
    }
}

/// The span of `key`'s value if it is set to something other than `"off"`.
fn on(checked: &Checked, key: &str) -> Option<Span> {
    match checked.settings.get(key) {
        Some(&(Setting::Off, _)) | None => None,
        Some(&(_, span)) => Some(span),
    }
}

/// Rules between keys, with the defaults for keys not given.
fn check_combinations(c: &Checked, function: &syn::Ident, errors: &mut Errors) {
    if let Some((timeout, span)) = nanos(c, "timeout") {
        let (recovery, given) = match nanos(c, "recovery_timeout") {
            Some((r, _)) => (r, ""),
            None => (defaults::RECOVERY_NANOS, ", the default"),
        };
        if timeout > recovery {
            errors.at(
                span,
                format!(
                    "`timeout` ({}) must not be longer than `recovery_timeout` ({}{given}): a call must end before the circuit may probe again; shorten `timeout` or set a longer `recovery_timeout`",
                    show(timeout),
                    show(recovery)
                ),
            );
        }
    }
    let window = nanos(c, "window");
    let buckets = count(c, "buckets");
    if window.is_some() || buckets.is_some() {
        let w = window.map_or(defaults::WINDOW_NANOS, |(n, _)| n);
        let b = buckets.map_or(defaults::BUCKETS, |(n, _)| u64::from(n));
        if w < b * 1_000_000_000 {
            let span = window.map_or_else(|| buckets.map_or(Span::call_site(), |(_, s)| s), |(_, s)| s);
            errors.at(
                span,
                format!(
                    "`window` ({}) must give each of the {b} buckets at least 1s (window >= {b}s): use a longer `window` or fewer `buckets`",
                    show(w)
                ),
            );
        }
    }
    // A window turns the failure-rate rule on, unless it is turned off.
    let rate_on = off(c, "failure_rate").is_none()
        && (on(c, "failure_rate").is_some() || window.is_some() || buckets.is_some());
    let slow_on = on(c, "slow_call").is_some();
    if let Some(span) = off(c, "threshold") {
        if !rate_on && !slow_on {
            errors.at(
                span,
                "`threshold = \"off\"` leaves the breaker no rule to open by: add `failure_rate` (or `window`) or `slow_call`, or keep a threshold",
            );
        }
    }
    if let Some((_, span)) = count(c, "min_calls") {
        if !rate_on && !slow_on {
            errors.at(
                span,
                "`min_calls` applies to the window's rates: add `failure_rate` or `window`, or remove it",
            );
        }
    }
    let queue = count(c, "queue").filter(|&(n, _)| n > 0);
    match (queue, nanos(c, "queue_timeout")) {
        (Some((_, span)), None) => errors.at(
            span,
            "`queue` needs `queue_timeout`: how long a call may wait for a place, like `queue_timeout = \"100ms\"`",
        ),
        (None, Some((_, span))) => {
            errors.at(span, "`queue_timeout` has no effect without `queue`: add `queue = N` or remove it");
        }
        _ => {}
    }
    if let (Some((_, span)), Some(_)) = (queue, off(c, "max_concurrent")) {
        errors.at(span, "`queue` is the bulkhead's queue, and `max_concurrent = \"off\"` turns the bulkhead off: remove one of them");
    }
    if let (Some((_, span)), false) = (c.settings.get("slow_call_rate"), slow_on) {
        errors.at(*span, "`slow_call_rate` needs `slow_call`, the duration above which a call is slow: add `slow_call = \"2s\"` or remove it");
    }
    let no_fallback = |key: &str| {
        format!(
            "`{key}` has no effect without `fallback`: add `fallback = f`, where `f` takes the parameters of `{function}` and returns its return type, or remove `{key}`"
        )
    };
    if let Some(&(_, span)) = c.settings.get("fallback_timeout") {
        if c.fallbacks.is_empty() {
            errors.at(span, no_fallback("fallback_timeout"));
        }
    }
    if let Some((_, span)) = count(c, "fallback_depth") {
        if c.fallbacks.is_empty() {
            errors.at(span, no_fallback("fallback_depth"));
        }
    }
}

/// Checks the function the attribute is put on.
pub(crate) fn check_fn(item: &Function, checked: &Checked, errors: &mut Errors) {
    let sig = &item.sig;
    if let Some(constness) = &sig.constness {
        errors.at(
            constness.span,
            "`#[circuit_breaker]` cannot protect a `const fn`: its calls go through a breaker at run time; make it a plain `async fn`",
        );
    }
    if let Some(abi) = &sig.abi {
        errors.under(
            abi,
            "`#[circuit_breaker]` cannot protect an `extern` function: make it a plain `async fn`",
        );
    }
    // A `const fn` was told to become an `async fn` already.
    if sig.asyncness.is_none() && sig.constness.is_none() {
        errors.at(
            sig.fn_token.span,
            "`#[circuit_breaker]` needs an `async fn`: the breaker wraps the future the function returns",
        );
    }
    if let Some(variadic) = &sig.variadic {
        errors.at(variadic.span(), "`#[circuit_breaker]` cannot protect a variadic function");
    }
    if let ReturnType::Default = sig.output {
        errors.at(
            sig.paren_token.span.close(),
            "`#[circuit_breaker]` needs a function returning `Result<T, E>` (where `E: From<breaker_runtime::Error>`): add a return type",
        );
    }
    for fallback in &checked.fallbacks {
        let names_itself = match fallback.segments.len() {
            1 => fallback.segments[0].ident == sig.ident,
            2 => fallback.segments[0].ident == "Self" && fallback.segments[1].ident == sig.ident,
            _ => false,
        };
        if names_itself {
            errors.under(
                fallback,
                "a function cannot be its own fallback: the chain would call it again and again",
            );
        }
    }
    if !checked.fallbacks.is_empty() {
        for input in &sig.inputs {
            match input {
                FnArg::Receiver(receiver)
                    if receiver.mutability.is_some() && receiver.reference.is_some() =>
                {
                    errors.under(
                        receiver,
                        "a fallback cannot be given `&mut self`: the protected body holds it during the attempt; take `&self`, or call the fallback from the caller",
                    );
                }
                FnArg::Typed(typed) if matches!(&*typed.ty, Type::Reference(r) if r.mutability.is_some()) => {
                    errors.under(
                        &typed.ty,
                        "a fallback cannot be given a `&mut` argument: the protected body holds it during the attempt; take `&` or an owned value, or call the fallback from the caller",
                    );
                }
                FnArg::Typed(typed) if !matches!(&*typed.pat, Pat::Ident(_)) => {
                    errors.under(
                        &typed.pat,
                        "with a fallback, every argument needs a name (the fallback receives them): bind this argument to a name and destructure it in the body",
                    );
                }
                _ => {}
            }
        }
    }
}

/// The candidate closest to `name`, if it is a likely typo. (The runtime has the same
/// rule for service names and file keys; see `parse_duration` for why it is a copy.)
fn nearest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (levenshtein(name, c), *c))
        .filter(|&(d, c)| d <= (c.len().max(name.len()) / 3).max(1))
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            current.push((previous[j] + usize::from(ca != *cb)).min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_every_accepted_form() {
        assert_eq!(parse_duration("250ms"), Ok(250_000_000));
        assert_eq!(parse_duration("30s"), Ok(30_000_000_000));
        assert_eq!(parse_duration("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse_duration("5m"), Ok(300_000_000_000));
        assert_eq!(parse_duration("1h"), Ok(3_600_000_000_000));
        assert_eq!(parse_duration("10 s"), Ok(10_000_000_000));
        assert_eq!(parse_duration("0.123456789123s"), Ok(123_456_789));
        for bad in ["10 parsecs", "s", "ten s", "1.2.3s", ".5s", "5", ""] {
            assert_eq!(parse_duration(bad), Err(DurationError::Malformed), "{bad}");
        }
    }

    #[test]
    fn durations_beyond_64_bits_of_nanoseconds_are_too_long_not_malformed() {
        assert_eq!(parse_duration(MAX_DURATION_TEXT), Ok(5_124_095 * 3_600_000_000_000));
        for long in ["5124096h", "99999999999999h", "99999999999999999999999s", "18446744073.8s"] {
            assert_eq!(parse_duration(long), Err(DurationError::TooLong), "{long}");
        }
    }

    #[test]
    fn typos_get_the_nearest_key() {
        let keys = key_names();
        assert_eq!(nearest("treshold", &keys), Some("threshold"));
        assert_eq!(nearest("timout", &keys), Some("timeout"));
        assert_eq!(nearest("colour", &keys), None);
    }
}
