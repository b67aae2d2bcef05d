//! `hookline trigger TYPE`: publishes a realistic sample event of a catalog type, taken from the server's
//! catalog (`GET /v1/event-types` serves a sample per built-in type), or the caller's `--data`.

use hookline_client::proto;
use serde_json::value::RawValue;

use super::connection::Global;
use super::exit::CliError;
use super::output;

/// `hookline trigger`.
#[derive(clap::Args)]
pub struct TriggerArgs {
    #[command(flatten)]
    pub global: Global,
    /// The event type, e.g. order.confirmed (`hookline trigger --list` shows the catalog).
    #[arg(required_unless_present = "list")]
    event_type: Option<String>,
    /// The data instead of the sample: a JSON object, or @file.json.
    #[arg(long)]
    data: Option<String>,
    /// The event id (an idempotency key) [default: generated].
    #[arg(long)]
    id: Option<String>,
    /// List the catalog's types and whether each has a sample.
    #[arg(long)]
    list: bool,
}

pub async fn run(args: TriggerArgs) -> Result<(), CliError> {
    let global = args.global;
    let client = global.client()?;
    let catalog = client.event_types().await?;
    let Some(event_type) = args.event_type.filter(|_| !args.list) else {
        if global.json {
            return output::json(&catalog);
        }
        let mut table = output::table(&["type", "sample", "description"]);
        for entry in &catalog {
            let sample = if entry.sample.is_some() { "yes" } else { "no: pass --data" };
            table.add_row(vec![entry.name.clone(), sample.to_owned(), entry.description.clone()]);
        }
        println!("{table}");
        return Ok(());
    };
    let data = match args.data.as_deref() {
        Some(text) => parse_data(text)?,
        None => sample(&catalog, &event_type)?,
    };
    let accepted = client.publish_with_id(args.id.as_deref(), &event_type, &data).await?;
    show_accepted(&global, &accepted)
}

/// The catalog's sample for `event_type`, or why there is none and what to do.
fn sample(catalog: &[proto::EventType], event_type: &str) -> Result<Box<RawValue>, CliError> {
    let entry = catalog.iter().find(|entry| entry.name == event_type).ok_or_else(|| {
        CliError::usage(format!("{event_type:?} is not in this platform's catalog"))
            .hint("`hookline trigger --list` shows the catalog; add your own type with POST /v1/event-types")
    })?;
    let sample = entry.sample.as_ref().ok_or_else(|| {
        CliError::usage(format!("{event_type} is your own type and has no sample payload"))
            .hint(r#"pass the data yourself: --data '{"key":"value"}' or --data @event.json"#)
    })?;
    serde_json::value::to_raw_value(sample).map_err(|error| CliError::local(error.to_string()))
}

/// Parses `--data`: a JSON object given inline or as `@path`, kept as written (it is delivered byte for byte).
pub fn parse_data(text: &str) -> Result<Box<RawValue>, CliError> {
    let (text, source) = match text.strip_prefix('@') {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|error| CliError::usage(format!("cannot read --data file {path}: {error}")))?;
            (text, path.to_owned())
        }
        None => (text.to_owned(), "--data".to_owned()),
    };
    let value: Box<RawValue> = serde_json::from_str(text.trim()).map_err(|error| {
        CliError::usage(format!("{source} is not valid JSON: {error}"))
            .hint(r#"quote it for the shell: --data '{"user_id":"usr_1"}'"#)
    })?;
    if !value.get().starts_with('{') {
        return Err(CliError::usage(format!("{source} must be a JSON object, {{…}}")));
    }
    Ok(value)
}

/// Prints a publish's answer.
pub fn show_accepted(global: &Global, accepted: &proto::EventAccepted) -> Result<(), CliError> {
    if global.json {
        return output::json(accepted);
    }
    let deliveries = match accepted.deliveries {
        0 => "no deliveries: no enabled webhook listens to this type".to_owned(),
        1 => "1 delivery".to_owned(),
        n => format!("{n} deliveries"),
    };
    println!(
        "Published {} {} → {deliveries} (`hookline events show {}` follows them).",
        accepted.event_type, accepted.id, accepted.id
    );
    Ok(())
}
