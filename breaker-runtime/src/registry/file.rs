//! The configuration file: TOML sections that layer over the attributes.
//!
//! ```toml
//! [defaults]                 # every service
//! timeout = "2s"
//!
//! [profiles.database]        # services that select it
//! timeout = "10s"
//! recovery_timeout = "1m"
//!
//! [services.payments]        # one service
//! profile = "database"
//! threshold = 2
//! ```
//!
//! Every key of the attribute that configures the breaker can be set, with the same
//! value syntax (durations are strings: `"250ms"`, `"30s"`, `"5m"`); `"off"` turns off
//! `threshold`, `failure_rate`, `timeout`, `max_concurrent`, `slow_call` and
//! `fallback_timeout`. Parsing keeps the line of every key so each problem names the
//! file, the line, the key, and the nearest valid name. This module only reads files:
//! the registry decides what to do with them.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml_edit::Value;

use super::layer::{ConfigLayer, Off};
use super::nearest;
use crate::breaker::{Key, Kind, Value as KeyValue};

/// Where a value was written: file and line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The file.
    pub file: PathBuf,
    /// The line (from 1).
    pub line: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// A section of the file: the keys it sets, and where each is written.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Section {
    pub(crate) layer: ConfigLayer,
    pub(crate) lines: BTreeMap<&'static str, usize>,
}

/// A `[services.NAME]` section.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct ServiceSection {
    pub(crate) profile: Option<String>,
    pub(crate) section: Section,
}

/// A parsed configuration file.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ConfigFile {
    pub(crate) path: PathBuf,
    pub(crate) defaults: Section,
    pub(crate) profiles: BTreeMap<String, Section>,
    pub(crate) services: BTreeMap<String, ServiceSection>,
}

/// One problem of a configuration file.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileProblem {
    /// The file.
    pub file: PathBuf,
    /// The line (from 1), 0 if the problem is not at one place.
    pub line: usize,
    /// The key, if the problem is about one.
    pub key: Option<String>,
    /// What is wrong, and what to do.
    pub message: String,
}

impl fmt::Display for FileProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            0 => write!(f, "{}: {}", self.file.display(), self.message),
            line => write!(f, "{}:{line}: {}", self.file.display(), self.message),
        }
    }
}

/// A configuration file that was rejected, whole: every problem found.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
#[error("configuration file rejected ({} problem(s)); the previous configuration stays:\n{}", .problems.len(), .problems.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
pub struct ConfigFileError {
    /// Every problem, in file order.
    pub problems: Vec<FileProblem>,
}

impl ConfigFileError {
    pub(crate) fn one(
        file: &Path,
        line: usize,
        key: Option<&str>,
        message: impl Into<String>,
    ) -> ConfigFileError {
        ConfigFileError {
            problems: vec![FileProblem {
                file: file.to_path_buf(),
                line,
                key: key.map(Into::into),
                message: message.into(),
            }],
        }
    }
}

/// The largest configuration file read: 4 MiB. A file that names every service of a
/// large program with a dozen keys each is a few hundred KB.
pub const MAX_FILE_BYTES: u64 = 4 << 20;

/// Reads the configuration file at `path`, refusing anything that is not a regular
/// file (a FIFO would block the reader until someone writes to it, `/dev/zero` would
/// never end) and anything over [`MAX_FILE_BYTES`].
pub(crate) fn read(path: &Path) -> Result<String, ConfigFileError> {
    use std::io::Read;
    let refuse = |message: String| ConfigFileError::one(path, 0, None, message);
    let unreadable = |e: std::io::Error| refuse(format!("cannot be read: {e}"));
    let not_regular = |t: std::fs::FileType| {
        refuse(format!("is not a regular file but {}: name a TOML file", file_kind(t)))
    };
    let too_large = || {
        refuse(format!("is larger than {} MiB, the most a configuration file may hold", MAX_FILE_BYTES >> 20))
    };
    // `metadata` follows symbolic links and never opens the file, so it cannot block.
    let metadata = std::fs::metadata(path).map_err(unreadable)?;
    if !metadata.is_file() {
        return Err(not_regular(metadata.file_type()));
    }
    if metadata.len() > MAX_FILE_BYTES {
        return Err(too_large());
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    // Should the path be replaced by a FIFO after the check, opening it does not wait
    // for a writer (reading a regular file ignores the flag).
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = options.open(path).map_err(unreadable)?;
    let opened = file.metadata().map_err(unreadable)?;
    if !opened.is_file() {
        return Err(not_regular(opened.file_type()));
    }
    let mut text = String::new();
    file.take(MAX_FILE_BYTES + 1).read_to_string(&mut text).map_err(unreadable)?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large());
    }
    Ok(text)
}

/// What a path that is not a regular file is, for messages.
fn file_kind(t: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if t.is_dir() { "a directory" } else { "not a file" }
}

const TOP: [&str; 4] = ["defaults", "profiles", "services", "unknown_services"];

struct Reader<'a> {
    path: &'a Path,
    lines: LineIndex,
    problems: Vec<FileProblem>,
}

/// Where each line of a text starts, so the line of a byte offset is a binary search:
/// reading a file stays linear in its size however many keys it has.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> LineIndex {
        let starts = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
        LineIndex { starts }
    }

    /// The line (from 1) of byte `offset`.
    fn line_of(&self, offset: usize) -> usize {
        self.starts.partition_point(|&start| start <= offset)
    }
}

impl Reader<'_> {
    fn line(&self, span: Option<std::ops::Range<usize>>) -> usize {
        span.map_or(0, |span| self.lines.line_of(span.start))
    }

    fn problem(&mut self, line: usize, key: Option<&str>, message: String) {
        self.problems.push(FileProblem {
            file: self.path.to_path_buf(),
            line,
            key: key.map(Into::into),
            message,
        });
    }
}

/// Parses `text`, read from `path`. `services` are the known service names.
pub(crate) fn parse(path: &Path, text: &str, services: &[&str]) -> Result<ConfigFile, ConfigFileError> {
    let lines = LineIndex::new(text);
    let document = toml_edit::Document::parse(text).map_err(|e| {
        let line = e.span().map_or(0, |span| lines.line_of(span.start));
        let message = e.message().trim().to_string();
        ConfigFileError::one(path, line, None, format!("not valid TOML: {message}"))
    })?;
    let mut reader = Reader { path, lines, problems: Vec::new() };
    let root = document.as_table();
    // `unknown_services = "ignore"`: sections for services this program does not
    // define are kept (checked, and applied if such a service appears), so one file
    // can configure several programs. The default is strict.
    let mut ignore_unknown = false;
    if let Some(item) = root.get("unknown_services") {
        let line = reader.line(root.key("unknown_services").and_then(|k| k.span()));
        match item.as_str() {
            Some("ignore") => ignore_unknown = true,
            Some("error") => {}
            _ => reader.problem(
                line,
                Some("unknown_services"),
                "`unknown_services` takes \"error\" (the default: a section for a service this program does not define is an error) or \"ignore\" (such sections are kept for the services that define them)".into(),
            ),
        }
    }
    let mut file = ConfigFile {
        path: path.to_path_buf(),
        defaults: Section::default(),
        profiles: BTreeMap::new(),
        services: BTreeMap::new(),
    };
    for (name, item) in root.iter() {
        let line = reader.line(root.key(name).and_then(|k| k.span()));
        match name {
            "unknown_services" => {}
            "defaults" => match item.as_table_like() {
                Some(table) => file.defaults = section(&mut reader, "[defaults]", table, false).0,
                None => reader.problem(line, Some(name), "`defaults` must be a table: `[defaults]`".into()),
            },
            "profiles" | "services" => {
                let Some(table) = item.as_table_like() else {
                    reader.problem(line, Some(name), format!("`{name}` must hold tables: `[{name}.NAME]`"));
                    continue;
                };
                for (entry, item) in table.iter() {
                    let line = reader.line(table.key(entry).and_then(|k| k.span()).or_else(|| item.span()));
                    let Some(inner) = item.as_table_like() else {
                        reader.problem(
                            line,
                            Some(entry),
                            format!("`{name}.{entry}` must be a table: `[{name}.{entry}]`"),
                        );
                        continue;
                    };
                    let title = format!("[{name}.{entry}]");
                    if name == "profiles" {
                        file.profiles.insert(entry.to_string(), section(&mut reader, &title, inner, false).0);
                        continue;
                    }
                    if let Err(error) = crate::breaker::name::validate(entry) {
                        // No breaker has that name: the section could never apply.
                        // The name a layer gives that host's breaker.
                        let host = crate::breaker::name::bare_host(entry).to_ascii_lowercase();
                        let named = crate::breaker::name::of_host(host.into());
                        reader.problem(
                            line,
                            Some(entry),
                            format!(
                                "`{title}` names no possible service: {}; did you mean `{named}`?",
                                error.rule
                            ),
                        );
                        continue;
                    }
                    if !ignore_unknown && !services.contains(&entry) {
                        let hint = nearest(entry, services.iter().copied()).map_or_else(
                            || {
                                format!(
                                    "known services: {}; for a service created on demand (a host a layer \
                                     meets), set `unknown_services = \"ignore\"`",
                                    services.join(", ")
                                )
                            },
                            |s| format!("did you mean `{s}`?"),
                        );
                        reader.problem(
                            line,
                            Some(entry),
                            format!("unknown service `{entry}` in `{title}`; {hint}"),
                        );
                    }
                    let (section, profile) = section(&mut reader, &title, inner, true);
                    file.services.insert(entry.to_string(), ServiceSection { profile, section });
                }
            }
            other => {
                let hint = nearest(other, TOP).map_or_else(String::new, |k| format!("did you mean `{k}`? "));
                reader.problem(
                    line,
                    Some(other),
                    format!("unknown table `{other}`; {hint}expected one of: defaults, profiles, services, unknown_services"),
                );
            }
        }
    }
    for (name, service) in &file.services {
        if let Some(profile) = &service.profile {
            if !file.profiles.contains_key(profile) {
                let line = service.section.lines.get("profile").copied().unwrap_or(0);
                let hint = nearest(profile, file.profiles.keys().map(String::as_str))
                    .map_or_else(String::new, |p| format!("; did you mean `{p}`?"));
                reader.problem(
                    line,
                    Some("profile"),
                    format!("`[services.{name}]` selects the unknown profile `{profile}`{hint}"),
                );
            }
        }
    }
    if reader.problems.is_empty() {
        Ok(file)
    } else {
        reader.problems.sort_by_key(|p| p.line);
        Err(ConfigFileError { problems: reader.problems })
    }
}

fn section(
    reader: &mut Reader<'_>,
    title: &str,
    table: &dyn toml_edit::TableLike,
    service: bool,
) -> (Section, Option<String>) {
    let mut out = Section::default();
    let mut profile = None;
    for (key, item) in table.iter() {
        let line = reader.line(table.key(key).and_then(|k| k.span()).or_else(|| item.span()));
        if service && key == "profile" {
            match item.as_str() {
                Some(name) => profile = Some(name.to_string()),
                None => reader.problem(
                    line,
                    Some(key),
                    format!("`profile` in `{title}` takes a profile name, like `profile = \"database\"`"),
                ),
            }
            out.lines.insert("profile", line);
            continue;
        }
        let Some(name) = Key::named(key) else {
            let mut valid: Vec<&str> = Key::ALL.iter().map(|k| k.name()).collect();
            if service {
                valid.push("profile");
            }
            let hint = nearest(key, valid.iter().copied())
                .map_or_else(String::new, |k| format!("did you mean `{k}`? "));
            let attribute_only = ["service", "fallback", "classify", "crate"].contains(&key);
            let message = if attribute_only {
                format!("`{key}` in `{title}` can only be set in the attribute: it names code, not a setting")
            } else {
                format!("unknown key `{key}` in `{title}`; {hint}expected one of: {}", valid.join(", "))
            };
            reader.problem(line, Some(key), message);
            continue;
        };
        out.lines.insert(name.name(), line);
        let Some(value) = item.as_value() else {
            reader.problem(line, Some(key), format!("`{key}` in `{title}` must be a value, not a table"));
            continue;
        };
        if value.as_str() == Some("off") {
            if name.has_off() {
                out.layer.off = out.layer.off.and(name);
            } else {
                reader.problem(
                    line,
                    Some(key),
                    format!("`{key}` cannot be \"off\"; only {} can", Off::KEYS.join(", ")),
                );
            }
            continue;
        }
        if let Err(message) = set(&mut out.layer, name, value) {
            reader.problem(line, Some(key), format!("`{key}` in `{title}` {message}"));
        }
    }
    (out, profile)
}

fn set(layer: &mut ConfigLayer, key: Key, value: &Value) -> Result<(), String> {
    let value = match key.kind() {
        Kind::Count { min, max } => {
            let Some(n) = value.as_integer() else {
                return Err(format!("takes a whole number, not {}", describe(value)));
            };
            let n = u32::try_from(n)
                .ok()
                .filter(|n| (min..=max).contains(n))
                .ok_or_else(|| format!("must be between {min} and {max}, not {n}"))?;
            KeyValue::Count(n)
        }
        Kind::Rate => {
            let rate = match value {
                Value::Float(f) => *f.value(),
                Value::Integer(i) => *i.value() as f64,
                other => {
                    return Err(format!("takes a number between 0 and 1, like 0.5, not {}", describe(other)));
                }
            };
            if !(rate > 0.0 && rate <= 1.0) {
                return Err(format!("must be greater than 0 and at most 1 (a rate: 0.5 is 50%), not {rate}"));
            }
            KeyValue::Rate(rate)
        }
        Kind::Switch => match value.as_bool() {
            Some(on) => KeyValue::Switch(on),
            None => return Err(format!("takes true or false, not {}", describe(value))),
        },
        Kind::Duration => {
            let Some(text) = value.as_str() else {
                return Err(format!(
                    "takes a duration string like \"250ms\", \"30s\", \"5m\" or \"1h\", not {}",
                    describe(value)
                ));
            };
            let d = parse_duration(text).map_err(|e| match e {
                DurationError::Malformed => format!(
                    "is not a duration: `{text}`; write a number and a unit, like \"250ms\", \"30s\", \"5m\" or \"1h\""
                ),
                DurationError::TooLong => format!(
                    "is too long: `{text}`; a duration can be at most {MAX_DURATION_TEXT} (about 584 years)"
                ),
            })?;
            if d.is_zero() && key != Key::QueueTimeout {
                return Err("must be greater than 0".into());
            }
            KeyValue::Duration(d)
        }
    };
    let set = layer.set(key, value);
    debug_assert!(set, "the value was parsed for the key's kind");
    Ok(())
}

fn describe(value: &Value) -> String {
    match value {
        Value::String(s) => format!("the string \"{}\"", s.value()),
        Value::Integer(i) => format!("the integer {}", i.value()),
        Value::Float(f) => format!("the number {}", f.value()),
        Value::Boolean(b) => format!("the boolean {}", b.value()),
        Value::Datetime(_) => "a date".into(),
        Value::Array(_) => "an array".into(),
        Value::InlineTable(_) => "a table".into(),
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

/// The longest duration, as the file writes it: `u64::MAX` nanoseconds, rounded down.
const MAX_DURATION_TEXT: &str = "5124095h";

/// `"250ms"`, `"30s"`, `"1.5s"`, `"5m"`, `"1h"`: the attribute's syntax (the macro
/// crate has its own copy: it cannot depend on this one; both are tested on the same
/// forms).
pub(crate) fn parse_duration(text: &str) -> Result<Duration, DurationError> {
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
    Ok(Duration::from_nanos(nanos))
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<ConfigFile, ConfigFileError> {
        parse(Path::new("breaker.toml"), text, &["payments", "users"])
    }

    #[test]
    fn durations_in_every_accepted_form() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("0.123456789123s"), Ok(Duration::from_nanos(123_456_789)));
        for bad in ["10 parsecs", "s", "1.2.3s", ".5s", "5", ""] {
            assert_eq!(parse_duration(bad), Err(DurationError::Malformed), "{bad}");
        }
    }

    #[test]
    fn durations_beyond_64_bits_of_nanoseconds_are_too_long_not_malformed() {
        assert_eq!(parse_duration(MAX_DURATION_TEXT), Ok(Duration::from_secs(5_124_095 * 3600)));
        for long in ["5124096h", "99999999999999h", "99999999999999999999999s", "18446744073.8s"] {
            assert_eq!(parse_duration(long), Err(DurationError::TooLong), "{long}");
        }
    }

    #[test]
    fn out_of_range_values_name_the_range_and_too_long_durations_the_limit() {
        let e =
            parse_str("[defaults]\nthreshold = 99999999999\ntimeout = \"99999999999999h\"\n").unwrap_err();
        let messages: Vec<&str> = e.problems.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "`threshold` in `[defaults]` must be between 1 and 4294967295, not 99999999999",
                "`timeout` in `[defaults]` is too long: `99999999999999h`; a duration can be at most 5124095h (about 584 years)",
            ]
        );
    }

    #[test]
    fn a_large_file_with_many_keys_is_read_in_linear_time() {
        // 30,000 keys in 1 MB: each key's line is found by a binary search, not by
        // counting from the start of the text (which took tens of seconds here).
        let mut text = String::with_capacity(1 << 20);
        let mut keys = 0;
        let mut i = 0;
        while keys < 30_000 {
            text.push_str(&format!(
                "# profile {i} of the capacity plan, kept for the audit trail\n[profiles.p{i}]\n"
            ));
            text.push_str("threshold = 3\ntimeout = \"2s\"\nrecovery_timeout = \"1m\"\n\n");
            keys += 3;
            i += 1;
        }
        while text.len() < 1 << 20 {
            text.push_str("# padding\n");
        }
        let started = std::time::Instant::now();
        let file = parse_str(&text).unwrap();
        let took = started.elapsed();
        assert_eq!(file.profiles.len(), 10_000);
        assert_eq!(file.profiles["p9999"].lines["timeout"], 9999 * 6 + 4);
        // A generous bound for a debug build on a loaded machine: the linear reader
        // takes a small fraction of it, the quadratic one took minutes.
        assert!(took < std::time::Duration::from_secs(5), "reading took {took:?}");
    }

    #[test]
    fn sections_layer_keys_with_their_lines() {
        let file = parse_str(
            "[defaults]\ntimeout = \"2s\"\n\n[profiles.db]\nrecovery_timeout = \"1m\"\n\n[services.payments]\nprofile = \"db\"\nthreshold = 2\ntimeout = \"off\"\n",
        )
        .unwrap();
        assert_eq!(file.defaults.layer.timeout, Some(Duration::from_secs(2)));
        assert_eq!(file.defaults.lines["timeout"], 2);
        assert_eq!(file.profiles["db"].layer.recovery_timeout, Some(Duration::from_secs(60)));
        let payments = &file.services["payments"];
        assert_eq!(payments.profile.as_deref(), Some("db"));
        assert_eq!(payments.section.layer.threshold, Some(2));
        assert!(payments.section.layer.off.contains("timeout"));
        assert_eq!(payments.section.lines["threshold"], 9);
    }

    #[test]
    fn every_problem_names_the_file_the_line_and_the_key() {
        let e = parse_str("[services.paymnts]\ntreshold = 2\n\n[defaults]\nbuckets = 0\ntimeout = 5\n")
            .unwrap_err();
        let shown: Vec<String> = e.problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "breaker.toml:1: unknown service `paymnts` in `[services.paymnts]`; did you mean `payments`?",
                "breaker.toml:2: unknown key `treshold` in `[services.paymnts]`; did you mean `threshold`? expected one of: threshold, failure_rate, window, buckets, min_calls, recovery_timeout, half_open_max_calls, success_threshold, timeout, max_concurrent, queue, queue_timeout, slow_call, slow_call_rate, fallback_depth, fallback_timeout, too_many_requests, too_many_requests_window, trace, profile",
                "breaker.toml:5: `buckets` in `[defaults]` must be between 1 and 3600, not 0",
                "breaker.toml:6: `timeout` in `[defaults]` takes a duration string like \"250ms\", \"30s\", \"5m\" or \"1h\", not the integer 5",
            ]
        );
    }

    #[test]
    fn unknown_services_are_errors_unless_the_file_says_to_ignore_them() {
        let strict = parse_str("[services.billing]\nthreshold = 2\n").unwrap_err();
        assert!(strict.problems[0].message.starts_with("unknown service `billing`"), "{strict}");
        let file = parse_str("unknown_services = \"ignore\"\n[services.billing]\nthreshold = 2\n").unwrap();
        assert_eq!(file.services["billing"].section.layer.threshold, Some(2));
        let e = parse_str("unknown_services = \"ignore\"\n[services.billing]\ntreshold = 2\n").unwrap_err();
        assert!(e.problems[0].message.starts_with("unknown key `treshold`"), "keys are still checked: {e}");
        let e = parse_str("unknown_services = \"skip\"\n").unwrap_err();
        assert!(e.problems[0].message.starts_with("`unknown_services` takes"), "{e}");
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let e = parse_str("[defaults]\ntimeout = \"2s\nthreshold = 3\n").unwrap_err();
        assert_eq!(e.problems.len(), 1);
        assert_eq!(e.problems[0].line, 2, "{e}");
        assert!(e.problems[0].message.starts_with("not valid TOML"), "{e}");
    }

    #[test]
    fn unknown_profiles_and_tables_are_named() {
        let e = parse_str("[profiles.database]\n[services.users]\nprofile = \"datbase\"\n[default]\n")
            .unwrap_err();
        let messages: Vec<&str> = e.problems.iter().map(|p| p.message.as_str()).collect();
        assert!(
            messages.contains(
                &"`[services.users]` selects the unknown profile `datbase`; did you mean `database`?"
            ),
            "{messages:?}"
        );
        assert!(
            messages.iter().any(|m| m.starts_with("unknown table `default`; did you mean `defaults`?")),
            "{messages:?}"
        );
    }

    #[test]
    fn code_keys_are_attribute_only_and_off_is_only_for_optional_settings() {
        let e = parse_str("[defaults]\nfallback = \"x\"\nbuckets = \"off\"\n").unwrap_err();
        assert_eq!(
            e.problems[0].message,
            "`fallback` in `[defaults]` can only be set in the attribute: it names code, not a setting"
        );
        assert!(e.problems[1].message.starts_with("`buckets` cannot be \"off\""), "{e}");
    }
}
