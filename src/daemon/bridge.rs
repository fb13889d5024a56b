//! The control socket's handler: forwards each command into the main loop and
//! waits for its reply, so every decision is taken in one place.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, watch};

use super::messages::Input;
use crate::control::server::Handler;
use crate::control::{Command, Reply};

pub struct Bridge {
    pub inputs: mpsc::Sender<Input>,
    /// The screen's events for `watch` (the control socket's bridge; MQTT's has none).
    pub watchers: Option<watch::Receiver<Arc<str>>>,
}

impl Handler for Bridge {
    async fn handle(&self, command: Command) -> Reply {
        let (tx, rx) = oneshot::channel();
        if self.inputs.send(Input::Control(command, tx)).await.is_err() {
            return Reply::error("enrolld is stopping");
        }
        rx.await
            .unwrap_or_else(|_| Reply::error("enrolld is stopping"))
    }

    fn watch(&self) -> Option<watch::Receiver<Arc<str>>> {
        self.watchers.clone()
    }
}
