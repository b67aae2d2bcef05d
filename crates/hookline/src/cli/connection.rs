//! Which server and API key a command uses: `--server`/`--api-key`, else `HOOKLINE_SERVER`/`HOOKLINE_API_KEY`,
//! else the profile `hookline login` saved, else (server only) the address `hookline serve` listens on.

use hookline_client::Client;

use super::exit::CliError;
use super::profile;

/// The server used when nothing names one: `hookline serve`'s default listen address.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:8080";

/// Flags every client command takes, anywhere on its command line.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Global {
    /// The hookline server, e.g. `https://hooks.example.com` [default: the profile's, else `http://127.0.0.1:8080`].
    #[arg(long, env = "HOOKLINE_SERVER", global = true)]
    pub server: Option<String>,
    /// The platform's API key (hk_…) [default: the profile's].
    #[arg(long, env = "HOOKLINE_API_KEY", hide_env_values = true, global = true)]
    pub api_key: Option<String>,
    /// The saved profile to use (see `hookline login`).
    #[arg(long, env = "HOOKLINE_PROFILE", default_value = "default", global = true)]
    pub profile: String,
    /// Print one JSON document on stdout instead of a table (errors print as JSON on stderr).
    #[arg(long, global = true)]
    pub json: bool,
}

impl Global {
    /// The server URL and API key in effect, from flags, environment and profile.
    pub fn credentials(&self) -> Result<(String, Option<String>), CliError> {
        if let (Some(server), Some(api_key)) = (&self.server, &self.api_key) {
            // Both given: the profile file is not read, so a broken one cannot get in the way.
            return Ok((server.clone(), Some(api_key.clone())));
        }
        let saved = profile::load(&self.profile)?;
        let server = self
            .server
            .clone()
            .or_else(|| saved.as_ref().map(|p| p.server.clone()))
            .unwrap_or_else(|| DEFAULT_SERVER.to_owned());
        let api_key = self.api_key.clone().or_else(|| saved.map(|p| p.api_key));
        Ok((server, api_key))
    }

    /// A client for the server and key in effect; without a key, an auth error that says where to put one.
    pub fn client(&self) -> Result<Client, CliError> {
        let (server, api_key) = self.credentials()?;
        let api_key = api_key.ok_or_else(|| {
            CliError::auth("no API key").hint("pass --api-key hk_…, set HOOKLINE_API_KEY, or run `hookline login` once")
        })?;
        Client::new(&server, api_key).map_err(CliError::from)
    }
}
