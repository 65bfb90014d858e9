use breaker_runtime::{CircuitBreaker, Config, Error};
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
async fn work(x: u64) -> Result<u64, Error> {
    Ok(black_box(x))
}
async fn fail(_: u64) -> Result<u64, Error> {
    Err(Error::ProbeLimit { service: "x", max: 1 })
}
#[inline(never)]
fn ready<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(o) => o,
        _ => panic!(),
    }
}
fn main() {
    let mode = std::env::args().nth(1).unwrap();
    let b = CircuitBreaker::new("s", Config::builder().no_timeout().no_bulkhead().build().unwrap()).unwrap();
    if mode == "open" {
        for _ in 0..5 {
            let _ = ready(b.call(fail(0)));
        }
    }
    if mode == "two" {
        two_step(&b, std::env::var("N").ok().and_then(|v| v.parse().ok()).unwrap_or(50_000_000));
        return;
    }
    let n: u64 = std::env::var("N").ok().and_then(|v| v.parse().ok()).unwrap_or(50_000_000);
    let t = std::time::Instant::now();
    for i in 0..n {
        let _ = black_box(ready(b.call(work(i))));
    }
    println!("{mode}: {:.2} ns/call", t.elapsed().as_nanos() as f64 / n as f64);
}
#[allow(dead_code)]
fn two_step(b: &CircuitBreaker, n: u64) {
    let t = std::time::Instant::now();
    for _ in 0..n {
        let p = b.try_acquire().unwrap();
        p.success();
    }
    println!("two-step: {:.2} ns/call", t.elapsed().as_nanos() as f64 / n as f64);
}
