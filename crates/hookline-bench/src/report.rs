//! Results: one [`ScenarioResult`] per scenario run, printed as a table for people and as one JSON line each;
//! percentiles from a sorted vector; medians over repeated runs.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The figures of one scenario run. Latencies are publish→delivery (the receiver's clock minus the `sent_at_ns`
/// the publisher put in the event), in ms.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScenarioResult {
    pub scenario: String,
    /// The run number (1, 2, …), or `"median"`.
    pub run: Value,
    pub backend: String,
    /// `storage.sqlite_synchronous` (fsync every commit: `full`).
    pub fsync: String,
    /// Where the server ran: `child`, `in-process` or `remote`.
    pub server: String,
    pub events: u64,
    pub webhooks: u64,
    /// Deliveries counted (2xx answers on the measured webhooks).
    pub deliveries: u64,
    pub expected_deliveries: u64,
    pub ingest_per_s: f64,
    pub delivered_per_s: f64,
    pub latency_p50_ms: f64,
    pub latency_p99_ms: f64,
    pub latency_p999_ms: f64,
    pub ingest_http_p50_ms: f64,
    pub ingest_http_p99_ms: f64,
    /// Server CPU seconds (user + system) per 1,000 deliveries, over the measured phase.
    pub cpu_s_per_1000_deliveries: Option<f64>,
    /// Peak RSS (VmHWM) of the server process.
    pub peak_rss_mb: Option<f64>,
    /// From the first publish to the last counted delivery.
    pub duration_s: f64,
    /// Scenario-specific figures.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ScenarioResult {
    /// The JSON line.
    pub fn json_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The `p`-th percentile (0–100) of sorted µs values, in ms.
pub fn percentile_ms(sorted_us: &[u32], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    // The epsilon keeps float error (99.9 % of 1000 = 999.000…1) from rounding a rank up past its item.
    let rank = ((p / 100.0) * sorted_us.len() as f64 - 1e-9).ceil() as usize;
    let index = rank.clamp(1, sorted_us.len()) - 1;
    round3(sorted_us[index] as f64 / 1000.0)
}

/// Rounds to 3 decimals.
pub fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Rounds to 1 decimal.
pub fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// The median of each numeric field over `runs` (of one scenario); text fields from the first run; lists
/// (time series) are left out.
pub fn median(runs: &[ScenarioResult]) -> Option<ScenarioResult> {
    let maps: Vec<Map<String, Value>> = runs
        .iter()
        .filter_map(|r| match serde_json::to_value(r) {
            Ok(Value::Object(map)) => Some(map),
            _ => None,
        })
        .collect();
    let mut out = Map::new();
    for (key, value) in maps.first()? {
        if value.is_number() {
            let mut numbers: Vec<f64> = maps.iter().filter_map(|m| m.get(key)?.as_f64()).collect();
            numbers.sort_by(f64::total_cmp);
            let m = numbers[numbers.len() / 2];
            out.insert(key.clone(), if value.is_u64() { Value::from(m as u64) } else { Value::from(round3(m)) });
        } else if !value.is_array() {
            out.insert(key.clone(), value.clone());
        }
    }
    out.insert("run".into(), Value::from("median"));
    out.insert("runs".into(), Value::from(runs.len()));
    serde_json::from_value(Value::Object(out)).ok()
}

/// The table header.
pub fn table_header() -> String {
    format!(
        "{:<14} {:>6} {:>7} {:>8} {:>9} {:>10} {:>8} {:>8} {:>9} {:>9} {:>8} {:>7} {:>7}",
        "scenario",
        "run",
        "events",
        "deliv.",
        "ingest/s",
        "deliver/s",
        "p50 ms",
        "p99 ms",
        "p99.9 ms",
        "pub p99",
        "cpu/1k",
        "RSS MB",
        "time s"
    )
}

/// One table row, with the scenario's extra figures on the next line.
pub fn table_row(r: &ScenarioResult) -> String {
    let run = match &r.run {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let opt = |v: Option<f64>, digits: usize| v.map_or("-".to_owned(), |v| format!("{v:.digits$}"));
    let mut line = format!(
        "{:<14} {:>6} {:>7} {:>8} {:>9.0} {:>10.0} {:>8.2} {:>8.2} {:>9.2} {:>9.2} {:>8} {:>7} {:>7.2}",
        r.scenario,
        run,
        r.events,
        r.deliveries,
        r.ingest_per_s,
        r.delivered_per_s,
        r.latency_p50_ms,
        r.latency_p99_ms,
        r.latency_p999_ms,
        r.ingest_http_p99_ms,
        opt(r.cpu_s_per_1000_deliveries, 3),
        opt(r.peak_rss_mb, 1),
        r.duration_s
    );
    let extras: Vec<String> = r
        .extra
        .iter()
        .filter(|(k, v)| !v.is_array() && !v.is_object() && k.as_str() != "runs" && k.as_str() != "note")
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if !extras.is_empty() {
        line.push_str(&format!("\n{:<14}   {}", "", extras.join("  ")));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_sorted_vector() {
        let v: Vec<u32> = (1..=1000).map(|i| i * 1000).collect();
        assert_eq!(percentile_ms(&v, 50.0), 500.0);
        assert_eq!(percentile_ms(&v, 99.0), 990.0);
        assert_eq!(percentile_ms(&v, 99.9), 999.0);
        assert_eq!(percentile_ms(&[], 99.0), 0.0);
    }
}
