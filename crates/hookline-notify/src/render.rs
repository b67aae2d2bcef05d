//! The failure email, as pure functions of a notice: the same input always renders the same email.

use std::time::Duration;

use hookline_core::notification::{Notification, NotificationKind};
use hookline_core::redact::redact_url_text;

/// A rendered email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    /// `<product> webhook delivery issues for <platform url>` (the contract subject).
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part.
    pub html: String,
}

/// What the email says about hookline's own settings, so that its promises are the real ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderSettings {
    /// The product name in the subject.
    pub product: String,
    /// hookline's base URL, for the link to the webhook's page.
    pub public_url: String,
    /// `failure.notify_window`: at most one "deliveries failed" email per webhook per this window.
    pub notify_window: Duration,
    /// `failure.notify_after`: how long a webhook fails before its owner is told.
    pub notify_after: Duration,
}

/// Renders `notification` with `settings`.
pub fn render(notification: &Notification, settings: &RenderSettings) -> Email {
    let n = notification;
    let subject = format!("{} webhook delivery issues for {}", settings.product, n.platform_url);
    let link = format!("{}/ui/webhooks/{}", settings.public_url.trim_end_matches('/'), n.webhook_id);
    let window = spoken_duration(settings.notify_window);
    let reason = n.reason.as_deref();
    let headline = match n.kind {
        NotificationKind::DeliveriesFailed => format!(
            "{} deliver{} to your webhook failed after every retry.",
            n.failed_count,
            if n.failed_count == 1 { "y" } else { "ies" }
        ),
        NotificationKind::WebhookDisabled => format!(
            "Your webhook was disabled: {}. New events are held and will be sent when you enable it again.",
            reason.unwrap_or("it kept failing")
        ),
        NotificationKind::WebhookFailing => format!(
            "Your webhook keeps failing: {}. hookline keeps retrying on its schedule; {} deliver{} wait{} for a \
             retry.",
            reason.unwrap_or("every attempt has failed"),
            n.failed_count,
            if n.failed_count == 1 { "y" } else { "ies" },
            if n.failed_count == 1 { "s" } else { "" },
        ),
        NotificationKind::WebhookRecovered => format!(
            "Your webhook is delivering again{}. No action is needed.",
            reason.map(|reason| format!(" ({reason})")).unwrap_or_default()
        ),
    };
    // An email travels further than the API: a token in the webhook's query must not travel with it.
    let webhook_url = redact_url_text(&n.webhook_url);
    let types = n.event_types.join(", ");
    let ids = n.event_ids.join(", ");
    let last_error = n.last_error.as_deref().unwrap_or("(none recorded)");
    // The facts each kind states: the webhook always; the failures' details unless it recovered.
    let mut rows: Vec<(&str, String)> = vec![("Webhook", webhook_url)];
    match n.kind {
        NotificationKind::DeliveriesFailed => rows.push(("Failed deliveries", n.failed_count.to_string())),
        NotificationKind::WebhookDisabled => rows.push(("Deliveries not sent", n.failed_count.to_string())),
        NotificationKind::WebhookFailing => rows.push(("Deliveries waiting for a retry", n.failed_count.to_string())),
        NotificationKind::WebhookRecovered => {}
    }
    if n.kind == NotificationKind::WebhookRecovered {
        rows.push(("Delivered event", ids.clone()));
    } else {
        rows.push(("Event types", types));
        rows.push(("First event ids", ids));
        rows.push(("Last error", last_error.to_owned()));
    }
    let footer = format!(
        "You get at most one email about failed deliveries per webhook every {window}: failures after one is sent \
         are counted in the next, sent when that window ends. You are also told once when a webhook has kept \
         failing for {after}, when it delivers again, and when it is disabled.",
        after = spoken_duration(settings.notify_after),
    );
    let text_rows: String = rows.iter().map(|(name, value)| format!("{name}: {value}\n")).collect();
    let text = format!(
        "Hello,\n\n{headline}\n\n{text_rows}\nSee every attempt and retry from the webhook's page:\n{link}\n\n{footer}\n"
    );
    let html_rows: String = rows
        .iter()
        .map(|(name, value)| format!("<tr><th align=\"left\">{name}</th><td>{}</td></tr>", escape(value)))
        .collect();
    let html = format!(
        "<!doctype html><html><body style=\"font-family: sans-serif\">\
         <p>Hello,</p><p>{headline}</p><table cellpadding=\"4\">{html_rows}</table>\
         <p><a href=\"{link}\">Open the webhook's page</a> to see every attempt and retry.</p>\
         <p style=\"color: #666\">{footer}</p></body></html>",
        headline = escape(&headline),
        link = escape(&link),
        footer = escape(&footer),
    );
    Email { subject, text, html }
}

/// A duration as a person says it: `1 hour`, `15 minutes`, `90 seconds`, `3 days`.
pub fn spoken_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    for (unit, size) in [("day", 86_400_000), ("hour", 3_600_000), ("minute", 60_000), ("second", 1000)] {
        if millis >= size && millis.is_multiple_of(size) {
            let count = millis / size;
            return format!("{count} {unit}{}", if count == 1 { "" } else { "s" });
        }
    }
    format!("{millis} ms")
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use hookline_core::Timestamp;
    use hookline_core::ids::{NotificationId, PlatformId, WebhookId};
    use hookline_core::notification::NotificationStatus;

    use super::*;

    fn notice(kind: NotificationKind) -> Notification {
        Notification {
            id: NotificationId::generate(),
            platform_id: PlatformId::generate(),
            webhook_id: WebhookId::parse("wh_01ABC").unwrap(),
            kind,
            recipient: "ops@tradly.app".into(),
            platform_url: "https://tradly.app".into(),
            webhook_url: "https://hooks.example.com/a&b".into(),
            failed_count: 2,
            event_types: vec!["order.confirmed".into(), "user.created".into()],
            event_ids: vec!["evt_1".into(), "evt_2".into()],
            last_error: Some("HTTP 500".into()),
            reason: Some("the endpoint answered 410 Gone".into()),
            status: NotificationStatus::Pending,
            attempts: 0,
            send_error: None,
            subject: None,
            created_at: Timestamp::from_unix_millis(0),
            sent_at: None,
        }
    }

    fn settings(product: &str, public_url: &str) -> RenderSettings {
        RenderSettings {
            product: product.into(),
            public_url: public_url.into(),
            notify_window: Duration::from_secs(3600),
            notify_after: Duration::from_secs(900),
        }
    }

    #[test]
    fn the_email_names_everything_the_owner_needs() {
        let email =
            render(&notice(NotificationKind::DeliveriesFailed), &settings("Tradly", "https://hooks.tradly.app/"));
        assert_eq!(email.subject, "Tradly webhook delivery issues for https://tradly.app");
        for needle in [
            "2 deliveries",
            "https://hooks.example.com/a&b",
            "order.confirmed, user.created",
            "evt_1, evt_2",
            "HTTP 500",
            "https://hooks.tradly.app/ui/webhooks/wh_01ABC",
        ] {
            assert!(email.text.contains(needle), "text lacks {needle}: {}", email.text);
        }
        assert!(email.html.contains("https://hooks.example.com/a&amp;b"), "HTML is escaped");
        assert!(!email.html.contains("/a&b"));
        let disabled = render(&notice(NotificationKind::WebhookDisabled), &settings("Acme", "http://h"));
        assert_eq!(disabled.subject, "Acme webhook delivery issues for https://tradly.app");
        assert!(disabled.text.contains("disabled: the endpoint answered 410 Gone"));
    }

    #[test]
    fn a_token_in_the_webhook_url_is_masked_in_both_parts() {
        let mut with_token = notice(NotificationKind::DeliveriesFailed);
        with_token.webhook_url = "https://hooks.example.com/in?token=s3cr3t&team=ops".into();
        let email = render(&with_token, &settings("Tradly", "https://hooks.tradly.app"));
        for part in [&email.subject, &email.text, &email.html] {
            assert!(!part.contains("s3cr3t"), "{part}");
        }
        assert!(email.text.contains("https://hooks.example.com/in?token=***&team=***"), "{}", email.text);
        assert!(email.html.contains("https://hooks.example.com/in?token=***&amp;team=***"), "{}", email.html);
    }

    #[test]
    fn the_email_states_the_real_window() {
        let mut short = settings("Tradly", "http://h");
        short.notify_window = Duration::from_secs(5);
        let email = render(&notice(NotificationKind::DeliveriesFailed), &short);
        assert!(email.text.contains("per webhook every 5 seconds"), "{}", email.text);
        assert!(email.text.contains("kept failing for 15 minutes"), "{}", email.text);
        assert!(!email.text.contains("hour"), "{}", email.text);
        let hourly = render(&notice(NotificationKind::DeliveriesFailed), &settings("Tradly", "http://h"));
        assert!(hourly.text.contains("every 1 hour:"), "{}", hourly.text);
    }

    #[test]
    fn failing_and_recovered_emails_say_what_happened() {
        let mut failing = notice(NotificationKind::WebhookFailing);
        failing.reason = Some("every attempt has failed since 2026-12-04T21:00:00.000Z (16m)".into());
        let email = render(&failing, &settings("Tradly", "http://h"));
        assert_eq!(email.subject, "Tradly webhook delivery issues for https://tradly.app");
        assert!(email.text.contains("Your webhook keeps failing: every attempt has failed since"), "{}", email.text);
        assert!(email.text.contains("Deliveries waiting for a retry: 2"), "{}", email.text);
        let mut recovered = notice(NotificationKind::WebhookRecovered);
        recovered.reason = Some("it had been failing since 2026-12-04T21:00:00.000Z (1h)".into());
        recovered.last_error = None;
        let email = render(&recovered, &settings("Tradly", "http://h"));
        assert!(email.text.contains("Your webhook is delivering again (it had been failing since"), "{}", email.text);
        assert!(!email.text.contains("Last error"), "{}", email.text);
    }

    #[test]
    fn durations_are_spoken() {
        let cases = [(5, "5 seconds"), (60, "1 minute"), (900, "15 minutes"), (3600, "1 hour"), (90, "90 seconds")];
        for (seconds, spoken) in cases {
            assert_eq!(spoken_duration(Duration::from_secs(seconds)), spoken);
        }
        assert_eq!(spoken_duration(Duration::from_secs(3 * 86_400)), "3 days");
        assert_eq!(spoken_duration(Duration::from_millis(1500)), "1500 ms");
    }
}
