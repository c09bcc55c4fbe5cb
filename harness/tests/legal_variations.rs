//! The suite fails no broker for what MQTT 3.1.1 allows. The reference broker has test-only
//! legal variations (broker-under-test/src/core/faults/variations.rs: retained messages
//! before the SUBACK, lower grants, refused keep alive 0 or empty client ids, early keep
//! alive closes, extra copies, '$' publishes dropped, PUBREL delayed, offline QoS 0 kept,
//! size limits, one message in flight): under each one the whole built-in suite must give
//! no failure and no harness error, only pass or not applicable. And the scenarios a
//! variation concerns must come out as stated below: passing where they accept the
//! alternative, not applicable (with the scenario's own reason) where the broker declines
//! what they need.

mod common;

use mqttspec::engine::{ScenarioResult, Verdict};
use mqttspec::run::{RunSettings, run_against};
use mqttspec::scenario::suite;
use mqttspec_broker::config::Variations;
use mqttspec_broker::{Config, driver};
use std::net::SocketAddr;
use std::time::Duration;

use Verdict::{NotApplicable as Na, Pass};

/// A configuration of the reference broker that 3.1.1 allows, with the scenarios it
/// concerns and the verdict each must get.
struct Case {
    name: &'static str,
    config: Config,
    concerned: &'static [(&'static str, Verdict)],
}

fn variation(name: &'static str, concerned: &'static [(&'static str, Verdict)]) -> Case {
    Case {
        name,
        config: Config {
            variations: Variations::only(name).expect("a known variation"),
            ..mqttspec::embedded::config()
        },
        concerned,
    }
}

fn cases() -> Vec<Case> {
    let mut cases = vec![
        variation(
            "retained_before_suback",
            &[
                ("retain/retained-sent-on-subscribe.yaml", Pass),
                ("retain/empty-retained-clears-and-is-forwarded.yaml", Pass),
                ("retain/retain-0-leaves-retained-alone.yaml", Pass),
                ("retain/retained-qos0-replaces-earlier.yaml", Pass),
                ("session/retained-message-outlives-session.yaml", Pass),
                ("subscribe/resubscribe-resends-retained.yaml", Pass),
                ("will/will-retain-1-published-retained.yaml", Pass),
            ],
        ),
        variation(
            "grant_at_most_qos1",
            &[
                ("delivery/qos2-outbound-flow.yaml", Na),
                ("delivery/qos2-inbound-flow.yaml", Pass),
                (
                    "delivery/delivered-qos-is-minimum-of-published-and-granted.yaml",
                    Na,
                ),
                ("session/offline-qos1-qos2-delivered-on-resume.yaml", Pass),
                ("session/inflight-qos2-redelivered-with-dup.yaml", Na),
                ("subscribe/multiple-filters-one-suback.yaml", Pass),
                ("subscribe/suback-codes-follow-filter-order.yaml", Pass),
                ("will/will-qos1-delivered-at-qos1.yaml", Pass),
                ("will/will-qos2-delivered-at-qos2.yaml", Na),
                ("malformed/pubrec-reserved-flags-closes.yaml", Na),
            ],
        ),
        variation(
            "grant_qos0_only",
            &[
                ("retain/retained-sent-on-subscribe.yaml", Na),
                (
                    "delivery/qos0-forwarded-with-dup-0-and-no-packet-id.yaml",
                    Pass,
                ),
                ("delivery/qos2-inbound-flow.yaml", Pass),
                ("subscribe/multiple-filters-one-suback.yaml", Pass),
                ("subscribe/suback-codes-follow-filter-order.yaml", Pass),
                ("topics/long-topic-name-delivered.yaml", Pass),
                ("will/will-qos1-delivered-at-qos1.yaml", Na),
            ],
        ),
        variation(
            "refuse_keepalive_zero",
            &[("keepalive/keepalive-zero-idle-client-still-served.yaml", Na)],
        ),
        variation(
            "refuse_empty_client_id",
            &[
                (
                    "connect/empty-client-id-clean-session-gets-unique-id.yaml",
                    Na,
                ),
                (
                    "connect/empty-client-id-persistent-session-rejected.yaml",
                    Pass,
                ),
            ],
        ),
        variation(
            "keepalive_close_at_1x",
            &[
                ("keepalive/silent-client-closed-after-1-5x.yaml", Pass),
                ("keepalive/pingreq-postpones-keepalive-close.yaml", Pass),
                ("keepalive/regular-pingreq-keeps-connection-open.yaml", Pass),
                (
                    "keepalive/publish-activity-keeps-connection-open.yaml",
                    Pass,
                ),
                ("will/will-published-on-keepalive-timeout.yaml", Pass),
            ],
        ),
        variation(
            "keepalive_zero_closed_when_idle",
            &[("keepalive/keepalive-zero-idle-client-still-served.yaml", Na)],
        ),
        variation(
            "copy_per_subscription",
            &[("delivery/overlapping-subscriptions-highest-qos.yaml", Pass)],
        ),
        variation(
            "drop_dollar_publishes",
            &[
                (
                    "topics/leading-wildcard-does-not-match-dollar-topics.yaml",
                    Na,
                ),
                ("topics/hash-does-not-match-dollar-topics.yaml", Na),
            ],
        ),
        variation(
            "close_on_dollar_publish",
            &[
                (
                    "topics/leading-wildcard-does-not-match-dollar-topics.yaml",
                    Na,
                ),
                ("topics/hash-does-not-match-dollar-topics.yaml", Na),
            ],
        ),
        variation(
            "close_on_dollar_subscribe",
            &[
                (
                    "topics/leading-wildcard-does-not-match-dollar-topics.yaml",
                    Na,
                ),
                ("topics/hash-does-not-match-dollar-topics.yaml", Na),
            ],
        ),
        variation(
            "pubrel_delayed",
            &[
                (
                    "delivery/delivered-qos-is-minimum-of-published-and-granted.yaml",
                    Pass,
                ),
                ("delivery/qos2-outbound-flow.yaml", Pass),
                ("session/offline-qos1-qos2-delivered-on-resume.yaml", Pass),
                ("session/inflight-pubrel-resent-on-reconnect.yaml", Pass),
                ("unsubscribe/unsubscribe-completes-inflight-qos2.yaml", Pass),
                ("will/will-qos2-delivered-at-qos2.yaml", Pass),
            ],
        ),
        variation(
            "close_on_out_of_order_puback",
            &[("delivery/server-packet-ids-unique-in-flight.yaml", Pass)],
        ),
        variation(
            "queue_qos0_offline",
            &[("session/session-keyed-by-client-id.yaml", Pass)],
        ),
        variation(
            "topic_length_limit_1024",
            &[("topics/long-topic-name-delivered.yaml", Na)],
        ),
    ];
    cases.push(Case {
        name: "max_inflight 1",
        config: Config {
            max_inflight: 1,
            ..mqttspec::embedded::config()
        },
        concerned: &[
            ("delivery/server-packet-ids-unique-in-flight.yaml", Na),
            ("delivery/queued-messages-keep-publish-order.yaml", Pass),
        ],
    });
    cases.push(Case {
        name: "max_packet_size 16 KiB",
        config: Config {
            max_packet_size: 16 * 1024,
            ..mqttspec::embedded::config()
        },
        concerned: &[
            ("delivery/payloads-delivered-byte-for-byte.yaml", Na),
            ("delivery/payload-of-1-mib-delivered-byte-for-byte.yaml", Na),
            ("topics/long-topic-name-delivered.yaml", Na),
        ],
    });
    cases
}

/// A not-applicable verdict whose reason starts with the scenario's own words (the engine
/// appends what the broker did in parentheses).
fn has_own_reason(r: &ScenarioResult) -> bool {
    r.reason
        .as_deref()
        .is_some_and(|reason| reason.chars().next().is_some_and(|c| c.is_alphanumeric()))
}

async fn run_case(case: &Case) -> Vec<String> {
    let catalogue = mqttspec::catalogue::Catalogue::builtin().expect("catalogue");
    let scenarios = suite::load_embedded(&catalogue).expect("the built-in suite loads");
    let broker = driver::start(SocketAddr::from(([127, 0, 0, 1], 0)), case.config.clone())
        .await
        .expect("start the reference broker");
    let settings = RunSettings {
        jobs: 8,
        seed: 5,
        expect_timeout: Duration::from_secs(2),
        credentials: None,
        stated: Some(mqttspec::embedded::capabilities(&case.config)),
    };
    let results = run_against(broker.local_addr, scenarios, &settings, |_| {}).await;
    broker.shutdown().await;
    let mut problems = Vec::new();
    for r in &results {
        if matches!(r.verdict, Verdict::Fail | Verdict::Error) {
            problems.push(format!("{}: {}", case.name, common::verdicts::describe(r)));
        }
        if r.verdict == Na && !has_own_reason(r) {
            problems.push(format!(
                "{}: {} not applicable without a reason of its own: {:?}",
                case.name, r.path, r.reason
            ));
        }
    }
    for (path, want) in case.concerned {
        match results.iter().find(|r| r.path.ends_with(path)) {
            None => problems.push(format!("{}: no scenario {path}", case.name)),
            Some(r) if r.verdict != *want => problems.push(format!(
                "{}: {path} is {:?}, expected {want:?} ({:?})",
                case.name, r.verdict, r.reason
            )),
            Some(_) => {}
        }
    }
    problems
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_scenario_fails_a_broker_for_a_legal_variation() {
    // Every variation of the broker has a case here.
    let cases = cases();
    for name in Variations::NAMES {
        assert!(
            cases.iter().any(|c| c.name == *name),
            "variation {name} has no case"
        );
    }
    // Two brokers at a time: each run is mostly waiting.
    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(2));
    let tasks: Vec<_> = cases
        .into_iter()
        .map(|case| {
            let permits = permits.clone();
            tokio::spawn(async move {
                let _permit = permits.acquire_owned().await;
                run_case(&case).await
            })
        })
        .collect();
    let mut problems = Vec::new();
    for t in tasks {
        problems.extend(t.await.expect("a variation run completes"));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
