//! Sign-in with a platform API key (checked by the API's own key lookup), and sign-out.
//!
//! The sign-in form has no session to derive a CSRF token from, so it uses a double-submit token: a random
//! value in a short-lived cookie and the same value in a hidden field. A page on another origin can neither
//! read the cookie nor set it, so it cannot submit a matching pair (no signing a victim into an attacker's
//! platform).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::errors::{UiError, render};
use super::form::FormData;
use super::layout::Layout;
use super::session::{self, SESSION_COOKIE, SIGN_IN_COOKIE, Signed};
use crate::{ApiError, AppState, auth};

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    layout: Layout,
    csrf: String,
    notice: Option<&'static str>,
    error: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct SignInQuery {
    #[serde(default)]
    expired: Option<String>,
}

fn page(
    token: &str,
    notice: Option<&'static str>,
    error: Option<String>,
    status: StatusCode,
    state: &AppState,
) -> Response {
    let page = SignInPage { layout: Layout::public("Sign in"), csrf: token.to_owned(), notice, error };
    let mut response = render(&page);
    *response.status_mut() = status;
    response.headers_mut().append(header::SET_COOKIE, session::set_cookie(state, SIGN_IN_COOKIE, token, 3600));
    response
}

/// `GET /ui/sign-in`: the form (or the overview, when already signed in).
pub(crate) async fn form(State(state): State<AppState>, Query(query): Query<SignInQuery>) -> Result<Response, UiError> {
    let notice = query.expired.map(|_| "Your session has ended. Sign in again.");
    Ok(page(&session::new_token()?, notice, None, StatusCode::OK, &state))
}

/// `POST /ui/sign-in`: checks the key, starts a session, goes to the overview.
pub(crate) async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: FormData,
) -> Result<Response, UiError> {
    let sent = form.get("csrf").unwrap_or_default();
    let expected = session::cookie(&headers, SIGN_IN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !session::constant_time_eq(sent.as_bytes(), expected.as_bytes()) {
        let error = "The sign-in form expired. Try again.".to_owned();
        return Ok(page(&session::new_token()?, None, Some(error), StatusCode::FORBIDDEN, &state));
    }
    let key = form.text("api_key").unwrap_or_default();
    let platform = match auth::key_for_token(&state, &key).await {
        // The dashboard changes things: a read-only key cannot open it.
        Ok((_, key)) if key.read_only => {
            let message = "This API key is read-only; sign in with a key that may write.".to_owned();
            return Ok(page(&session::new_token()?, None, Some(message), StatusCode::FORBIDDEN, &state));
        }
        Ok((platform, _)) => platform,
        Err(ApiError::Unauthorized(message)) => {
            return Ok(page(&session::new_token()?, None, Some(message.to_owned()), StatusCode::UNAUTHORIZED, &state));
        }
        Err(other) => return Err(other.into()),
    };
    let cookie = session::start(&state, &platform.id).await?;
    let mut response = Redirect::to("/ui/").into_response();
    response.headers_mut().append(header::SET_COOKIE, cookie);
    response.headers_mut().append(header::SET_COOKIE, session::set_cookie(&state, SIGN_IN_COOKIE, "", 0));
    Ok(response)
}

/// `POST /ui/sign-out`: deletes the session and its cookie.
pub(crate) async fn sign_out(
    State(state): State<AppState>,
    signed: Signed,
    form: FormData,
) -> Result<Response, UiError> {
    signed.check(&form)?;
    signed.end(&state).await?;
    let mut response = Redirect::to("/ui/sign-in").into_response();
    response.headers_mut().append(header::SET_COOKIE, session::set_cookie(&state, SESSION_COOKIE, "", 0));
    Ok(response)
}
