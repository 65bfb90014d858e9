//! An on-demand breaker an operator controlled is never evicted: the decision (forced
//! open, disabled, metrics-only) outlives any number of other hosts. Its own test
//! binary: it sets the registry's limit.

use breaker_runtime::{State, registry};

#[test]
fn a_controlled_on_demand_breaker_is_kept() {
    registry().set_on_demand_limit(3);
    registry().on_demand("controlled-host.test").unwrap();
    registry().force_open("controlled-host.test", "a test: the host is down").unwrap();
    for n in 0..20 {
        registry().on_demand(&format!("passing-host-{n}.test")).unwrap();
    }
    assert!(registry().on_demand_evictions() >= 17, "{}", registry().on_demand_evictions());
    assert!(registry().on_demand_count() <= 3);
    let kept = registry().on_demand("controlled-host.test").unwrap();
    assert_eq!(kept.state(), State::ForcedOpen, "the operator's decision stands");
}
