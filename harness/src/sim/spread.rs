//! A named profile's ranges, and profiles drawn from them (`mqttspec sim --swarm`).
//!
//! A named profile is one point; real links of that kind scatter around it. Each figure may
//! stray by a fixed factor range, the same for every profile, so that one table in
//! docs/sim.md says what a swarm explores. Drawing takes the run's seed, so a drawn profile
//! is replayed by its seed alone.

use super::profile::{Outages, Profile};
use super::rng::Rng;
use serde::Serialize;
use std::fmt;
use std::time::Duration;

/// Factor ranges, applied to the named profile's figure.
pub const BANDWIDTH: (f64, f64) = (0.5, 1.5);
pub const DELAY: (f64, f64) = (0.5, 2.0);
pub const JITTER: (f64, f64) = (0.5, 2.0);
pub const LOSS: (f64, f64) = (0.0, 2.0);
pub const OUTAGE_EVERY: (f64, f64) = (0.5, 1.5);
pub const OUTAGE_LENGTH: (f64, f64) = (0.5, 1.5);
/// Share of silent outages, drawn whole: which kind dominates changes what keep alive sees.
pub const SILENT_SHARE: (f64, f64) = (0.0, 1.0);
/// No drawn loss above this: past it a TCP link is an outage, which `outages` models.
pub const MAX_LOSS: f64 = 0.2;

fn factor(rng: &mut Rng, (lo, hi): (f64, f64)) -> f64 {
    lo + (hi - lo) * rng.unit()
}

fn scale_kbps(k: Option<u32>, f: f64) -> Option<u32> {
    k.map(|k| ((f64::from(k) * f).round() as u32).max(1))
}

/// `profile` with every figure drawn within its range. Jitter stays at most the delay (a
/// delay never goes below zero) and an outage's shortest gap at most its longest.
pub fn draw(profile: &Profile, rng: &mut Rng) -> Profile {
    let delay = profile.delay.mul_f64(factor(rng, DELAY));
    let jitter = profile.jitter.mul_f64(factor(rng, JITTER)).min(delay);
    let up = factor(rng, BANDWIDTH);
    let down = factor(rng, BANDWIDTH);
    let loss = (profile.loss * factor(rng, LOSS)).min(MAX_LOSS);
    let outages = profile.outages.as_ref().map(|o| {
        let mut pair = |(lo, hi): (Duration, Duration), range| {
            let (a, b) = (
                lo.mul_f64(factor(rng, range)),
                hi.mul_f64(factor(rng, range)),
            );
            (a.min(b), a.max(b))
        };
        let every = pair(o.every, OUTAGE_EVERY);
        let length = pair(o.length, OUTAGE_LENGTH);
        Outages {
            every,
            length,
            silent_share: factor(rng, SILENT_SHARE),
        }
    });
    Profile {
        up_kbps: scale_kbps(profile.up_kbps, up),
        down_kbps: scale_kbps(profile.down_kbps, down),
        delay,
        jitter,
        loss,
        outages,
        ..profile.clone()
    }
}

/// A profile's figures, as a report shows them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    pub name: &'static str,
    pub up_kbps: Option<u32>,
    pub down_kbps: Option<u32>,
    pub delay_ms: f64,
    pub jitter_ms: f64,
    pub loss: f64,
    /// Gap between outages and their length, in seconds, each (shortest, longest).
    pub outage_every_s: Option<(f64, f64)>,
    pub outage_length_s: Option<(f64, f64)>,
    pub outage_silent_share: Option<f64>,
}

impl From<&Profile> for Figures {
    fn from(p: &Profile) -> Self {
        let secs = |(a, b): (Duration, Duration)| (a.as_secs_f64(), b.as_secs_f64());
        Self {
            name: p.name,
            up_kbps: p.up_kbps,
            down_kbps: p.down_kbps,
            delay_ms: p.delay.as_secs_f64() * 1e3,
            jitter_ms: p.jitter.as_secs_f64() * 1e3,
            loss: p.loss,
            outage_every_s: p.outages.as_ref().map(|o| secs(o.every)),
            outage_length_s: p.outages.as_ref().map(|o| secs(o.length)),
            outage_silent_share: p.outages.as_ref().map(|o| o.silent_share),
        }
    }
}

impl fmt::Display for Figures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kbps = |k: Option<u32>| k.map_or("unlimited".to_owned(), |k| k.to_string());
        write!(
            f,
            "{}: down/up {}/{} kbit/s, delay {:.1} ms ± {:.1}, loss {:.2}%",
            self.name,
            kbps(self.down_kbps),
            kbps(self.up_kbps),
            self.delay_ms,
            self.jitter_ms,
            self.loss * 100.0
        )?;
        match (
            self.outage_every_s,
            self.outage_length_s,
            self.outage_silent_share,
        ) {
            (Some(e), Some(l), Some(s)) => write!(
                f,
                ", outages every {:.0}–{:.0} s for {:.1}–{:.1} s, {:.0}% silent",
                e.0,
                e.1,
                l.0,
                l.1,
                s * 100.0
            ),
            _ => write!(f, ", no outages"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn within(x: f64, base: f64, (lo, hi): (f64, f64)) -> bool {
        x >= base * lo - 1e-9 && x <= base * hi + 1e-9
    }

    #[test]
    fn drawn_figures_stay_within_their_ranges() {
        for p in Profile::all() {
            for seed in 0..200 {
                let d = draw(&p, &mut Rng::derive(seed, p.name));
                let (delay, base) = (d.delay.as_secs_f64(), p.delay.as_secs_f64());
                assert!(within(delay, base, DELAY), "{}: delay {delay}", p.name);
                assert!(d.jitter <= d.delay, "{}: jitter above delay", p.name);
                assert!(within(d.loss, p.loss, LOSS) && d.loss <= MAX_LOSS);
                if let (Some(k), Some(b)) = (d.up_kbps, p.up_kbps) {
                    assert!(within(f64::from(k), f64::from(b), BANDWIDTH) || k == 1);
                }
                assert_eq!(d.up_kbps.is_some(), p.up_kbps.is_some());
                assert_eq!(d.outages.is_some(), p.outages.is_some());
                if let (Some(o), Some(b)) = (&d.outages, &p.outages) {
                    assert!(o.every.0 <= o.every.1 && o.length.0 <= o.length.1);
                    let lo = b.every.0.as_secs_f64() * OUTAGE_EVERY.0;
                    assert!(o.every.0.as_secs_f64() >= lo - 1e-9);
                    assert!((0.0..=1.0).contains(&o.silent_share));
                }
            }
        }
    }

    #[test]
    fn a_seed_draws_the_same_profile_and_seeds_differ() {
        let p = Profile::named("cellular-flaky").expect("profile");
        let a = draw(&p, &mut Rng::derive(7, "meter"));
        let b = draw(&p, &mut Rng::derive(7, "meter"));
        let c = draw(&p, &mut Rng::derive(8, "meter"));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, p, "a drawn profile differs from the named one");
    }

    #[test]
    fn figures_print_every_parameter() {
        let p = Profile::named("cellular-flaky").expect("profile");
        let s = Figures::from(&p).to_string();
        assert_eq!(
            s,
            "cellular-flaky: down/up 780/330 kbit/s, delay 100.0 ms ± 25.0, loss 3.00%, \
             outages every 60–300 s for 2.0–30.0 s, 50% silent"
        );
    }
}
