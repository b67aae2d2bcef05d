//! URLs fit for a log line or an email: what may carry a secret is masked.
//!
//! A webhook URL is the receiver's to choose, and many receivers authenticate hookline by a token in it
//! (`?token=…`). The owner sees the whole URL through the API; everyone else (log readers, whoever an email
//! is forwarded to) sees it through [`redact_url`]: credentials, every query value and the fragment become
//! `***`, while scheme, host, port, path and query keys stay, so the URL is still recognisable.

/// What replaces a masked part.
pub const MASK: &str = "***";

/// `url` with its user name, password, query values and fragment masked.
pub fn redact_url(url: &url::Url) -> String {
    let mut redacted = url.clone();
    if !redacted.username().is_empty() {
        let _ = redacted.set_username(MASK);
    }
    if redacted.password().is_some() {
        let _ = redacted.set_password(Some(MASK));
    }
    if let Some(query) = url.query() {
        redacted.set_query(Some(&redact_query(query)));
    }
    if redacted.fragment().is_some() {
        redacted.set_fragment(Some(MASK));
    }
    redacted.to_string()
}

/// A URL kept as text (e.g. in a stored notice), redacted; text that is not a URL is not shown at all.
pub fn redact_url_text(text: &str) -> String {
    match url::Url::parse(text) {
        Ok(url) => redact_url(&url),
        Err(_) => "(unparsable URL)".to_owned(),
    }
}

/// `a=1&b&c=2` becomes `a=***&***&c=***`: a key with a value keeps its key, a bare word may itself be the token.
fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) => format!("{key}={MASK}"),
            None if pair.is_empty() => String::new(),
            None => MASK.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_in_a_url_are_masked_and_the_rest_kept() {
        let cases = [
            ("https://x.example/hook?token=s3cr3t", "https://x.example/hook?token=***"),
            ("https://x.example:8443/a/b?k=1&sig=abc&flag", "https://x.example:8443/a/b?k=***&sig=***&***"),
            ("https://user:pw@x.example/", "https://***:***@x.example/"),
            ("https://x.example/p#access_token=s3cr3t", "https://x.example/p#***"),
            ("https://x.example/plain", "https://x.example/plain"),
            ("https://x.example/?", "https://x.example/?"),
        ];
        for (input, expected) in cases {
            assert_eq!(redact_url_text(input), expected, "{input}");
        }
        assert_eq!(redact_url_text("not a url s3cr3t"), "(unparsable URL)");
    }
}
