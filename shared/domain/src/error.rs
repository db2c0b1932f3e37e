//! The one error a storage or queue adapter reports to the domain.

/// A storage or queue operation failed for a reason outside the caller's control
/// (the database, DynamoDB or SQS did not do what was asked). Callers turn it
/// into "try again later": a 503 to Alma, a job left on its queue.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend could not be reached or refused the operation.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// A stored record could not be read back (corrupt or from an incompatible version).
    #[error("stored record unreadable: {0}")]
    Corrupt(String),
}
