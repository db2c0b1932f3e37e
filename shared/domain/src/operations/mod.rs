//! The operations view's time series: per institution and 10-minute bucket,
//! the jobs applied and dead-lettered, a histogram of their lag (enough for
//! p50 and p95) and Alma's 429 and 5xx answers, kept 30 days. Recorded
//! through the [`OperationsLog`] port where the work happens (the worker
//! settling a job, the Alma client's answers), read by the console's
//! Operations page. Unlike the `metrics` facade (a process's counters since
//! it started), this store is shared by every process and survives restarts.

mod bucket;
mod port;
mod tally;

pub use bucket::{bucket_start, first_kept, timeline, Bucket, BUCKET, RETENTION};
pub use port::{record, OperationsLog};
pub use tally::{Tally, LAG_BOUNDS_SECONDS};
