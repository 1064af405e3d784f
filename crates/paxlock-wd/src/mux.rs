//! The watchdog multiplexer as a pure state machine: no I/O, time injected.
//!
//! Behaviour (wdmd's, spec §5.1):
//! * Each client may carry an expiry `E` (monotonic seconds, 0 = none).
//!   A test fails for it when `now >= E - test_interval` (the early fail: it
//!   puts the device's last ping before `E`, so a watchdog fires no later
//!   than `E + fire_timeout`).
//! * All tests pass → keepalive (or reopen + keepalive if the device was
//!   closed unclean). Any test fails → close the device *without* the magic
//!   'V' (the close is one last ping; the timer keeps running), and test
//!   every second (`recover_interval`) so that a cleared client lets us
//!   reopen and pet at once.
//! * A client that disconnects with a non-zero expiry is fatal: it stays,
//!   with its expiry, forever.
//! * No client left and not failing → close cleanly ('V': disarm).
//! * The device is opened (armed) as soon as any client connects.
//!
//! Differences from wdmd, all in the safe direction: times are kept in
//! milliseconds (a client's second `E` means `E*1000` ms), a test also runs
//! at once after every TEST_LIVE and exactly at each client's `E -
//! test_interval`, so the final ping lands at `max(E - test_interval, time
//! the expiry was set)` plus scheduling delay, not up to one interval later.

use std::collections::BTreeMap;

/// Milliseconds of CLOCK_MONOTONIC.
pub type Millis = u64;

/// A connection id, chosen by the caller.
pub type ClientId = u64;

/// Tunables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MuxConfig {
    /// Standard test interval (wdmd: 10 s for a 60 s fire timeout).
    pub test_interval_ms: Millis,
    /// Test interval while failing (wdmd: 1 s).
    pub recover_interval_ms: Millis,
    /// Watchdog fire timeout, seconds.
    pub fire_timeout_s: u32,
}

impl MuxConfig {
    /// wdmd's defaults for a fire timeout: the test interval shrinks with
    /// the fire timeout (10 s for ≥60, 5 s for ≥30, 2 s for ≥10, else 1 s).
    pub fn for_fire_timeout(fire_timeout_s: u32) -> MuxConfig {
        let ti = match fire_timeout_s {
            60.. => 10,
            30..=59 => 5,
            10..=29 => 2,
            _ => 1,
        };
        MuxConfig {
            test_interval_ms: ti * 1000,
            recover_interval_ms: 1000,
            fire_timeout_s,
        }
    }
}

/// What the caller must do to the device, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DevAction {
    /// Open the device (this arms it and pings it).
    Open,
    /// WDIOC_KEEPALIVE.
    Keepalive,
    /// Close without 'V': one last ping, the timer keeps running.
    CloseUnclean,
    /// Write 'V' and close: disarm.
    CloseClean,
}

/// Device state as the multiplexer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DevState {
    /// Not open, not armed.
    Closed,
    /// Open and armed.
    Open,
    /// Closed without 'V': armed, not petted, will fire at last ping + timeout.
    ClosedUnclean,
}

/// One client connection (or the remains of a dead one).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Client {
    /// REGISTER name.
    pub name: String,
    /// Peer pid from SO_PEERCRED at REGISTER.
    pub pid: i32,
    /// REFCOUNT_SET / CLEAR.
    pub refcount: bool,
    /// Last TEST_LIVE renewal time, seconds.
    pub renewal_s: u64,
    /// Last TEST_LIVE expire time, seconds (0: not tested).
    pub expire_s: u64,
    /// The connection closed while the expiry was set (fatal, kept forever).
    pub dead: bool,
    /// Result of its last test (events are emitted on changes only).
    pub last_result: TestResult,
}

/// Result of one client's test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TestResult {
    /// Expiry not near.
    #[default]
    Pass,
    /// Within one test interval of the expiry ("test warning").
    Warning,
    /// At or past the expiry ("test failed").
    Failed,
}

/// Something worth a log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A client's test did not pass.
    TestFail {
        /// Client id.
        id: ClientId,
        /// Warning or Failed.
        result: TestResult,
        /// Its expiry, seconds.
        expire_s: u64,
    },
    /// A client closed its connection with an expiry set: fatal.
    FatalClose {
        /// Client id.
        id: ClientId,
        /// Its expiry, seconds.
        expire_s: u64,
    },
}

/// The multiplexer.
#[derive(Debug, Clone)]
pub struct Mux {
    cfg: MuxConfig,
    clients: BTreeMap<ClientId, Client>,
    dev: DevState,
    resetting: bool,
    interval_ms: Millis,
    last_test: Option<Millis>,
    test_asap: bool,
    last_keepalive: Option<Millis>,
    last_close_unclean: Option<Millis>,
    events: Vec<Event>,
}

/// Test one expiry at `now`.
pub fn test_client(expire_s: u64, now: Millis, test_interval_ms: Millis) -> TestResult {
    if expire_s == 0 {
        return TestResult::Pass;
    }
    let e = expire_s.saturating_mul(1000);
    if now >= e {
        TestResult::Failed
    } else if now >= e.saturating_sub(test_interval_ms) {
        TestResult::Warning
    } else {
        TestResult::Pass
    }
}

impl Mux {
    /// A multiplexer with no clients and a closed device.
    pub fn new(cfg: MuxConfig) -> Mux {
        Mux {
            cfg,
            clients: BTreeMap::new(),
            dev: DevState::Closed,
            resetting: false,
            interval_ms: cfg.test_interval_ms,
            last_test: None,
            test_asap: false,
            last_keepalive: None,
            last_close_unclean: None,
            events: Vec::new(),
        }
    }

    /// Configuration in force.
    pub fn config(&self) -> MuxConfig {
        self.cfg
    }

    /// Change the fire timeout (OPEN_WATCHDOG before the device is open).
    pub fn set_fire_timeout(&mut self, s: u32) {
        self.cfg.fire_timeout_s = s;
    }

    /// A new connection.
    pub fn connect(&mut self, id: ClientId) {
        self.clients.insert(id, Client::default());
    }

    /// REGISTER.
    pub fn register(&mut self, id: ClientId, name: &str, pid: i32) {
        if let Some(c) = self.clients.get_mut(&id) {
            c.name = name.to_string();
            c.pid = pid;
        }
    }

    /// REFCOUNT_SET / REFCOUNT_CLEAR.
    pub fn refcount(&mut self, id: ClientId, set: bool) {
        if let Some(c) = self.clients.get_mut(&id) {
            c.refcount = set;
        }
    }

    /// TEST_LIVE. A test runs at the next [`Mux::tick`].
    pub fn test_live(&mut self, id: ClientId, renewal_s: u64, expire_s: u64) {
        if let Some(c) = self.clients.get_mut(&id) {
            if c.dead {
                return;
            }
            c.renewal_s = renewal_s;
            c.expire_s = expire_s;
            self.test_asap = true;
        }
    }

    /// The connection closed. Returns true if that is fatal (expiry set):
    /// the client then stays, with its expiry, for good.
    pub fn disconnect(&mut self, id: ClientId) -> bool {
        let Some(c) = self.clients.get_mut(&id) else {
            return false;
        };
        if c.dead {
            return true;
        }
        if c.expire_s == 0 {
            self.clients.remove(&id);
            false
        } else {
            c.dead = true;
            self.events.push(Event::FatalClose {
                id,
                expire_s: c.expire_s,
            });
            true
        }
    }

    /// Clients, by id.
    pub fn clients(&self) -> &BTreeMap<ClientId, Client> {
        &self.clients
    }

    /// Device state.
    pub fn device(&self) -> DevState {
        self.dev
    }

    /// Failing since the last passing test.
    pub fn resetting(&self) -> bool {
        self.resetting
    }

    /// Current test interval.
    pub fn interval_ms(&self) -> Millis {
        self.interval_ms
    }

    /// Last keepalive (including the ping of an open), if any.
    pub fn last_keepalive(&self) -> Option<Millis> {
        self.last_keepalive
    }

    /// Last unclean close, if any.
    pub fn last_close_unclean(&self) -> Option<Millis> {
        self.last_close_unclean
    }

    /// Any client holds a refcount or an expiry: the daemon must not exit.
    pub fn in_use(&self) -> bool {
        self.clients
            .values()
            .any(|c| c.refcount || c.expire_s != 0 || c.dead)
    }

    /// When a real watchdog would fire: last ping + fire timeout, if armed.
    pub fn fire_at(&self) -> Option<Millis> {
        if self.dev == DevState::Closed {
            return None;
        }
        let last = self.last_keepalive.max(self.last_close_unclean)?;
        Some(last + u64::from(self.cfg.fire_timeout_s) * 1000)
    }

    /// Take the log events since the last call.
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    /// The time of the next test (for the caller's poll timeout).
    pub fn next_test(&self, now: Millis) -> Millis {
        if self.clients.is_empty() && self.dev == DevState::Closed {
            // Idle: nothing to test until someone connects.
            return now + self.cfg.test_interval_ms;
        }
        let Some(last) = self.last_test else {
            return now;
        };
        if self.test_asap {
            return now;
        }
        let mut next = last + self.interval_ms;
        for c in self.clients.values() {
            if c.expire_s == 0 {
                continue;
            }
            let warn_at = c
                .expire_s
                .saturating_mul(1000)
                .saturating_sub(self.cfg.test_interval_ms);
            if warn_at > last && warn_at < next {
                next = warn_at;
            }
        }
        next
    }

    fn ping(&mut self, now: Millis, out: &mut Vec<DevAction>, action: DevAction) {
        out.push(action);
        self.last_keepalive = Some(now);
    }

    /// Advance to `now`: run the test if due, and return what to do to the
    /// device, in order.
    pub fn tick(&mut self, now: Millis) -> Vec<DevAction> {
        let mut out = Vec::new();
        let used = !self.clients.is_empty();

        if used && self.dev == DevState::Closed {
            // First use: arm the device before anything can depend on it.
            self.ping(now, &mut out, DevAction::Open);
            self.dev = DevState::Open;
            // The open pinged; test at once only if a TEST_LIVE is pending.
            self.last_test = Some(now);
        }

        if !used && !self.resetting && self.dev != DevState::Closed {
            if self.dev == DevState::ClosedUnclean {
                self.ping(now, &mut out, DevAction::Open);
            }
            out.push(DevAction::CloseClean);
            self.dev = DevState::Closed;
            self.interval_ms = self.cfg.test_interval_ms;
            self.last_test = None;
            self.test_asap = false;
            return out;
        }

        if self.dev == DevState::Closed || now < self.next_test(now) {
            return out;
        }

        self.last_test = Some(now);
        self.test_asap = false;
        let mut fails = 0;
        for (&id, c) in self.clients.iter_mut() {
            let r = test_client(c.expire_s, now, self.cfg.test_interval_ms);
            if r != TestResult::Pass {
                fails += 1;
                if r != c.last_result {
                    self.events.push(Event::TestFail {
                        id,
                        result: r,
                        expire_s: c.expire_s,
                    });
                }
            }
            c.last_result = r;
        }

        if fails == 0 {
            match self.dev {
                DevState::ClosedUnclean => {
                    self.ping(now, &mut out, DevAction::Open);
                    self.dev = DevState::Open;
                }
                DevState::Open => self.ping(now, &mut out, DevAction::Keepalive),
                DevState::Closed => {}
            }
            self.resetting = false;
            self.interval_ms = self.cfg.test_interval_ms;
        } else {
            if self.dev == DevState::Open {
                out.push(DevAction::CloseUnclean);
                self.dev = DevState::ClosedUnclean;
                self.last_close_unclean = Some(now);
            }
            self.resetting = true;
            self.interval_ms = self.cfg.recover_interval_ms;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cfg(ft: u32, ti_s: u64) -> MuxConfig {
        MuxConfig {
            test_interval_ms: ti_s * 1000,
            recover_interval_ms: 1000,
            fire_timeout_s: ft,
        }
    }

    /// Drive `m` from `from` to `to`, ticking at every requested test time
    /// (plus `lag` ms), recording the actions with their times.
    fn run(m: &mut Mux, from: Millis, to: Millis, lag: Millis) -> Vec<(Millis, DevAction)> {
        let mut t = from;
        let mut log = Vec::new();
        loop {
            for a in m.tick(t) {
                log.push((t, a));
            }
            let next = m.next_test(t).max(t + 1) + lag;
            if next > to {
                break;
            }
            t = next;
        }
        log
    }

    #[test]
    fn table_of_test_intervals() {
        assert_eq!(MuxConfig::for_fire_timeout(60).test_interval_ms, 10_000);
        assert_eq!(MuxConfig::for_fire_timeout(30).test_interval_ms, 5_000);
        assert_eq!(MuxConfig::for_fire_timeout(10).test_interval_ms, 2_000);
        assert_eq!(MuxConfig::for_fire_timeout(3).test_interval_ms, 1_000);
    }

    #[test]
    fn early_fail_rule() {
        assert_eq!(test_client(0, 5_000, 10_000), TestResult::Pass);
        assert_eq!(test_client(100, 89_999, 10_000), TestResult::Pass);
        assert_eq!(test_client(100, 90_000, 10_000), TestResult::Warning);
        assert_eq!(test_client(100, 100_000, 10_000), TestResult::Failed);
    }

    #[test]
    fn connect_opens_and_pets_while_renewed() {
        let mut m = Mux::new(cfg(60, 10));
        m.connect(1);
        assert_eq!(m.tick(1_000), vec![DevAction::Open]);
        m.register(1, "sanlock_ls:1", 42);
        m.refcount(1, true);
        // renewing every 20 s with expiry = renewal + 80
        let mut t = 1_000;
        for k in 0..10u64 {
            let r = 1 + 20 * k;
            m.test_live(1, r, r + 80);
            for (at, a) in run(&mut m, t, (r + 20) * 1000 - 1, 0) {
                assert_ne!(a, DevAction::CloseUnclean, "at {at}");
            }
            t = (r + 20) * 1000;
        }
        assert_eq!(m.device(), DevState::Open);
        assert!(m.fire_at().unwrap() >= t);
    }

    #[test]
    fn petting_stops_before_expiry_and_fire_is_bounded() {
        let mut m = Mux::new(cfg(60, 10));
        m.connect(1);
        m.test_live(1, 100, 180);
        let log = run(&mut m, 100_000, 400_000, 0);
        let last_keepalive = log
            .iter()
            .filter(|(_, a)| matches!(a, DevAction::Keepalive | DevAction::Open))
            .map(|(t, _)| *t)
            .max()
            .unwrap();
        assert!(last_keepalive < 170_000, "{log:?}");
        let close = log
            .iter()
            .find(|(_, a)| *a == DevAction::CloseUnclean)
            .unwrap()
            .0;
        assert_eq!(close, 170_000, "closes exactly at E - test_interval");
        let fire = m.fire_at().unwrap();
        assert_eq!(fire, close + 60_000);
        assert!(fire <= 180_000 + 60_000);
        // no ping after the close: fire time stays put
        assert_eq!(m.device(), DevState::ClosedUnclean);
        assert!(m.resetting());
        assert_eq!(m.interval_ms(), 1_000);
    }

    #[test]
    fn reopen_after_failing_client_clears() {
        let mut m = Mux::new(cfg(60, 10));
        m.connect(1);
        m.connect(2);
        m.test_live(1, 100, 180);
        m.test_live(2, 100, 1_000);
        run(&mut m, 100_000, 175_000, 0);
        assert_eq!(m.device(), DevState::ClosedUnclean);
        // client 1 clears its expiry (clean stop): the next 1 s test reopens
        m.test_live(1, 0, 0);
        let acts = m.tick(175_500);
        assert_eq!(acts, vec![DevAction::Open]);
        assert_eq!(m.device(), DevState::Open);
        assert!(!m.resetting());
        assert_eq!(m.fire_at(), Some(175_500 + 60_000));
    }

    #[test]
    fn fatal_close_keeps_expiry() {
        let mut m = Mux::new(cfg(60, 10));
        m.connect(1);
        m.refcount(1, true);
        m.test_live(1, 100, 180);
        run(&mut m, 100_000, 120_000, 0);
        assert!(m.disconnect(1));
        assert!(m.in_use());
        assert_eq!(
            m.take_events().last(),
            Some(&Event::FatalClose {
                id: 1,
                expire_s: 180
            })
        );
        // no way to clear it: a later test_live on the dead id is ignored
        m.test_live(1, 0, 0);
        run(&mut m, 120_001, 300_000, 0);
        assert_eq!(m.device(), DevState::ClosedUnclean);
        assert_eq!(m.fire_at(), Some(170_000 + 60_000));
    }

    #[test]
    fn clean_disconnect_closes_clean() {
        let mut m = Mux::new(cfg(60, 10));
        m.connect(1);
        m.tick(1_000);
        m.test_live(1, 5, 85);
        m.tick(5_000);
        m.test_live(1, 0, 0);
        m.refcount(1, false);
        assert!(!m.disconnect(1));
        assert_eq!(m.tick(6_000), vec![DevAction::CloseClean]);
        assert_eq!(m.device(), DevState::Closed);
        assert_eq!(m.fire_at(), None);
        assert!(!m.in_use());
    }

    #[test]
    fn already_expired_expiry_closes_at_once() {
        // io_timeout 1 with a 10 s test interval: E = now + 8 is inside the
        // warning window from the start (as with the real wdmd).
        let mut m = Mux::new(cfg(60, 10));
        m.connect(1);
        m.tick(50_000);
        m.test_live(1, 50, 58);
        assert_eq!(m.tick(50_100), vec![DevAction::CloseUnclean]);
        assert_eq!(m.fire_at(), Some(110_100));
    }

    proptest! {
        /// For any renewal history and any scheduling lag: a keepalive or
        /// reopen happens only while every expiry is more than one test
        /// interval away, and once renewals stop the device fires no later
        /// than max(E - ti, time of the last TEST_LIVE) + lag + fire_timeout.
        #[test]
        fn fire_bounded(
            ft in 2u32..90,
            ti in 1u64..12,
            gaps in proptest::collection::vec(1u64..15, 1..20),
            span in 1u64..40,
            lag in 0u64..700,
        ) {
            let mut m = Mux::new(cfg(ft, ti));
            m.connect(7);
            let mut t: Millis = 10_000;
            let mut expire = 0;
            let mut set_at = t;
            for g in gaps {
                let r = t / 1000;
                expire = r + span;
                m.test_live(7, r, expire);
                set_at = t;
                let until = t + g * 1000;
                let mut now = t;
                while now < until {
                    let before = m.device();
                    for a in m.tick(now) {
                        // The first Open arms a closed device: never unsafe.
                        let reopen = a == DevAction::Open && before != DevState::Closed;
                        if a == DevAction::Keepalive || reopen {
                            prop_assert!(now < expire * 1000 - (ti * 1000).min(expire * 1000),
                                "ping at {} with expiry {}", now, expire);
                        }
                    }
                    now = m.next_test(now).max(now + 1) + lag;
                }
                t = until;
            }
            // renewals stop: run long enough to be sure
            let mut now = t;
            let end = expire * 1000 + 200_000;
            while now < end {
                m.tick(now);
                now = m.next_test(now).max(now + 1) + lag;
            }
            prop_assert_eq!(m.device(), DevState::ClosedUnclean);
            let fire = m.fire_at().unwrap();
            let bound = (expire * 1000).saturating_sub(ti * 1000).max(set_at) + lag + u64::from(ft) * 1000;
            prop_assert!(fire <= bound, "fire {} bound {}", fire, bound);
        }
    }
}
