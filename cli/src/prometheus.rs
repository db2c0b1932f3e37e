//! `serve`'s metrics: the process-wide recorder that keeps them for
//! Prometheus's text format, and the `/metrics` source that samples the
//! queue and reconcile gauges from the store at each scrape.

use async_trait::async_trait;
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};
use patron_hub_domain::ports::JobQueue;
use patron_hub_domain::reconciliation::{ReconciliationStore, RunKind};
use patron_hub_domain::{telemetry, InstitutionCode, StoreError};
use patron_hub_http::metrics_scrape::MetricsSource;
use patron_hub_store_sqlite::SqliteStore;

/// Buckets of the Alma call durations, in seconds.
const ALMA_CALL_BUCKETS: &[f64] = &[0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
/// Buckets of the job lag, in seconds: from sub-second to an hour behind.
const JOB_LAG_BUCKETS: &[f64] = &[
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0,
];

/// Installs the Prometheus recorder for the whole process (once: the
/// `metrics` facade has one global recorder) and returns its handle.
pub fn install() -> Result<PrometheusHandle, BuildError> {
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full(telemetry::ALMA_CALL_SECONDS.to_owned()),
            ALMA_CALL_BUCKETS,
        )?
        .set_buckets_for_metric(
            Matcher::Full(telemetry::JOB_LAG.to_owned()),
            JOB_LAG_BUCKETS,
        )?
        .build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder)?;
    Ok(handle)
}

/// The metrics of a local node: its recorder's, with the gauges of each
/// institution's queue and of the last reconcile read from the store first.
pub struct StoreSampledMetrics {
    /// What the recorder holds.
    pub handle: PrometheusHandle,
    /// The store the gauges are read from.
    pub store: SqliteStore,
    /// The institutions that have a queue.
    pub institutions: Vec<InstitutionCode>,
}

impl StoreSampledMetrics {
    /// Sets the gauges from the store.
    async fn sample(&self) -> Result<(), StoreError> {
        for institution in &self.institutions {
            let depth = self.store.depth(institution).await?;
            let age = self.store.oldest_job_age(institution).await?;
            let dead = self.store.dead_letters(institution).await?.len();
            telemetry::queue_sampled(institution, depth, age, dead as u64);
        }
        let runs = self.store.recent_runs(RunKind::Reconcile, 1).await?;
        if let Some(run) = runs.first() {
            telemetry::reconcile_finished(run);
        }
        Ok(())
    }
}

#[async_trait]
impl MetricsSource for StoreSampledMetrics {
    async fn render(&self) -> String {
        if let Err(error) = self.sample().await {
            // The counters are still worth a scrape; the gauges keep their last values.
            tracing::warn!(%error, "queue gauges not sampled");
        }
        self.handle.run_upkeep();
        self.handle.render()
    }
}
