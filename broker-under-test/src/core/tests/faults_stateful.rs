//! Scripts of the stateful faults (found by `mqttspec prop`, which the fixed suite does not
//! catch): each needs a history (several reconnects, several queued messages, an earlier
//! retained message) before it shows.

use super::faults::check;
use super::*;

macro_rules! scripts {
    ($($name:ident => |$b:ident| $body:block)*) => {
        $(#[test] fn $name() { check(stringify!($name), &|$b: &mut Bench| $body); })*
        pub(super) const COVERED: &[&str] = &[$(stringify!($name)),*];
    };
}

scripts! {
    offline_queue_drops_topic_change => |b| {
        let s = b.connect("s", false);
        b.subscribe(s, "t/#", QoS::AtLeastOnce);
        b.drop_conn(s);
        let p = b.connect("p", true);
        b.send(p, publish("t/a", QoS::AtLeastOnce, 1, "one"));
        b.send(p, publish("t/a", QoS::AtLeastOnce, 2, "two"));
        b.send(p, publish("t/b", QoS::AtLeastOnce, 3, "three"));
        b.connect("s", false);
    }
    queue_lost_on_second_resume => |b| {
        let s = b.connect("s", false);
        b.subscribe(s, "t", QoS::AtLeastOnce);
        b.drop_conn(s);
        let s = b.connect("s", false);
        b.drop_conn(s);
        let s = b.connect("s", false);
        b.drop_conn(s);
        let p = b.connect("p", true);
        b.send(p, publish("t", QoS::AtLeastOnce, 1, "queued"));
        b.connect("s", false);
    }
    retained_not_replaced_on_empty_level => |b| {
        let p = b.connect("p", true);
        b.send(p, retained("a//b", QoS::AtLeastOnce, 1, "first"));
        b.send(p, retained("a//b", QoS::AtLeastOnce, 2, "second"));
        let s = b.connect("s", true);
        b.subscribe(s, "a//b", QoS::AtLeastOnce);
    }
}
