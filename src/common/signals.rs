//! Waiting for SIGINT or SIGTERM: how long-running commands (`ingest --follow`, the cluster
//! roles) learn to stop.

/// SIGINT and SIGTERM. Registered once, so a signal that arrives during a poll is not lost:
/// the wait after the poll ends at once.
pub struct Signals {
    #[cfg(unix)]
    streams: Vec<tokio::signal::unix::Signal>,
}

impl Signals {
    pub fn new() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Signals {
                streams: [SignalKind::interrupt(), SignalKind::terminate()]
                    .into_iter()
                    .filter_map(|k| signal(k).ok())
                    .collect(),
            }
        }
        #[cfg(not(unix))]
        Signals {}
    }

    /// Waits for the next signal.
    pub async fn recv(&mut self) {
        #[cfg(unix)]
        {
            let waits = self.streams.iter_mut().map(|s| Box::pin(s.recv()));
            if waits.len() > 0 {
                futures::future::select_all(waits).await;
                return;
            }
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}

impl Default for Signals {
    fn default() -> Self {
        Self::new()
    }
}
