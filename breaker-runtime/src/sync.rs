//! The synchronisation primitives the state machine uses, switched to `loom`'s
//! instrumented versions under `--cfg loom` so the models explore every interleaving.

#[cfg(loom)]
pub(crate) use loom::sync::Mutex;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, fence};

#[cfg(not(loom))]
pub(crate) use std::sync::Mutex;
pub(crate) use std::sync::atomic::Ordering;
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, fence};

/// The guard of a lock, whether or not another thread panicked while holding it.
///
/// Every critical section in this crate leaves its data consistent at each step, and a
/// breaker must never stop traffic because some other thread panicked (the breaker
/// fails safe), so poisoning is ignored everywhere, through this one function:
/// `unpoisoned(mutex.lock())`, `unpoisoned(rwlock.read())`, `unpoisoned(condvar.wait(..))`.
pub(crate) fn unpoisoned<G>(locked: std::sync::LockResult<G>) -> G {
    locked.unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Locks `mutex` (a `loom` mutex under `--cfg loom`), ignoring poisoning.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> crate::sync::MutexGuard<'_, T> {
    unpoisoned(mutex.lock())
}

#[cfg(loom)]
pub(crate) use loom::sync::MutexGuard;
#[cfg(not(loom))]
pub(crate) use std::sync::MutexGuard;
