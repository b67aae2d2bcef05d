//! The commands are run by a real `sh` where one exists: `printf` stands in for curl and prints each argument
//! on its own line, so the test sees exactly the words curl would get.

use hookline_core::Timestamp;
use hookline_core::ids::{InboxId, RequestId};
use hookline_core::inbox::{CapturedRequest, Verdict};

use super::*;

fn captured(method: &str, path: &str, query: &str, headers: &[(&str, &str)], body: &[u8]) -> CapturedRequest {
    CapturedRequest {
        id: RequestId::generate(),
        inbox_id: InboxId::generate(),
        seq: 1,
        method: method.to_owned(),
        path: path.to_owned(),
        query: query.to_owned(),
        headers: headers.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect(),
        body: body.to_vec(),
        body_truncated: false,
        size: body.len() as u64,
        received_at: Timestamp::from_unix_millis(0),
        source_ip: None,
        verdict: Verdict::default(),
    }
}

/// The words a shell makes of `command`, with `curl` replaced by a printer of its arguments; `None` without
/// `/bin/sh`.
fn words(command: &str) -> Option<Vec<String>> {
    if !std::path::Path::new("/bin/sh").exists() {
        return None;
    }
    let script = format!("curl() {{ for a in \"$@\"; do printf '%s\\n--\\n' \"$a\"; done; }}\n{command}");
    let output = std::process::Command::new("/bin/sh").arg("-c").arg(script).output().unwrap();
    assert!(output.status.success(), "{command}: {}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8(output.stdout).unwrap();
    Some(text.split("\n--\n").filter(|w| !w.is_empty()).map(str::to_owned).collect())
}

#[test]
fn quoting_survives_quotes_dollars_and_newlines() {
    assert_eq!(quote("it's"), r"'it'\''s'");
    let body = "{\"a\":\"it's $HOME `id` \\n\"}\nsecond line";
    let request = captured(
        "POST",
        "/hooks/x y",
        "a=1&b=[2]",
        &[("Host", "example"), ("Content-Type", "application/json"), ("X-Quote", "'\"$(id)"), ("X-Empty", "")],
        body.as_bytes(),
    );
    let command = command("http://127.0.0.1:8080/in/inb_1", &request);
    assert!(!command.contains("Host"), "{command}");
    let Some(words) = words(&command) else { return };
    assert_eq!(
        words,
        [
            "-g",
            "-X",
            "POST",
            "http://127.0.0.1:8080/in/inb_1/hooks/x y?a=1&b=[2]",
            "-H",
            "Content-Type: application/json",
            "-H",
            "X-Quote: '\"$(id)",
            "-H",
            "X-Empty;",
            "--data-raw",
            body,
        ]
    );
}

#[test]
fn a_get_without_body_is_plain_and_the_root_path_adds_nothing() {
    let request = captured("GET", "/", "", &[("Accept", "*/*")], b"");
    assert_eq!(command("http://h/in/inb_1", &request), "curl -g 'http://h/in/inb_1' \\\n  -H 'Accept: */*'");
}

#[test]
fn a_binary_body_is_piped_from_base64_and_a_cut_one_says_so() {
    let mut request = captured("PUT", "/", "", &[], &[0xff, 0x00, b'\'', 0x80]);
    request.body_truncated = true;
    request.size = 10;
    let command = command("http://h/in/inb_1", &request);
    assert!(command.starts_with("# The body was cut when captured: this sends the 4 bytes kept of 10.\n"), "{command}");
    assert!(command.contains("printf '%s' '/wAngA==' | base64 -d | curl -g -X 'PUT' 'http://h/in/inb_1'"), "{command}");
    assert!(command.ends_with("--data-binary @-"), "{command}");
}
