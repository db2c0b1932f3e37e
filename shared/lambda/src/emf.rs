//! The functions' metrics as CloudWatch embedded metric format (EMF): a
//! `metrics` recorder that keeps what an invocation records and writes it,
//! when the invocation is done, as JSON lines on stdout, which CloudWatch
//! Logs turns into metrics with no API call. One line per metric and label
//! set; the labels are its dimensions.

use axum::extract::Request;
use axum::middleware::{from_fn, Next};
use axum::response::Response;
use axum::Router;
use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder,
    SharedString, Unit,
};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

/// The CloudWatch namespace of every patron-hub metric.
pub const NAMESPACE: &str = "PatronHub";
/// EMF takes at most 100 values of one metric per line.
const MAX_VALUES: usize = 100;

/// One metric and its labels.
type Series = (String, Vec<(String, String)>);

/// What one series recorded since the last flush.
#[derive(Debug, Clone, PartialEq)]
enum Sample {
    Count(u64),
    Last(f64),
    Values(Vec<f64>),
}

type Samples = Arc<Mutex<BTreeMap<Series, Sample>>>;

/// A `metrics` recorder keeping samples until [`EmfRecorder::flush`].
#[derive(Debug, Default, Clone)]
pub struct EmfRecorder {
    samples: Samples,
}

/// One series' handle: counters, gauges and histograms all write here.
struct Cell {
    samples: Samples,
    series: Series,
}

impl Cell {
    fn update(&self, change: impl FnOnce(Option<Sample>) -> Sample) {
        let mut samples = self.samples.lock().unwrap_or_else(|p| p.into_inner());
        let before = samples.remove(&self.series);
        samples.insert(self.series.clone(), change(before));
    }
}

impl CounterFn for Cell {
    fn increment(&self, value: u64) {
        self.update(|before| match before {
            Some(Sample::Count(count)) => Sample::Count(count.saturating_add(value)),
            _ => Sample::Count(value),
        });
    }

    fn absolute(&self, value: u64) {
        self.update(|_| Sample::Count(value));
    }
}

impl GaugeFn for Cell {
    fn increment(&self, value: f64) {
        self.update(|before| match before {
            Some(Sample::Last(last)) => Sample::Last(last + value),
            _ => Sample::Last(value),
        });
    }

    fn decrement(&self, value: f64) {
        GaugeFn::increment(self, -value);
    }

    fn set(&self, value: f64) {
        self.update(|_| Sample::Last(value));
    }
}

impl HistogramFn for Cell {
    fn record(&self, value: f64) {
        self.update(|before| match before {
            Some(Sample::Values(mut values)) => {
                values.push(value);
                Sample::Values(values)
            }
            _ => Sample::Values(vec![value]),
        });
    }
}

impl EmfRecorder {
    fn cell(&self, key: &Key) -> Arc<Cell> {
        let labels = key
            .labels()
            .map(|label| (label.key().to_owned(), label.value().to_owned()))
            .collect();
        Arc::new(Cell {
            samples: self.samples.clone(),
            series: (key.name().to_owned(), labels),
        })
    }

    /// Takes what was recorded since the last flush, as EMF lines stamped
    /// `timestamp_ms`.
    pub fn flush(&self, timestamp_ms: i64) -> Vec<String> {
        let samples = std::mem::take(&mut *self.samples.lock().unwrap_or_else(|p| p.into_inner()));
        let mut lines = Vec::new();
        for ((name, labels), sample) in samples {
            let values: Vec<Value> = match sample {
                Sample::Count(count) => vec![json!(count)],
                Sample::Last(last) => vec![json!(last)],
                Sample::Values(values) => values
                    .chunks(MAX_VALUES)
                    .map(|chunk| json!(chunk))
                    .collect(),
            };
            for value in values {
                lines.push(line(&name, &labels, value, timestamp_ms));
            }
        }
        lines
    }
}

/// One EMF line: the metric's value, its labels as dimensions.
fn line(name: &str, labels: &[(String, String)], value: Value, timestamp_ms: i64) -> String {
    let dimensions: Vec<&str> = labels.iter().map(|(key, _)| key.as_str()).collect();
    let mut object = Map::new();
    object.insert(
        "_aws".to_owned(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [dimensions],
                "Metrics": [{"Name": name, "Unit": unit(name)}],
            }],
        }),
    );
    for (key, label) in labels {
        object.insert(key.clone(), json!(label));
    }
    object.insert(name.to_owned(), value);
    Value::Object(object).to_string()
}

/// The CloudWatch unit a metric's name implies.
fn unit(name: &str) -> &'static str {
    if name.ends_with("_seconds") {
        "Seconds"
    } else if name.ends_with("_total") {
        "Count"
    } else {
        "None"
    }
}

impl Recorder for EmfRecorder {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.cell(key))
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(self.cell(key))
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(self.cell(key))
    }
}

/// The process's recorder, once installed.
static INSTALLED: OnceLock<EmfRecorder> = OnceLock::new();

/// Makes the EMF recorder the process's `metrics` recorder; call once at
/// the start of `main`, and [`flush`] after each invocation.
pub fn install() {
    let recorder = INSTALLED.get_or_init(EmfRecorder::default).clone();
    if metrics::set_global_recorder(recorder).is_err() {
        tracing::warn!("a metrics recorder was already installed; EMF lines are not written");
    }
}

/// Writes what the invocation recorded as EMF lines on stdout.
pub fn flush() {
    let Some(recorder) = INSTALLED.get() else {
        return;
    };
    let lines = recorder.flush(chrono::Utc::now().timestamp_millis());
    let mut stdout = std::io::stdout().lock();
    for line in lines {
        // A lost metric line must never fail an invocation.
        let _ = writeln!(stdout, "{line}");
    }
}

/// `router` with [`flush`] after each request it answers: an HTTP function's
/// invocation.
pub fn flushing(router: Router) -> Router {
    router.layer(from_fn(flush_after))
}

async fn flush_after(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    flush();
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_values_and_gauges_become_one_line_each_and_are_taken_once() {
        let recorder = EmfRecorder::default();
        metrics::with_local_recorder(&recorder, || {
            metrics::counter!("patron_hub_jobs_total", "institution" => "A", "outcome" => "applied")
                .increment(2);
            metrics::histogram!("patron_hub_job_lag_seconds").record(1.5);
            metrics::histogram!("patron_hub_job_lag_seconds").record(0.5);
            metrics::gauge!("patron_hub_reconcile_missing").set(3.0);
        });
        let lines: Vec<Value> = recorder
            .flush(1_700_000_000_000)
            .iter()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert_eq!(lines.len(), 3, "{lines:?}");
        let jobs = lines
            .iter()
            .find(|line| line.get("patron_hub_jobs_total").is_some())
            .unwrap();
        assert_eq!(jobs["patron_hub_jobs_total"], 2);
        assert_eq!(jobs["institution"], "A");
        let metric = &jobs["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(metric["Namespace"], NAMESPACE);
        assert_eq!(metric["Dimensions"], json!([["institution", "outcome"]]));
        assert_eq!(metric["Metrics"][0]["Unit"], "Count");
        assert_eq!(jobs["_aws"]["Timestamp"], 1_700_000_000_000_i64);
        let lag = lines
            .iter()
            .find(|line| line.get("patron_hub_job_lag_seconds").is_some())
            .unwrap();
        assert_eq!(lag["patron_hub_job_lag_seconds"], json!([1.5, 0.5]));
        assert_eq!(
            lag["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([[]])
        );
        assert!(recorder.flush(0).is_empty(), "a flush takes the samples");
    }
}
