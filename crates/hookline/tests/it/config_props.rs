//! The configuration's duration and schedule settings, fed generated text (proptest, 256 cases): validation
//! never panics, a refusal names the setting, and what is accepted is what was written.

use std::time::Duration;

use hookline::config::{Overrides, RawConfig};
use hookline_core::time::format_duration;
use proptest::prelude::*;

fn defaults() -> RawConfig {
    RawConfig::load(&Overrides { database_url: Some("sqlite:///tmp/hookline-props.db".into()), ..Overrides::default() })
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_schedule_text_is_validated_without_panicking(text in "[0-9a-z, .-]{0,40}|.{0,40}") {
        let mut raw = defaults();
        raw.delivery.retry_schedule = text.clone();
        match raw.validate() {
            Ok(config) => {
                let written = config.delivery.retry.schedule.iter().map(|d| format_duration(*d)).collect::<Vec<_>>();
                let mut again = defaults();
                again.delivery.retry_schedule = written.join(",");
                prop_assert_eq!(again.validate().unwrap().delivery.retry.schedule, config.delivery.retry.schedule);
            }
            Err(error) => prop_assert!(format!("{error:#}").contains("retry_schedule"), "{error:#}"),
        }
    }

    #[test]
    fn any_timeout_text_is_validated_without_panicking(text in "[0-9]{0,22}(ms|s|m|h|d|x)?|.{0,20}") {
        let mut raw = defaults();
        raw.delivery.timeout = text.clone();
        // A timeout must stay below the lease (25s by default).
        match raw.validate() {
            Ok(config) => prop_assert!(config.delivery.timeout < config.delivery.lease),
            Err(error) => {
                let message = format!("{error:#}");
                prop_assert!(message.contains("delivery.timeout"), "{message}");
            }
        }
    }

    #[test]
    fn a_written_schedule_is_the_schedule_used(steps in prop::collection::vec(1u64..=86_400_000, 0..10)) {
        let schedule: Vec<Duration> = steps.into_iter().map(Duration::from_millis).collect();
        let mut raw = defaults();
        raw.delivery.retry_schedule = schedule.iter().map(|d| format_duration(*d)).collect::<Vec<_>>().join(",");
        prop_assert_eq!(raw.validate().unwrap().delivery.retry.schedule, schedule);
    }
}
