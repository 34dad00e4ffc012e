//! A small command-line reader: `--name value` options, `--flag` switches and positional words.
//! The harness has a handful of options; a parser crate would cost more build time than it saves.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context, bail};

/// Parsed arguments of one subcommand.
#[derive(Debug, Default)]
pub struct Args {
    options: HashMap<String, Vec<String>>,
    flags: Vec<String>,
    /// Words that are not options.
    pub positional: Vec<String>,
}

impl Args {
    /// Reads `args`; `switches` names the options that take no value.
    pub fn parse(
        args: impl IntoIterator<Item = String>,
        switches: &[&str],
    ) -> anyhow::Result<Self> {
        let mut parsed = Args::default();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let Some(name) = arg.strip_prefix("--") else {
                parsed.positional.push(arg);
                continue;
            };
            if let Some((name, value)) = name.split_once('=') {
                parsed.push(name, value.to_owned());
            } else if switches.contains(&name) {
                parsed.flags.push(name.to_owned());
            } else {
                let value = args
                    .next()
                    .with_context(|| format!("--{name} needs a value"))?;
                parsed.push(name, value);
            }
        }
        Ok(parsed)
    }

    fn push(&mut self, name: &str, value: String) {
        self.options.entry(name.to_owned()).or_default().push(value);
    }

    /// The last value of `--name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.options
            .get(name)
            .and_then(|v| v.last())
            .map(String::as_str)
    }

    /// `--name` parsed as a number, or `default`.
    pub fn number<T: std::str::FromStr>(&self, name: &str, default: T) -> anyhow::Result<T>
    where
        T::Err: std::fmt::Display,
    {
        match self.get(name) {
            None => Ok(default),
            Some(value) => value
                .parse()
                .map_err(|e| anyhow::anyhow!("--{name} {value}: {e}")),
        }
    }

    /// `--name` parsed as a duration (`10s`, `500ms`, `2m`), or `default`.
    pub fn duration(&self, name: &str, default: Duration) -> anyhow::Result<Duration> {
        self.get(name).map_or(Ok(default), |value| {
            parse_duration(value).with_context(|| format!("--{name}"))
        })
    }
}

/// `10s`, `500ms`, `2m`, or a bare number of seconds.
pub fn parse_duration(text: &str) -> anyhow::Result<Duration> {
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let number: f64 = number
        .parse()
        .with_context(|| format!("not a duration: {text}"))?;
    let seconds = match unit {
        "ms" => number / 1000.0,
        "s" => number,
        "m" => number * 60.0,
        _ => bail!("unknown duration unit in {text} (use ms, s or m)"),
    };
    Ok(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_options_switches_and_durations() {
        let args = Args::parse(
            [
                "load",
                "--url",
                "u",
                "--duration=2s",
                "--force",
                "--pid",
                "1",
                "--pid",
                "2",
            ]
            .map(String::from),
            &["force"],
        )
        .unwrap_or_default();
        assert_eq!(args.positional, ["load"]);
        assert_eq!(args.get("url"), Some("u"));
        assert_eq!(args.get("pid"), Some("2"));
        assert_eq!(args.flags, ["force"]);
        assert_eq!(
            args.duration("duration", Duration::ZERO).ok(),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            parse_duration("250ms").ok(),
            Some(Duration::from_millis(250))
        );
        assert!(parse_duration("3h").is_err());
    }
}
