//! The terminal's durable state: the enrollment records ([`crate::queue`])
//! and the ticket list ([`crate::tickets`]), kept in step.
//!
//! A ticket is in exactly one place at any instant a crash could strike:
//! the ticket list, or the record of the enrollment it was bound to. Binding
//! writes the record (holding the ticket) before the ticket leaves the list;
//! releasing puts the ticket back in the list before the record goes. A
//! crash between the two leaves it in both, which opening resolves (tickets
//! carry ids, so it is never listed twice).
//!
//! In the daemon all of this runs on one thread of its own ([`actor`]): file
//! writes and fsyncs never block the async loop, and the loop never waits on
//! a lock the delivery worker holds.

pub mod actor;

use std::path::Path;

use serde::Serialize;

use crate::queue::{
    Binding, Destination, EntryId, Now, OpenReport, Queue, QueueConfig, QueueError, SentFate,
    UnknownDelivery,
};
use crate::tickets::{Ticket, TicketError, Tickets};

pub use actor::{StoreGone, StoreHandle};

/// Why the store refused or failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error("tickets: {0}")]
    Tickets(#[from] TicketError),
    #[error("no ticket is pending")]
    NoTicket,
}

/// Whose name a press binds.
#[derive(Debug, Clone, Copy)]
pub enum NameSource<'a> {
    /// The front ticket.
    Ticket,
    /// `terminal.username_template`, rendered with this record's `{seq}`.
    Template {
        template: &'a str,
        terminal_id: &'a str,
    },
}

/// A name bound to a capture, durably.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundName {
    pub record: u64,
    pub username: String,
    /// The verification id the ticket brought.
    pub ticket_verification: Option<String>,
    pub from_ticket: bool,
    /// The ticket's request `transaction`, for the enrollment's event.
    pub transaction: Option<String>,
}

/// The store at a glance, published after every change (the status file
/// reads this, never the disk).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Snapshot {
    pub depth: usize,
    pub bytes: u64,
    pub oldest_age_secs: Option<u64>,
    pub unknown_deliveries: usize,
    pub review: usize,
    pub tickets_pending: usize,
}

#[derive(Debug)]
pub struct Store {
    queue: Queue,
    tickets: Tickets,
}

impl Store {
    /// Opens both halves and settles what a crash left between them: a
    /// capture never stored has nothing registered under its name, so its
    /// ticket goes back to the front. Returns what opening the records found,
    /// for the log.
    pub fn open(
        queue: &QueueConfig,
        tickets_file: &Path,
        max_tickets: usize,
    ) -> Result<(Store, OpenReport), StoreError> {
        let queue = Queue::open(queue)?;
        let tickets = Tickets::open(tickets_file, max_tickets)?;
        Store::assemble(queue, tickets)
    }

    /// Builds a store from halves already open (tests).
    pub fn assemble(queue: Queue, tickets: Tickets) -> Result<(Store, OpenReport), StoreError> {
        let mut store = Store { queue, tickets };
        let report = store.queue.report().clone();
        // Newest first, so the oldest binding's ticket ends up in front.
        for released in report.released.iter().rev() {
            store.release(released.id.0)?;
        }
        Ok((store, report))
    }

    pub fn queue(&self) -> &Queue {
        &self.queue
    }

    pub fn queue_mut(&mut self) -> &mut Queue {
        &mut self.queue
    }

    pub fn tickets(&self) -> &Tickets {
        &self.tickets
    }

    /// Appends a ticket; returns its position (or that its transaction was seen).
    pub fn push_ticket(&mut self, ticket: Ticket) -> Result<crate::tickets::Pushed, StoreError> {
        Ok(self.tickets.push(ticket)?)
    }

    /// Binds a name to a new record: the record (holding the ticket) is on
    /// disk before the ticket leaves the list.
    pub fn bind(&mut self, source: NameSource<'_>, now: &Now) -> Result<BoundName, StoreError> {
        let seq = self.queue.reserve_seq()?;
        let (username, ticket) = match source {
            NameSource::Ticket => {
                let t = self.tickets.front().cloned().ok_or(StoreError::NoTicket)?;
                (t.username.clone(), Some(t))
            }
            NameSource::Template {
                template,
                terminal_id,
            } => (
                crate::username::render(template, terminal_id, now.unix, seq),
                None,
            ),
        };
        let ticket_verification = ticket.as_ref().and_then(|t| t.verification_id.clone());
        let transaction = ticket.as_ref().and_then(|t| t.transaction.clone());
        self.queue.bind(
            Binding {
                seq,
                username: username.clone(),
                verification_id: ticket_verification.clone(),
                ticket: ticket.clone(),
            },
            now,
        )?;
        if let Some(t) = &ticket {
            self.tickets.remove_front(t.id)?;
        }
        Ok(BoundName {
            record: seq,
            username,
            ticket_verification,
            from_ticket: ticket.is_some(),
            transaction,
        })
    }

    /// Stores a bound record's capture (see [`Queue::store_capture`]).
    pub fn store_capture(
        &mut self,
        record: u64,
        jpeg: &[u8],
        verification_id: Option<String>,
        to: Destination,
    ) -> Result<(), StoreError> {
        Ok(self
            .queue
            .store_capture(EntryId(record), jpeg, verification_id, to)?)
    }

    /// Settles a record that was being sent.
    pub fn settle(
        &mut self,
        record: u64,
        fate: SentFate,
    ) -> Result<Option<UnknownDelivery>, StoreError> {
        Ok(self.queue.settle(EntryId(record), fate)?)
    }

    /// Nothing was registered under this record's name: its ticket (if any)
    /// goes back to the front, then the record goes. A record that was being
    /// sent (IDMeta asked for a retake) is first turned back into a binding,
    /// so the ticket is never only in memory.
    pub fn release(&mut self, record: u64) -> Result<(), StoreError> {
        let id = EntryId(record);
        if self.queue.is_sending(id) {
            self.queue.settle(id, SentFate::Unsend)?;
        }
        if let Some(ticket) = self.queue.bound_ticket(id).cloned() {
            self.tickets.restore_front(ticket)?;
        }
        Ok(self.queue.forget_released(id)?)
    }

    pub fn snapshot(&self, now: &Now) -> Snapshot {
        Snapshot {
            depth: self.queue.depth(),
            bytes: self.queue.bytes(),
            oldest_age_secs: self.queue.oldest_age(now).map(|a| a.as_secs()),
            unknown_deliveries: self.queue.unknown_count(),
            review: self.queue.review_count(),
            tickets_pending: self.tickets.pending(),
        }
    }
}

#[cfg(test)]
mod tests;
