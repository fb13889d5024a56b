//! SIGHUP: re-read the configuration and the token; keep the old ones if the
//! new ones are broken. Only what can change safely while running is applied.

use std::path::Path;
use std::sync::Arc;

use super::delivery::Command as DeliveryCommand;
use super::messages::{Input, Reloaded};
use super::state::Daemon;
use crate::api::Client;
use crate::config::Config;

impl Daemon {
    /// Reads the files off the loop; [`Daemon::reloaded`] applies them.
    pub fn reload(&mut self, path: Option<&Path>) {
        let Some(path) = path else {
            log::info!("SIGHUP: nothing to reload in this mode");
            return;
        };
        self.notifier.reloading();
        let path = path.to_owned();
        let inputs = self.inputs.clone();
        tokio::task::spawn_blocking(move || {
            let _ = inputs.blocking_send(Input::Reloaded(Box::new(load(&path))));
        });
    }

    pub fn reloaded(&mut self, result: Reloaded) {
        match result {
            Ok((new, client)) => {
                let needs_restart = sections_needing_restart(&self.config, &new);
                *self.api.write().unwrap_or_else(|p| p.into_inner()) = client;
                self.config.api = new.api;
                self.config.terminal = new.terminal;
                self.machine
                    .set_see_reception(self.config.terminal.see_reception);
                // A fixed token or URL: deliveries paused on a refusal resume.
                self.tell_worker(DeliveryCommand::Resume);
                if needs_restart.is_empty() {
                    log::info!("SIGHUP: configuration reloaded");
                } else {
                    log::warn!(
                        "SIGHUP: [api] and [terminal] reloaded; changes to {} take effect after a \
                         restart",
                        needs_restart.join(", ")
                    );
                }
            }
            Err(e) => log::error!("SIGHUP: keeping the current configuration: {e}"),
        }
        self.notifier.ready(&self.summary());
    }
}

fn load(path: &Path) -> Reloaded {
    let new = crate::config::load(path)?;
    let (token, _) = crate::secret::load_token(new.api.token_file.as_deref())?;
    let client = Client::new(&new.api, token)?;
    Ok((new, Arc::new(client)))
}

/// Sections whose change only a restart applies (they hold open devices,
/// sockets or directories).
fn sections_needing_restart(old: &Config, new: &Config) -> Vec<&'static str> {
    [
        ("[trigger]", old.trigger != new.trigger),
        ("[indicator]", old.indicator != new.indicator),
        ("[camera]", old.camera != new.camera),
        ("[face]", old.face != new.face),
        ("[status]", old.status != new.status),
        ("[queue]", old.queue != new.queue),
        ("[control]", old.control != new.control),
        ("[mqtt]", old.mqtt != new.mqtt),
        ("[metrics]", old.metrics != new.metrics),
    ]
    .into_iter()
    .filter_map(|(name, changed)| changed.then_some(name))
    .collect()
}
