use hookline_core::delivery::{FailureKind, FailurePolicy};
use hookline_core::ids::{AttemptId, DeliveryId};

use super::*;

const NOW: i64 = 1_764_374_400_000;
const DAY: i64 = 86_400_000;

fn at(millis: i64) -> Timestamp {
    Timestamp::from_unix_millis(millis)
}

fn about(event_type: &str) -> About {
    About {
        platform_id: "plt_1".into(),
        webhook_id: "wh_1".into(),
        webhook_url: "https://example.com/hook".into(),
        event_id: "evt_1".into(),
        event_type: event_type.into(),
    }
}

fn attempt(failed: bool) -> Attempt {
    Attempt {
        id: AttemptId::generate(),
        delivery_id: DeliveryId::generate(),
        attempt_number: 3,
        started_at: at(NOW - 1000),
        duration_ms: 5,
        status: Some(if failed { 500 } else { 200 }),
        error_kind: failed.then_some(FailureKind::Status),
        error_message: failed.then(|| "HTTP 500".to_owned()),
        response_excerpt: String::new(),
        request_headers: None,
        response_headers: None,
    }
}

fn state(enabled: bool, failing_since: Option<i64>, degraded: bool) -> FailureState {
    FailureState { enabled, failing_since: failing_since.map(at), degraded, failing_notified_at: None }
}

/// `state`, whose owner was told it keeps failing at `told`.
fn told_at(state: FailureState, told: i64) -> FailureState {
    FailureState { failing_notified_at: Some(at(told)), ..state }
}

/// `state`, whose owner was told it keeps failing, in this streak.
fn told(state: FailureState) -> FailureState {
    let since = state.failing_since.map_or(NOW, Timestamp::unix_millis);
    told_at(state, since + 15 * 60_000)
}

/// One line per effect, in order: what the table below compares.
fn describe(plan: Plan) -> Vec<String> {
    plan.into_iter()
        .map(|effect| match effect {
            Effect::StartFailing(since) => format!("start failing at {}", since.unix_millis() - NOW),
            Effect::Restore => "restore".to_owned(),
            Effect::Degrade => "degrade".to_owned(),
            Effect::MarkFailingNotified(told) => format!("mark failing notified at {}", told.unix_millis() - NOW),
            Effect::Disable { reason } => format!("disable: {reason}"),
            Effect::Notice { kind, reason } => format!("notice {} {reason:?}", kind.as_str()),
            Effect::Publish { event_type, .. } => format!("publish {event_type}"),
        })
        .collect()
}

#[test]
fn the_failure_policy_as_effects() {
    let ctx = RecordContext { now: at(NOW), lease_until: at(NOW + 30_000), failure: FailurePolicy::default() };
    let retry = NextStep::RetryAt(at(NOW + 60_000));
    let long_ago = Some(NOW - 3 * DAY);
    let failing_long = "every attempt failed since 2025-11-26T00:00:00.000Z (3d)";
    let gone = "the endpoint answered 410 Gone";
    let failing_day = "every attempt has failed since 2025-11-28T00:00:00.000Z (1d)";
    let recovered_day = "it had been failing since 2025-11-28T00:00:00.000Z (1d)";
    let just_failing = Some(NOW - 15 * 60_000 + 1);
    // (failed?, next step, webhook state, event type, expected effects)
    let cases: Vec<(bool, NextStep, FailureState, &str, Vec<String>)> = vec![
        // Successes: nothing for a healthy webhook, a restore (and maybe `webhook.recovered`) otherwise.
        (false, NextStep::Delivered, state(true, None, false), "order.confirmed", vec![]),
        (false, NextStep::Delivered, state(true, Some(NOW - DAY), false), "order.confirmed", vec!["restore".into()]),
        (
            false,
            NextStep::Delivered,
            state(true, None, true),
            "order.confirmed",
            vec!["restore".into(), "publish webhook.recovered".into(), "notice webhook_recovered None".into()],
        ),
        // The owner told it kept failing is told it recovered, with how long it had failed.
        (
            false,
            NextStep::Delivered,
            told(state(true, Some(NOW - DAY), false)),
            "order.confirmed",
            vec!["restore".into(), format!("notice webhook_recovered Some({recovered_day:?})")],
        ),
        // A first failure starts the clock; later ones keep it.
        (true, retry, state(true, None, false), "order.confirmed", vec!["start failing at -1000".into()]),
        (true, retry, state(true, just_failing, false), "order.confirmed", vec![]),
        // Failing for `notify_after` tells the owner, once per streak.
        (
            true,
            retry,
            state(true, Some(NOW - DAY), false),
            "order.confirmed",
            vec!["mark failing notified at 0".into(), format!("notice webhook_failing Some({failing_day:?})")],
        ),
        (true, retry, told(state(true, Some(NOW - DAY), false)), "order.confirmed", vec![]),
        // Told in an earlier streak that ended within the window: a flapping endpoint is not reported again...
        (
            true,
            retry,
            told_at(state(true, Some(NOW - 20 * 60_000), false), NOW - 30 * 60_000),
            "order.confirmed",
            vec![],
        ),
        // ... but once the window since the last report has passed, it is.
        (
            true,
            retry,
            told_at(state(true, Some(NOW - DAY), false), NOW - DAY - 3_600_000),
            "order.confirmed",
            vec!["mark failing notified at 0".into(), format!("notice webhook_failing Some({failing_day:?})")],
        ),
        // A success after a report in an earlier streak (not this one) tells nothing.
        (
            false,
            NextStep::Delivered,
            told_at(state(true, Some(NOW - DAY), false), NOW - 2 * DAY),
            "order.confirmed",
            vec!["restore".into()],
        ),
        (true, retry, state(false, Some(NOW - DAY), true), "order.confirmed", vec![]),
        // Failing for `disable_after` disables, once: a disabled webhook is not disabled again.
        (
            true,
            retry,
            state(true, long_ago, false),
            "order.confirmed",
            vec![
                format!("disable: {failing_long}"),
                format!("notice webhook_disabled Some({failing_long:?})"),
                "publish webhook.disabled".into(),
            ],
        ),
        (true, retry, state(false, long_ago, true), "order.confirmed", vec![]),
        // Exhausted retries: degrade, notice, `delivery.failed`.
        (
            true,
            NextStep::Failed,
            state(true, None, false),
            "order.confirmed",
            vec![
                "start failing at -1000".into(),
                "degrade".into(),
                "notice deliveries_failed None".into(),
                "publish delivery.failed".into(),
            ],
        ),
        // ... but no `delivery.failed` about an operational event's delivery.
        (
            true,
            NextStep::Failed,
            told(state(true, Some(NOW - DAY), false)),
            "webhook.disabled",
            vec!["degrade".into(), "notice deliveries_failed None".into()],
        ),
        // 410 Gone disables at once.
        (
            true,
            NextStep::Gone,
            state(true, None, false),
            "order.confirmed",
            vec![
                "start failing at -1000".into(),
                format!("disable: {gone}"),
                format!("notice webhook_disabled Some({gone:?})"),
                "publish webhook.disabled".into(),
            ],
        ),
        (true, NextStep::Gone, state(false, None, true), "order.confirmed", vec!["start failing at -1000".into()]),
        // The longest plan: exhausted, and failing for long enough to disable.
        (
            true,
            NextStep::Failed,
            state(true, long_ago, false),
            "order.confirmed",
            vec![
                "degrade".into(),
                "notice deliveries_failed None".into(),
                "publish delivery.failed".into(),
                format!("disable: {failing_long}"),
                format!("notice webhook_disabled Some({failing_long:?})"),
                "publish webhook.disabled".into(),
            ],
        ),
    ];
    for (failed, next, state, event_type, expected) in cases {
        let planned = describe(plan(&attempt(failed), next, &state, &about(event_type), &ctx));
        assert_eq!(planned, expected, "failed: {failed}, {next:?}, {state:?}, {event_type}");
    }
}

#[test]
fn the_longest_plan_fits() {
    let ctx = RecordContext { now: at(NOW), lease_until: at(NOW), failure: FailurePolicy::default() };
    let planned = plan(&attempt(true), NextStep::Failed, &state(true, None, false), &about("user.created"), &ctx);
    assert_eq!(planned.into_iter().count(), 4);
    let mut long = Plan::default();
    for _ in 0..MAX_EFFECTS {
        long.push(Effect::Degrade);
    }
    assert_eq!(long.into_iter().count(), MAX_EFFECTS);
}

#[test]
fn payloads_describe_the_attempt() {
    let ctx = RecordContext { now: at(NOW), lease_until: at(NOW), failure: FailurePolicy::default() };
    let attempt = attempt(true);
    let planned = plan(&attempt, NextStep::Failed, &state(true, Some(NOW - DAY), false), &about("user.created"), &ctx);
    let data = planned
        .into_iter()
        .find_map(|effect| match effect {
            Effect::Publish { event_type: DELIVERY_FAILED, data } => Some(data),
            _ => None,
        })
        .unwrap_or_else(|| panic!("a delivery.failed is planned"));
    assert_eq!(data, delivery_failed(&about("user.created"), attempt.delivery_id.as_str(), 3, Some("HTTP 500")));
}

#[test]
fn applying_effects_keeps_the_state_current() {
    let mut current = state(true, None, false);
    current.apply(&Effect::StartFailing(at(NOW)));
    assert_eq!(current, state(true, Some(NOW), false));
    current.apply(&Effect::Degrade);
    assert_eq!(current, state(true, Some(NOW), true));
    current.apply(&Effect::Disable { reason: "gone".into() });
    assert_eq!(current, state(false, Some(NOW), true));
    current.apply(&Effect::Notice { kind: NotificationKind::WebhookDisabled, reason: None });
    current.apply(&Effect::Publish { event_type: WEBHOOK_DISABLED, data: Value::Null });
    assert_eq!(current, state(false, Some(NOW), true));
    current.apply(&Effect::MarkFailingNotified(at(NOW + 1)));
    assert_eq!(current, told_at(state(false, Some(NOW), true), NOW + 1));
    assert!(current.told_failing());
    current.apply(&Effect::Restore);
    assert_eq!(current, told_at(state(false, None, false), NOW + 1));
    assert!(current.is_healthy() && !current.told_failing());
}
