//! A realistic sample `data` payload for every built-in event type, as static JSON text.
//!
//! `GET /v1/event-types` serves them beside each type, and `hookline trigger TYPE` publishes them, so a
//! receiver can be built and tested against the shape it will really get before the platform sends a thing.
//! The Tradly types carry the fields a marketplace's receiver reads (ids, names, amounts as integer minor units
//! with a currency, statuses); the operational ones are exactly what hookline itself publishes.

/// `(type, sample data)` for every built-in type, Tradly's and the operational ones.
pub const SAMPLES: [(&str, &str); 17] = [
    (
        "user.created",
        r#"{"user_id":"usr_8f2k1","email":"zoe.martin@example.com","first_name":"Zoe","last_name":"Martin","type":"customer","created_at":"2026-11-28T09:14:03Z"}"#,
    ),
    (
        "user.updated",
        r#"{"user_id":"usr_8f2k1","email":"zoe.martin@example.com","first_name":"Zoe","last_name":"Martin-Diaz","changed":["last_name"],"updated_at":"2026-11-28T10:02:44Z"}"#,
    ),
    (
        "listing.created",
        r#"{"listing_id":"lst_3m9q7","account_id":"acc_51xz2","title":"Handmade oak side table","price":{"amount":18900,"currency":"EUR"},"category":"furniture","status":"pending","created_at":"2026-11-28T09:20:11Z"}"#,
    ),
    (
        "listing.updated",
        r#"{"listing_id":"lst_3m9q7","account_id":"acc_51xz2","title":"Handmade oak side table","price":{"amount":17500,"currency":"EUR"},"changed":["price"],"updated_at":"2026-11-28T11:45:00Z"}"#,
    ),
    ("listing.deleted", r#"{"listing_id":"lst_3m9q7","account_id":"acc_51xz2","deleted_at":"2026-11-29T08:00:00Z"}"#),
    (
        "listing.approved",
        r#"{"listing_id":"lst_3m9q7","account_id":"acc_51xz2","status":"approved","approved_by":"usr_admin1","approved_at":"2026-11-28T12:30:00Z"}"#,
    ),
    (
        "listing.rejected",
        r#"{"listing_id":"lst_3m9q7","account_id":"acc_51xz2","status":"rejected","reason":"Photos do not show the item","rejected_by":"usr_admin1","rejected_at":"2026-11-28T12:31:00Z"}"#,
    ),
    (
        "account.created",
        r#"{"account_id":"acc_51xz2","owner_user_id":"usr_8f2k1","name":"Martin Woodworks","type":"seller","status":"pending","created_at":"2026-11-28T09:16:40Z"}"#,
    ),
    (
        "account.updated",
        r#"{"account_id":"acc_51xz2","owner_user_id":"usr_8f2k1","name":"Martin Woodworks","description":"Furniture made in Lyon","changed":["description"],"updated_at":"2026-11-28T13:05:12Z"}"#,
    ),
    (
        "account.deleted",
        r#"{"account_id":"acc_51xz2","owner_user_id":"usr_8f2k1","deleted_at":"2026-11-30T17:00:00Z"}"#,
    ),
    (
        "account.approved",
        r#"{"account_id":"acc_51xz2","status":"approved","approved_by":"usr_admin1","approved_at":"2026-11-28T14:00:00Z"}"#,
    ),
    (
        "account.rejected",
        r#"{"account_id":"acc_51xz2","status":"rejected","reason":"Business registration number is missing","rejected_by":"usr_admin1","rejected_at":"2026-11-28T14:01:00Z"}"#,
    ),
    (
        "order.confirmed",
        r#"{"order_id":"ord_7c4n0","buyer_user_id":"usr_2h6d9","account_id":"acc_51xz2","items":[{"listing_id":"lst_3m9q7","quantity":1,"unit_price":{"amount":17500,"currency":"EUR"}}],"total":{"amount":19400,"currency":"EUR"},"shipping":{"method":"standard","amount":1900},"confirmed_at":"2026-11-29T16:22:08Z"}"#,
    ),
    (
        "order.canceled",
        r#"{"order_id":"ord_7c4n0","buyer_user_id":"usr_2h6d9","account_id":"acc_51xz2","reason":"buyer_request","refund":{"amount":19400,"currency":"EUR"},"canceled_at":"2026-11-29T18:03:51Z"}"#,
    ),
    (
        "webhook.disabled",
        r#"{"webhook_id":"wh_06F8Z1C0R4K2J9QW3E5T7Y1U0B","webhook_url":"https://hooks.example.com/tradly","reason":"every attempt failed for 3 days","disabled_at":"2026-12-01T09:00:00.000Z"}"#,
    ),
    (
        "delivery.failed",
        r#"{"delivery_id":"dlv_06F8Z1D7M2P4Q6R8S0T2V4W6X8","webhook_id":"wh_06F8Z1C0R4K2J9QW3E5T7Y1U0B","webhook_url":"https://hooks.example.com/tradly","event_id":"evt_06F8Z1B5N7K9M1P3Q5R7S9T1V3","event_type":"order.confirmed","attempts":9,"last_error":"HTTP 503"}"#,
    ),
    (
        "webhook.recovered",
        r#"{"webhook_id":"wh_06F8Z1C0R4K2J9QW3E5T7Y1U0B","webhook_url":"https://hooks.example.com/tradly","recovered_at":"2026-12-01T09:30:00.000Z"}"#,
    ),
];

/// The sample `data` of a built-in type, as JSON object text; `None` for a platform's own types.
pub fn sample(event_type: &str) -> Option<&'static str> {
    SAMPLES.iter().find(|(name, _)| *name == event_type).map(|(_, sample)| *sample)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{BUILT_IN_EVENT_TYPES, OPERATIONAL_EVENT_TYPES};

    #[test]
    fn every_built_in_type_has_one_object_sample() {
        let built_in: Vec<&str> =
            BUILT_IN_EVENT_TYPES.iter().chain(OPERATIONAL_EVENT_TYPES.iter()).map(|(name, _)| *name).collect();
        let sampled: Vec<&str> = SAMPLES.iter().map(|(name, _)| *name).collect();
        assert_eq!(sampled, built_in, "one sample per built-in type, in catalog order");
        for (name, text) in SAMPLES {
            let value: serde_json::Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
            let object = value.as_object().unwrap_or_else(|| panic!("{name}: not an object"));
            assert!(object.len() >= 3, "{name}: a realistic sample has several fields");
        }
        assert_eq!(sample("invoice.paid"), None);
    }
}
