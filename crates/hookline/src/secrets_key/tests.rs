use super::*;

const KEY: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";

#[test]
fn keys_come_from_the_value_or_a_file_and_bad_ones_are_configuration_errors() {
    let parsed = SecretKeys::parse(Some(KEY), None, &[]).unwrap();
    assert_eq!(parsed.current, Some([1; KEY_LEN]));
    assert!(!format!("{parsed:?}").contains(KEY), "keys are never printed");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("key");
    std::fs::write(&file, format!("{}\n", hex::encode([2u8; KEY_LEN]))).unwrap();
    assert_eq!(SecretKeys::parse(None, Some(&file), &[KEY.to_owned()]).unwrap().previous, vec![[1; KEY_LEN]]);

    let error = |result: anyhow::Result<SecretKeys>| format!("{:#}", result.expect_err("refused"));
    assert!(error(SecretKeys::parse(Some("short"), None, &[])).contains("secrets.key"));
    assert!(error(SecretKeys::parse(Some(KEY), Some(&file), &[])).contains("not both"));
    assert!(error(SecretKeys::parse(None, None, &[KEY.to_owned()])).contains("needs secrets.key"));
    assert!(error(SecretKeys::parse(None, Some(&dir.path().join("missing")), &[])).contains("failed to read"));
    assert!(error(SecretKeys::parse(Some(KEY), None, &["nope".to_owned()])).contains("previous_keys"));
}

#[test]
fn a_generated_key_is_kept_owner_only_and_reused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data/secrets.key");
    let first = generated_key(&path).unwrap();
    assert_eq!(generated_key(&path).unwrap(), first);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }
    std::fs::write(&path, "garbage").unwrap();
    assert!(generated_key(&path).is_err());
}
