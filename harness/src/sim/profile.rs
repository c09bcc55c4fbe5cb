//! Named network profiles: the numbers a simulated device's link is drawn from.
//!
//! Sources and the reasoning behind each figure are in docs/sim.md, "Network profiles".
//! Over TCP a lost segment is felt as a retransmission delay, not as missing bytes, so `loss`
//! here is the chance that one write is held back by a retransmission timeout; long losses
//! are outages. `--swarm` draws figures around these (see [`super::spread`]).

use std::time::Duration;

/// How a device's link behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub name: &'static str,
    /// Device to broker, kbit/s; `None`: no serialisation delay.
    pub up_kbps: Option<u32>,
    /// Broker to device, kbit/s.
    pub down_kbps: Option<u32>,
    /// One-way delay.
    pub delay: Duration,
    /// The delay varies uniformly by up to this much either way.
    pub jitter: Duration,
    /// Chance that a write waits for a retransmission timeout.
    pub loss: f64,
    /// Drop-outs of the link, if any.
    pub outages: Option<Outages>,
    /// Where the numbers come from, in a few words (details in docs/sim.md).
    pub source: &'static str,
}

/// Periodic drop-outs.
#[derive(Debug, Clone, PartialEq)]
pub struct Outages {
    /// Time between the end of one outage and the start of the next, drawn uniformly.
    pub every: (Duration, Duration),
    /// Length of an outage, drawn uniformly.
    pub length: (Duration, Duration),
    /// Share of outages that are silent (no bytes pass, nothing is closed: keep alive has
    /// to notice); the others reset the connection at once.
    pub silent_share: f64,
}

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

const fn s(n: u64) -> Duration {
    Duration::from_secs(n)
}

impl Profile {
    /// The retransmission timeout a lost write waits: Linux's 200 ms floor, or two round
    /// trips when those are longer.
    pub fn rto(&self) -> Duration {
        (self.delay * 4).max(ms(200))
    }

    /// Every built-in profile.
    pub fn all() -> Vec<Profile> {
        let three_g = Profile {
            name: "3g",
            up_kbps: Some(330),
            down_kbps: Some(780),
            delay: ms(100),
            jitter: ms(25),
            loss: 0.01,
            outages: None,
            source: "Apple Network Link Conditioner, 3G Average/Lossy",
        };
        vec![
            Profile {
                name: "lan",
                up_kbps: None,
                down_kbps: None,
                delay: Duration::from_micros(100),
                jitter: Duration::ZERO,
                loss: 0.0,
                outages: None,
                source: "a switched LAN",
            },
            Profile {
                name: "wifi",
                up_kbps: Some(20_000),
                down_kbps: Some(50_000),
                delay: ms(3),
                jitter: ms(2),
                loss: 0.001,
                outages: None,
                source: "assumed: a good home Wi-Fi link",
            },
            Profile {
                name: "lte",
                up_kbps: Some(12_000),
                down_kbps: Some(12_000),
                delay: ms(18),
                jitter: ms(8),
                loss: 0.002,
                outages: None,
                source: "sitespeedio/throttle lte (RTT 35 ms); Loadero 4G loss",
            },
            three_g.clone(),
            Profile {
                name: "edge",
                up_kbps: Some(200),
                down_kbps: Some(240),
                delay: ms(400),
                jitter: ms(100),
                loss: 0.01,
                outages: None,
                source: "Apple Network Link Conditioner, Edge Average/Lossy; Loadero Edge",
            },
            Profile {
                name: "gprs-bad",
                up_kbps: Some(20),
                down_kbps: Some(80),
                delay: ms(650),
                jitter: ms(100),
                loss: 0.02,
                outages: None,
                source: "Loadero GPRS",
            },
            Profile {
                name: "satellite",
                up_kbps: Some(256),
                down_kbps: Some(1_000),
                delay: ms(600),
                jitter: ms(20),
                loss: 0.005,
                outages: None,
                source: "Loadero satellite phone; loss assumed",
            },
            Profile {
                name: "cellular-flaky",
                loss: 0.03,
                outages: Some(Outages {
                    every: (s(60), s(300)),
                    length: (s(2), s(30)),
                    silent_share: 0.5,
                }),
                source: "3G figures, Perfecto 'Unstable' loss; outage pattern assumed",
                ..three_g
            },
        ]
    }

    pub fn named(name: &str) -> Option<Profile> {
        Self::all().into_iter().find(|p| p.name == name)
    }

    pub fn names() -> Vec<&'static str> {
        Self::all().iter().map(|p| p.name).collect()
    }

    /// Time `bytes` take to leave at `kbps`.
    pub fn serialisation(bytes: usize, kbps: Option<u32>) -> Duration {
        match kbps {
            Some(k) if k > 0 => {
                Duration::from_secs_f64(bytes as f64 * 8.0 / (f64::from(k) * 1000.0))
            }
            _ => Duration::ZERO,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_profiles_exist_and_make_sense() {
        for name in [
            "lan",
            "wifi",
            "lte",
            "3g",
            "edge",
            "satellite",
            "cellular-flaky",
        ] {
            let p = Profile::named(name).unwrap_or_else(|| panic!("no profile {name}"));
            assert!((0.0..0.5).contains(&p.loss), "{name}");
            assert!(p.jitter <= p.delay, "{name}: jitter larger than the delay");
        }
        assert!(Profile::named("cellular-flaky").is_some_and(|p| p.outages.is_some()));
        assert_eq!(
            Profile::serialisation(1000, Some(8)),
            Duration::from_secs(1)
        );
        assert_eq!(Profile::serialisation(1000, None), Duration::ZERO);
    }
}
