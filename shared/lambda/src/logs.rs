//! JSON logs for CloudWatch, filtered by `RUST_LOG`.

/// Installs the JSON log subscriber; call once at the start of `main`.
pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .without_time() // CloudWatch stamps every line
        .init();
}
