//! [`spawn`]: a producer thread handing filled buffers to the thread that consumes them,
//! through two [`MpRing`]s and thread parking; emptied buffers go back for reuse.
//!
//! Used by the shell's process driver: a thread of its own reads stdin into buffers of
//! whole lines and hands them to the node's machine thread, which parses the lines in place
//! and hands the buffers back. Nothing is copied between the threads and, once the pool
//! exists, nothing is allocated.
//!
//! Bounds and policy: the pool (at most `N` items, handed to [`spawn`]) is all there is. A
//! producer with no emptied item waits ([`Producer::empty`]) until the consumer returns one,
//! so a consumer that falls behind stops the producer (backpressure: input not yet handled
//! stays in the pipe). Neither ring can be full, since at most `N` items exist.
//!
//! Waking: each side parks when it has nothing to do and is unparked by the other side
//! right after it made something available ([`Producer::send`], [`Consumer::recycle`]) or
//! went away (dropping either end). Parking keeps an unpark that came first, so no wake-up
//! is lost between a failed `pop` and the `park` that follows it; the loom model in
//! `loom-tests/tests/handoff.rs` checks this in every interleaving.
//!
//! Shutdown: dropping the [`Producer`] (end of input) lets the consumer drain what was
//! sent, then [`Recv::Closed`]; dropping the [`Consumer`] makes [`Producer::empty`] return
//! `None`, so the producer thread ends.

use glomers_sync::atomic::{AtomicBool, Ordering};
use glomers_sync::thread::{self, JoinHandle, Thread};
use glomers_sync::Arc;
use std::time::Instant;

use crate::MpRing;

struct Shared<T, const N: usize> {
    filled: MpRing<T, N>,
    emptied: MpRing<T, N>,
    producer_done: AtomicBool,
    consumer_gone: AtomicBool,
}

/// The producing end, moved into the producer thread.
pub struct Producer<T, const N: usize> {
    shared: Arc<Shared<T, N>>,
    consumer: Thread,
}

/// The consuming end, kept by the thread that called [`spawn`].
pub struct Consumer<T, const N: usize> {
    shared: Arc<Shared<T, N>>,
    producer: Thread,
}

/// What [`Consumer::recv`] got.
#[derive(Debug, PartialEq, Eq)]
pub enum Recv<T> {
    /// The next item, in the order sent.
    Item(T),
    /// The deadline passed with nothing to receive.
    Timeout,
    /// The producer is gone and everything it sent was received.
    Closed,
}

/// Starts `producer` on a thread of its own with a [`Producer`] whose first items are the
/// `pool` (at most `N`; more are dropped); returns the [`Consumer`], to be used on the
/// calling thread, and the producer thread's handle.
pub fn spawn<T, R, F, const N: usize>(
    pool: impl IntoIterator<Item = T>,
    producer: F,
) -> (Consumer<T, N>, JoinHandle<R>)
where
    T: Send + 'static,
    R: Send + 'static,
    F: FnOnce(Producer<T, N>) -> R + Send + 'static,
{
    let shared = Arc::new(Shared {
        filled: MpRing::new(),
        emptied: MpRing::new(),
        producer_done: AtomicBool::new(false),
        consumer_gone: AtomicBool::new(false),
    });
    for item in pool {
        if shared.emptied.push(item).is_err() {
            break;
        }
    }
    let end = Producer {
        shared: Arc::clone(&shared),
        consumer: thread::current(),
    };
    let handle = thread::spawn(move || producer(end));
    let consumer = Consumer {
        shared,
        producer: handle.thread().clone(),
    };
    (consumer, handle)
}

impl<T, const N: usize> Producer<T, N> {
    /// An emptied item to fill, waiting until the consumer returns one; `None` once the
    /// consumer is gone.
    pub fn empty(&self) -> Option<T> {
        loop {
            if let Some(item) = self.shared.emptied.pop() {
                return Some(item);
            }
            if self.shared.consumer_gone.load(Ordering::Acquire) {
                return None;
            }
            thread::park();
        }
    }

    /// Hands a filled item to the consumer. `Err` gives it back only if more than `N`
    /// items were made to circulate, which [`spawn`] prevents.
    pub fn send(&self, item: T) -> Result<(), T> {
        self.shared.filled.push(item)?;
        self.consumer.unpark();
        Ok(())
    }
}

impl<T, const N: usize> Drop for Producer<T, N> {
    fn drop(&mut self) {
        self.shared.producer_done.store(true, Ordering::Release);
        self.consumer.unpark();
    }
}

impl<T, const N: usize> Consumer<T, N> {
    /// The next filled item, waiting until one comes, the producer is gone, or `deadline`
    /// passes (`None`: no deadline). Under loom the deadline is ignored (no clock).
    pub fn recv(&self, deadline: Option<Instant>) -> Recv<T> {
        loop {
            if let Some(item) = self.shared.filled.pop() {
                return Recv::Item(item);
            }
            if self.shared.producer_done.load(Ordering::Acquire) {
                // Whatever was sent before the producer left is visible now.
                return self.shared.filled.pop().map_or(Recv::Closed, Recv::Item);
            }
            match deadline {
                None => thread::park(),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return Recv::Timeout;
                    }
                    thread::park_timeout(d - now);
                }
            }
        }
    }

    /// Gives an emptied item back to the producer for reuse. `Err` gives it back only if
    /// more than `N` items were made to circulate.
    pub fn recycle(&self, item: T) -> Result<(), T> {
        self.shared.emptied.push(item)?;
        self.producer.unpark();
        Ok(())
    }
}

impl<T, const N: usize> Drop for Consumer<T, N> {
    fn drop(&mut self) {
        self.shared.consumer_gone.store(true, Ordering::Release);
        self.producer.unpark();
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::time::Duration;
    use std::vec::Vec;

    #[test]
    fn items_arrive_in_order_and_buffers_are_reused() {
        let (rx, producer) = spawn::<Vec<u32>, _, _, 4>((0..2).map(|_| Vec::new()), |tx| {
            for i in 0..1000u32 {
                let Some(mut buf) = tx.empty() else { return i };
                buf.clear();
                buf.push(i);
                if tx.send(buf).is_err() {
                    return i;
                }
            }
            1000
        });
        let mut got = Vec::new();
        loop {
            match rx.recv(Some(Instant::now() + Duration::from_secs(10))) {
                Recv::Item(buf) => {
                    got.extend_from_slice(&buf);
                    rx.recycle(buf).unwrap();
                }
                Recv::Closed => break,
                Recv::Timeout => panic!("the producer stalled"),
            }
        }
        assert_eq!(producer.join().unwrap(), 1000);
        assert_eq!(got, (0..1000).collect::<Vec<_>>());
    }

    #[test]
    fn a_deadline_passes_when_nothing_comes_and_a_gone_consumer_stops_the_producer() {
        let (rx, producer) = spawn::<u8, _, _, 2>([0u8], |tx| {
            let first = tx.empty();
            let second = tx.empty();
            (first, second)
        });
        let start = Instant::now();
        assert_eq!(
            rx.recv(Some(start + Duration::from_millis(20))),
            Recv::Timeout
        );
        assert!(start.elapsed() >= Duration::from_millis(20));
        drop(rx);
        assert_eq!(producer.join().unwrap(), (Some(0), None));
    }
}
