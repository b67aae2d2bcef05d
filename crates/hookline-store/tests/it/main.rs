//! The storage conformance suite: every behaviour the `Store` trait promises, written once as a story and run
//! against each backend.
//!
//! A story is an `async fn` in one of the modules below. Most take a `&dyn Store` opened on a fresh, empty
//! database; the few that need to close and reopen the database, or to share the store between tasks, take a
//! `&dyn Backend` instead. `conformance_tests!` turns every story into one `#[tokio::test]` per backend, named
//! `<backend>::<story>`, so `cargo test -p hookline-store sqlite::` runs one backend and
//! `cargo test -p hookline-store publish_` runs one theme on all of them.
//!
//! The harness is libtest-mimic (`harness = false`), because whether the PostgreSQL stories can run is known
//! only at run time: without a server they are reported as ignored, never as passed, and under `CI=true` they
//! fail.

// Tests fail by panicking, so unwrapping is the point here rather than a shortcut.
#![allow(clippy::unwrap_used, clippy::expect_used)]

/// Asserts that `$value` matches `$pattern`, printing the value when it does not. `StoreError` has no
/// `PartialEq`, so this is how stories check for an exact error variant.
macro_rules! assert_matches {
    ($value:expr, $pattern:pat $(if $guard:expr)? $(,)?) => {
        match $value {
            $pattern $(if $guard)? => {}
            other => panic!(
                "expected {}, got {:?}",
                stringify!($pattern $(if $guard)?),
                other
            ),
        }
    };
}

mod concurrency;
mod event_types;
mod fanout;
mod harness;
mod inboxes;
mod leases;
mod lifecycle;
mod listeners;
mod listing;
mod nodes;
mod notices;
mod operations;
mod platforms;
mod publish;
mod recording;
mod retry;
mod secrets;
mod support;
mod ui;
mod webhooks;

/// Runs every story on every backend.
fn main() {
    let arguments = libtest_mimic::Arguments::from_args();
    let mut trials = Vec::new();
    sqlite::trials(&mut trials);
    postgres::trials(&mut trials);
    libtest_mimic::run(&arguments, trials).exit();
}

/// Declares the whole suite for one backend.
///
/// `$backend` names the test module, `$available` says whether the backend can run here
/// (`harness::Availability`), `$fresh` is an expression that makes a fresh, empty database of that backend (a
/// value implementing `harness::Backend`), and `also [..]` lists extra backend stories that only this backend
/// promises.
macro_rules! conformance_tests {
    (
        $backend:ident = $fresh:expr,
        when $available:expr,
        also [$($also_module:ident :: $also_story:ident),* $(,)?] $(,)?
    ) => {
        mod $backend {
            #[allow(unused_imports)]
            use crate::harness::Backend as _;

            /// Every story of this backend, as trials.
            pub fn trials(trials: &mut Vec<libtest_mimic::Trial>) {
            let available: crate::harness::Availability = $available;
            store_stories! { $backend, trials, available, $fresh;
                platforms::platform_by_key_finds_only_its_own_key,
                secrets::api_keys_are_listed_used_and_revoked,
                secrets::platforms_are_listed_updated_and_deleted_with_what_they_own,
                event_types::catalog_lists_built_ins_then_customs_by_name,
                event_types::existing_type_names_conflict,
                event_types::custom_types_belong_to_one_platform,
                webhooks::webhook_round_trips_through_create_and_get,
                webhooks::webhooks_page_by_id_with_an_exclusive_cursor,
                webhooks::patch_changes_only_the_fields_it_names,
                webhooks::disabling_records_the_reason_and_enabling_clears_it,
                webhooks::unknown_event_types_are_refused,
                webhooks::deleting_a_webhook_deletes_its_deliveries,
                webhooks::another_platforms_webhook_is_not_found,
                webhooks::rotation_keeps_the_old_secret_until_the_overlap_ends,
                publish::publish_fans_out_to_matching_enabled_webhooks,
                publish::publish_without_a_lease_leaves_deliveries_for_the_poller,
                publish::republishing_an_event_id_is_idempotent,
                publish::reusing_an_event_id_for_another_event_is_refused,
                operations::retention_prunes_finished_history_and_keeps_pending_work,
                operations::webhook_count_and_write_probe,
                operations::a_webhook_rate_limit_round_trips_into_its_jobs,
                publish::event_ids_are_scoped_to_their_platform,
                publish::unknown_event_type_stores_nothing,
                publish::publishing_to_one_webhook_ignores_its_filter,
                publish::publishing_to_all_but_one_webhook_skips_it,
                fanout::changes_to_a_webhook_reach_the_very_next_publish,
                leases::published_jobs_are_leased_until_lease_until,
                leases::released_jobs_are_claimable_at_once,
                leases::claim_takes_the_earliest_due_first_up_to_the_limit,
                leases::claim_caps_each_webhook_and_skips_full_lanes,
                leases::disabling_holds_deliveries_until_enabled,
                recording::delivered_attempt_completes_the_delivery,
                recording::retry_at_reschedules_the_delivery,
                recording::failed_attempt_fails_the_delivery,
                recording::attempts_for_deleted_deliveries_are_dropped,
                recording::a_success_clears_failure_state_set_earlier_in_its_batch,
                notices::every_failed_delivery_is_counted_in_exactly_one_notice,
                notices::a_webhook_failing_for_notify_after_is_reported_once_and_its_recovery_too,
                notices::a_delivered_delivery_shows_no_last_error,
                recording::attempt_headers_are_stored_and_read_back,
                retry::retrying_a_failed_delivery_requeues_it_leased,
                retry::retrying_an_in_flight_delivery_conflicts,
                retry::retrying_on_a_disabled_webhook_conflicts,
                retry::another_platforms_delivery_is_not_found,
                listing::deliveries_list_newest_first_with_status_and_cursor,
                listing::events_list_newest_first_with_cursor,
                inboxes::inboxes_round_trip_page_and_update,
                listeners::listener_deliveries_are_claimed_only_by_their_listener,
                listeners::listener_answers_are_recorded_as_attempts,
                listeners::idle_listeners_are_pruned_with_their_deliveries,
                inboxes::captures_keep_the_newest_and_page_newest_first,
                inboxes::requests_after_a_cursor_feed_a_stream_until_deletion,
                inboxes::expired_inboxes_vanish_and_are_pruned,
                inboxes::another_platforms_inbox_is_not_found,
                inboxes::webhooks_pointing_at_an_inbox_are_found_by_url,
                inboxes::concurrent_captures_get_consecutive_numbers,
                inboxes::request_counts_follow_the_order_asked_and_the_platform,
                ui::sessions_expire_and_end_at_sign_out,
                ui::portal_links_are_used_once,
                ui::health_counts_finished_deliveries_by_hour,
                ui::event_search_filters_by_type_time_and_status,
                ui::recovery_preview_counts_what_recovery_sends,
                ui::delivery_search_filters_by_status_and_time,
            }

            backend_stories! { $backend, trials, available, $fresh;
                lifecycle::data_survives_reopening,
                secrets::secrets_are_encrypted_at_rest_and_the_key_rotates,
                secrets::plaintext_secrets_still_read_and_are_sealed_by_reencryption,
                concurrency::concurrent_publishes_all_commit,
                $($also_module :: $also_story,)*
            }
            }
        }
    };
}

/// One trial per story that takes a `&dyn Store`: a fresh database, opened once.
macro_rules! store_stories {
    ($backend:ident, $trials:ident, $available:ident, $fresh:expr; $($module:ident :: $story:ident),* $(,)?) => {
        $(
            $trials.push($available.trial(concat!(stringify!($backend), "::", stringify!($story)), || async {
                // The database outlives the store: `store` is declared second, so it is dropped first.
                let database = $fresh;
                let store = database.open().await.expect("a fresh store opens");
                crate::$module::$story(&*store).await;
            }));
        )*
    };
}

/// One trial per story that takes a `&dyn Backend` and opens stores itself.
macro_rules! backend_stories {
    ($backend:ident, $trials:ident, $available:ident, $fresh:expr; $($module:ident :: $story:ident),* $(,)?) => {
        $(
            $trials.push($available.trial(concat!(stringify!($backend), "::", stringify!($story)), || async {
                let database = $fresh;
                crate::$module::$story(&database).await;
            }));
        )*
    };
}

conformance_tests! {
    sqlite = crate::harness::Sqlite::fresh(),
    when crate::harness::Availability::Run,
    // SQLite serves one process per file, so at open every lease in the file is a dead process's and a second
    // opener is refused. A shared-server backend keeps leases across restarts and admits many nodes, so these
    // stories are SQLite's alone.
    also [
        lifecycle::leases_left_by_a_previous_process_are_cleared,
        lifecycle::a_second_opener_of_the_same_file_is_refused,
    ],
}

// PostgreSQL, on the server `HOOKLINE_TEST_POSTGRES_URL` names (ignored when unset, failing under `CI=true`):
// each test gets a database of its own. Several nodes share one database and leases outlive a node, so the
// SQLite-only stories above do not apply; these describe what several nodes rely on instead.
conformance_tests! {
    postgres = crate::harness::Postgres::fresh().await,
    when crate::harness::Availability::of_postgres(),
    also [
        nodes::leases_survive_reopening,
        nodes::concurrent_claims_never_hand_out_a_delivery_twice,
        nodes::a_late_result_after_a_takeover_is_logged_but_changes_nothing,
        nodes::nodes_starting_together_migrate_once,
        nodes::concurrent_failures_disable_a_webhook_once,
        nodes::two_nodes_claiming_notices_never_share_one,
        nodes::renewed_leases_keep_other_nodes_off,
        operations::a_read_only_postgres_is_unavailable_until_writable_again,
    ],
}
