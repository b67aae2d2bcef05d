//! The scenarios. Most are one [`Plan`] run by [`steady`]: start a receiver and a fresh server, create a
//! platform and its webhooks, publish (as fast as possible or at a fixed rate), wait until every expected
//! delivery has been answered 2xx, and measure. F runs two plans (without and with a slow webhook), the backlog
//! scenario has its own flow (outage, fill, recovery, drain), and `ceiling` bypasses hookline altogether.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::bail;
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use super::load::{LoadResult, Publisher};
use super::receiver::{Outage, Receiver};
use super::report::{ScenarioResult, percentile_ms, round1, round3};
use super::server::{Api, BenchServer, CpuReading, Tweaks, cpu_seconds, memory_mb};
use super::{BenchOptions, OutageMode, now_ns};

/// The retry schedule of the retry storm: short, so the scenario measures the engine, not the waits.
const STORM_SCHEDULE: &str = "100ms,200ms,400ms,800ms,1s,2s,4s,8s";

/// What one steady run does.
#[derive(Debug, Clone)]
struct Plan {
    name: String,
    /// Webhooks (paths `/w/0` … `/w/{webhooks-1}`), each subscribed to every event.
    webhooks: usize,
    /// The first `counted` webhooks are measured; the rest (a slow one) are not waited for.
    counted: usize,
    events: usize,
    /// Events/s; `None`: as fast as the publishers get answers.
    rate: Option<f64>,
    publishers: Option<usize>,
    /// Per-path answer delays.
    delays: Vec<(usize, Duration)>,
    /// Answer 500 to every delivery's first attempt.
    fail_first: bool,
    tweaks: Tweaks,
    /// Publish to a second platform (no webhooks) at 20 events/s during the run and report its HTTP latency.
    probe: bool,
    /// How long after publishing ends to wait at most for the measured deliveries.
    deadline: Option<Duration>,
}

impl Plan {
    fn new(name: &str, webhooks: usize, events: usize) -> Self {
        Self {
            name: name.to_owned(),
            webhooks,
            counted: webhooks,
            events,
            rate: None,
            publishers: None,
            delays: Vec::new(),
            fail_first: false,
            tweaks: Tweaks::default(),
            probe: false,
            deadline: None,
        }
    }

    fn rate(name: &str, webhooks: usize, rate: f64, seconds: f64) -> Self {
        let events = ((rate * seconds).round() as usize).max(1);
        Self { rate: Some(rate), ..Self::new(name, webhooks, events) }
    }
}

/// Runs scenario `name`.
pub(super) async fn run(o: &BenchOptions, name: &str) -> anyhow::Result<ScenarioResult> {
    let (quick, scale) = (o.quick, o.scale);
    let count = |full: f64, small: usize| if quick { small } else { ((full * scale).round() as usize).max(1) };
    let secs = |full: f64, small: f64| if quick { small } else { full * scale };
    match name {
        "A" => steady(o, Plan::new("A", 1, count(20_000.0, 200))).await,
        // A's throughput target as a fixed rate (open loop): the latency at 10,000 events/s without A's
        // closed-loop race between publishers and one webhook's 8 attempts in flight.
        "A_10000" => steady(o, Plan::rate("A_10000", 1, 10_000.0, secs(10.0, 0.1))).await,
        "B_200" => steady(o, Plan::rate("B_200", 1, 200.0, secs(30.0, 0.5))).await,
        "B_2000" => steady(o, Plan::rate("B_2000", 1, 2000.0, secs(30.0, 0.25))).await,
        "C" => {
            let webhooks = if quick { 20 } else { 100 };
            steady(o, Plan { probe: true, ..Plan::new("C", webhooks, count(1000.0, 10)) }).await
        }
        "F_350" => slow_beside_fast(o, "F_350", 350.0, secs(20.0, 0.5)).await,
        "F_2000" => slow_beside_fast(o, "F_2000", 2000.0, secs(20.0, 0.25)).await,
        "retry_storm" => {
            let mut plan = Plan::new("retry_storm", 1, count(10_000.0, 100));
            plan.fail_first = true;
            plan.tweaks.retry_schedule = Some(STORM_SCHEDULE.into());
            let mut result = steady(o, plan).await?;
            result.extra.insert("retry_schedule".into(), json!(STORM_SCHEDULE));
            Ok(result)
        }
        "fanout_1000" => {
            let webhooks = if quick { 50 } else { ((1000.0 * scale).round() as usize).max(1) };
            steady(o, Plan { publishers: Some(1), ..Plan::new("fanout_1000", webhooks, 1) }).await
        }
        "backlog" => backlog(o, o.backlog.unwrap_or_else(|| count(1_000_000.0, 500))).await,
        "ceiling" => ceiling(o, count(100_000.0, 1000)).await,
        "dashboard" => super::dashboard::dashboard(o, count(1_000_000.0, 2_000), if quick { 3 } else { 50 }).await,
        other => bail!("unknown scenario {other}"),
    }
}

/// How long without a new delivery before a scenario gives up.
fn stall_limit(o: &BenchOptions) -> Duration {
    if o.quick { Duration::from_secs(15) } else { Duration::from_secs(60) }
}

/// Waits until `expected` 2xx answers arrived on the first `counted` paths. Gives up when no delivery arrived
/// for `stall`, or at `deadline`; returns why, so the scenario reports what it measured instead of failing.
async fn wait_for(
    receiver: &Receiver,
    counted: usize,
    expected: u64,
    stall: Duration,
    deadline: Option<Instant>,
) -> Option<String> {
    let mut seen = 0;
    let mut progress = Instant::now();
    loop {
        let delivered = receiver.delivered(0..counted);
        if delivered >= expected {
            return None;
        }
        if delivered != seen {
            seen = delivered;
            progress = Instant::now();
        } else if progress.elapsed() > stall {
            return Some(format!(
                "stalled: no delivery for {} s at {delivered} of {expected} ({} non-2xx answers, {} requests to unknown \
                 paths)",
                stall.as_secs(),
                receiver.failed_all(),
                receiver.state.unknown.load(Ordering::Relaxed)
            ));
        }
        if deadline.is_some_and(|d| Instant::now() > d) {
            return Some(format!("deadline: {delivered} of {expected} delivered"));
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Marks a result whose wait gave up: the undelivered count, and latencies padded with a lower bound for each
/// undelivered event (the time since publishing ended), so the percentiles are lower bounds.
fn incomplete(
    latencies: &mut Vec<u32>,
    expected: u64,
    publish_end_ns: u64,
    reason: &str,
    extra: &mut Map<String, Value>,
) {
    let missing = expected.saturating_sub(latencies.len() as u64);
    let bound = (now_ns().saturating_sub(publish_end_ns) / 1000).min(u32::MAX as u64) as u32;
    latencies.extend(std::iter::repeat_n(bound, missing as usize));
    extra.insert("incomplete".into(), json!(reason));
    extra.insert("undelivered".into(), json!(missing));
    extra.insert("latency_is_lower_bound".into(), json!(true));
}

/// The figures a scenario measured.
struct Measured {
    name: String,
    events: u64,
    webhooks: u64,
    deliveries: u64,
    expected: u64,
    load: LoadResult,
    latencies_us: Vec<u32>,
    duration_s: f64,
    cpu_s: Option<f64>,
    peak_rss_mb: Option<f64>,
}

fn result(o: &BenchOptions, measured_by: &str, mut m: Measured) -> ScenarioResult {
    m.latencies_us.sort_unstable();
    m.load.http_us.sort_unstable();
    let ingest_s = m.load.elapsed.as_secs_f64().max(1e-9);
    let mut extra = Map::new();
    if m.load.errors > 0 {
        extra.insert("publish_errors".into(), json!(m.load.errors));
        extra.insert("first_publish_error".into(), json!(m.load.first_error));
    }
    if !matches!(o.mode, super::ServerMode::Child { .. }) {
        extra.insert("cpu_rss_of".into(), json!(measured_by));
    }
    ScenarioResult {
        scenario: m.name,
        run: Value::Null,
        backend: o.backend().into(),
        fsync: o.settings.synchronous.clone(),
        server: o.mode.name().into(),
        events: m.events,
        webhooks: m.webhooks,
        deliveries: m.deliveries,
        expected_deliveries: m.expected,
        ingest_per_s: round1(m.load.accepted as f64 / ingest_s),
        delivered_per_s: round1(m.deliveries as f64 / m.duration_s.max(1e-9)),
        latency_p50_ms: percentile_ms(&m.latencies_us, 50.0),
        latency_p99_ms: percentile_ms(&m.latencies_us, 99.0),
        latency_p999_ms: percentile_ms(&m.latencies_us, 99.9),
        ingest_http_p50_ms: percentile_ms(&m.load.http_us, 50.0),
        ingest_http_p99_ms: percentile_ms(&m.load.http_us, 99.0),
        cpu_s_per_1000_deliveries: m.cpu_s.map(|cpu| round3(cpu * 1000.0 / m.deliveries.max(1) as f64)),
        peak_rss_mb: m.peak_rss_mb.map(round1),
        duration_s: round3(m.duration_s),
        extra,
    }
}

/// Starts the receiver and a fresh server, runs `plan`, stops the server.
async fn steady(o: &BenchOptions, plan: Plan) -> anyhow::Result<ScenarioResult> {
    let receiver = Receiver::start(plan.webhooks).await?;
    for (index, delay) in &plan.delays {
        receiver.set_delay(*index, *delay);
    }
    receiver.state.fail_first_attempt.store(plan.fail_first, Ordering::SeqCst);
    let server = BenchServer::start(&o.mode, &o.settings, &plan.tweaks).await?;
    let outcome = steady_on(o, &plan, &receiver, &server).await;
    server.stop().await;
    outcome.map_err(|e| e.context(format!("scenario {}", plan.name)))
}

async fn steady_on(
    o: &BenchOptions,
    plan: &Plan,
    receiver: &Receiver,
    server: &BenchServer,
) -> anyhow::Result<ScenarioResult> {
    let api = Api::new(&server.base);
    let key = api.platform(server.admin_token(), &format!("bench {}", plan.name)).await?;
    api.webhooks(&key, (0..plan.webhooks).map(|i| receiver.url(i)).collect()).await?;
    let probe = match plan.probe {
        true => Some(Publisher::new(&server.base, &api.platform(server.admin_token(), "bench probe").await?)?),
        false => None,
    };
    let publisher = Publisher::new(&server.base, &key)?;
    let pid = server.pid();
    let cpu_before = pid.and_then(cpu_seconds);
    let reading_before = CpuReading::now(pid);
    let started_ns = now_ns();
    let done = CancellationToken::new();
    let probe_task = probe.map(|probe| tokio::spawn(probe_loop(probe, done.clone())));
    let load = publisher.run(plan.events, plan.publishers.unwrap_or(o.publishers), plan.rate).await;
    if load.accepted == 0 {
        bail!("no event was accepted: {}", load.first_error.unwrap_or_default());
    }
    let expected = load.accepted as u64 * plan.counted as u64;
    let publish_end_ns = now_ns();
    let deadline = plan.deadline.map(|d| Instant::now() + d);
    let gave_up = wait_for(receiver, plan.counted, expected, stall_limit(o), deadline).await;
    done.cancel();
    let probe_us = match probe_task {
        Some(task) => Some(task.await.unwrap_or_default()),
        None => None,
    };
    let cpu_after = pid.and_then(cpu_seconds);
    let others = reading_before.others_percent(&CpuReading::now(pid));
    let memory = pid.and_then(memory_mb);
    let deliveries = receiver.delivered(0..plan.counted);
    let end_ns = if gave_up.is_some() { now_ns() } else { receiver.last_ok_ns(0..plan.counted) };
    let failed = receiver.failed_all();
    let unmeasured = receiver.delivered(plan.counted..plan.webhooks);
    let mut latencies_us = receiver.take_latencies(0..plan.counted);
    let mut notes = Map::new();
    if let Some(reason) = &gave_up {
        incomplete(&mut latencies_us, expected, publish_end_ns, reason, &mut notes);
    }
    let mut result = result(
        o,
        server.measured(),
        Measured {
            name: plan.name.clone(),
            events: load.accepted as u64,
            webhooks: plan.webhooks as u64,
            deliveries,
            expected,
            latencies_us,
            load,
            duration_s: end_ns.saturating_sub(started_ns) as f64 / 1e9,
            cpu_s: cpu_before.zip(cpu_after).map(|(a, b)| b - a),
            peak_rss_mb: memory.map(|(peak, _)| peak),
        },
    );
    result.extra.append(&mut notes);
    result.extra.insert("others_cpu_pct".into(), json!(others.map(round1)));
    if let Some(rate) = plan.rate {
        result.extra.insert("target_rate".into(), json!(rate));
    }
    if failed > 0 {
        result.extra.insert("non_2xx_answers".into(), json!(failed));
    }
    if plan.counted < plan.webhooks {
        result.extra.insert("unmeasured_webhooks_delivered".into(), json!(unmeasured));
    }
    if let Some(mut probe_us) = probe_us {
        probe_us.sort_unstable();
        result.extra.insert("probe_publishes".into(), json!(probe_us.len()));
        result.extra.insert("probe_http_p50_ms".into(), json!(percentile_ms(&probe_us, 50.0)));
        result.extra.insert("probe_http_p99_ms".into(), json!(percentile_ms(&probe_us, 99.0)));
    }
    Ok(result)
}

/// Publishes an event every 50 ms until `done`; returns each publish's time to answer (µs).
async fn probe_loop(probe: Publisher, done: CancellationToken) -> Vec<u32> {
    let mut times = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    for seq in 0.. {
        tokio::select! {
            _ = done.cancelled() => break,
            _ = tick.tick() => {}
        }
        if let Ok(took) = probe.publish_one(seq).await {
            times.push(took.as_micros().min(u32::MAX as u128) as u32);
        }
    }
    times
}

/// F: the fast webhook's latency alone, then beside a webhook that answers in 2 s (both get every event).
async fn slow_beside_fast(o: &BenchOptions, name: &str, rate: f64, seconds: f64) -> anyhow::Result<ScenarioResult> {
    let delay = if o.quick { Duration::from_millis(300) } else { Duration::from_secs(2) };
    let baseline = steady(o, Plan::rate(&format!("{name}_baseline"), 1, rate, seconds)).await?;
    let mut plan = Plan::rate(name, 2, rate, seconds);
    plan.counted = 1;
    plan.delays = vec![(1, delay)];
    // The fast webhook should be done within moments of the last publish; 30 s more is plenty.
    plan.deadline = Some(if o.quick { Duration::from_secs(10) } else { Duration::from_secs(30) });
    let mut result = steady(o, plan).await?;
    let extra = &mut result.extra;
    extra.insert("slow_webhook_answer_ms".into(), json!(delay.as_millis() as u64));
    extra.insert("baseline_p50_ms".into(), json!(baseline.latency_p50_ms));
    extra.insert("baseline_p99_ms".into(), json!(baseline.latency_p99_ms));
    extra.insert("baseline_p999_ms".into(), json!(baseline.latency_p999_ms));
    let ratio = result.latency_p99_ms / baseline.latency_p99_ms.max(1e-3);
    extra.insert("p99_vs_baseline".into(), json!(round3(ratio)));
    Ok(result)
}

/// Samples the RSS of `pid` every `every` until `stop`; returns `[seconds since start, MB]` pairs.
fn sample_rss(
    pid: Option<u32>,
    every: Duration,
    start: Instant,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<Vec<(f64, f64)>> {
    tokio::spawn(async move {
        let mut samples = Vec::new();
        let Some(pid) = pid else { return samples };
        let mut tick = tokio::time::interval(every);
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tick.tick() => {}
            }
            if let Some((_, rss)) = memory_mb(pid) {
                samples.push((round1(start.elapsed().as_secs_f64()), round1(rss)));
            }
        }
        samples
    })
}

/// backlog: the receiver goes down, `deliveries` deliveries (over 10 webhooks) pile up, the receiver comes back,
/// and the backlog drains. Reports the drain rate and the server's RSS over time.
async fn backlog(o: &BenchOptions, deliveries: usize) -> anyhow::Result<ScenarioResult> {
    let webhooks = 10;
    let events = deliveries.div_ceil(webhooks).max(1);
    let receiver = Receiver::start(webhooks).await?;
    let mut tweaks = Tweaks::default();
    match o.outage {
        // Every refused attempt is retried at the receiver's Retry-After (the planned end of the outage); the
        // schedule's own steps are shorter so they never decide.
        OutageMode::Refuse => tweaks.retry_schedule = Some("500ms,500ms,500ms,500ms,500ms,500ms,500ms,500ms".into()),
        // Held requests must not time out during the fill.
        OutageMode::Hang => tweaks.timeout_and_lease = Some(("3600s".into(), "7200s".into())),
    }
    let server = BenchServer::start(&o.mode, &o.settings, &tweaks).await?;
    let outcome = backlog_on(o, &receiver, &server, webhooks, events).await;
    server.stop().await;
    outcome.map_err(|e| e.context("scenario backlog"))
}

async fn backlog_on(
    o: &BenchOptions,
    receiver: &Receiver,
    server: &BenchServer,
    webhooks: usize,
    events: usize,
) -> anyhow::Result<ScenarioResult> {
    let api = Api::new(&server.base);
    let key = api.platform(server.admin_token(), "bench backlog").await?;
    api.webhooks(&key, (0..webhooks).map(|i| receiver.url(i)).collect()).await?;
    let publisher = Publisher::new(&server.base, &key)?;
    let pid = server.pid();
    let fill_rate = if o.quick { 400.0 } else { o.backlog_fill_rate };
    let planned_fill = Duration::from_secs_f64(events as f64 / fill_rate);
    let back_at_ms = now_ns() / 1_000_000 + planned_fill.as_millis() as u64 + 1000;
    match o.outage {
        OutageMode::Refuse => {
            receiver.set_back_at(back_at_ms);
            receiver.set_outage(Outage::Refuse);
        }
        OutageMode::Hang => receiver.set_outage(Outage::Hang),
    }
    let start = Instant::now();
    let stop_sampling = CancellationToken::new();
    let every = if o.quick { Duration::from_millis(100) } else { Duration::from_secs(1) };
    let sampler = sample_rss(pid, every, start, stop_sampling.clone());
    let cpu_before = pid.and_then(cpu_seconds);
    let reading_before = CpuReading::now(pid);
    let started_ns = now_ns();
    let rate = (o.outage == OutageMode::Refuse).then_some(fill_rate);
    // The receiver comes back: now (hang, after the fill) or at the planned end of the outage (refuse), even if
    // publishing has not finished by then, so no delivery is refused past its last attempt.
    let recover = || {
        let at = Recovery {
            delivered_before: receiver.delivered_all(),
            refused: receiver.failed_all(),
            cpu: pid.and_then(cpu_seconds),
            rss: pid.and_then(memory_mb).map(|(_, rss)| rss),
            at_s: start.elapsed().as_secs_f64(),
            at_ns: now_ns(),
        };
        receiver.set_outage(Outage::Up);
        at
    };
    let publishing = publisher.run(events, o.publishers, rate);
    let (load, fill_s, recovery, fill_overran) = match o.outage {
        OutageMode::Hang => {
            let load = publishing.await;
            let fill_s = start.elapsed().as_secs_f64();
            (load, fill_s, recover(), false)
        }
        OutageMode::Refuse => {
            let wait = Duration::from_millis(back_at_ms.saturating_sub(now_ns() / 1_000_000));
            let back_at = tokio::time::Instant::now() + wait;
            tokio::pin!(publishing);
            tokio::select! {
                load = &mut publishing => {
                    let fill_s = start.elapsed().as_secs_f64();
                    tokio::time::sleep_until(back_at).await;
                    (load, fill_s, recover(), false)
                }
                _ = tokio::time::sleep_until(back_at) => {
                    let recovery = recover();
                    let load = publishing.await;
                    (load, start.elapsed().as_secs_f64(), recovery, true)
                }
            }
        }
    };
    if load.accepted == 0 {
        bail!("no event was accepted: {}", load.first_error.unwrap_or_default());
    }
    let expected = (load.accepted * webhooks) as u64;
    let Recovery { delivered_before, refused, cpu: cpu_at_up, rss: rss_at_up, at_s: up_at, at_ns: up_ns } = recovery;
    let gave_up = wait_for(receiver, webhooks, expected, stall_limit(o), None).await;
    let end_ns = if gave_up.is_some() { now_ns() } else { receiver.last_ok_ns(0..webhooks) };
    let mut latencies_us = receiver.take_latencies(0..webhooks);
    let mut notes = Map::new();
    if let Some(reason) = &gave_up {
        incomplete(&mut latencies_us, expected, up_ns, reason, &mut notes);
    }
    let cpu_after = pid.and_then(cpu_seconds);
    let others = reading_before.others_percent(&CpuReading::now(pid));
    let memory = pid.and_then(memory_mb);
    stop_sampling.cancel();
    let samples = sampler.await.unwrap_or_default();
    let deliveries = receiver.delivered_all();
    let backlog_at_up = expected.saturating_sub(delivered_before);
    let drain_s = end_ns.saturating_sub(up_ns) as f64 / 1e9;
    let drain_per_s = deliveries.saturating_sub(delivered_before) as f64 / drain_s.max(1e-9);
    let mut result = result(
        o,
        server.measured(),
        Measured {
            name: "backlog".into(),
            events: load.accepted as u64,
            webhooks: webhooks as u64,
            deliveries,
            expected,
            latencies_us,
            load,
            duration_s: end_ns.saturating_sub(started_ns) as f64 / 1e9,
            cpu_s: cpu_before.zip(cpu_after).map(|(a, b)| b - a),
            peak_rss_mb: memory.map(|(peak, _)| peak),
        },
    );
    // For this scenario "delivered/s" is the drain rate after the receiver came back.
    result.delivered_per_s = round1(drain_per_s);
    result.extra.append(&mut notes);
    result.extra.insert("others_cpu_pct".into(), json!(others.map(round1)));
    let during_drain: Vec<f64> = samples.iter().filter(|(t, _)| *t >= up_at).map(|(_, mb)| *mb).collect();
    let extra = &mut result.extra;
    extra.insert("outage".into(), json!(format!("{:?}", o.outage).to_lowercase()));
    extra.insert("fill_s".into(), json!(round3(fill_s)));
    if o.outage == OutageMode::Refuse {
        extra.insert("fill_target_rate".into(), json!(fill_rate));
        extra.insert("fill_overran".into(), json!(fill_overran));
        extra.insert("refused_attempts".into(), json!(refused));
    }
    extra.insert("backlog_at_recovery".into(), json!(backlog_at_up));
    extra.insert("drain_s".into(), json!(round3(drain_s)));
    extra.insert("drain_per_s".into(), json!(round1(drain_per_s)));
    if let (Some(before), Some(after)) = (cpu_at_up, cpu_after) {
        let drain_cpu = (after - before) * 1000.0 / backlog_at_up.max(1) as f64;
        extra.insert("drain_cpu_s_per_1000".into(), json!(round3(drain_cpu)));
    }
    extra.insert("rss_at_recovery_mb".into(), json!(rss_at_up.map(round1)));
    let max_drain = during_drain.iter().copied().fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))));
    extra.insert("rss_max_during_drain_mb".into(), json!(max_drain));
    extra.insert("rss_end_mb".into(), json!(memory.map(|(_, rss)| round1(rss))));
    extra.insert("rss_mb_over_time".into(), json!(samples.iter().map(|(t, mb)| [*t, *mb]).collect::<Vec<_>>()));
    Ok(result)
}

/// The moment the receiver came back.
struct Recovery {
    delivered_before: u64,
    refused: u64,
    cpu: Option<f64>,
    rss: Option<f64>,
    at_s: f64,
    at_ns: u64,
}

/// ceiling: the load generator straight to the receiver, no hookline in between: what this machine's loopback
/// HTTP does, the ceiling a two-hop service is measured against.
async fn ceiling(o: &BenchOptions, requests: usize) -> anyhow::Result<ScenarioResult> {
    let receiver = Receiver::start(1).await?;
    let publisher = Publisher::to_url(&receiver.url(0), "none", 200)?;
    let pid = std::process::id();
    let cpu_before = cpu_seconds(pid);
    let reading_before = CpuReading::now(None);
    let started_ns = now_ns();
    let load = publisher.run(requests, o.publishers, None).await;
    let cpu_after = cpu_seconds(pid);
    let others = reading_before.others_percent(&CpuReading::now(None));
    let end_ns = receiver.last_ok_ns(0..1);
    let deliveries = receiver.delivered_all();
    let mut result = result(
        o,
        "bench process",
        Measured {
            name: "ceiling".into(),
            events: load.accepted as u64,
            webhooks: 1,
            deliveries,
            expected: requests as u64,
            latencies_us: receiver.take_latencies(0..1),
            load,
            duration_s: end_ns.saturating_sub(started_ns) as f64 / 1e9,
            cpu_s: cpu_before.zip(cpu_after).map(|(a, b)| b - a),
            peak_rss_mb: None,
        },
    );
    result.server = "none".into();
    result.extra.insert("others_cpu_pct".into(), json!(others.map(round1)));
    result
        .extra
        .insert("note".into(), json!("bare HTTP loop: publishers straight to the receiver; cpu is the bench process"));
    Ok(result)
}
