//! On-demand breakers of the tower layer are bounded in number: requests to 100,000
//! distinct hosts leave at most the limit of breakers, the least recently used
//! evicted and counted. Its own test binary: it sets the registry's limit.

use std::alloc::{GlobalAlloc, Layout, System};
use std::convert::Infallible;
use std::sync::atomic::{AtomicI64, Ordering};

use breaker_runtime::integrations::tower::CircuitBreakerLayer;
use breaker_runtime::observe::TryRecvError;
use breaker_runtime::registry;
use breaker_runtime::registry::RegistryEvent;
use tower::{Layer, Service, ServiceExt};

/// Bytes allocated and not yet freed, by every thread.
static LIVE: AtomicI64 = AtomicI64::new(0);

struct Counting;

// SAFETY: every method forwards to `System` unchanged; counting is one atomic add.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: the caller upholds `GlobalAlloc::dealloc`'s contract.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const LIMIT: usize = 500;
const HOSTS: usize = 100_000;

#[tokio::test]
async fn a_hundred_thousand_hosts_leave_at_most_the_limit_of_breakers() {
    registry().set_on_demand_limit(LIMIT);
    let mut events = registry().subscribe();
    let inner =
        tower::service_fn(|_: http::Request<()>| async { Ok::<_, Infallible>(http::Response::new(())) });
    let mut client = CircuitBreakerLayer::new().layer(inner);
    let before = registry().services().len();
    let mut live_at_half = 0;
    for i in 0..HOSTS {
        if i == HOSTS / 2 {
            live_at_half = LIVE.load(Ordering::Relaxed);
        }
        let request = http::Request::get(format!("http://host-{i:06}.on-demand.test/")).body(()).unwrap();
        client.ready().await.unwrap().call(request).await.unwrap();
        assert!(registry().on_demand_count() <= LIMIT);
    }
    // Past the limit, memory grows only by the interned names (README, Limitations):
    // far less than a breaker (1.7 KB or more) per host.
    let per_host = (LIVE.load(Ordering::Relaxed) - live_at_half) / (HOSTS / 2) as i64;
    println!(
        "{per_host} bytes kept per host beyond the limit (names of {} bytes)",
        "host-000000.on-demand.test".len()
    );
    assert!(per_host < 128, "{per_host} bytes per host");
    assert_eq!(registry().on_demand_count(), LIMIT);
    assert_eq!(registry().services().len(), before + LIMIT, "at most the limit of breakers exist");
    assert_eq!(registry().on_demand_evictions(), (HOSTS - LIMIT) as u64);
    // The most recent hosts are the ones kept; the first ones were evicted.
    assert!(registry().breaker(&format!("host-{:06}.on-demand.test", HOSTS - 1)).is_some());
    assert!(registry().breaker("host-000000.on-demand.test").is_none());
    // Creations and evictions are on the registry's event stream (which keeps the
    // most recent ones: the subscriber lagged behind the first).
    let (mut created, mut evicted) = (0, 0);
    loop {
        match events.try_recv() {
            Ok(RegistryEvent::Created { .. }) => created += 1,
            Ok(RegistryEvent::Evicted { .. }) => evicted += 1,
            Ok(_) | Err(TryRecvError::Lagged(_)) => {}
            Err(_) => break,
        }
    }
    assert!(created > 0 && evicted > 0, "created {created}, evicted {evicted}");
}
