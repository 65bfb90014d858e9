//! The configuration keys: the one table both crates build from.
//!
//! The attribute checks its keys against it, and `breaker-runtime` generates from it
//! (through the hidden `__config_keys!` macro of this crate) its `Key` enum, the
//! configuration file's reader, and the key-by-key accessors of `Config` and
//! `ConfigLayer`, whose fields it checks against the table at compile time. A key
//! added here is a compile error in the runtime until every place handles it.

/// What a key takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A whole number in `min..=max`.
    Count { min: u64, max: u64 },
    /// A number in `(0, 1]`.
    Rate,
    /// A duration string (`"250ms"`).
    Duration,
    /// `true` or `false`.
    Switch,
}

/// A key that sets a value: in the attribute, the file, and runtime overrides.
pub(crate) struct Setting {
    pub(crate) name: &'static str,
    /// The name of the runtime's `Key` variant.
    pub(crate) variant: &'static str,
    pub(crate) kind: Kind,
    /// Whether `"off"` turns it off.
    pub(crate) off: bool,
}

/// The largest count: counts are `u32`.
const MAX: u64 = u32::MAX as u64;
/// Most buckets a window may have (`breaker_runtime::defaults::MAX_BUCKETS`).
pub(crate) const MAX_BUCKETS: u64 = 3600;
/// Most probes a half-open circuit counts (`breaker_runtime::defaults::MAX_PROBES`).
pub(crate) const MAX_PROBES: u64 = 65_535;
/// The deepest fallback nesting.
const MAX_DEPTH: u64 = 64;

const fn count(min: u64, max: u64) -> Kind {
    Kind::Count { min, max }
}

/// Every key that sets a value, in the order the README lists them.
pub(crate) const SETTINGS: &[Setting] = &[
    Setting { name: "threshold", variant: "Threshold", kind: count(1, MAX), off: true },
    Setting { name: "failure_rate", variant: "FailureRate", kind: Kind::Rate, off: true },
    Setting { name: "window", variant: "Window", kind: Kind::Duration, off: false },
    Setting { name: "buckets", variant: "Buckets", kind: count(1, MAX_BUCKETS), off: false },
    Setting { name: "min_calls", variant: "MinCalls", kind: count(1, MAX), off: false },
    Setting { name: "recovery_timeout", variant: "RecoveryTimeout", kind: Kind::Duration, off: false },
    Setting {
        name: "half_open_max_calls",
        variant: "HalfOpenMaxCalls",
        kind: count(1, MAX_PROBES),
        off: false,
    },
    Setting {
        name: "success_threshold",
        variant: "SuccessThreshold",
        kind: count(1, MAX_PROBES),
        off: false,
    },
    Setting { name: "timeout", variant: "Timeout", kind: Kind::Duration, off: true },
    Setting { name: "max_concurrent", variant: "MaxConcurrent", kind: count(1, MAX), off: true },
    Setting { name: "queue", variant: "Queue", kind: count(0, MAX), off: false },
    Setting { name: "queue_timeout", variant: "QueueTimeout", kind: Kind::Duration, off: false },
    Setting { name: "slow_call", variant: "SlowCall", kind: Kind::Duration, off: true },
    Setting { name: "slow_call_rate", variant: "SlowCallRate", kind: Kind::Rate, off: false },
    Setting { name: "fallback_depth", variant: "FallbackDepth", kind: count(1, MAX_DEPTH), off: false },
    Setting { name: "fallback_timeout", variant: "FallbackTimeout", kind: Kind::Duration, off: true },
    Setting { name: "too_many_requests", variant: "TooManyRequests", kind: count(1, MAX), off: true },
    Setting {
        name: "too_many_requests_window",
        variant: "TooManyRequestsWindow",
        kind: Kind::Duration,
        off: false,
    },
    Setting { name: "trace", variant: "Trace", kind: Kind::Switch, off: false },
];

/// The keys that name code, not values: the attribute's alone.
pub(crate) const CODE: &[&str] = &["service", "fallback", "classify", "crate"];

/// The setting named `name`.
pub(crate) fn setting(name: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.name == name)
}

/// The names of the settings `"off"` turns off.
pub(crate) fn off_names() -> Vec<&'static str> {
    SETTINGS.iter().filter(|s| s.off).map(|s| s.name).collect()
}

/// The table as tokens for `callback!`, one line per setting:
/// `name Variant count(min, max) off;`, `name Variant rate;`, `name Variant duration off;`.
pub(crate) fn table(callback: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    use quote::{format_ident, quote};
    let rows = SETTINGS.iter().map(|s| {
        let name = format_ident!("{}", s.name);
        let variant = format_ident!("{}", s.variant);
        let kind = match s.kind {
            Kind::Count { min, max } => {
                let (min, max) =
                    (proc_macro2::Literal::u64_unsuffixed(min), proc_macro2::Literal::u64_unsuffixed(max));
                quote!(count(#min, #max))
            }
            Kind::Rate => quote!(rate),
            Kind::Duration => quote!(duration),
            Kind::Switch => quote!(switch),
        };
        let off = if s.off { quote!(off) } else { quote!(on) };
        quote!(#name #variant #kind #off;)
    });
    quote!(#callback! { #(#rows)* })
}
