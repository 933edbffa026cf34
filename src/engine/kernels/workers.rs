//! The threads one product is split over: helpers that spin between products instead
//! of sleeping, so that a decode step's hundred-odd small products each start on every
//! core at once.
//!
//! Rayon parks an idle worker after a few microseconds of looking for work, and a
//! decode step leaves gaps of that order between products (norms, attention, the
//! sampler). Every product then paid a futex wake and a context switch on the
//! other core before its second half could start: perf (opus-mt-hi-en, batch 1,
//! 2 threads, cpu-clock) put 14% of the second worker's samples in the kernel, mostly
//! the scheduler (switching in and out, sched_yield).
//! llama.cpp's threads spin between the operations of a graph for the same reason.
//!
//! A helper spins for [`SPIN`] after its last task, yields its core until [`YIELD`],
//! then parks until the next product, so an idle process (or a prefill, whose gaps are
//! long and full of candle's own parallel ops) does not lose a core to it.

use std::cell::UnsafeCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long a helper spins after its last task, then how long it keeps yielding
/// its core (to rayon's workers: candle's own parallel ops run there) before it parks.
const SPIN: Duration = Duration::from_micros(20);
const YIELD: Duration = Duration::from_micros(200);

/// One product's work: task `i` for every `i < tasks`.
type Work = *const (dyn Fn(usize) + Sync);

struct Pool {
    /// Helper threads running (spawned ones only).
    helpers: AtomicUsize,
    /// `generation << 32 | tasks << 16 | next unclaimed task`, in one word so that a
    /// helper claims a task with one compare-exchange that also checks the product:
    /// it never takes a task index of one product and runs it with another's work.
    claim: AtomicU64,
    done: AtomicUsize,
    /// The current product's work; written only by the caller holding `busy`, while
    /// no task of an earlier product is running.
    work: UnsafeCell<Work>,
    panicked: AtomicBool,
    /// One product at a time; other callers run theirs on their own thread.
    busy: AtomicBool,
    parked: AtomicUsize,
    wake: (Mutex<()>, Condvar),
}

// SAFETY: `work` is written only by the caller holding `busy`, before it publishes the
// generation (SeqCst store of `claim`), and read by helpers only after claiming a task
// of that generation, which the caller waits for before it returns.
unsafe impl Sync for Pool {}

const GENERATION_SHIFT: u32 = 32;
const TASKS_SHIFT: u32 = 16;
/// The most tasks one published product holds; more run in rounds.
const MAX_TASKS: usize = 0xFFFF;

fn unpack(claim: u64) -> (u64, usize, usize) {
    (
        claim >> GENERATION_SHIFT,
        (claim >> TASKS_SHIFT) as usize & MAX_TASKS,
        claim as usize & MAX_TASKS,
    )
}

/// Threads the kernels split work over, the caller included: candle's count
/// (`RAYON_NUM_THREADS` or the physical cores), read once.
pub fn threads() -> usize {
    static THREADS: OnceLock<usize> = OnceLock::new();
    *THREADS.get_or_init(|| candle_core::utils::get_num_threads().max(1))
}

/// What `work` holds before the first product.
static NO_WORK: fn(usize) = |_| {};

fn pool() -> &'static Pool {
    static POOL: OnceLock<&'static Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let wanted = threads().saturating_sub(1);
        let pool: &'static Pool = Box::leak(Box::new(Pool {
            helpers: AtomicUsize::new(0),
            claim: AtomicU64::new(0),
            done: AtomicUsize::new(0),
            work: UnsafeCell::new(&NO_WORK as Work),
            panicked: AtomicBool::new(false),
            busy: AtomicBool::new(false),
            parked: AtomicUsize::new(0),
            wake: (Mutex::new(()), Condvar::new()),
        }));
        for i in 0..wanted {
            let spawned = std::thread::Builder::new()
                .name(format!("saar-kernel-{i}"))
                .spawn(move || pool.help());
            // Fewer helpers only means less parallelism; none, and callers run alone.
            if spawned.is_err() {
                break;
            }
            pool.helpers.fetch_add(1, Ordering::Release);
        }
        pool
    })
}

/// Runs `work(i)` for every `i < tasks`, split over the calling thread and the
/// helpers; returns when all are done. Tasks are claimed one at a time, so uneven
/// ones balance out.
pub fn for_each(tasks: usize, work: &(dyn Fn(usize) + Sync)) {
    if tasks <= 1 {
        (0..tasks).for_each(work);
        return;
    }
    let pool = pool();
    if pool.helpers.load(Ordering::Acquire) == 0 || pool.busy.swap(true, Ordering::Acquire) {
        (0..tasks).for_each(work);
        return;
    }
    /// Frees the pool for the next caller however this one leaves, panics included.
    struct Leave<'a>(&'a Pool);
    impl Drop for Leave<'_> {
        fn drop(&mut self) {
            self.0.busy.store(false, Ordering::Release);
        }
    }
    let _leave = Leave(pool);
    pool.panicked.store(false, Ordering::Release);
    for first in (0..tasks).step_by(MAX_TASKS) {
        let round = MAX_TASKS.min(tasks - first);
        match first {
            0 => pool.run(round, work),
            _ => pool.run(round, &|i| work(first + i)),
        }
    }
    if pool.panicked.load(Ordering::Acquire) {
        panic!("a kernel task panicked on a helper thread");
    }
}

/// Runs `work(i, chunk)` for each `chunk` of `len` values of `out` (the last may be
/// shorter), as [`for_each`] does.
pub fn for_each_chunk_mut<T: Send>(
    out: &mut [T],
    len: usize,
    work: &(dyn Fn(usize, &mut [T]) + Sync),
) {
    struct Chunks<T> {
        start: *mut T,
        total: usize,
        len: usize,
    }
    // SAFETY: each task makes a slice of its own chunk only; chunks are disjoint.
    unsafe impl<T: Send> Sync for Chunks<T> {}
    impl<T> Chunks<T> {
        /// Chunk `i`; each index must be asked for by one task only.
        #[allow(clippy::mut_from_ref)]
        fn get(&self, i: usize) -> &mut [T] {
            let first = i * self.len;
            let end = (first + self.len).min(self.total);
            // SAFETY: `first..end` lies inside the slice lent mutably for the whole
            // call, and no other task asks for chunk `i`.
            unsafe { std::slice::from_raw_parts_mut(self.start.add(first), end - first) }
        }
    }
    let len = len.max(1);
    let chunks = Chunks {
        start: out.as_mut_ptr(),
        total: out.len(),
        len,
    };
    for_each(out.len().div_ceil(len), &|i| work(i, chunks.get(i)));
}

impl Pool {
    fn run(&self, tasks: usize, work: &(dyn Fn(usize) + Sync)) {
        let (previous, _, _) = unpack(self.claim.load(Ordering::Acquire));
        let generation = (previous + 1) & u64::from(u32::MAX);
        // SAFETY: only the `busy` holder writes `work`, and every task of the previous
        // product finished (the caller waited for `done`) before this write. The
        // lifetime is erased: helpers run `work` only for tasks of this generation,
        // all of which end before this function returns.
        unsafe {
            *self.work.get() = std::mem::transmute::<&(dyn Fn(usize) + Sync), Work>(work);
        }
        self.done.store(0, Ordering::Release);
        let published = generation << GENERATION_SHIFT | (tasks as u64) << TASKS_SHIFT;
        self.claim.store(published, Ordering::SeqCst);
        if self.parked.load(Ordering::SeqCst) > 0 {
            let _guard = self.wake.0.lock().unwrap_or_else(|e| e.into_inner());
            self.wake.1.notify_all();
        }
        // A panic here must not unwind past this frame while helpers still run
        // `work`, which borrows from the caller: wait for them, then re-raise.
        let mine = catch_unwind(AssertUnwindSafe(|| {
            while let Some(task) = self.claim_task(generation) {
                work(task);
                self.done.fetch_add(1, Ordering::Release);
            }
        }));
        if mine.is_err() {
            // The panicking task was claimed but never counted: count it.
            self.done.fetch_add(1, Ordering::Release);
        }
        // Helpers take whatever the caller left unclaimed, so this ends.
        while self.done.load(Ordering::Acquire) < tasks {
            std::hint::spin_loop();
        }
        if let Err(panic) = mine {
            std::panic::resume_unwind(panic);
        }
    }

    /// The next task of product `generation`, if any is left.
    fn claim_task(&self, generation: u64) -> Option<usize> {
        let mut current = self.claim.load(Ordering::Acquire);
        loop {
            let (now, tasks, next) = unpack(current);
            if now != generation || next >= tasks {
                return None;
            }
            match self.claim.compare_exchange_weak(
                current,
                current + 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Some(next),
                Err(seen) => current = seen,
            }
        }
    }

    /// A helper's life: wait for a product, take its tasks, repeat.
    fn help(&self) {
        let (mut seen, _, _) = unpack(self.claim.load(Ordering::Acquire));
        loop {
            seen = self.next_generation(seen);
            while let Some(task) = self.claim_task(seen) {
                // SAFETY: a task of generation `seen` is claimed and not yet counted
                // as done, so the caller is still waiting and `work` is its closure.
                let work = unsafe { &**self.work.get() };
                if catch_unwind(AssertUnwindSafe(|| work(task))).is_err() {
                    self.panicked.store(true, Ordering::Release);
                }
                self.done.fetch_add(1, Ordering::Release);
            }
        }
    }

    /// Spins, then parks, until a product newer than `seen` is published.
    fn next_generation(&self, seen: u64) -> u64 {
        let generation = || unpack(self.claim.load(Ordering::SeqCst)).0;
        let started = Instant::now();
        let mut spins = 0u32;
        loop {
            let now = generation();
            if now != seen {
                return now;
            }
            spins = spins.wrapping_add(1);
            if !spins.is_multiple_of(256) {
                std::hint::spin_loop();
                continue;
            }
            let waited = started.elapsed();
            if waited < SPIN {
                continue;
            }
            if waited < YIELD {
                std::thread::yield_now();
                continue;
            }
            let guard = self.wake.0.lock().unwrap_or_else(|e| e.into_inner());
            self.parked.fetch_add(1, Ordering::SeqCst);
            let guard = self
                .wake
                .1
                .wait_while(guard, |_| generation() == seen)
                .unwrap_or_else(|e| e.into_inner());
            self.parked.fetch_sub(1, Ordering::SeqCst);
            drop(guard);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    #[test]
    fn every_task_runs_once_product_after_product() {
        for round in 0..2000 {
            let tasks = 1 + round % 37;
            let counts: Vec<AtomicUsize> = (0..tasks).map(|_| AtomicUsize::new(0)).collect();
            for_each(tasks, &|i| {
                counts[i].fetch_add(1, Ordering::Relaxed);
            });
            assert!(counts.iter().all(|c| c.load(Ordering::Relaxed) == 1));
            if round % 500 == 0 {
                // Long enough for the helpers to park; the next product wakes them.
                std::thread::sleep(YIELD * 3);
            }
        }
    }

    #[test]
    fn a_panicking_task_reaches_the_caller_and_the_pool_goes_on() {
        let caught = std::panic::catch_unwind(|| {
            for_each(64, &|i| {
                if i % 16 == 3 {
                    panic!("task {i}");
                }
            })
        });
        assert!(caught.is_err());
        // Other tests share the pool and may hold it for a moment: a pool left taken
        // by the panic never comes free, one in use by them does.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while pool().busy.load(Ordering::Acquire) {
            assert!(
                std::time::Instant::now() < deadline,
                "the pool was left taken"
            );
            std::thread::yield_now();
        }
        let total = AtomicUsize::new(0);
        for_each(8, &|i| {
            total.fetch_add(i, Ordering::Relaxed);
        });
        assert_eq!(total.load(Ordering::Relaxed), 28);
    }

    #[test]
    fn chunks_cover_the_output_once() {
        let mut out = vec![0usize; 103];
        for_each_chunk_mut(&mut out, 10, &|i, chunk| {
            for (j, v) in chunk.iter_mut().enumerate() {
                *v += i * 10 + j;
            }
        });
        assert_eq!(out, (0..103).collect::<Vec<_>>());
    }

    #[test]
    fn concurrent_callers_each_get_all_their_tasks() {
        std::thread::scope(|scope| {
            for caller in 0..4 {
                scope.spawn(move || {
                    for round in 0..300 {
                        let tasks = 2 + (round + caller) % 11;
                        let total = AtomicUsize::new(0);
                        for_each(tasks, &|i| {
                            total.fetch_add(i + 1, Ordering::Relaxed);
                        });
                        assert_eq!(total.load(Ordering::Relaxed), tasks * (tasks + 1) / 2);
                    }
                });
            }
        });
    }
}
