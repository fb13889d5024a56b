//! Who holds the control socket's connection slots, and who gives one up
//! when they are all taken.
//!
//! A slot is either *waiting* (the daemon waits on its client: for the next
//! request line, or for the client to read a reply) or *busy* (the daemon is
//! working out a reply). Only a client can make a slot wait long, so a new
//! connection never queues behind waiting slots: when all are taken, the one
//! that has been waiting on its client the longest is closed to make room.
//! Busy slots are never taken away; they last as long as a reply takes to
//! compute (milliseconds), so a new connection waits for a slot only while
//! every slot is busy.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;
use tokio::time::Instant;

/// The slots of one server.
pub struct Slots {
    max: usize,
    held: Mutex<Held>,
    /// Signalled whenever a slot is given back.
    freed: Notify,
}

#[derive(Default)]
struct Held {
    by_id: HashMap<u64, Holder>,
    next_id: u64,
}

struct Holder {
    /// Since when the daemon has been waiting on this client; `None` while busy.
    waiting_since: Option<Instant>,
    evict: Arc<Notify>,
}

impl Slots {
    pub fn new(max: usize) -> Arc<Slots> {
        Arc::new(Slots {
            max,
            held: Mutex::new(Held::default()),
            freed: Notify::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Held> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A slot for a new connection (waiting for its first request). When
    /// all are held, the longest-waiting holder is told to close and its
    /// slot given to the newcomer; when all are busy, waits for one to free.
    pub async fn admit(self: &Arc<Self>) -> Slot {
        loop {
            // Registered before looking, so a slot freed in between is not missed.
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            if let Some(slot) = self.try_admit() {
                return slot;
            }
            freed.await;
        }
    }

    fn try_admit(self: &Arc<Self>) -> Option<Slot> {
        let mut held = self.lock();
        if held.by_id.len() >= self.max {
            let (&oldest, _) = held
                .by_id
                .iter()
                .filter_map(|(id, h)| h.waiting_since.map(|since| (id, since)))
                .min_by_key(|&(_, since)| since)?;
            let evicted = held.by_id.remove(&oldest).expect("just found");
            // A stored permit: the holder sees it even if it is not
            // listening at this very moment.
            evicted.evict.notify_one();
        }
        let id = held.next_id;
        held.next_id += 1;
        let evict = Arc::new(Notify::new());
        held.by_id.insert(
            id,
            Holder {
                waiting_since: Some(Instant::now()),
                evict: Arc::clone(&evict),
            },
        );
        Some(Slot {
            id,
            slots: Arc::clone(self),
            evict,
        })
    }
}

/// One connection's slot; given back when dropped.
pub struct Slot {
    id: u64,
    slots: Arc<Slots>,
    evict: Arc<Notify>,
}

impl Slot {
    /// The daemon now waits on the client (for a request, or for it to read).
    pub fn waiting(&self) {
        if let Some(h) = self.slots.lock().by_id.get_mut(&self.id) {
            h.waiting_since = Some(Instant::now());
        }
    }

    /// The daemon now works on a request; false if the slot was already
    /// given to another connection (then this one closes).
    pub fn busy(&self) -> bool {
        match self.slots.lock().by_id.get_mut(&self.id) {
            Some(h) => {
                h.waiting_since = None;
                true
            }
            None => false,
        }
    }

    /// Completes when the slot has been given to another connection.
    pub async fn evicted(&self) {
        self.evict.notified().await;
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.slots.lock().by_id.remove(&self.id);
        self.slots.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_house_gives_the_longest_waiting_slot_away_never_a_busy_one() {
        let slots = Slots::new(2);
        let first = slots.admit().await;
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        let second = slots.admit().await;
        assert!(second.busy());
        let third = slots.admit().await;
        // `first` waited longest: it is told to go, and has lost its slot.
        tokio::time::timeout(std::time::Duration::from_secs(1), first.evicted())
            .await
            .expect("the oldest waiting connection is evicted");
        assert!(!first.busy());
        assert!(third.busy());
        // Both remaining slots busy: a newcomer waits until one is given back.
        let waiting = tokio::spawn({
            let slots = Arc::clone(&slots);
            async move { slots.admit().await.busy() }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        drop(second);
        assert!(waiting.await.unwrap());
    }
}
