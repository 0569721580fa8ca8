//! Stopping on Ctrl-C or SIGTERM, for the `kusto-emulator` binary and programs that run the
//! emulator until they are told to stop (such as `kusto emulator`).
//!
//! Install the handlers before telling anyone how to reach the emulator (printing its URL):
//! a signal that arrives before its handler is installed ends the process at once instead of
//! stopping it cleanly.
//!
//! ```no_run
//! # async fn example() {
//! let stop = kusto_emulator::signals::StopSignals::install();
//! println!("ready");
//! stop.wait().await;
//! # }
//! ```

/// Ctrl-C and (on Unix) SIGTERM, listened for from the moment they are installed.
#[derive(Debug)]
pub struct StopSignals {
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl StopSignals {
    /// Installs the handlers now: a signal that arrives from here on is seen by [`StopSignals::wait`].
    pub fn install() -> StopSignals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            StopSignals {
                interrupt: signal(SignalKind::interrupt()).ok(),
                terminate: signal(SignalKind::terminate()).ok(),
            }
        }
        #[cfg(not(unix))]
        {
            StopSignals {}
        }
    }

    /// Waits for the first of Ctrl-C and SIGTERM.
    pub async fn wait(self) {
        #[cfg(unix)]
        {
            let StopSignals {
                interrupt,
                terminate,
            } = self;
            async fn recv(signal: Option<tokio::signal::unix::Signal>) {
                match signal {
                    Some(mut signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            }
            if interrupt.is_none() && terminate.is_none() {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
            tokio::select! {
                _ = recv(interrupt) => {}
                _ = recv(terminate) => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
