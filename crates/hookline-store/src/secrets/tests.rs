use super::*;

fn key(byte: u8) -> [u8; KEY_LEN] {
    [byte; KEY_LEN]
}

#[test]
fn a_sealed_secret_opens_with_its_key_and_owner_and_hides_the_plaintext() {
    let cipher = SecretCipher::new(&key(1), &[]).unwrap();
    let secret = Secret::generate();
    let stored = cipher.seal("wh_a", &secret).unwrap();
    assert!(stored.starts_with(&format!("enc:v1:{}:", key_id(&key(1)))), "{stored}");
    assert!(!stored.contains("whsec_"));
    assert!(!stored.contains(&secret.expose()[6..]));
    assert_eq!(cipher.open("wh_a", stored.clone()).unwrap(), secret);
    // Two seals of one secret differ (a fresh nonce each time).
    assert_ne!(cipher.seal("wh_a", &secret).unwrap(), stored);
    assert!(cipher.is_current(&stored));
    // Moved to another webhook's row: does not open.
    let moved = cipher.open("wh_b", stored.clone()).unwrap_err();
    assert!(moved.to_string().contains("database"), "{moved}");
    assert!(matches!(cipher.open_stored("wh_b", stored.clone()), Err(SecretsError::DoesNotOpen(_))));
    // A flipped byte in the ciphertext: does not open.
    let mut altered = stored.clone().into_bytes();
    let last = altered.len() - 3;
    altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(altered).unwrap();
    assert!(matches!(cipher.open_stored("wh_a", altered), Err(SecretsError::DoesNotOpen(_))));
}

#[test]
fn plaintext_rows_still_read_and_are_not_current() {
    let cipher = SecretCipher::new(&key(1), &[]).unwrap();
    let secret = Secret::generate();
    assert_eq!(cipher.open("wh_a", secret.expose().to_owned()).unwrap(), secret);
    assert!(!cipher.is_current(secret.expose()));
    assert!(SecretCipher::plaintext().is_current(secret.expose()));
    assert_eq!(SecretCipher::plaintext().seal("wh_a", &secret).unwrap(), secret.expose());
}

#[test]
fn rotation_opens_with_any_configured_key_and_seals_with_the_first() {
    let old = SecretCipher::new(&key(1), &[]).unwrap();
    let secret = Secret::generate();
    let sealed_old = old.seal("wh_a", &secret).unwrap();
    let both = SecretCipher::new(&key(2), &[key(1)]).unwrap();
    assert_eq!(both.open("wh_a", sealed_old.clone()).unwrap(), secret);
    assert!(!both.is_current(&sealed_old));
    let sealed_new = both.seal("wh_a", &secret).unwrap();
    assert!(both.is_current(&sealed_new));
    let new_only = SecretCipher::new(&key(2), &[]).unwrap();
    assert_eq!(new_only.open("wh_a", sealed_new.clone()).unwrap(), secret);
    assert!(
        matches!(new_only.open_stored("wh_a", sealed_old.clone()), Err(SecretsError::UnknownKey(id)) if id == key_id(&key(1)))
    );
    assert!(matches!(SecretCipher::plaintext().open_stored("wh_a", sealed_new.clone()), Err(SecretsError::NoKey)));
    // The start-up check names the missing key; with the right keys it passes.
    let rows = vec![("wh_a".to_owned(), sealed_old), ("wh_a".to_owned(), sealed_new)];
    assert!(matches!(new_only.check(rows.clone()), Err(SecretsError::UnknownKey(_))));
    both.check(rows).unwrap();
    assert!(matches!(SecretCipher::new(&key(2), &[key(2)]), Err(SecretsError::DuplicateKey(_))));
}

#[test]
fn keys_parse_from_base64_or_hex_and_nothing_else() {
    let generated = SecretCipher::generate_key();
    let bytes = SecretCipher::parse_key(&generated).unwrap();
    assert_ne!(bytes, [0; KEY_LEN]);
    assert_eq!(SecretCipher::parse_key(&format!(" {} \n", hex::encode(bytes))).unwrap(), bytes);
    for bad in ["", "short", &BASE64.encode([0u8; 16]), &"zz".repeat(32)] {
        assert!(SecretCipher::parse_key(bad).is_err(), "{bad:?}");
    }
    let cipher = SecretCipher::new(&bytes, &[]).unwrap();
    assert!(!format!("{cipher:?}").contains(&generated));
}

proptest::proptest! {
    #[test]
    fn any_secret_round_trips(text in "\\PC{0,80}", owner in "[a-z_0-9]{1,30}") {
        let cipher = SecretCipher::new(&key(7), &[key(8)]).unwrap();
        let secret = Secret::from_stored(text);
        let stored = cipher.seal(&owner, &secret).unwrap();
        proptest::prop_assert_eq!(cipher.open(&owner, stored).unwrap(), secret);
    }
}
