//! What the demo shows: a live table per breaker, the transition log, the summary.

use std::fmt::Write as _;
use std::io::Write as _;
use std::time::Duration;

use breaker_runtime::{CircuitBreaker, Reason, Snapshot, State};

use crate::server::{Phase, Timeline};

/// One transition, as the log shows it.
pub struct Transition {
    pub at: Duration,
    pub service: &'static str,
    pub from: State,
    pub to: State,
    pub reason: Reason,
}

/// A line of the log: a transition, or the service entering a phase.
enum Entry {
    Transition(Transition),
    Phase(Duration, Phase),
}

impl Entry {
    fn at(&self) -> Duration {
        match self {
            Entry::Transition(t) => t.at,
            Entry::Phase(at, _) => *at,
        }
    }
}

pub struct Screen {
    plain: bool,
    timeline: Timeline,
    breakers: Vec<CircuitBreaker>,
    /// The transitions and the phase changes, in the order they happened.
    log: Vec<Entry>,
    /// The dashboard's address, shown on every frame.
    dashboard: String,
}

const RESET: &str = "\x1b[0m";

/// The terminal width everything is laid out for.
const WIDTH: usize = 80;

/// What the table's columns mean, under it.
const LEGEND: &str = "calls, fail%: the breaker's window; rejected: calls refused without \
    reaching the service (open circuit, probe limit, full bulkhead); fallback: calls a \
    fallback answered; avg, max: latency in the window";

impl Screen {
    pub fn new(plain: bool, timeline: Timeline, breakers: Vec<CircuitBreaker>) -> Screen {
        Screen { plain, timeline, breakers, log: Vec::new(), dashboard: String::new() }
    }

    pub fn banner(&mut self, base: &str, dashboard: &str) {
        self.dashboard = dashboard.to_owned();
        let banner = format!(
            "breaker demo: a flaky service at {base}, three protected clients, {}s",
            self.timeline.length().as_secs()
        );
        println!("{}", wrap(&banner, 0, 2));
        println!("dashboard: {dashboard}");
    }

    /// The service entered `phase`, at its scheduled time.
    pub fn phase(&mut self, phase: Phase) {
        self.add(Entry::Phase(self.timeline.start_of(phase), phase));
    }

    pub fn transition(&mut self, transition: Transition) {
        self.add(Entry::Transition(transition));
    }

    fn add(&mut self, entry: Entry) {
        if self.plain {
            println!("{}", self.log_line(&entry));
        }
        // Keep the log in time order, whatever order the entries came in.
        let at = self.log.partition_point(|e| e.at() <= entry.at());
        self.log.insert(at, entry);
    }

    fn log_line(&self, entry: &Entry) -> String {
        match entry {
            Entry::Phase(at, phase) => format!("{:>6.1}s  phase: {}", at.as_secs_f64(), phase.name()),
            Entry::Transition(t) => {
                // The states are coloured: wrap the line as plain text, then colour it.
                let plain = format!(
                    "{:>6.1}s  {:<15} {} -> {}  ({})",
                    t.at.as_secs_f64(),
                    t.service,
                    t.from.as_str().to_uppercase(),
                    t.to.as_str().to_uppercase(),
                    t.reason
                );
                let line = wrap(&plain, 0, 10);
                let arrow = format!("{} -> {}", t.from.as_str().to_uppercase(), t.to.as_str().to_uppercase());
                line.replacen(&arrow, &format!("{} -> {}", self.state(t.from), self.state(t.to)), 1)
            }
        }
    }

    fn state(&self, state: State) -> String {
        let name = state.as_str().to_uppercase();
        if self.plain {
            return name;
        }
        let colour = match state {
            State::Closed => "\x1b[32m",
            State::Open | State::ForcedOpen => "\x1b[31m",
            State::HalfOpen => "\x1b[33m",
            _ => "\x1b[36m",
        };
        format!("{colour}{name}{RESET}")
    }

    /// The table, 73 columns wide, and its legend.
    fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "  {:<15} {:<9} {:>6} {:>6} {:>8} {:>8} {:>7} {:>7}",
            "service", "state", "calls", "fail%", "rejected", "fallback", "avg", "max"
        );
        for breaker in &self.breakers {
            let s: Snapshot = breaker.snapshot();
            let state = self.state(s.state);
            let padding = " ".repeat(9usize.saturating_sub(s.state.as_str().len()));
            let _ = writeln!(
                out,
                "  {:<15} {state}{padding} {:>6} {:>5.1}% {:>8} {:>8} {:>7} {:>7}",
                s.service,
                s.window.calls,
                s.window.failure_rate * 100.0,
                s.rejections.total(),
                s.fallbacks.successes,
                millis(s.latency.mean),
                millis(s.latency.max),
            );
        }
        let _ = writeln!(out, "{}", wrap(LEGEND, 2, 2));
        out
    }

    pub fn draw(&self) {
        let elapsed = self.timeline.elapsed();
        if self.plain {
            print!("{:>6.1}s\n{}", elapsed.as_secs_f64(), self.table());
            return;
        }
        let mut frame = String::from("\x1b[2J\x1b[H");
        let _ = writeln!(
            frame,
            "breaker demo  {:>5.1}s / {}s   phase: \x1b[1m{}{RESET}\n",
            elapsed.as_secs_f64(),
            self.timeline.length().as_secs(),
            self.timeline.phase().name()
        );
        let _ = writeln!(frame, "  dashboard: {}\n", self.dashboard);
        frame.push_str(&self.table());
        let _ = writeln!(frame, "\n  transitions:");
        for entry in self.log.iter().rev().take(14).collect::<Vec<_>>().into_iter().rev() {
            let _ = writeln!(frame, "{}", self.log_line(entry));
        }
        print!("{frame}");
        let _ = std::io::stdout().flush();
    }

    pub fn summary(&self) {
        if !self.plain {
            self.draw();
        }
        println!("\nsummary after {:.1}s:", self.timeline.elapsed().as_secs_f64());
        let degraded = self.timeline.start_of(Phase::Degraded);
        let recovering = self.timeline.start_of(Phase::Recovering);
        let transitions: Vec<&Transition> = self
            .log
            .iter()
            .filter_map(|e| match e {
                Entry::Transition(t) => Some(t),
                Entry::Phase(..) => None,
            })
            .collect();
        for breaker in &self.breakers {
            let s = breaker.snapshot();
            let opened = transitions
                .iter()
                .find(|t| t.service == s.service && t.to == State::Open && t.at >= degraded);
            let closed = transitions
                .iter()
                .rfind(|t| t.service == s.service && t.to == State::Closed && t.at >= recovering);
            let line = match opened {
                // A breaker that never opened has nothing to close again or spare.
                None => {
                    format!("{}: never opened; {} answered by a fallback", s.service, s.fallbacks.successes)
                }
                Some(opened) => {
                    let closed = closed.map_or("not yet".into(), |t| {
                        format!("{:.1}s after recovery began", secs(t.at.saturating_sub(recovering)))
                    });
                    format!(
                        "{}: opened {:.1}s after the errors began; closed again {closed}; opened {} \
                         time(s); {} calls spared the failing service; {} answered by a fallback",
                        s.service,
                        secs(opened.at - degraded),
                        s.open_count,
                        s.rejections.total(),
                        s.fallbacks.successes,
                    )
                }
            };
            println!("{}", wrap(&line, 2, 4));
        }
        let states = format!(
            "final states: {}",
            self.breakers
                .iter()
                .map(|b| format!("{} {}", b.service(), b.state()))
                .collect::<Vec<_>>()
                .join(", ")
        );
        println!("{}", wrap(&states, 2, 4));
    }
}

fn millis(d: Duration) -> String {
    format!("{}ms", d.as_millis())
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// `text` wrapped at spaces to [`WIDTH`] columns, its own spacing kept: the first line
/// indented by `first`, the others by `rest`. A word longer than a line stays whole.
pub fn wrap(text: &str, first: usize, rest: usize) -> String {
    let mut out = String::new();
    let mut indent = first;
    let mut remaining = text;
    loop {
        out.push_str(&" ".repeat(indent));
        let room = WIDTH.saturating_sub(indent);
        if remaining.chars().count() <= room {
            out.push_str(remaining);
            return out;
        }
        // The last space that keeps the line within `room` (a byte index: spaces are ASCII).
        let cut = remaining
            .char_indices()
            .take(room + 1)
            .filter(|&(i, c)| c == ' ' && !remaining[..i].trim().is_empty())
            .map(|(i, _)| i)
            .last()
            .or_else(|| {
                remaining.trim_start().find(' ').map(|i| i + remaining.len() - remaining.trim_start().len())
            });
        match cut {
            Some(i) => {
                out.push_str(remaining[..i].trim_end());
                out.push('\n');
                remaining = remaining[i..].trim_start();
                indent = rest;
            }
            None => {
                out.push_str(remaining);
                return out;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_lines_within_the_width_and_the_words_whole() {
        let text = "calls, fail%: the breaker's window; rejected: calls refused without reaching \
                    the service (open circuit, probe limit, full bulkhead); fallback: calls a \
                    fallback answered";
        let wrapped = wrap(text, 2, 4);
        for line in wrapped.lines() {
            assert!(line.chars().count() <= WIDTH, "too wide: {line:?}");
        }
        assert!(wrapped.lines().skip(1).all(|l| l.starts_with("    ") && !l.starts_with("     ")));
        assert_eq!(
            wrapped.split_whitespace().collect::<Vec<_>>(),
            text.split_whitespace().collect::<Vec<_>>()
        );
    }

    #[test]
    fn wrapping_keeps_the_columns_of_a_short_line() {
        assert_eq!(wrap("   3.2s  quotes     CLOSED", 0, 10), "   3.2s  quotes     CLOSED");
    }

    #[test]
    fn a_word_longer_than_a_line_stays_whole() {
        let long = "x".repeat(100);
        assert_eq!(wrap(&format!("a {long} b"), 0, 2), format!("a\n  {long}\n  b"));
    }
}
