//! The failure policy as a plan of effects: what recording one attempt does beyond the delivery's own update
//! and the attempt's row (start the failure clock, degrade, notify, publish `delivery.failed`, disable, restore,
//! publish `webhook.recovered`, tell the owner a webhook keeps failing and that it recovered), decided here once
//! from the attempt and the webhook's failure state, and only executed by each backend, in the order given,
//! inside the transaction that records the attempt.
//!
//! A plan holds at most [`MAX_EFFECTS`] effects in place (no allocation beyond the payloads), and a success
//! for a webhook with nothing to restore plans nothing, so the hot path (a batch of successes) pays nothing.

use hookline_core::Timestamp;
use hookline_core::catalog::{DELIVERY_FAILED, WEBHOOK_DISABLED, WEBHOOK_RECOVERED, is_operational};
use hookline_core::delivery::{Attempt, NextStep};
use hookline_core::notification::NotificationKind;
use serde_json::Value;

use super::{
    About, delivery_failed, disable_reason, failing_reason, recovered_reason, webhook_disabled, webhook_recovered,
};
use crate::RecordContext;

/// The most effects one attempt can have: a failure that exhausts its retries and disables its webhook.
pub const MAX_EFFECTS: usize = 7;

/// A webhook's failure tracking, as recording reads it (and, over a batch, keeps it current with
/// [`FailureState::apply`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureState {
    /// Whether the webhook is enabled.
    pub enabled: bool,
    /// Since when every attempt has failed.
    pub failing_since: Option<Timestamp>,
    /// Whether a delivery failed for good or the webhook was disabled since it last delivered.
    pub degraded: bool,
    /// When the owner was last told that this webhook keeps failing (a `WebhookFailing` notice). Told in the
    /// current streak when it is not before `failing_since`.
    pub failing_notified_at: Option<Timestamp>,
}

impl FailureState {
    /// Whether a success has nothing to restore: the common case, which recording keeps cheap.
    pub fn is_healthy(&self) -> bool {
        // Told it keeps failing implies failing (`failing_since` is set) until a success restores it.
        self.failing_since.is_none() && !self.degraded
    }

    /// Whether the owner was told, in the current failing streak, that the webhook keeps failing.
    pub fn told_failing(&self) -> bool {
        matches!((self.failing_since, self.failing_notified_at), (Some(since), Some(told)) if told >= since)
    }

    /// The state once `effect` is executed.
    pub fn apply(&mut self, effect: &Effect) {
        match effect {
            Effect::StartFailing(since) => self.failing_since = Some(*since),
            Effect::Restore => {
                self.failing_since = None;
                self.degraded = false;
            }
            Effect::Degrade => self.degraded = true,
            Effect::MarkFailingNotified(at) => self.failing_notified_at = Some(*at),
            Effect::Disable { .. } => {
                self.enabled = false;
                self.degraded = true;
            }
            Effect::Notice { .. } | Effect::Publish { .. } => {}
        }
    }
}

/// One thing recording an attempt does to the webhook and beyond. Each backend executes each kind the same way
/// everywhere it appears.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Start the failure clock: the webhook's `failing_since` becomes this (the failed attempt's start).
    StartFailing(Timestamp),
    /// The webhook delivered again: clear `failing_since` and `degraded`.
    Restore,
    /// The owner is being told, at this time, that the webhook keeps failing: set `failing_notified_at`, so
    /// that it is told once per failing streak, at most once per window.
    MarkFailingNotified(Timestamp),
    /// A delivery failed for good: mark the webhook degraded (a later success publishes `webhook.recovered`).
    Degrade,
    /// Disable the webhook for `reason` (marking it degraded) and hold its pending deliveries.
    Disable {
        /// Why, for the webhook's `disabled_reason`.
        reason: String,
    },
    /// Queue a notice of `kind`; its last error is the attempt's. A `DeliveriesFailed` one goes where
    /// [`super::deliveries_failed_slot`] says (into the webhook's notice not yet claimed for sending, or a new
    /// one due when the window since the last one ends); the others are new notices, due at once.
    Notice {
        /// Which notice.
        kind: NotificationKind,
        /// Why the webhook was disabled, or since when it was failing.
        reason: Option<String>,
    },
    /// Publish the operational event `event_type` with `data` to the platform's other webhooks that subscribe.
    Publish {
        /// `delivery.failed`, `webhook.disabled` or `webhook.recovered`.
        event_type: &'static str,
        /// The event's payload.
        data: Value,
    },
}

/// The effects of one attempt, in the order they must run.
#[derive(Debug, Default)]
pub struct Plan {
    effects: [Option<Effect>; MAX_EFFECTS],
    len: usize,
}

impl Plan {
    fn push(&mut self, effect: Effect) {
        // `plan` never pushes more than MAX_EFFECTS (the table test below covers the longest plan).
        debug_assert!(self.len < MAX_EFFECTS, "a plan holds at most {MAX_EFFECTS} effects");
        if let Some(slot) = self.effects.get_mut(self.len) {
            *slot = Some(effect);
            self.len += 1;
        }
    }

    /// Whether the attempt changes nothing beyond its delivery and its own row.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl IntoIterator for Plan {
    type Item = Effect;
    type IntoIter = std::iter::Flatten<std::array::IntoIter<Option<Effect>, MAX_EFFECTS>>;

    fn into_iter(self) -> Self::IntoIter {
        self.effects.into_iter().flatten()
    }
}

/// What recording `attempt` (whose outcome says `next`) does, given its webhook's failure state `state` and the
/// delivery `about`:
///
/// - a success restores a failing or degraded webhook, publishes `webhook.recovered` if it was degraded, and
///   queues a `WebhookRecovered` notice if its owner was told it was failing (a `WebhookFailing` notice, or a
///   delivery failed for good, or it was disabled);
/// - a failure starts the failure clock if it is not running;
/// - a failure for good (`Failed`) degrades the webhook, queues a `DeliveriesFailed` notice, and publishes
///   `delivery.failed` (unless the delivery was itself of an operational event: no cascades);
/// - a failure of an enabled webhook that answered 410 Gone, or has failed for `disable_after`, disables it,
///   queues a `WebhookDisabled` notice and publishes `webhook.disabled`;
/// - otherwise, a failure of an enabled webhook that has failed for `notify_after`, whose owner was not told so
///   yet in this streak nor within the last `notify_window` (a flapping endpoint does not flood the inbox),
///   queues a `WebhookFailing` notice.
pub fn plan(attempt: &Attempt, next: NextStep, state: &FailureState, about: &About, ctx: &RecordContext) -> Plan {
    let mut plan = Plan::default();
    if attempt.error_kind.is_none() {
        if !state.is_healthy() {
            plan.push(Effect::Restore);
            if state.degraded {
                plan.push(Effect::Publish { event_type: WEBHOOK_RECOVERED, data: webhook_recovered(about, ctx.now) });
            }
            if state.degraded || state.told_failing() {
                let reason = state.failing_since.map(|since| recovered_reason(since, ctx.now));
                plan.push(Effect::Notice { kind: NotificationKind::WebhookRecovered, reason });
            }
        }
        return plan;
    }
    let since = match state.failing_since {
        Some(since) => since,
        None => {
            plan.push(Effect::StartFailing(attempt.started_at));
            attempt.started_at
        }
    };
    if next == NextStep::Failed {
        plan.push(Effect::Degrade);
        plan.push(Effect::Notice { kind: NotificationKind::DeliveriesFailed, reason: None });
        if !is_operational(&about.event_type) {
            let data = delivery_failed(
                about,
                attempt.delivery_id.as_str(),
                attempt.attempt_number,
                attempt.error_message.as_deref(),
            );
            plan.push(Effect::Publish { event_type: DELIVERY_FAILED, data });
        }
    }
    if state.enabled
        && let Some(reason) = disable_reason(next, since, ctx.now, &ctx.failure)
    {
        let data = webhook_disabled(about, &reason, ctx.now);
        plan.push(Effect::Disable { reason: reason.clone() });
        plan.push(Effect::Notice { kind: NotificationKind::WebhookDisabled, reason: Some(reason) });
        plan.push(Effect::Publish { event_type: WEBHOOK_DISABLED, data });
    } else if state.enabled && !state.told_failing() && failing_notice_due(since, state.failing_notified_at, ctx) {
        plan.push(Effect::MarkFailingNotified(ctx.now));
        plan.push(Effect::Notice {
            kind: NotificationKind::WebhookFailing,
            reason: Some(failing_reason(since, ctx.now)),
        });
    }
    plan
}

/// Whether a webhook failing since `since`, whose owner was last told so at `told`, has failed long enough
/// (`notify_after`) and was not told within the window (`notify_window`).
fn failing_notice_due(since: Timestamp, told: Option<Timestamp>, ctx: &RecordContext) -> bool {
    let elapsed = |from: Timestamp| ctx.now.unix_millis().saturating_sub(from.unix_millis());
    elapsed(since) >= ctx.failure.notify_after.as_millis() as i64
        && told.is_none_or(|told| elapsed(told) >= ctx.failure.notify_window.as_millis() as i64)
}

#[cfg(test)]
mod tests;
