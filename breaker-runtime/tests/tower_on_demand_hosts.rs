//! A by-host service remembers the on-demand breakers of its last hosts: each request
//! still tells the registry the breaker is in use (the least recently used is the one
//! evicted), and a breaker the registry evicted is looked up again, never used on.
//! Its own test binary: it sets the registry's limit.

use std::convert::Infallible;

use breaker_runtime::integrations::tower::CircuitBreakerLayer;
use breaker_runtime::registry;
use tower::{Layer, Service, ServiceExt};

async fn get<S>(service: &mut S, uri: &str)
where
    S: Service<http::Request<()>>,
    S::Error: std::fmt::Debug,
{
    let request = http::Request::get(uri).body(()).unwrap();
    if service.ready().await.is_err() {
        panic!("not ready");
    }
    assert!(service.call(request).await.is_ok());
}

fn successes(service: &str) -> Option<u64> {
    registry().breaker(service).map(|breaker| breaker.snapshot().calls.successes)
}

#[tokio::test]
async fn remembered_on_demand_hosts_stay_in_use_and_evicted_ones_are_found_again() {
    registry().set_on_demand_limit(5);
    let inner =
        tower::service_fn(|_: http::Request<()>| async { Ok::<_, Infallible>(http::Response::new(())) });
    let layer = CircuitBreakerLayer::new();
    let (mut hot, mut other) = (layer.layer(inner), layer.layer(inner));

    // A host used on every round, between hosts seen once: never the least recently
    // used, so never evicted; one breaker counts all its requests. (Before the first
    // eviction it is remembered, so only its requests through `hot` can say it is in
    // use; its name sorts first, so a tie with an old host would evict it.)
    for round in 0..20 {
        get(&mut hot, "http://a-hot.hosts.test/").await;
        get(&mut other, &format!("http://cold-{round}.hosts.test/")).await;
    }
    assert_eq!(successes("a-hot.hosts.test"), Some(20));
    assert!(registry().on_demand_evictions() >= 15, "{} evictions", registry().on_demand_evictions());

    // A host remembered by `hot`, then left alone while others come: evicted. The
    // next request through `hot` does not go on with the evicted breaker: it finds
    // the registry's (a new one), which counts it.
    get(&mut hot, "http://left.hosts.test/").await;
    get(&mut hot, "http://left.hosts.test/").await;
    assert_eq!(successes("left.hosts.test"), Some(2));
    for other_host in 0..7 {
        get(&mut other, &format!("http://later-{other_host}.hosts.test/")).await;
    }
    assert_eq!(successes("left.hosts.test"), None, "evicted");
    get(&mut hot, "http://left.hosts.test/").await;
    assert_eq!(successes("left.hosts.test"), Some(1), "counted on the registry's breaker");
}
