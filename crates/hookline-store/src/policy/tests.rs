use hookline_core::secret::Secret;
use hookline_core::webhook::{EventFilter, SigningSecrets, WebhookUrl};

use super::*;

const NOW: i64 = 1_764_374_400_000;

fn at(millis: i64) -> Timestamp {
    Timestamp::from_unix_millis(millis)
}

fn about() -> About {
    About {
        platform_id: "plt_1".into(),
        webhook_id: "wh_1".into(),
        webhook_url: "https://example.com/hook".into(),
        event_id: "evt_1".into(),
        event_type: "order.confirmed".into(),
    }
}

#[test]
fn delivery_status_follows_the_next_step_and_the_webhook_state() {
    let retry = at(NOW + 5000);
    let cases = [
        (NextStep::Delivered, true, DeliveryStatus::Delivered, None),
        (NextStep::Delivered, false, DeliveryStatus::Delivered, None),
        (NextStep::RetryAt(retry), true, DeliveryStatus::Pending, Some(retry)),
        (NextStep::RetryAt(retry), false, DeliveryStatus::Held, None),
        (NextStep::Gone, true, DeliveryStatus::Held, None),
        (NextStep::Gone, false, DeliveryStatus::Held, None),
        (NextStep::Failed, true, DeliveryStatus::Failed, None),
        (NextStep::Failed, false, DeliveryStatus::Failed, None),
    ];
    for (next, enabled, status, due) in cases {
        assert_eq!(delivery_status(next, enabled), (status, due), "{next:?}, enabled: {enabled}");
    }
}

#[test]
fn disable_reason_is_gone_or_failing_for_the_window() {
    let policy = FailurePolicy { disable_after: Duration::from_secs(3 * 86_400), ..FailurePolicy::default() };
    let day = 86_400_000;
    let gone = Some("the endpoint answered 410 Gone".to_owned());
    let cases = [
        (NextStep::Gone, NOW, gone.clone()),
        (NextStep::Gone, NOW - 10 * day, gone),
        (NextStep::Failed, NOW, None),
        (NextStep::RetryAt(at(NOW)), NOW - 3 * day + 1, None),
        (
            NextStep::RetryAt(at(NOW)),
            NOW - 3 * day,
            Some("every attempt failed since 2025-11-26T00:00:00.000Z (3d)".to_owned()),
        ),
        // Whole seconds only.
        (
            NextStep::Failed,
            NOW - 3 * day - 1500,
            Some("every attempt failed since 2025-11-25T23:59:58.500Z (259201s)".to_owned()),
        ),
        // A clock that went back never disables.
        (NextStep::Failed, NOW + day, None),
    ];
    for (next, since, reason) in cases {
        assert_eq!(disable_reason(next, at(since), at(NOW), &policy), reason, "{next:?} since {since}");
    }
}

#[test]
fn operational_payloads() {
    let about = about();
    assert_eq!(
        delivery_failed(&about, "dlv_1", 8, Some("HTTP 500")),
        json!({
            "delivery_id": "dlv_1", "webhook_id": "wh_1", "webhook_url": "https://example.com/hook",
            "event_id": "evt_1", "event_type": "order.confirmed", "attempts": 8, "last_error": "HTTP 500",
        })
    );
    assert_eq!(delivery_failed(&about, "dlv_1", 1, None)["last_error"], Value::Null);
    assert_eq!(
        webhook_disabled(&about, "the endpoint answered 410 Gone", at(NOW)),
        json!({
            "webhook_id": "wh_1", "webhook_url": "https://example.com/hook",
            "reason": "the endpoint answered 410 Gone", "disabled_at": "2025-11-29T00:00:00.000Z",
        })
    );
    assert_eq!(
        webhook_recovered(&about, at(NOW)),
        json!({
            "webhook_id": "wh_1", "webhook_url": "https://example.com/hook",
            "recovered_at": "2025-11-29T00:00:00.000Z",
        })
    );
}

#[test]
fn add_word_keeps_a_set_of_at_most_max_words() {
    let cases = [
        ("", "a", 3, "a"),
        ("a", "b", 3, "a b"),
        ("a b", "a", 3, "a b"),
        ("a b c", "d", 3, "a b c"),
        ("a b c", "c", 3, "a b c"),
        ("a b", "c", usize::MAX, "a b c"),
    ];
    for (list, word, max, expected) in cases {
        assert_eq!(add_word(list, word, max), expected, "{list:?} + {word:?} (max {max})");
    }
}

#[test]
fn absorbing_a_failure_lists_its_type_and_event() {
    let about = about();
    assert_eq!(absorb_failure("", "", &about), ("order.confirmed".to_owned(), "evt_1".to_owned()));
    assert_eq!(
        absorb_failure("order.confirmed user.created", "evt_0", &about),
        ("order.confirmed user.created".to_owned(), "evt_0 evt_1".to_owned())
    );
    let full = (0..MAX_LISTED_EVENTS).map(|i| format!("evt_x{i}")).collect::<Vec<_>>().join(" ");
    assert_eq!(absorb_failure("", &full, &about).1, full);
}

#[test]
fn a_failure_for_good_is_counted_in_the_unclaimed_notice_or_the_next_window() {
    let window = Duration::from_secs(3600);
    let now = Timestamp::from_unix_millis(NOW);
    let notice = |claimed_at: Option<i64>| LatestNotice {
        id: "ntf_1".into(),
        claimed_at: claimed_at.map(Timestamp::from_unix_millis),
    };
    let cases = [
        // The first failure: a notice due at once.
        (None, NoticeSlot::New { due_at: now }),
        // One is waiting, unclaimed (however old): the failure joins it.
        (Some(notice(None)), NoticeSlot::Absorb),
        // One was claimed a minute ago: the next is due when its window ends.
        (Some(notice(Some(NOW - 60_000))), NoticeSlot::New { due_at: Timestamp::from_unix_millis(NOW + 3_540_000) }),
        // One was claimed over a window ago: the next is due at once.
        (Some(notice(Some(NOW - 3_700_000))), NoticeSlot::New { due_at: now }),
    ];
    for (latest, expected) in cases {
        assert_eq!(deliveries_failed_slot(latest.as_ref(), now, window), expected, "{latest:?}");
    }
}

#[test]
fn what_each_notice_counts() {
    use crate::statements::{COUNT_RETRYING, COUNT_UNDELIVERED};
    assert_eq!(notice_count(NotificationKind::DeliveriesFailed), NoticeCount::Fixed(1));
    assert_eq!(notice_count(NotificationKind::WebhookRecovered), NoticeCount::Fixed(0));
    assert_eq!(notice_count(NotificationKind::WebhookDisabled), NoticeCount::Query(COUNT_UNDELIVERED));
    assert_eq!(notice_count(NotificationKind::WebhookFailing), NoticeCount::Query(COUNT_RETRYING));
}

#[test]
fn notification_updates() {
    let subject = || "hookline: deliveries failed".to_owned();
    let cases = [
        (
            NotificationResult::Sent { subject: subject() },
            NotificationUpdate {
                status: "sent",
                subject: Some(subject()),
                send_error: None,
                next_attempt_at: None,
                sent_at: Some(NOW),
            },
        ),
        (
            NotificationResult::Logged { subject: subject() },
            NotificationUpdate {
                status: "logged",
                subject: Some(subject()),
                send_error: None,
                next_attempt_at: None,
                sent_at: Some(NOW),
            },
        ),
        (
            NotificationResult::Failed { error: "refused".into(), retry_at: Some(at(NOW + 60_000)) },
            NotificationUpdate {
                status: "pending",
                subject: None,
                send_error: Some("refused".into()),
                next_attempt_at: Some(NOW + 60_000),
                sent_at: None,
            },
        ),
        (
            NotificationResult::Failed { error: "refused".into(), retry_at: None },
            NotificationUpdate {
                status: "failed",
                subject: None,
                send_error: Some("refused".into()),
                next_attempt_at: None,
                sent_at: None,
            },
        ),
    ];
    for (result, update) in cases {
        assert_eq!(notification_update(result.clone(), at(NOW)), update, "{result:?}");
    }
}

fn webhook(events: &[&str], enabled: bool) -> Webhook {
    let names: Vec<String> = events.iter().map(|e| (*e).to_owned()).collect();
    let (Some(url), Ok(events)) = (WebhookUrl::from_stored("https://example.com/hook"), EventFilter::parse(&names))
    else {
        panic!("test webhook parts parse");
    };
    Webhook {
        id: WebhookId::generate(),
        platform_id: PlatformId::generate(),
        url,
        events,
        description: "before".into(),
        secrets: SigningSecrets { current: Secret::generate(), previous: None },
        enabled,
        disabled_reason: (!enabled).then(|| "the endpoint answered 410 Gone".to_owned()),
        concurrency: Some(4),
        rate_limit: Some(5),
        failing_since: Some(at(NOW - 1000)),
        created_at: at(0),
        updated_at: at(0),
        listener: false,
    }
}

#[test]
fn patches_change_fields_and_report_enabling_or_disabling() {
    let now = at(NOW);
    // (enabled before, patch.enabled, toggled, enabled after, disabled_reason after, failing_since after)
    let gone = Some("the endpoint answered 410 Gone".to_owned());
    let by_platform = Some("disabled by the platform".to_owned());
    let failing = Some(at(NOW - 1000));
    let cases = [
        (true, None, None, true, None, failing),
        (true, Some(true), None, true, None, failing),
        (true, Some(false), Some(false), false, by_platform, failing),
        (false, None, None, false, gone.clone(), failing),
        (false, Some(false), None, false, gone, failing),
        (false, Some(true), Some(true), true, None, None),
    ];
    for (before, enabled, toggled, after, reason, failing_since) in cases {
        let mut hook = webhook(&["order.confirmed"], before);
        let patch = WebhookPatch { enabled, ..WebhookPatch::default() };
        assert_eq!(apply_patch(&mut hook, patch, now), toggled, "{before} -> {enabled:?}");
        assert_eq!((hook.enabled, hook.disabled_reason, hook.failing_since), (after, reason, failing_since));
        assert_eq!((hook.updated_at, hook.description.as_str(), hook.concurrency), (now, "before", Some(4)));
    }

    let mut hook = webhook(&["order.confirmed"], true);
    let expected = webhook(&["user.created"], true);
    let patch = WebhookPatch {
        url: WebhookUrl::from_stored("https://example.com/other"),
        events: Some(expected.events.clone()),
        description: Some("after".into()),
        enabled: None,
        concurrency: Some(None),
        rate_limit: Some(None),
    };
    assert_eq!(apply_patch(&mut hook, patch, now), None);
    assert_eq!(hook.url.as_str(), "https://example.com/other");
    assert_eq!((hook.events, hook.description.as_str(), hook.concurrency), (expected.events, "after", None));
    assert_eq!(hook.rate_limit, None);
}

#[test]
fn events_go_to_matching_webhooks_held_when_disabled() {
    let order = webhook(&["order.confirmed"], true);
    let all = webhook(&["*"], true);
    let off = webhook(&["order.confirmed"], false);
    let users = webhook(&["user.created"], true);
    let ops = webhook(&["delivery.failed"], true);
    let hooks = || [&order, &all, &off, &users, &ops].map(|w| Ok(w.clone()));
    let ids = |targets: Vec<(Webhook, bool)>| -> Vec<(WebhookId, bool)> {
        targets.into_iter().map(|(w, send)| (w.id, send)).collect()
    };
    let found = |event_type: &str, target: &Target| {
        matching(hooks(), event_type, target).map(ids).unwrap_or_else(|e| panic!("{e}"))
    };
    assert_eq!(
        found("order.confirmed", &Target::Matching),
        [(order.id.clone(), true), (all.id.clone(), true), (off.id.clone(), false)]
    );
    assert_eq!(
        found("order.confirmed", &Target::AllExcept(all.id.clone())),
        [(order.id.clone(), true), (off.id.clone(), false)]
    );
    // `*` does not include operational events.
    assert_eq!(found("delivery.failed", &Target::Matching), [(ops.id.clone(), true)]);
    let broken = [Ok(order.clone()), Err(StoreError::NotFound)];
    assert!(matching(broken, "order.confirmed", &Target::Matching).is_err());
}

#[test]
fn page_limits_are_clamped() {
    for (asked, limit) in [(0, 1), (1, 1), (50, 50), (1000, 1000), (5000, 1000)] {
        assert_eq!(page_limit(&Page { limit: asked, after: None }), limit);
    }
}

#[test]
fn retry_checks() {
    let now = at(NOW);
    assert!(check_retry("failed", None, true, now).is_ok());
    assert!(check_retry("pending", Some(NOW), true, now).is_ok());
    assert!(check_retry("pending", None, true, now).is_ok());
    assert!(matches!(check_retry("pending", Some(NOW + 1), true, now), Err(StoreError::Conflict(_))));
    assert!(matches!(check_retry("failed", None, false, now), Err(StoreError::Conflict(_))));
    assert!(require_enabled(true).is_ok());
}
