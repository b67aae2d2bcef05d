//! The guard table-tested, then the API's JSON extraction fed arbitrary bytes and generated JSON (proptest).

use axum::extract::{FromRequest, Request};
use axum::response::IntoResponse;
use hookline_proto as proto;
use proptest::prelude::*;

use super::*;
use crate::json::ApiJson;

fn nested(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

#[test]
fn depth_and_surrogates_are_refused_and_everything_else_passes() {
    let deep = nested(500_000);
    let cases: Vec<(&str, Result<(), Refusal>)> = vec![
        (r#"{"data":{"a":[1,2,{"b":null}]}}"#, Ok(())),
        (&deep, Err(Refusal::TooDeep { offset: MAX_DEPTH })),
        // Brackets inside strings, escaped quotes included, are text, not nesting.
        (r#"{"s":"[[[[{{{{\"[[[["}"#, Ok(())),
        (r#"{"pair":"\ud83d\ude00","bmp":"\u00e9\uFFFF"}"#, Ok(())),
        (r#"{"lone":"\ud800"}"#, Err(Refusal::LoneSurrogate { offset: 9, escape: r"\ud800".into() })),
        (r#"{"low":"\uDC00x"}"#, Err(Refusal::LoneSurrogate { offset: 8, escape: r"\uDC00".into() })),
        (r#"{"reversed":"\ude00\ud83d"}"#, Err(Refusal::LoneSurrogate { offset: 13, escape: r"\ude00".into() })),
        (r#"{"unpaired":"\ud83d\u0041"}"#, Err(Refusal::LoneSurrogate { offset: 13, escape: r"\ud83d".into() })),
        (r#"{"cut":"\ud83d"#, Err(Refusal::LoneSurrogate { offset: 8, escape: r"\ud83d".into() })),
        // Malformed escapes are the parser's to refuse.
        (r#"{"bad":"\u12"}"#, Ok(())),
        (r#"\"#, Ok(())),
    ];
    for (body, expected) in cases {
        assert_eq!(check(body.as_bytes()), expected, "{}", &body[..body.len().min(60)]);
    }
    assert_eq!(check(nested(MAX_DEPTH).as_bytes()), Ok(()));
    assert_eq!(check(nested(MAX_DEPTH + 1).as_bytes()), Err(Refusal::TooDeep { offset: MAX_DEPTH }));
}

/// Runs the publish route's extractor on `body`: Ok, or the error's status and code.
fn extract(body: Vec<u8>) -> Result<(), (u16, String)> {
    let request = Request::builder()
        .method("POST")
        .uri("/v1/events")
        .header("content-type", "application/json")
        .body(axum::body::Body::from(body))
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    match runtime.block_on(ApiJson::<proto::PublishEvent>::from_request(request, &())) {
        Ok(_) => Ok(()),
        Err(error) => {
            let code = match &error {
                ApiError::BadRequest { code, .. } => (*code).to_owned(),
                other => format!("{other:?}"),
            };
            Err((error.into_response().status().as_u16(), code))
        }
    }
}

#[test]
fn the_publish_extractor_refuses_what_serde_json_alone_would_store() {
    let deep = format!(r#"{{"type":"a.b","data":{{"x":{}}}}}"#, nested(100_000));
    assert_eq!(extract(deep.into_bytes()), Err((400, "invalid_json".into())));
    let lone = r#"{"type":"a.b","data":{"x":"\ud800"}}"#;
    assert_eq!(extract(lone.into()), Err((400, "invalid_json".into())));
    assert_eq!(extract(r#"{"type":"a.b","data":{"x":"\ud83d\ude00"}}"#.into()), Ok(()));
}

/// A JSON value nested `depth` levels deep (arrays and objects alternating) around `leaf`.
fn wrap(depth: usize, leaf: &str) -> String {
    let mut text = leaf.to_owned();
    for level in 0..depth {
        text = if level % 2 == 0 { format!("[{text}]") } else { format!(r#"{{"k":{text}}}"#) };
    }
    text
}

/// `text` written entirely as `\uXXXX` escapes of its UTF-16 code units, as some JSON encoders do.
fn utf16_escaped(text: &str) -> String {
    text.encode_utf16().map(|unit| format!("\\u{unit:04x}")).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_are_accepted_or_refused_with_a_4xx(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        check(&body).ok();
        if let Err((status, _)) = extract(body) {
            prop_assert!((400..500).contains(&status), "status {status}");
        }
    }

    #[test]
    fn nesting_is_accepted_up_to_the_limit_and_refused_past_it(depth in 0usize..300, leaf in any::<String>()) {
        let leaf = serde_json::to_string(&leaf).unwrap();
        // The body's own object and `data`'s object are two levels.
        let body = format!(r#"{{"type":"a.b","data":{{"v":{}}}}}"#, wrap(depth, &leaf));
        let result = extract(body.into_bytes());
        if depth + 2 <= MAX_DEPTH {
            prop_assert_eq!(result, Ok(()));
        } else {
            prop_assert_eq!(result, Err((400, "invalid_json".to_owned())));
        }
    }

    #[test]
    fn any_text_escaped_as_utf16_passes_and_a_lone_surrogate_does_not(
        text in any::<String>(),
        unit in 0xD800u16..=0xDFFF,
        split in any::<prop::sample::Index>(),
    ) {
        let good = format!(r#"{{"type":"a.b","data":{{"v":"{}"}}}}"#, utf16_escaped(&text));
        prop_assert_eq!(extract(good.into_bytes()), Ok(()));
        // A lone surrogate inserted between two whole characters is never half of a pair.
        let chars: Vec<char> = text.chars().collect();
        let at = split.index(chars.len() + 1);
        let before: String = chars[..at].iter().collect();
        let after: String = chars[at..].iter().collect();
        let bad = format!(
            r#"{{"type":"a.b","data":{{"v":"{}\u{unit:04X}{}"}}}}"#,
            utf16_escaped(&before),
            utf16_escaped(&after)
        );
        prop_assert_eq!(extract(bad.into_bytes()), Err((400, "invalid_json".to_owned())));
    }
}
