//! A whole run: select scenarios, start the embedded broker when no target is given (or
//! simulate it, with `--sim`), run scenarios concurrently with a bound, and gather the
//! report.

use crate::catalogue::Catalogue;
use crate::engine::{RunOptions, ScenarioResult, run_scenario};
use crate::report::Report;
use crate::scenario::LoadedScenario;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;
use tokio::sync::Semaphore;

/// Where the broker under test is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The reference broker, started in-process on an ephemeral loopback port.
    Embedded,
    /// The reference broker inside the turmoil network simulator, in virtual time
    /// (`--sim`): one simulation per scenario, seeded from the run's seed.
    Simulated,
    /// `mqtt://host[:port]`.
    Remote {
        url: String,
        host: String,
        port: u16,
    },
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum TargetError {
    #[error("target {0:?} must look like mqtt://host:port")]
    Syntax(String),
    #[error("cannot resolve {0}: {1}")]
    Resolve(String, String),
    #[error("cannot start the embedded broker: {0}")]
    Embedded(String),
    /// The broker cannot be judged at all (a probe found why): one sentence for the user.
    #[error("{0}")]
    Unusable(String),
}

impl Target {
    pub fn parse(url: &str) -> Result<Self, TargetError> {
        let rest = url
            .strip_prefix("mqtt://")
            .or_else(|| url.strip_prefix("tcp://"))
            .ok_or_else(|| TargetError::Syntax(url.to_owned()))?;
        let rest = rest.trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) if !h.is_empty() => (
                h.trim_start_matches('[').trim_end_matches(']'),
                p.parse::<u16>()
                    .map_err(|_| TargetError::Syntax(url.to_owned()))?,
            ),
            Some(_) => return Err(TargetError::Syntax(url.to_owned())),
            None if !rest.is_empty() => (rest, 1883),
            None => return Err(TargetError::Syntax(url.to_owned())),
        };
        if host.contains('/') {
            return Err(TargetError::Syntax(url.to_owned()));
        }
        Ok(Self::Remote {
            url: url.to_owned(),
            host: host.to_owned(),
            port,
        })
    }
}

/// Keeps the filters' meaning in one place: a statement ID or a prefix of one
/// (`3.1.1/MQTT-3.3.1`), a tag, or a part of the path (`retain`, `scenarios/qos/`).
pub fn selected(s: &LoadedScenario, filters: &[String]) -> bool {
    filters.is_empty()
        || filters.iter().any(|f| {
            s.scenario.statements.iter().any(|id| {
                id.value == *f || (f.contains("/MQTT-") && id.value.starts_with(f.as_str()))
            }) || s.scenario.tags.iter().any(|t| t == f)
                || s.path.contains(f.as_str())
        })
}

/// Settings of a run.
#[derive(Debug, Clone)]
pub struct RunSettings {
    pub jobs: usize,
    pub seed: u64,
    pub expect_timeout: Duration,
    pub credentials: Option<crate::engine::runner::Credentials>,
    /// Capabilities stated beyond the broker's CONNACK (`--capabilities`).
    pub stated: Option<crate::engine::capabilities::Stated>,
}

/// Runs the scenarios against an address; `progress` is called after each scenario.
pub async fn run_against(
    addr: SocketAddr,
    scenarios: Vec<LoadedScenario>,
    settings: &RunSettings,
    progress: impl Fn(&ScenarioResult) + Send + Sync + 'static,
) -> Vec<ScenarioResult> {
    let mut opts = RunOptions::new(addr, settings.seed);
    opts.expect_timeout = settings.expect_timeout;
    opts.credentials = settings.credentials.clone();
    opts.stated = settings.stated.clone();
    let opts = Arc::new(opts);
    let permits = Arc::new(Semaphore::new(settings.jobs.max(1)));
    let progress = Arc::new(progress);
    let mut handles = Vec::new();
    for (index, scenario) in scenarios.into_iter().enumerate() {
        let opts = opts.clone();
        let permits = permits.clone();
        let progress = progress.clone();
        handles.push(tokio::spawn(async move {
            let _permit = permits.acquire_owned().await;
            let result = run_scenario(&scenario, index, &opts).await;
            progress(&result);
            (scenario, result)
        }));
    }
    let mut results = Vec::with_capacity(handles.len());
    for h in handles {
        match h.await {
            Ok((_, r)) => results.push(r),
            Err(e) => tracing::error!("a scenario task ended abnormally: {e}"),
        }
    }
    results
}

/// Probes the broker once per protocol version the scenarios speak. A broker that refuses
/// every connection, or speaks none of the versions, stops the run with the reason; the
/// scenarios of a version it does not speak are not applicable (returned apart, as results).
async fn check_versions(
    addr: SocketAddr,
    scenarios: Vec<LoadedScenario>,
    settings: &RunSettings,
) -> Result<(Vec<LoadedScenario>, Vec<ScenarioResult>), TargetError> {
    use crate::probe::{Verdict as Probed, judge, probe};
    use crate::scenario::model::VersionSpec;
    use mqttspec_codec::ProtocolVersion;
    let endpoint = crate::engine::Endpoint::Tcp(addr);
    let run_id = crate::engine::runner::run_id(settings.seed);
    let of = |s: &LoadedScenario| match s.scenario.version {
        VersionSpec::V311 => ProtocolVersion::V311,
        VersionSpec::V5 => ProtocolVersion::V5,
    };
    let mut versions: Vec<ProtocolVersion> = scenarios.iter().map(of).collect();
    versions.sort_by_key(|v| v.namespace());
    versions.dedup();
    let mut unspoken: Vec<(ProtocolVersion, String)> = Vec::new();
    for v in &versions {
        let creds = &settings.credentials;
        let outcome = probe(&endpoint, *v, creds, &run_id, settings.expect_timeout).await;
        let verdict = match &outcome {
            crate::probe::Probe::NoAnswer(_) => {
                let other = match v {
                    ProtocolVersion::V311 => ProtocolVersion::V5,
                    _ => ProtocolVersion::V311,
                };
                let o = probe(&endpoint, other, creds, &run_id, settings.expect_timeout).await;
                judge(*v, &outcome, Some(&o), creds)
            }
            _ => judge(*v, &outcome, None, creds),
        };
        match verdict {
            Probed::Go => {}
            Probed::Stop(why) => return Err(TargetError::Unusable(why)),
            Probed::VersionNotSpoken(why) => unspoken.push((*v, why)),
        }
    }
    if unspoken.len() == versions.len()
        && let Some((_, why)) = unspoken.first()
    {
        return Err(TargetError::Unusable(why.clone()));
    }
    let mut run = Vec::new();
    let mut declined = Vec::new();
    for s in scenarios {
        match unspoken.iter().find(|(v, _)| *v == of(&s)) {
            Some((_, why)) => declined.push(crate::engine::runner::not_applicable(&s, why)),
            None => run.push(s),
        }
    }
    Ok((run, declined))
}

/// Resolves a remote target to one socket address.
pub async fn resolve(host: &str, port: u16) -> Result<SocketAddr, TargetError> {
    let mut addrs = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| TargetError::Resolve(format!("{host}:{port}"), e.to_string()))?;
    addrs
        .next()
        .ok_or_else(|| TargetError::Resolve(format!("{host}:{port}"), "no address".into()))
}

/// Runs against a target, starting the embedded broker if asked, and builds the report.
pub async fn run(
    target: &Target,
    scenarios: Vec<LoadedScenario>,
    settings: &RunSettings,
    catalogue: &Catalogue,
    progress: impl Fn(&ScenarioResult) + Send + Sync + 'static,
) -> Result<Report, TargetError> {
    // Wall time: the report says how long the run took for the person waiting.
    let started = std::time::Instant::now();
    // What the reference broker offers beyond its CONNACK is known from its configuration.
    let with_stated;
    let settings = match target {
        Target::Embedded | Target::Simulated if settings.stated.is_none() => {
            with_stated = RunSettings {
                stated: Some(crate::embedded::capabilities(&crate::embedded::config())),
                ..settings.clone()
            };
            &with_stated
        }
        _ => settings,
    };
    let (addr, shown, broker) = match target {
        Target::Embedded => {
            let broker = mqttspec_broker::driver::start(
                SocketAddr::from(([127, 0, 0, 1], 0)),
                crate::embedded::config(),
            )
            .await
            .map_err(|e| TargetError::Embedded(e.to_string()))?;
            let addr = broker.local_addr;
            (
                addr,
                format!("embedded reference broker at {addr}"),
                Some(broker),
            )
        }
        Target::Remote { url, host, port } => (resolve(host, *port).await?, url.clone(), None),
        Target::Simulated => {
            return Ok(run_simulated(scenarios, settings, catalogue, progress, started).await);
        }
    };
    let (scenarios, mut declined) = match check_versions(addr, scenarios, settings).await {
        Ok(split) => split,
        Err(e) => {
            if let Some(b) = broker {
                b.shutdown().await;
            }
            return Err(e);
        }
    };
    let mut results = run_against(addr, scenarios, settings, progress).await;
    results.append(&mut declined);
    if let Some(b) = broker {
        b.shutdown().await;
    }
    Ok(Report::new(
        results,
        catalogue,
        shown,
        settings.seed,
        started.elapsed(),
        rerun_template(target, settings),
    ))
}

/// `--sim`: every scenario in a simulation of its own, on the simulator's threads.
async fn run_simulated(
    scenarios: Vec<LoadedScenario>,
    settings: &RunSettings,
    catalogue: &Catalogue,
    progress: impl Fn(&ScenarioResult) + Send + Sync + 'static,
    started: std::time::Instant,
) -> Report {
    let count = scenarios.len();
    let for_sim = settings.clone();
    let results = tokio::task::spawn_blocking(move || {
        crate::sim::scenarios::run_scenarios(
            scenarios,
            &for_sim,
            &crate::sim::scenarios::SimBroker::Reference(Box::new(crate::embedded::config())),
            &progress,
        )
    })
    .await
    .unwrap_or_else(|e| {
        tracing::error!("the simulator threads ended abnormally: {e}");
        Vec::new()
    });
    if results.len() != count {
        tracing::error!(
            "{} of {count} simulated scenarios gave no result",
            count - results.len()
        );
    }
    Report::new(
        results,
        catalogue,
        "the reference broker in the turmoil network simulator".to_owned(),
        settings.seed,
        started.elapsed(),
        rerun_template(&Target::Simulated, settings),
    )
}

/// The command that reruns one scenario, with `{scenario}` where its name goes: the same
/// target, user name, timeout and seed; the password is read from `MQTTSPEC_PASSWORD`,
/// never written out.
pub fn rerun_template(target: &Target, settings: &RunSettings) -> String {
    let mut cmd = "mqttspec run {scenario}".to_owned();
    match target {
        Target::Embedded => {}
        Target::Simulated => cmd.push_str(" --sim"),
        Target::Remote { url, .. } => {
            cmd.push_str(" --target ");
            cmd.push_str(&shell_word(url));
        }
    }
    if let Some(c) = &settings.credentials {
        cmd.push_str(" --username ");
        cmd.push_str(&shell_word(&c.username));
    }
    if let Some(file) = settings.stated.as_ref().and_then(|s| s.file.as_ref()) {
        cmd.push_str(" --capabilities ");
        cmd.push_str(&shell_word(&file.display().to_string()));
    }
    if settings.expect_timeout != DEFAULT_TIMEOUT {
        cmd.push_str(&format!(
            " --timeout {}ms",
            settings.expect_timeout.as_millis()
        ));
    }
    cmd.push_str(&format!(" --seed {}", settings.seed));
    cmd
}

/// The default wait for an expected packet (`--timeout`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// A word a POSIX shell reads back as it is: quoted when it holds anything but letters,
/// digits and `/._:-@+=,`.
pub fn shell_word(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._:-@+=,".contains(c));
    if plain {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_survive_a_shell() {
        assert_eq!(shell_word("retain/x"), "retain/x");
        assert_eq!(shell_word("mqtt://h:1883"), "mqtt://h:1883");
        assert_eq!(shell_word("a b"), "'a b'");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
        assert_eq!(shell_word(""), "''");
    }

    #[test]
    fn the_rerun_template_carries_target_user_timeout_and_seed() {
        let settings = RunSettings {
            jobs: 1,
            seed: 7,
            expect_timeout: Duration::from_millis(500),
            credentials: Some(crate::engine::runner::Credentials {
                username: "bob".into(),
                password: Some("pw".into()),
            }),
            stated: None,
        };
        let t = Target::parse("mqtt://127.0.0.1:1884").expect("url");
        assert_eq!(
            rerun_template(&t, &settings),
            "mqttspec run {scenario} --target mqtt://127.0.0.1:1884 --username bob --timeout 500ms --seed 7"
        );
    }

    #[test]
    fn target_urls() {
        assert_eq!(
            Target::parse("mqtt://127.0.0.1:1884"),
            Ok(Target::Remote {
                url: "mqtt://127.0.0.1:1884".into(),
                host: "127.0.0.1".into(),
                port: 1884
            })
        );
        assert!(matches!(
            Target::parse("mqtt://localhost"),
            Ok(Target::Remote { port: 1883, .. })
        ));
        assert!(
            matches!(Target::parse("mqtt://[::1]:1883"), Ok(Target::Remote { ref host, .. }) if host == "::1")
        );
        for bad in [
            "127.0.0.1:1883",
            "mqtt://",
            "mqtt://h:port",
            "mqtt://:1883",
            "http://x",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }
}
