//! The failure email, as pure functions of a notice: the same input always renders the same email.

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

/// Renders `notification`; `product` names the product in the subject, `public_url` is hookline's base URL.
pub fn render(notification: &Notification, product: &str, public_url: &str) -> Email {
    let subject = format!("{product} webhook delivery issues for {}", notification.platform_url);
    let link = format!("{}/ui/webhooks/{}", public_url.trim_end_matches('/'), notification.webhook_id);
    let n = notification;
    let headline = match n.kind {
        NotificationKind::DeliveriesFailed => format!(
            "{} deliver{} to your webhook failed after every retry.",
            n.failed_count,
            if n.failed_count == 1 { "y" } else { "ies" }
        ),
        NotificationKind::WebhookDisabled => format!(
            "Your webhook was disabled: {}. New events are held and will be sent when you enable it again.",
            n.reason.as_deref().unwrap_or("it kept failing")
        ),
    };
    let last_error = n.last_error.as_deref().unwrap_or("(none recorded)");
    let types = n.event_types.join(", ");
    let ids = n.event_ids.join(", ");
    // An email travels further than the API: a token in the webhook's query must not travel with it.
    let webhook_url = redact_url_text(&n.webhook_url);
    let text = format!(
        "Hello,\n\n{headline}\n\nWebhook: {url}\nFailed deliveries: {count}\nEvent types: {types}\nFirst event ids: {ids}\n\
         Last error: {last_error}\n\nSee every attempt and retry from the webhook's page:\n{link}\n\n\
         You get at most one such email per webhook per hour, plus one if the webhook is disabled.\n",
        url = webhook_url,
        count = n.failed_count,
    );
    let html = format!(
        "<!doctype html><html><body style=\"font-family: sans-serif\">\
         <p>Hello,</p><p>{headline}</p>\
         <table cellpadding=\"4\">\
         <tr><th align=\"left\">Webhook</th><td><code>{url}</code></td></tr>\
         <tr><th align=\"left\">Failed deliveries</th><td>{count}</td></tr>\
         <tr><th align=\"left\">Event types</th><td>{types}</td></tr>\
         <tr><th align=\"left\">First event ids</th><td><code>{ids}</code></td></tr>\
         <tr><th align=\"left\">Last error</th><td><code>{last_error}</code></td></tr>\
         </table>\
         <p><a href=\"{link}\">Open the webhook's page</a> to see every attempt and retry.</p>\
         <p style=\"color: #666\">You get at most one such email per webhook per hour, plus one if the webhook is \
         disabled.</p></body></html>",
        headline = escape(&headline),
        url = escape(&webhook_url),
        count = n.failed_count,
        types = escape(&types),
        ids = escape(&ids),
        last_error = escape(last_error),
        link = escape(&link),
    );
    Email { subject, text, html }
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

    #[test]
    fn the_email_names_everything_the_owner_needs() {
        let email = render(&notice(NotificationKind::DeliveriesFailed), "Tradly", "https://hooks.tradly.app/");
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
        let disabled = render(&notice(NotificationKind::WebhookDisabled), "Acme", "http://h");
        assert_eq!(disabled.subject, "Acme webhook delivery issues for https://tradly.app");
        assert!(disabled.text.contains("disabled: the endpoint answered 410 Gone"));
    }

    #[test]
    fn a_token_in_the_webhook_url_is_masked_in_both_parts() {
        let mut with_token = notice(NotificationKind::DeliveriesFailed);
        with_token.webhook_url = "https://hooks.example.com/in?token=s3cr3t&team=ops".into();
        let email = render(&with_token, "Tradly", "https://hooks.tradly.app");
        for part in [&email.subject, &email.text, &email.html] {
            assert!(!part.contains("s3cr3t"), "{part}");
        }
        assert!(email.text.contains("https://hooks.example.com/in?token=***&team=***"), "{}", email.text);
        assert!(email.html.contains("https://hooks.example.com/in?token=***&amp;team=***"), "{}", email.html);
    }
}
