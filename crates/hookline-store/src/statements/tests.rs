use super::*;

/// Every shared statement, by name.
fn all() -> Vec<(&'static str, Statement)> {
    vec![
        ("PING", PING),
        ("INSERT_PLATFORM", INSERT_PLATFORM),
        ("INSERT_API_KEY", INSERT_API_KEY),
        ("PLATFORM_BY_KEY", PLATFORM_BY_KEY),
        ("CUSTOM_EVENT_TYPES", CUSTOM_EVENT_TYPES),
        ("CUSTOM_EVENT_TYPE_EXISTS", CUSTOM_EVENT_TYPE_EXISTS),
        ("INSERT_EVENT_TYPE", INSERT_EVENT_TYPE),
        ("INSERT_WEBHOOK", INSERT_WEBHOOK),
        ("PLATFORM_WEBHOOKS", PLATFORM_WEBHOOKS),
        ("WEBHOOK_BY_ID", WEBHOOK_BY_ID),
        ("UPDATE_WEBHOOK", UPDATE_WEBHOOK),
        ("ROTATE_SECRET", ROTATE_SECRET),
        ("DELETE_WEBHOOK", DELETE_WEBHOOK),
        ("DELETE_WEBHOOK_ATTEMPTS", DELETE_WEBHOOK_ATTEMPTS),
        ("DELETE_WEBHOOK_DELIVERIES", DELETE_WEBHOOK_DELIVERIES),
        ("DELETE_WEBHOOK_HOURLY", DELETE_WEBHOOK_HOURLY),
        ("COUNT_HOURLY", COUNT_HOURLY),
        ("HOURLY_COUNTS", HOURLY_COUNTS),
        ("RELEASE_HELD", RELEASE_HELD),
        ("HOLD_PENDING", HOLD_PENDING),
        ("RETRY_DELIVERY", RETRY_DELIVERY),
        ("RECOVER_FAILED", RECOVER_FAILED),
        ("INSERT_EVENT", INSERT_EVENT),
        ("EVENT_BY_ID", EVENT_BY_ID),
        ("COUNT_EVENT_DELIVERIES", COUNT_EVENT_DELIVERIES),
        ("START_FAILING", START_FAILING),
        ("RESTORE_WEBHOOK", RESTORE_WEBHOOK),
        ("DEGRADE_WEBHOOK", DEGRADE_WEBHOOK),
        ("DISABLE_WEBHOOK", DISABLE_WEBHOOK),
        ("MARK_FAILING_NOTIFIED", MARK_FAILING_NOTIFIED),
        ("OPERATIONAL_SUBSCRIBER", OPERATIONAL_SUBSCRIBER),
        ("LATEST_NOTICE", LATEST_NOTICE),
        ("ABSORB_INTO_NOTICE", ABSORB_INTO_NOTICE),
        ("NOTICE_RECIPIENT", NOTICE_RECIPIENT),
        ("COUNT_UNDELIVERED", COUNT_UNDELIVERED),
        ("COUNT_RETRYING", COUNT_RETRYING),
        ("INSERT_NOTICE", INSERT_NOTICE),
        ("FINISH_NOTICE", FINISH_NOTICE),
    ]
}

/// The placeholder numbers in `text` (after `marker`), in order of appearance.
fn placeholders(text: &str, marker: char) -> Vec<usize> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(marker) {
        rest = &rest[at + 1..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        assert!(!digits.is_empty(), "a {marker} without a number in {text}");
        found.push(digits.parse().unwrap_or_else(|e| panic!("{e}")));
    }
    found
}

#[test]
fn both_forms_bind_the_same_parameters() {
    for (name, statement) in all() {
        let (postgres, sqlite) = (statement.postgres(), statement.sqlite());
        assert_eq!(postgres.replace('$', "?"), sqlite, "{name}");
        assert!(!sqlite.contains('$'), "{name}");
        let numbers = placeholders(postgres, '$');
        assert_eq!(numbers, placeholders(sqlite, '?'), "{name}");
        // Every parameter from 1 to the highest is used: a gap would shift what each backend binds.
        let highest = numbers.iter().copied().max().unwrap_or(0);
        for n in 1..=highest {
            assert!(numbers.contains(&n), "{name} skips ${n}");
        }
    }
}

#[test]
fn composed_statements_spell_out_their_columns() {
    assert_eq!(
        INSERT_WEBHOOK.postgres(),
        format!(
            "INSERT INTO webhooks ({WEBHOOK_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
        )
    );
    assert_eq!(INSERT_WEBHOOK.sqlite().matches('?').count(), WEBHOOK_COLUMNS.split(", ").count());
    let prefixed: Vec<String> = PLATFORM_COLUMNS.split(", ").map(|column| format!("p.{column}")).collect();
    assert!(PLATFORM_BY_KEY.postgres().starts_with(&format!("SELECT {} FROM", prefixed.join(", "))));
    assert_eq!(PING.sqlite(), "SELECT 1");
}
