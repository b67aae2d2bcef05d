//! Logs and traces: the `tracing` subscriber (text or JSON lines on stderr) and, with the `otel` cargo
//! feature and `[telemetry] otlp_endpoint` set, an OpenTelemetry layer that exports every span over OTLP/HTTP.
//!
//! The spans are the ones the code already has: `request` (the API), `publish` (with `event_id`), `attempt`
//! (with `event_id`, `webhook_id`, `delivery_id`, `attempt`) and `notice`. Nothing else is traced for
//! OpenTelemetry alone, so a build without the feature logs exactly the same.

use anyhow::Context;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// What must outlive the server: the span exporter, flushed by [`Telemetry::shutdown`].
pub struct Telemetry {
    #[cfg(feature = "otel")]
    provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

/// Installs the global subscriber. `HOOKLINE_LOG` (else `RUST_LOG`, else `info`) filters logs and spans alike.
/// Call it inside the tokio runtime: the span exporter runs as a task on it.
pub fn init(log_json: bool, otlp_endpoint: Option<&str>) -> anyhow::Result<Telemetry> {
    let filter = EnvFilter::try_from_env("HOOKLINE_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let fmt = if log_json { fmt.json().boxed() } else { fmt.boxed() };
    let registry = tracing_subscriber::registry().with(fmt).with(filter);
    #[cfg(feature = "otel")]
    {
        use opentelemetry::trace::TracerProvider as _;
        let provider = otlp_endpoint.map(otel::provider).transpose()?;
        let layer = provider.as_ref().map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer("hookline")));
        registry.with(layer).try_init().context("failed to install the log subscriber")?;
        if let Some(endpoint) = otlp_endpoint {
            // A collector URL may carry a token in its query or credentials: logged redacted, as webhook URLs are.
            let endpoint = hookline_core::redact::redact_url_text(endpoint);
            tracing::info!(endpoint = %endpoint, "exporting traces over OTLP/HTTP");
        }
        Ok(Telemetry { provider })
    }
    #[cfg(not(feature = "otel"))]
    {
        registry.try_init().context("failed to install the log subscriber")?;
        if otlp_endpoint.is_some() {
            tracing::warn!("telemetry.otlp_endpoint is set, but this hookline was built without the otel feature");
        }
        Ok(Telemetry {})
    }
}

impl Telemetry {
    /// Exports the spans still buffered; call it last, after the server has stopped.
    pub async fn shutdown(self) {
        #[cfg(feature = "otel")]
        if let Some(provider) = self.provider {
            // The SDK's shutdown blocks its thread until the exporter task has flushed: keep it off the
            // runtime's workers, one of which runs that task.
            let flushed = tokio::task::spawn_blocking(move || provider.shutdown()).await;
            if let Ok(Err(error)) = flushed {
                tracing::warn!(error = %error, "exporting the last spans failed");
            }
        }
    }
}

#[cfg(feature = "otel")]
mod otel {
    use anyhow::Context;
    use opentelemetry_otlp::WithExportConfig as _;
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor;

    /// A tracer provider exporting to `endpoint` (the collector's base URL; `/v1/traces` is added).
    pub(super) fn provider(endpoint: &str) -> anyhow::Result<SdkTracerProvider> {
        let endpoint = endpoint.trim_end_matches('/');
        let url = if endpoint.ends_with("/v1/traces") { endpoint.to_owned() } else { format!("{endpoint}/v1/traces") };
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_endpoint(url)
            .build()
            .context("failed to build the OTLP exporter")?;
        // The async-runtime processor: the plain batch processor exports from a thread of its own, where the
        // async reqwest client finds no runtime and exports nothing.
        let processor = BatchSpanProcessor::builder(exporter, opentelemetry_sdk::runtime::Tokio).build();
        let resource = opentelemetry_sdk::Resource::builder().with_service_name("hookline").build();
        Ok(SdkTracerProvider::builder().with_span_processor(processor).with_resource(resource).build())
    }
}
