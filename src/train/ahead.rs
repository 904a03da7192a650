//! Work prepared ahead on worker threads and handed over in order: training batches are made
//! (self-blends, degradations, spectra) while the device runs the step before, so a fast device
//! does not wait on the CPU. What item `i` holds depends only on `i` (each item draws from its
//! own generator), so the result is the same for any number of workers.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

/// Worker threads for preparing data beside a model step on `cpu_threads` cores: all but one
/// (the one that drives the device), at least one.
pub fn prep_workers(cpu_threads: usize) -> usize {
    cpu_threads.saturating_sub(1).max(1)
}

/// Calls `make(i)` for `i` in `0..count` on `workers` threads, at most `ahead` items before the
/// one being consumed, and `consume(i, item)` on the calling thread in the order of `i`.
/// `consume` may stop early with [`ControlFlow::Break`]; items still in preparation are dropped.
/// A panic in `make` reaches the caller, as it would without workers.
pub fn in_order<R, M, C>(count: usize, workers: usize, ahead: usize, make: M, mut consume: C)
where
    R: Send,
    M: Fn(usize) -> R + Sync,
    C: FnMut(usize, R) -> ControlFlow<()>,
{
    let workers = workers.clamp(1, count.max(1));
    let ahead = ahead.max(workers);
    let next = AtomicUsize::new(0);
    let mut panicked = None;
    // One token per item that may be in preparation or waiting: a worker takes one before
    // claiming an item, the consumer gives one back after each item it consumes. Claimed items
    // are always the `ahead` lowest unconsumed ones, so the next one is always coming.
    let (token_tx, token_rx) = mpsc::sync_channel::<()>(ahead);
    for _ in 0..ahead {
        let _ = token_tx.send(());
    }
    let token_rx = std::sync::Mutex::new(token_rx);
    std::thread::scope(|scope| {
        let token_tx = token_tx;
        let (done_tx, done_rx) = mpsc::channel::<(usize, std::thread::Result<R>)>();
        let (make, next, token_rx) = (&make, &next, &token_rx);
        for _ in 0..workers {
            let done_tx = done_tx.clone();
            scope.spawn(move || {
                loop {
                    let token = token_rx.lock().map(|rx| rx.recv());
                    if !matches!(token, Ok(Ok(()))) {
                        break;
                    }
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        break;
                    }
                    let item = std::panic::catch_unwind(AssertUnwindSafe(|| make(i)));
                    if done_tx.send((i, item)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(done_tx);
        let mut waiting = BTreeMap::new();
        let mut wanted = 0;
        'receive: for (i, item) in done_rx.iter() {
            waiting.insert(i, item);
            while let Some(item) = waiting.remove(&wanted) {
                let item = match item {
                    Ok(item) => item,
                    Err(payload) => {
                        panicked = Some(payload);
                        break 'receive;
                    }
                };
                if consume(wanted, item).is_break() {
                    break 'receive;
                }
                wanted += 1;
                let _ = token_tx.send(());
            }
            if wanted >= count {
                break;
            }
        }
        // Ending the token supply and the receiver stops every worker at its next item.
        drop(token_tx);
        drop(done_rx);
    });
    if let Some(payload) = panicked {
        std::panic::resume_unwind(payload);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn collect(count: usize, workers: usize, ahead: usize) -> Vec<(usize, u64)> {
        let mut seen = Vec::new();
        in_order(
            count,
            workers,
            ahead,
            |i| {
                // Later items finish first, to make the order something the function must restore.
                std::thread::sleep(std::time::Duration::from_micros(((count - i) * 50) as u64));
                crate::rng::Rng::derive(7, i as u64).next_u64()
            },
            |i, v| {
                seen.push((i, v));
                ControlFlow::Continue(())
            },
        );
        seen
    }

    #[test]
    fn items_arrive_in_order_and_alike_for_any_number_of_workers() {
        let one = collect(40, 1, 1);
        assert_eq!(one.len(), 40);
        assert!(one.iter().enumerate().all(|(k, (i, _))| k == *i));
        assert_eq!(collect(40, 4, 8), one);
        assert_eq!(collect(40, 16, 3), one);
        assert!(collect(0, 4, 4).is_empty());
    }

    #[test]
    fn no_more_than_ahead_items_are_made_before_their_turn() {
        let made = AtomicUsize::new(0);
        let mut worst = 0;
        in_order(
            60,
            4,
            6,
            |_| made.fetch_add(1, Ordering::SeqCst) + 1,
            |i, _| {
                // Items made so far, beyond those already consumed (this one included).
                worst = worst.max(made.load(Ordering::SeqCst) - i);
                std::thread::sleep(std::time::Duration::from_micros(200));
                ControlFlow::Continue(())
            },
        );
        assert!(worst <= 6, "{worst} items were made ahead");
        assert_eq!(made.load(Ordering::SeqCst), 60);
    }

    #[test]
    fn stopping_early_ends_the_workers() {
        let made = AtomicUsize::new(0);
        let mut consumed = 0;
        in_order(
            1000,
            4,
            4,
            |_| made.fetch_add(1, Ordering::SeqCst),
            |i, _| {
                consumed += 1;
                if i == 9 {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            },
        );
        assert_eq!(consumed, 10);
        assert!(made.load(Ordering::SeqCst) <= 10 + 4);
    }

    #[test]
    fn a_panic_while_making_reaches_the_caller() {
        let caught = std::panic::catch_unwind(|| {
            in_order(
                50,
                3,
                3,
                |i| assert!(i != 7, "item seven"),
                |_, _| ControlFlow::Continue(()),
            )
        });
        assert!(caught.is_err());
    }

    #[test]
    fn all_cores_but_one_prepare() {
        assert_eq!(prep_workers(16), 15);
        assert_eq!(prep_workers(2), 1);
        assert_eq!(prep_workers(1), 1);
        assert_eq!(prep_workers(0), 1);
    }
}
