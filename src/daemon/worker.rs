//! The offline queue's worker (`delivery.rs`) with the daemon's current
//! IDMeta client plugged in: a reload swaps the client for the next delivery.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::delivery::{self, Command as DeliveryCommand};
use super::messages::Input;
use super::state::Daemon;
use super::submit;
use crate::api::Outcome;

impl Daemon {
    /// The offline queue's worker, with the current client plugged in.
    pub fn delivery_worker(
        &self,
        commands: mpsc::Receiver<DeliveryCommand>,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        let api = Arc::clone(&self.api);
        let finalize = self.config.api.finalize;
        let stopping = self.shutdown.clone();
        let send = move |entry: crate::queue::Entry| {
            let api = api.read().unwrap_or_else(|p| p.into_inner()).clone();
            let stopping = stopping.clone();
            async move {
                let vid = entry.verification_id.clone();
                let sent = tokio::task::spawn_blocking(move || {
                    submit::deliver(
                        &*api,
                        finalize,
                        &stopping,
                        &entry.jpeg,
                        &entry.username,
                        entry.verification_id.as_deref(),
                    )
                })
                .await;
                // A panic mid-send: it may have gone out, so never resend.
                sent.unwrap_or_else(|_| submit::Sent {
                    outcome: Outcome::UnknownDelivery {
                        reason: "the sending thread panicked".into(),
                    },
                    verification_id: vid,
                    elapsed: Duration::ZERO,
                })
            }
        };
        let inputs = self.inputs.clone();
        let report = move |r: delivery::Report| {
            let _ = inputs.try_send(Input::Delivery(r));
        };
        let clock_ok = || crate::time::wall_clock_plausible(crate::time::unix_now());
        delivery::run(
            self.store.clone(),
            self.config.queue.clone(),
            commands,
            self.shutdown.clone(),
            send,
            clock_ok,
            report,
        )
    }
}
