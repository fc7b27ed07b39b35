//! Work over many items on a few threads, with results handed back in the items' order: what
//! listing and searching do to each of thousands of saved sessions. Any layer may use it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

/// Below this many items one thread does the work: starting more would cost more than it saves.
const MIN_ITEMS_PER_THREAD: usize = 32;
/// At most this many threads, whatever the machine has.
const MAX_THREADS: usize = 8;

/// Runs `work` on every item of `items` and hands the results to `visit` in the items' order, as
/// each becomes due. With `open` and enough items, the work runs on as many threads as the
/// machine has cores: this thread with `here`, the others each with the state `open` makes for
/// it (a repository handle, which threads do not share); otherwise on this thread alone. The
/// first error, of `open`, `work` or `visit`, stops the run and is returned; `visit` never sees
/// a result after it.
pub fn for_each_in_order<T, S, R, E>(
    items: &[T],
    here: &S,
    open: Option<&(dyn Fn() -> Result<S, E> + Sync)>,
    work: &(dyn Fn(&S, &T) -> Result<R, E> + Sync),
    visit: &mut dyn FnMut(R) -> Result<(), E>,
) -> Result<(), E>
where
    T: Sync,
    R: Send,
    E: Send,
{
    let wanted = items.len().div_ceil(MIN_ITEMS_PER_THREAD).min(MAX_THREADS);
    // Asking for the cores reads cgroup files: only worth it when more than one thread may run.
    let threads = match wanted > 1 && open.is_some() {
        true => std::thread::available_parallelism().map_or(1, |n| n.get().min(wanted)),
        false => 1,
    };
    let Some(open) = open.filter(|_| threads > 1) else {
        for item in items {
            visit(work(here, item)?)?;
        }
        return Ok(());
    };
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    // Bounded, so helpers wait for a slow `visit` (a pager) instead of filling memory.
    let (sender, results) = mpsc::sync_channel::<(usize, Result<R, E>)>(threads * 16);
    std::thread::scope(|scope| {
        // This thread works too: one helper fewer than cores, so none waits for a core.
        for _ in 1..threads {
            let sender = sender.clone();
            let (next, stop) = (&next, &stop);
            scope.spawn(move || {
                let mut state = None;
                while !stop.load(Ordering::Relaxed) {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(index) else { break };
                    let result = match &state {
                        Some(state) => work(state, item),
                        None => open().and_then(|opened| work(state.insert(opened), item)),
                    };
                    let failed = result.is_err();
                    if sender.send((index, result)).is_err() || failed {
                        break;
                    }
                }
            });
        }
        drop(sender);
        let mut this_thread = || {
            let index = next.fetch_add(1, Ordering::Relaxed);
            items.get(index).map(|item| (index, work(here, item)))
        };
        let outcome =
            deliver_in_order(items.len(), threads * 64, &mut this_thread, &results, visit);
        if outcome.is_err() {
            stop.store(true, Ordering::Relaxed);
            // Let helpers blocked on a full channel finish their send and see the stop.
            while results.recv().is_ok() {}
        }
        outcome
    })
}

/// Hands the results of all `count` items to `visit` in index order: those helpers send, in any
/// order, and those of `own_work`, which does the next item on this thread (`None` when none is
/// left). This thread works while fewer than `ahead` results wait for an earlier one.
///
/// Every index a thread takes is sent, and helpers stop early only after sending an error, so
/// when the results end before the last index, an error is among those waiting.
fn deliver_in_order<R, E>(
    count: usize,
    ahead: usize,
    own_work: &mut dyn FnMut() -> Option<(usize, Result<R, E>)>,
    results: &mpsc::Receiver<(usize, Result<R, E>)>,
    visit: &mut dyn FnMut(R) -> Result<(), E>,
) -> Result<(), E> {
    let mut waiting = BTreeMap::new();
    let mut due = 0;
    let mut own_left = true;
    while due < count {
        while let Some(result) = waiting.remove(&due) {
            visit(result?)?;
            due += 1;
        }
        if due == count {
            break;
        }
        if own_left && waiting.len() < ahead {
            match own_work() {
                Some((index, result)) => {
                    waiting.insert(index, result);
                    while let Ok((index, result)) = results.try_recv() {
                        waiting.insert(index, result);
                    }
                    continue;
                }
                None => own_left = false,
            }
        }
        let Ok((index, result)) = results.recv() else {
            return match waiting.into_values().find_map(Result::err) {
                Some(reason) => Err(reason),
                None => Ok(()),
            };
        };
        waiting.insert(index, result);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error of these tests.
    #[derive(Debug, PartialEq)]
    struct Failed(&'static str);

    #[test]
    fn results_come_back_in_order_from_many_threads() {
        let items: Vec<u64> = (0..2000).collect();
        let mut seen = Vec::new();
        for_each_in_order(
            &items,
            &3,
            Some(&|| Ok::<_, Failed>(3u64)),
            &|factor, item| {
                // Uneven work, so threads finish out of order.
                if item % 7 == 0 {
                    std::thread::sleep(std::time::Duration::from_micros(50));
                }
                Ok(item * factor)
            },
            &mut |r| {
                seen.push(r);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(seen, (0..2000).map(|i| i * 3).collect::<Vec<_>>());
    }

    #[test]
    fn the_first_error_stops_the_run_and_nothing_after_it_is_visited() {
        let items: Vec<u64> = (0..5000).collect();
        let mut seen = Vec::new();
        let err = for_each_in_order(
            &items,
            &(),
            Some(&|| Ok::<_, Failed>(())),
            &|_, item| match *item {
                700 => Err(Failed("item 700 is broken")),
                n => Ok(n),
            },
            &mut |r| {
                seen.push(r);
                Ok(())
            },
        )
        .unwrap_err();
        assert_eq!(err, Failed("item 700 is broken"));
        assert_eq!(seen, (0..700).collect::<Vec<_>>());

        let failing_open = for_each_in_order(
            &items,
            &(),
            Some(&|| Err::<(), _>(Failed("cannot open"))),
            &|_, item| Ok(*item),
            &mut |_| Ok(()),
        )
        .unwrap_err();
        assert_eq!(failing_open, Failed("cannot open"));
        let stopped_by_visit = for_each_in_order(
            &items,
            &(),
            Some(&|| Ok::<_, Failed>(())),
            &|_, item| Ok(*item),
            &mut |r| match r {
                10 => Err(Failed("enough")),
                _ => Ok(()),
            },
        )
        .unwrap_err();
        assert_eq!(stopped_by_visit, Failed("enough"));
    }
}
