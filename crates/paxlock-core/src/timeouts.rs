//! Every timeout of the lease algorithms, computed in one place from the
//! io_timeout and the watchdog fire timeout, as sanlock's `timeouts.c`.
//!
//! | name | formula | meaning |
//! |---|---|---|
//! | id_renewal | 2 io | gap between successful delta renewals |
//! | id_renewal_warn | 6 io | our renewal is late: warn |
//! | id_renewal_fail | 8 io | our renewal failed: lease lost, kill holders |
//! | host_dead | 8 io + wft | after this without a renewal, a host's watchdog has fired |
//! | delta_short_delay | 2 io | wait between writing a delta lease and verifying it |
//! | set_bitmap | 6 io | how long a request/event bit stays set |
//!
//! A judgement about *another* host always uses that host's io_timeout as
//! written in its delta lease; the watchdog fire timeout must be the same
//! on every host (it is not on disk).

/// sanlock's default io_timeout.
pub const IO_TIMEOUT_DEFAULT_SECS: u16 = 10;
/// sanlock's default watchdog fire timeout.
pub const WATCHDOG_FIRE_TIMEOUT_DEFAULT_SECS: u32 = 60;
/// sanlock's default kill grace.
pub const KILL_GRACE_DEFAULT_SECS: u32 = 40;

/// The timeouts of one host's lockspace (or of a peer, judged with the
/// peer's io_timeout).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    io_timeout_secs: u32,
    watchdog_fire_timeout_secs: u32,
}

/// An io_timeout outside 1..=255 (it is stored in 8 bits on disk).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("io_timeout {0} is out of range: use 1 to 255 seconds")]
pub struct IoTimeoutRange(pub u32);

impl Timeouts {
    /// Timeouts for an io_timeout (1..=255 s) and watchdog fire timeout.
    pub fn new(
        io_timeout_secs: u32,
        watchdog_fire_timeout_secs: u32,
    ) -> Result<Timeouts, IoTimeoutRange> {
        if !(1..=255).contains(&io_timeout_secs) {
            return Err(IoTimeoutRange(io_timeout_secs));
        }
        Ok(Timeouts {
            io_timeout_secs,
            watchdog_fire_timeout_secs,
        })
    }

    /// The timeouts to judge a peer whose delta lease says `io_timeout`
    /// (low 8 bits; 0 means "use ours", as sanlock does for old records).
    pub fn of_peer(self, on_disk_io_timeout: u16) -> Timeouts {
        let io = u32::from(on_disk_io_timeout & 0xff);
        Timeouts {
            io_timeout_secs: if io == 0 { self.io_timeout_secs } else { io },
            ..self
        }
    }

    /// io_timeout.
    pub const fn io_timeout_secs(self) -> u32 {
        self.io_timeout_secs
    }
    /// Watchdog fire timeout.
    pub const fn watchdog_fire_timeout_secs(self) -> u32 {
        self.watchdog_fire_timeout_secs
    }
    /// 2 io.
    pub const fn id_renewal_secs(self) -> u32 {
        2 * self.io_timeout_secs
    }
    /// 6 io.
    pub const fn id_renewal_warn_secs(self) -> u32 {
        6 * self.io_timeout_secs
    }
    /// 8 io.
    pub const fn id_renewal_fail_secs(self) -> u32 {
        8 * self.io_timeout_secs
    }
    /// 8 io + wft.
    pub const fn host_dead_secs(self) -> u32 {
        8 * self.io_timeout_secs + self.watchdog_fire_timeout_secs
    }
    /// 2 io.
    pub const fn delta_short_delay_secs(self) -> u32 {
        2 * self.io_timeout_secs
    }
    /// The long wait of a delta acquire over a possibly-live owner:
    /// max(host_dead, id_renewal + 6 io) = host_dead.
    pub const fn delta_large_delay_secs(self) -> u32 {
        let paper = self.id_renewal_secs() + 6 * self.io_timeout_secs;
        let dead = self.host_dead_secs();
        if paper > dead {
            paper
        } else {
            dead
        }
    }
    /// 6 io.
    pub const fn set_bitmap_secs(self) -> u32 {
        6 * self.io_timeout_secs
    }
    /// The write timeout of a delta renewal: host_dead (a slow renewal
    /// write is waited for rather than abandoned).
    pub const fn renewal_write_timeout_secs(self) -> u32 {
        self.host_dead_secs()
    }
    /// sanlock's default kill grace for this watchdog fire timeout: 40 s,
    /// or 15 s for 30 <= wft < 60, or 0 for wft < 30.
    pub const fn kill_grace_default_secs(self) -> u32 {
        match self.watchdog_fire_timeout_secs {
            w if w >= 60 => KILL_GRACE_DEFAULT_SECS,
            w if w >= 30 => 15,
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The derived-bounds table of the spec (sanlock-algorithms.md, section 2).
    #[test]
    fn table_from_the_spec() {
        // io: renewal, warn, fail, host_dead(wft 60), short delay, set_bitmap
        let rows = [
            (1, 2, 6, 8, 68, 2, 6),
            (2, 4, 12, 16, 76, 4, 12),
            (5, 10, 30, 40, 100, 10, 30),
            (10, 20, 60, 80, 140, 20, 60),
            (20, 40, 120, 160, 220, 40, 120),
            (30, 60, 180, 240, 300, 60, 180),
        ];
        for (io, renew, warn, fail, dead, short, bitmap) in rows {
            let t = Timeouts::new(io, 60).unwrap();
            assert_eq!(
                (
                    t.id_renewal_secs(),
                    t.id_renewal_warn_secs(),
                    t.id_renewal_fail_secs(),
                    t.host_dead_secs(),
                    t.delta_short_delay_secs(),
                    t.set_bitmap_secs()
                ),
                (renew, warn, fail, dead, short, bitmap),
                "io {io}"
            );
            assert_eq!(t.delta_large_delay_secs(), dead, "io {io}");
            assert_eq!(t.renewal_write_timeout_secs(), dead);
        }
    }

    #[test]
    fn examples_from_timeouts_h() {
        let t = Timeouts::new(5, 30).unwrap();
        assert_eq!(
            (
                t.id_renewal_fail_secs(),
                t.host_dead_secs(),
                t.kill_grace_default_secs()
            ),
            (40, 70, 15)
        );
        let t = Timeouts::new(2, 10).unwrap();
        assert_eq!(
            (
                t.id_renewal_fail_secs(),
                t.host_dead_secs(),
                t.kill_grace_default_secs()
            ),
            (16, 26, 0)
        );
        assert_eq!(Timeouts::new(10, 60).unwrap().kill_grace_default_secs(), 40);
    }

    #[test]
    fn io_timeout_range_and_peer_fallback() {
        assert!(Timeouts::new(0, 60).is_err());
        assert!(Timeouts::new(256, 60).is_err());
        let ours = Timeouts::new(10, 60).unwrap();
        assert_eq!(ours.of_peer(20).host_dead_secs(), 220);
        assert_eq!(ours.of_peer(0).host_dead_secs(), 140);
        assert_eq!(
            ours.of_peer(0x0105).io_timeout_secs(),
            5,
            "only the low 8 bits count"
        );
    }
}
