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

pub struct Screen {
    plain: bool,
    timeline: Timeline,
    breakers: Vec<CircuitBreaker>,
    log: Vec<Transition>,
    phases: Vec<(Duration, Phase)>,
}

const RESET: &str = "\x1b[0m";

impl Screen {
    pub fn new(plain: bool, timeline: Timeline, breakers: Vec<CircuitBreaker>) -> Screen {
        Screen { plain, timeline, breakers, log: Vec::new(), phases: Vec::new() }
    }

    pub fn banner(&self, base: &str) {
        println!(
            "breaker demo: a flaky service at {base}, three protected clients, {}s",
            self.timeline.length().as_secs()
        );
    }

    pub fn phase(&mut self, phase: Phase) {
        let at = self.timeline.elapsed();
        self.phases.push((at, phase));
        if self.plain {
            println!("{:>6.1}s  phase: {}", at.as_secs_f64(), phase.name());
        }
    }

    pub fn transition(&mut self, transition: Transition) {
        if self.plain {
            println!("{}", self.log_line(&transition));
        }
        self.log.push(transition);
    }

    fn log_line(&self, t: &Transition) -> String {
        format!(
            "{:>6.1}s  {:<16} {} -> {}  ({})",
            t.at.as_secs_f64(),
            t.service,
            self.state(t.from),
            self.state(t.to),
            t.reason
        )
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

    fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "  {:<16} {:<10} {:>6} {:>6}  {:>9} {:>9} {:>9}  {:>9}  {:>15}",
            "service",
            "state",
            "calls",
            "fail%",
            "rejected",
            "open/half",
            "bulkhead",
            "fallbacks",
            "latency avg/max"
        );
        for breaker in &self.breakers {
            let s: Snapshot = breaker.snapshot();
            let state = self.state(s.state);
            let padding = " ".repeat(10usize.saturating_sub(s.state.as_str().len()));
            let _ = writeln!(
                out,
                "  {:<16} {state}{padding} {:>6} {:>5.1}%  {:>9} {:>9} {:>9}  {:>9}  {:>15}",
                s.service,
                s.window.calls,
                s.window.failure_rate * 100.0,
                s.rejections.total(),
                format!("{}/{}", s.rejections.open, s.rejections.probe_limit),
                s.rejections.bulkhead,
                s.fallbacks.successes,
                format!("{} / {}", millis(s.latency.mean), millis(s.latency.max)),
            );
        }
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
        frame.push_str(&self.table());
        let _ = writeln!(frame, "\n  transitions:");
        for t in self.log.iter().rev().take(14).collect::<Vec<_>>().into_iter().rev() {
            let _ = writeln!(frame, "  {}", self.log_line(t));
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
        for breaker in &self.breakers {
            let s = breaker.snapshot();
            let opened =
                self.log.iter().find(|t| t.service == s.service && t.to == State::Open && t.at >= degraded);
            let closed = self
                .log
                .iter()
                .rfind(|t| t.service == s.service && t.to == State::Closed && t.at >= recovering);
            let opened = opened
                .map_or("never".into(), |t| format!("{:.1}s after the errors began", secs(t.at - degraded)));
            let closed = closed.map_or("not yet".into(), |t| {
                format!("{:.1}s after recovery began", secs(t.at.saturating_sub(recovering)))
            });
            println!(
                "  {:<16} opened {opened}; closed again {closed}; opened {} time(s); {} calls spared the failing service; {} answered by a fallback",
                s.service,
                s.open_count,
                s.rejections.total(),
                s.fallbacks.successes,
            );
        }
        println!(
            "  final states: {}",
            self.breakers
                .iter()
                .map(|b| format!("{} {}", b.service(), b.state()))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
}

fn millis(d: Duration) -> String {
    format!("{}ms", d.as_millis())
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}
