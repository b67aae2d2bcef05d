//! Copy-as-curl: a `curl` command line that sends a captured request again, as a POSIX shell reads it.
//!
//! Everything that comes from the request (method, path, query, header names and values, body) is put in single
//! quotes, inside which a shell expands nothing; a `'` is written `'\''`. A body that cannot be a shell argument
//! (not UTF-8, or holding a NUL byte) is piped in from base64 instead. `-g` stops curl from reading `[]` and
//! `{}` in the URL as globs, and `--data-raw` from reading a leading `@` as a file name.

use base64::Engine as _;
use hookline_core::inbox::CapturedRequest;

/// Headers curl writes itself from the command (or that belong to the old connection), left out.
const SKIPPED: [&str; 7] = ["host", "content-length", "connection", "transfer-encoding", "keep-alive", "te", "upgrade"];

/// `text` as one shell word in single quotes.
pub(crate) fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// The command that sends `request` again to `inbox_url` (the inbox's URL, without the request's sub-path).
pub(crate) fn command(inbox_url: &str, request: &CapturedRequest) -> String {
    let mut target = inbox_url.trim_end_matches('/').to_owned();
    if request.path != "/" {
        target.push_str(&request.path);
    }
    if !request.query.is_empty() {
        target.push('?');
        target.push_str(&request.query);
    }
    let text_body = std::str::from_utf8(&request.body).ok().filter(|body| !body.contains('\0'));
    let mut lines = Vec::new();
    let mut prefix = String::new();
    if request.body_truncated {
        prefix.push_str(&format!(
            "# The body was cut when captured: this sends the {} bytes kept of {}.\n",
            request.body.len(),
            request.size
        ));
    }
    if !request.body.is_empty() && text_body.is_none() {
        let encoded = base64::engine::general_purpose::STANDARD.encode(&request.body);
        prefix.push_str(&format!("printf '%s' {} | base64 -d | ", quote(&encoded)));
    }
    let mut first = "curl -g".to_owned();
    match request.method.as_str() {
        "GET" if request.body.is_empty() => {}
        "HEAD" => first.push_str(" --head"),
        method => first.push_str(&format!(" -X {}", quote(method))),
    }
    first.push(' ');
    first.push_str(&quote(&target));
    lines.push(first);
    for (name, value) in &request.headers {
        if SKIPPED.iter().any(|skipped| name.eq_ignore_ascii_case(skipped)) {
            continue;
        }
        // `Name;` is how curl is told to send a header with an empty value.
        let header = if value.is_empty() { format!("{name};") } else { format!("{name}: {value}") };
        lines.push(format!("-H {}", quote(&header)));
    }
    match text_body {
        _ if request.body.is_empty() => {}
        Some(body) => lines.push(format!("--data-raw {}", quote(body))),
        None => lines.push("--data-binary @-".to_owned()),
    }
    format!("{prefix}{}", lines.join(" \\\n  "))
}

#[cfg(test)]
mod tests;
