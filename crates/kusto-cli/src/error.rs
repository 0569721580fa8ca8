//! The command's errors and exit codes.

/// The process exit codes (documented in the crate docs and in `kusto --help`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    /// Everything succeeded.
    Success = 0,
    /// Some sources failed.
    SomeFailed = 1,
    /// Bad arguments (clap's own usage errors exit with 2 as well).
    Usage = 2,
    /// No token, or the service refused the credentials (401/403).
    Auth = 3,
    /// Any other error.
    Other = 4,
    /// Stopped by Ctrl-C before every source was started.
    Interrupted = 5,
    /// Some sources may or may not have been ingested ([`Outcome::Unknown`]): a resumed run
    /// does not send them again. Wins over [`Exit::SomeFailed`] when a run has both.
    ///
    /// [`Outcome::Unknown`]: crate::report::Outcome::Unknown
    Unknown = 6,
}

/// An error that ends the command.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// Bad arguments.
    #[error("{0}")]
    Usage(String),
    /// Authentication failed.
    #[error("authentication failed: {0}")]
    Auth(String),
    /// Anything else.
    #[error("{0}")]
    Other(String),
}

impl CliError {
    /// The exit code for this error.
    pub(crate) fn exit(&self) -> Exit {
        match self {
            CliError::Usage(_) => Exit::Usage,
            CliError::Auth(_) => Exit::Auth,
            CliError::Other(_) => Exit::Other,
        }
    }

    /// Classifies an error of `kusto-data`.
    pub(crate) fn from_data(error: &kusto_data::Error) -> CliError {
        if is_auth_data(error) {
            CliError::Auth(error.to_string())
        } else {
            CliError::Other(error.to_string())
        }
    }
}

/// True when a `kusto-data` error means the credentials were missing or refused.
pub(crate) fn is_auth_data(error: &kusto_data::Error) -> bool {
    matches!(error, kusto_data::Error::Auth(_)) || matches!(error.status(), Some(401 | 403))
}

/// True when a `kusto-ingest` error means the credentials were missing or refused by Kusto.
pub(crate) fn is_auth_ingest(error: &kusto_ingest::Error) -> bool {
    match error {
        kusto_ingest::Error::Kusto(e) => is_auth_data(e),
        kusto_ingest::Error::Ambiguous { cause, .. } => is_auth_data(cause),
        _ => false,
    }
}
