//! Per-webhook lanes: each webhook has its own queue and its own in-flight limit, so a slow or dead webhook
//! fills only its own lane and never delays another's deliveries. A global cap bounds all in-flight attempts;
//! lanes with work take turns (round robin) for the global slots.
//!
//! A lane whose webhook has a rate limit (a receiver that accepts N requests per second) also paces itself with
//! a token bucket holding one token: an attempt starts only once `1 / rate` seconds have passed since the last
//! one. A lane out of tokens leaves the turn order with a wake-up time; the engine calls [`Lanes::wake_paced`]
//! then. Nothing is dropped: the jobs wait in the lane (or, past its queue, in the database).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hookline_core::delivery::DeliveryJob;
use hookline_core::ids::{DeliveryId, WebhookId};

pub(crate) struct Lanes {
    state: Mutex<State>,
    limits: Limits,
}

/// The bounds the lanes keep.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Attempts in flight over all lanes.
    pub max_in_flight: usize,
    /// Attempts in flight in one lane, unless its webhook sets its own limit.
    pub per_lane: usize,
    /// Jobs waiting in one lane.
    pub per_lane_queue: usize,
    /// Jobs waiting over all lanes.
    pub max_queued: usize,
    /// Attempts started per second in one lane, unless its webhook sets its own; `None`: no pacing.
    pub per_lane_rate: Option<u32>,
}

#[derive(Default)]
struct State {
    lanes: HashMap<WebhookId, Lane>,
    /// Lanes that have queued jobs and a free slot, in turn order.
    ready: VecDeque<WebhookId>,
    in_flight: usize,
    queued: usize,
    closed: bool,
    /// Every delivery this node holds (queued or in flight): their leases are renewed until they finish.
    held: HashSet<DeliveryId>,
    /// Jobs were sent back because all lanes together were full.
    overflowed: bool,
    /// Set when a lane (or memory) that had overflowed has room again: the engine polls at once instead of
    /// letting the overflow wait for the next poll interval.
    poll_hint: bool,
    /// Set when a lane ran out of tokens: the engine looks at [`Lanes::next_wake`] again.
    pace_hint: bool,
}

#[derive(Default)]
struct Lane {
    queue: VecDeque<DeliveryJob>,
    in_flight: usize,
    in_ready: bool,
    /// This lane's in-flight limit (the webhook's own, or the default).
    limit: usize,
    /// Jobs of this webhook were sent back to the database because the lane was full.
    overflowed: bool,
    /// Attempts started per second, when paced.
    rate: Option<u32>,
    /// The token bucket of a paced lane: whether a token is there, or since when one is refilling.
    last_start: Option<Instant>,
    /// A paced lane out of tokens, with work: when its next token is there. It is out of the turn order
    /// until then.
    wake_at: Option<Instant>,
}

impl Lane {
    /// Whether the lane may take a turn for a global slot now (work, a free slot of its own, not waiting for a
    /// token).
    fn can_start(&self) -> bool {
        !self.queue.is_empty() && self.in_flight < self.limit && self.wake_at.is_none()
    }

    /// When a paced lane has its next token (now or in the past: it has one).
    fn next_token(&self) -> Option<Instant> {
        let rate = self.rate?;
        let last = self.last_start?;
        Some(last + Duration::from_secs_f64(1.0 / f64::from(rate.max(1))))
    }
}

impl Lanes {
    pub(crate) fn new(limits: Limits) -> Self {
        let limits = Limits {
            max_in_flight: limits.max_in_flight.max(1),
            per_lane: limits.per_lane.max(1),
            per_lane_queue: limits.per_lane_queue.max(1),
            max_queued: limits.max_queued.max(1),
            per_lane_rate: limits.per_lane_rate.filter(|rate| *rate > 0),
        };
        Self { state: Mutex::new(State::default()), limits }
    }

    /// Webhooks whose lanes cannot take more jobs now: the poller skips them.
    pub(crate) fn saturated(&self) -> Vec<WebhookId> {
        let Ok(state) = self.state.lock() else { return Vec::new() };
        state
            .lanes
            .iter()
            .filter(|(_, lane)| lane.queue.len() >= self.limits.per_lane_queue)
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Whether memory has room for more jobs. When it has not, this counts as an overflow: the caller leaves
    /// its work in the database, and the engine is told to poll once memory has drained to half.
    pub(crate) fn has_room(&self) -> bool {
        let Ok(mut state) = self.state.lock() else { return false };
        if state.closed {
            return false;
        }
        let room = state.queued < self.limits.max_queued;
        state.overflowed |= !room;
        room
    }

    /// Queues `jobs`; returns the jobs to start now and those that did not fit in memory.
    pub(crate) fn submit(&self, jobs: Vec<DeliveryJob>) -> (Vec<DeliveryJob>, Vec<DeliveryJob>) {
        let Ok(mut state) = self.state.lock() else {
            return (Vec::new(), jobs);
        };
        let mut overflow = Vec::new();
        for job in jobs {
            let lane_full =
                state.lanes.get(&job.webhook_id).is_some_and(|l| l.queue.len() >= self.limits.per_lane_queue);
            if state.closed || state.queued >= self.limits.max_queued || lane_full {
                if !state.closed {
                    state.overflowed |= !lane_full;
                    if let Some(lane) = state.lanes.get_mut(&job.webhook_id) {
                        lane.overflowed |= lane_full;
                    }
                }
                overflow.push(job);
                continue;
            }
            state.queued += 1;
            state.held.insert(job.delivery_id.clone());
            let webhook_id = job.webhook_id.clone();
            let limit = job.concurrency.map_or(self.limits.per_lane, |c| c.max(1) as usize);
            let rate = job.rate_limit.filter(|rate| *rate > 0).or(self.limits.per_lane_rate);
            let lane = state.lanes.entry(webhook_id.clone()).or_default();
            lane.limit = limit;
            lane.rate = rate;
            lane.queue.push_back(job);
            if !lane.in_ready && lane.can_start() {
                lane.in_ready = true;
                state.ready.push_back(webhook_id);
            }
        }
        (self.take_startable(&mut state, Instant::now()), overflow)
    }

    /// Marks the attempt of `delivery_id` (to `webhook_id`) finished; returns jobs that may start now.
    pub(crate) fn finish(&self, webhook_id: &WebhookId, delivery_id: &DeliveryId) -> Vec<DeliveryJob> {
        let Ok(mut guard) = self.state.lock() else {
            return Vec::new();
        };
        // A plain `&mut State` lets the lane and the flags be borrowed at once.
        let state: &mut State = &mut guard;
        state.held.remove(delivery_id);
        state.in_flight = state.in_flight.saturating_sub(1);
        let mut make_ready = false;
        let mut remove = false;
        if let Some(lane) = state.lanes.get_mut(webhook_id) {
            lane.in_flight = lane.in_flight.saturating_sub(1);
            if !lane.in_ready && lane.can_start() {
                lane.in_ready = true;
                make_ready = true;
            }
            if lane.overflowed && lane.queue.len() * 2 <= self.limits.per_lane_queue {
                lane.overflowed = false;
                state.poll_hint = true;
            }
            // A paced lane is kept while its token refills, so that work arriving just after cannot skip the
            // pacing by starting a fresh lane; `wake_paced` forgets it once idle with its token back.
            remove = lane.queue.is_empty() && lane.in_flight == 0 && lane.rate.is_none();
        }
        if state.overflowed && state.queued * 2 <= self.limits.max_queued {
            state.overflowed = false;
            state.poll_hint = true;
        }
        if make_ready {
            state.ready.push_back(webhook_id.clone());
        }
        if remove {
            state.lanes.remove(webhook_id);
        }
        if state.closed { Vec::new() } else { self.take_startable(state, Instant::now()) }
    }

    /// When the earliest paced lane gets its next token, if one waits for it.
    pub(crate) fn next_wake(&self) -> Option<Instant> {
        let state = self.state.lock().ok()?;
        state.lanes.values().filter_map(|lane| lane.wake_at).min()
    }

    /// Whether a lane ran out of tokens since last asked (and forgets it was asked): the engine's wake-up time
    /// may have moved earlier.
    pub(crate) fn take_pace_hint(&self) -> bool {
        self.state.lock().map(|mut s| std::mem::take(&mut s.pace_hint)).unwrap_or(false)
    }

    /// Puts paced lanes whose token is back (at `now`) in the turn order again, forgets idle paced lanes whose
    /// bucket is full, and returns the jobs that may start now.
    pub(crate) fn wake_paced(&self, now: Instant) -> Vec<DeliveryJob> {
        let Ok(mut guard) = self.state.lock() else { return Vec::new() };
        let state: &mut State = &mut guard;
        let mut woken = Vec::new();
        state.lanes.retain(|webhook_id, lane| {
            if lane.wake_at.is_some_and(|at| at <= now) {
                lane.wake_at = None;
                if !lane.in_ready && lane.can_start() {
                    lane.in_ready = true;
                    woken.push(webhook_id.clone());
                }
            }
            let idle = lane.queue.is_empty() && lane.in_flight == 0;
            !(idle && lane.next_token().is_none_or(|at| at <= now))
        });
        state.ready.extend(woken);
        if state.closed { Vec::new() } else { self.take_startable(state, now) }
    }

    /// Whether overflowed work should be claimed now (and forgets it was asked).
    pub(crate) fn take_poll_hint(&self) -> bool {
        self.state.lock().map(|mut s| std::mem::take(&mut s.poll_hint)).unwrap_or(false)
    }

    /// The deliveries this node holds, for lease renewal.
    pub(crate) fn held(&self) -> Vec<DeliveryId> {
        self.state.lock().map(|s| s.held.iter().cloned().collect()).unwrap_or_default()
    }

    /// Attempts in flight and jobs waiting, for the gauges.
    pub(crate) fn load(&self) -> (usize, usize) {
        self.state.lock().map(|s| (s.in_flight, s.queued)).unwrap_or((0, 0))
    }

    /// How many more jobs fit in memory.
    pub(crate) fn capacity(&self) -> usize {
        self.state
            .lock()
            .map(|s| if s.closed { 0 } else { self.limits.max_queued.saturating_sub(s.queued) })
            .unwrap_or(0)
    }

    /// Stops starting attempts and returns every queued job (for release).
    pub(crate) fn close(&self) -> Vec<DeliveryJob> {
        let Ok(mut state) = self.state.lock() else {
            return Vec::new();
        };
        state.closed = true;
        state.ready.clear();
        state.queued = 0;
        let queued: Vec<DeliveryJob> = state.lanes.values_mut().flat_map(|lane| lane.queue.drain(..)).collect();
        for job in &queued {
            state.held.remove(&job.delivery_id);
        }
        queued
    }

    fn take_startable(&self, state: &mut State, now: Instant) -> Vec<DeliveryJob> {
        let mut start = Vec::new();
        while state.in_flight < self.limits.max_in_flight {
            let Some(webhook_id) = state.ready.pop_front() else {
                break;
            };
            let Some(lane) = state.lanes.get_mut(&webhook_id) else {
                continue;
            };
            if lane.queue.is_empty() {
                lane.in_ready = false;
                continue;
            }
            if let Some(at) = lane.next_token().filter(|at| *at > now) {
                // Out of tokens: off the turn order until the token is back.
                lane.in_ready = false;
                lane.wake_at = Some(at);
                state.pace_hint = true;
                continue;
            }
            let Some(job) = lane.queue.pop_front() else {
                lane.in_ready = false;
                continue;
            };
            if lane.rate.is_some() {
                lane.last_start = Some(now);
            }
            lane.in_flight += 1;
            let again = lane.can_start();
            lane.in_ready = again;
            if again {
                state.ready.push_back(webhook_id);
            }
            state.in_flight += 1;
            state.queued -= 1;
            start.push(job);
        }
        start
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use hookline_core::ids::{DeliveryId, EventId, PlatformId};
    use hookline_core::secret::Secret;
    use hookline_core::webhook::{SigningSecrets, UrlPolicy, WebhookUrl};

    use super::*;

    fn job(webhook: &WebhookId) -> DeliveryJob {
        DeliveryJob {
            delivery_id: DeliveryId::generate(),
            platform_id: PlatformId::generate(),
            webhook_id: webhook.clone(),
            url: WebhookUrl::parse("https://example.com/", UrlPolicy::default()).unwrap(),
            secrets: SigningSecrets { current: Secret::generate(), previous: None },
            event_id: EventId::generate(),
            event_type: "user.created".into(),
            body: Arc::from(&b"{}"[..]),
            attempt_number: 1,
            concurrency: None,
            rate_limit: None,
        }
    }

    fn limits(max_in_flight: usize, per_lane: usize, per_lane_queue: usize, max_queued: usize) -> Limits {
        Limits { max_in_flight, per_lane, per_lane_queue, max_queued, per_lane_rate: None }
    }

    /// A lane limited to 5 per second starts one attempt, then waits 200 ms for its next token (even with free
    /// slots), and starts the next one when woken; another webhook's lane is not held back. Nothing is dropped.
    #[test]
    fn a_rate_limited_lane_paces_itself_and_no_other() {
        let lanes = Lanes::new(limits(100, 8, 1000, 1000));
        let (paced, free) = (WebhookId::generate(), WebhookId::generate());
        let limited = || DeliveryJob { rate_limit: Some(5), ..job(&paced) };
        let before = Instant::now();
        let (started, overflow) = lanes.submit(vec![limited(), limited(), limited()]);
        assert_eq!((started.len(), overflow.len()), (1, 0), "one token: one start");
        assert!(lanes.take_pace_hint());
        let wake = lanes.next_wake().expect("the paced lane waits for its token");
        let waited = wake - before;
        assert!(waited >= Duration::from_millis(200) && waited < Duration::from_millis(300), "{waited:?}");
        assert!(lanes.finish(&paced, &started[0].delivery_id).is_empty(), "a free slot does not beat the pacing");

        let (started_free, _) = lanes.submit((0..5).map(|_| job(&free)).collect());
        assert_eq!(started_free.len(), 5, "the other lane is not paced");

        assert!(lanes.wake_paced(wake - Duration::from_millis(50)).is_empty(), "too early");
        let next = lanes.wake_paced(wake);
        assert_eq!(next.len(), 1);
        assert_eq!(next[0].webhook_id, paced);
        assert!(lanes.next_wake().is_some(), "the third waits for the next token");
        assert_eq!(lanes.held().len(), 7, "nothing dropped: 2 paced and 5 free held");
    }

    #[test]
    fn a_full_lane_does_not_block_another() {
        let lanes = Lanes::new(limits(100, 2, 1000, 1000));
        let (slow, fast) = (WebhookId::generate(), WebhookId::generate());
        let (started_slow, overflow) = lanes.submit((0..10).map(|_| job(&slow)).collect());
        assert_eq!((started_slow.len(), overflow.len()), (2, 0), "the slow lane is capped at 2 in flight");
        let (started, _) = lanes.submit(vec![job(&fast)]);
        assert_eq!(started.len(), 1, "the fast lane starts at once");
        assert_eq!(lanes.held().len(), 11, "queued and in-flight jobs are held (their leases renewed)");
        let next = lanes.finish(&slow, &started_slow[0].delivery_id);
        assert_eq!(next.len(), 1);
        assert_eq!(lanes.held().len(), 10);
        assert_eq!(next[0].webhook_id, slow);
    }

    #[test]
    fn global_cap_is_shared_round_robin_and_memory_is_bounded() {
        let lanes = Lanes::new(limits(2, 10, 100, 5));
        let (a, b) = (WebhookId::generate(), WebhookId::generate());
        let (started, overflow) = lanes.submit(vec![job(&a), job(&a), job(&a), job(&b), job(&b), job(&b)]);
        assert_eq!(started.len(), 2);
        assert_eq!(overflow.len(), 1, "only max_queued jobs are held in memory");
        assert_eq!(lanes.capacity(), 2);
        assert_eq!(
            (started[0].webhook_id.clone(), started[1].webhook_id.clone()),
            (a.clone(), b.clone()),
            "round robin"
        );
        let next = lanes.finish(&a, &started[0].delivery_id);
        assert_eq!(next.len(), 1);
        assert_eq!(lanes.close().len(), 2);
        assert_eq!(lanes.held().len(), 2, "in-flight jobs stay held after close; released ones do not");
        assert!(lanes.finish(&b, &started[1].delivery_id).is_empty(), "nothing starts after close");
    }

    #[test]
    fn a_webhook_backlog_stays_out_of_memory_and_its_own_limit_applies() {
        let lanes = Lanes::new(limits(100, 8, 3, 1000));
        let (slow, other) = (WebhookId::generate(), WebhookId::generate());
        // Every job of a webhook carries the webhook's own limit.
        let narrow = |n: usize| -> Vec<DeliveryJob> {
            (0..n)
                .map(|_| {
                    let mut narrow = job(&slow);
                    narrow.concurrency = Some(1);
                    narrow
                })
                .collect()
        };
        let (started, overflow) = lanes.submit(narrow(10));
        assert_eq!(started.len(), 1, "the webhook's own limit of 1 applies");
        assert_eq!(overflow.len(), 7, "a lane takes 3 jobs; the rest stay in the database");
        assert!(lanes.saturated().is_empty(), "one started, so there is room for one more");
        let (started, overflow) = lanes.submit(narrow(2));
        assert_eq!((started.len(), overflow.len()), (0, 1));
        assert_eq!(lanes.saturated(), vec![slow.clone()], "the poller skips a full lane");
        assert!(!lanes.take_poll_hint());
        // Once the lane has drained to half, the overflow is worth claiming at once.
        let held: Vec<DeliveryId> = lanes.held();
        let mut next = lanes.finish(&slow, &held[0]);
        for _ in 0..2 {
            let job = next.pop().expect("the next queued job starts");
            next = lanes.finish(&slow, &job.delivery_id);
        }
        assert!(lanes.take_poll_hint(), "a drained lane asks for its overflow");
        assert!(!lanes.take_poll_hint(), "once");
        let (started, overflow) = lanes.submit(vec![job(&other)]);
        assert_eq!((started.len(), overflow.len()), (1, 0));
    }
}
