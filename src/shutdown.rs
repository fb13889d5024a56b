//! One way to tell every task to stop, in the manner of tokio's mini-redis:
//! the daemon holds the [`Stopper`]; each task holds a cloned [`Shutdown`]
//! and either awaits [`Shutdown::wait`] in a `select!` or checks
//! [`Shutdown::is_triggered`] between units of work.

use tokio::sync::watch;

/// Starts the shutdown (once; later calls do nothing).
#[derive(Debug)]
pub struct Stopper(watch::Sender<bool>);

/// What a task listens to. (The optional sender keeps a [`Shutdown::never`]
/// channel open: a closed one would count as stopped.)
#[derive(Debug, Clone)]
pub struct Shutdown {
    rx: watch::Receiver<bool>,
    _keep_open: Option<std::sync::Arc<watch::Sender<bool>>>,
}

/// A new stopper and the first listener.
pub fn channel() -> (Stopper, Shutdown) {
    let (tx, rx) = watch::channel(false);
    (
        Stopper(tx),
        Shutdown {
            rx,
            _keep_open: None,
        },
    )
}

impl Stopper {
    pub fn stop(&self) {
        self.0.send_replace(true);
    }

    pub fn listener(&self) -> Shutdown {
        Shutdown {
            rx: self.0.subscribe(),
            _keep_open: None,
        }
    }
}

impl Shutdown {
    pub fn is_triggered(&self) -> bool {
        *self.rx.borrow()
    }

    /// Completes once shutdown begins (or the stopper is gone).
    pub async fn wait(&self) {
        let mut rx = self.rx.clone();
        let _ = rx.wait_for(|stop| *stop).await;
    }

    /// A listener that never fires (a task run on its own, in tests).
    pub fn never() -> Shutdown {
        let (tx, rx) = watch::channel(false);
        Shutdown {
            rx,
            _keep_open: Some(std::sync::Arc::new(tx)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_listener_sees_one_stop() {
        let (stopper, first) = channel();
        let second = stopper.listener();
        assert!(!first.is_triggered());
        let waiting = tokio::spawn({
            let s = second.clone();
            async move { s.wait().await }
        });
        stopper.stop();
        stopper.stop();
        waiting.await.unwrap();
        assert!(first.is_triggered() && second.is_triggered());
        first.wait().await;
    }
}
