//! [`RetryRing`]: fixed-capacity min-heap of pending deliveries keyed by due time.

use glomers_node::Time;
use heapless::Vec;

/// One delivery waiting to be (re)sent.
///
/// `attempt` counts the sends already made (0 for a delivery never sent yet); `due` is
/// the caller's clock reading at which it should next be sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Pending<D, P> {
    /// Where it goes (a node handle).
    pub dest: D,
    /// Handle of the payload in the caller's store (an index, a message id, ...).
    pub payload: P,
    /// Sends already made.
    pub attempt: u32,
    /// When it is next due, on the caller's clock.
    pub due: Time,
}

impl<D, P> Pending<D, P> {
    /// A delivery with no send made yet, due at `due`.
    pub const fn new(dest: D, payload: P, due: Time) -> Self {
        Pending {
            dest,
            payload,
            attempt: 0,
            due,
        }
    }
}

struct Entry<D, P> {
    /// Push order, breaking ties between equal due times (first pushed, first popped).
    order: u64,
    item: Pending<D, P>,
}

impl<D, P> Entry<D, P> {
    #[inline]
    fn key(&self) -> (Time, u64) {
        (self.item.due, self.order)
    }
}

/// A bounded set of pending deliveries, at most `N`, handed out earliest due first.
///
/// Invariants: `len() <= N` always; no operation allocates or blocks. [`RetryRing::pop_due`]
/// returns the item with the smallest `due`, ties broken by push order (first pushed,
/// first out), and only when that `due <= now`. Storage is a binary min-heap in a
/// fixed array: push and pop are O(log N), [`RetryRing::remove`] and
/// [`RetryRing::retain`] O(N).
///
/// **When full**, [`RetryRing::push`] returns the very item it was given: the ring never
/// grows and never evicts. The caller decides what a full ring means (typically: answer
/// the request with a temporary error, or drop the delivery and count it).
pub struct RetryRing<D, P, const N: usize> {
    heap: Vec<Entry<D, P>, N>,
    pushes: u64,
}

impl<D, P, const N: usize> Default for RetryRing<D, P, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<D: core::fmt::Debug, P: core::fmt::Debug, const N: usize> core::fmt::Debug
    for RetryRing<D, P, N>
{
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RetryRing")
            .field("len", &self.heap.len())
            .field("capacity", &N)
            .field("next_due", &self.next_due())
            .finish()
    }
}

impl<D, P, const N: usize> RetryRing<D, P, N> {
    /// An empty ring of capacity `N`.
    pub const fn new() -> Self {
        RetryRing {
            heap: Vec::new(),
            pushes: 0,
        }
    }

    /// Items held, at most `N`.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// `true` when no item is held.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// `true` when the next [`RetryRing::push`] would hand its item back.
    pub fn is_full(&self) -> bool {
        self.heap.len() == N
    }

    /// The fixed capacity `N`.
    pub const fn capacity(&self) -> usize {
        N
    }

    /// Adds `item`; when the ring is full returns `Err(item)` unchanged and holds the
    /// same items as before.
    pub fn push(&mut self, item: Pending<D, P>) -> Result<(), Pending<D, P>> {
        let entry = Entry {
            order: self.pushes,
            item,
        };
        match self.heap.push(entry) {
            Ok(()) => {
                // 2^64 pushes cannot happen in practice; wrapping only affects tie order.
                self.pushes = self.pushes.wrapping_add(1);
                let last = self.heap.len() - 1;
                self.sift_up(last);
                Ok(())
            }
            Err(entry) => Err(entry.item),
        }
    }

    /// The earliest due time held, for the caller's timer; `None` when empty.
    pub fn next_due(&self) -> Option<Time> {
        self.heap.first().map(|e| e.item.due)
    }

    /// Removes and returns the earliest-due item if it is due (`due <= now`).
    /// Calling it until `None` drains exactly the items due at `now`, in due order.
    pub fn pop_due(&mut self, now: Time) -> Option<Pending<D, P>> {
        match self.heap.first() {
            Some(e) if e.item.due <= now => Some(self.remove_at(0)),
            _ => None,
        }
    }

    /// Removes and returns the earliest-due item matching `pred` (ties by push order),
    /// or `None` if none matches; the others are kept. Use it to cancel an acknowledged
    /// delivery.
    pub fn remove(
        &mut self,
        mut pred: impl FnMut(&Pending<D, P>) -> bool,
    ) -> Option<Pending<D, P>> {
        let mut best: Option<(usize, (Time, u64))> = None;
        for (i, e) in self.heap.iter().enumerate() {
            if !pred(&e.item) {
                continue;
            }
            match best {
                Some((_, k)) if k <= e.key() => {}
                _ => best = Some((i, e.key())),
            }
        }
        best.map(|(i, _)| self.remove_at(i))
    }

    /// Keeps only the items for which `keep` returns `true` (called once per item, in
    /// no particular order); the dropped items are dropped.
    pub fn retain(&mut self, mut keep: impl FnMut(&Pending<D, P>) -> bool) {
        self.heap.retain(|e| keep(&e.item));
        // Floyd's bottom-up heap construction over what is left.
        for i in (0..self.heap.len() / 2).rev() {
            self.sift_down(i);
        }
    }

    /// The items held, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Pending<D, P>> + '_ {
        self.heap.iter().map(|e| &e.item)
    }

    fn remove_at(&mut self, i: usize) -> Pending<D, P> {
        // Callers pass an index of a held entry; the last entry moves into its place.
        let out = self.heap.swap_remove(i).item;
        if i < self.heap.len() {
            self.sift_down(i);
            self.sift_up(i);
        }
        out
    }

    fn sift_up(&mut self, mut i: usize) {
        while i > 0 {
            let parent = (i - 1) / 2;
            if self.heap[i].key() < self.heap[parent].key() {
                self.heap.swap(i, parent);
                i = parent;
            } else {
                break;
            }
        }
    }

    fn sift_down(&mut self, mut i: usize) {
        let n = self.heap.len();
        loop {
            let l = 2 * i + 1;
            let r = l + 1;
            let mut min = i;
            if l < n && self.heap[l].key() < self.heap[min].key() {
                min = l;
            }
            if r < n && self.heap[r].key() < self.heap[min].key() {
                min = r;
            }
            if min == i {
                break;
            }
            self.heap.swap(i, min);
            i = min;
        }
    }
}
