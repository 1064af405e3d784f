//! The watchdog (`-w 1`, sanlock-algorithms.md section 5): each joined
//! lockspace is a client of a wdmd (sanlock's, or `paxlock wdmd`) and
//! keeps an expiry there of `last good renewal + id_renewal_fail_seconds`.
//! The wdmd stops petting the watchdog device shortly before an expiry
//! passes, so a host whose renewals stop — a frozen or dead daemon, or
//! lost storage with holders that cannot be killed — is reset no later
//! than `last renewal + host_dead_seconds`, before any other host may
//! take its leases. A lockspace is disarmed (expiry 0) only once no
//! process holds a lease in it.

use std::path::Path;
use std::sync::{Arc, Mutex};

use paxlock_driver::Lockspace;
use paxlock_wd::client::WdmdClient;

/// One lockspace's wdmd connection.
pub(crate) type Armed = Arc<Mutex<WdmdClient>>;

/// Connects before the host_id is acquired and checks that the wdmd's
/// fire timeout is ours (every host's host_dead_seconds depends on it).
pub(crate) fn connect(socket: &Path, fire_timeout_secs: u32) -> Result<WdmdClient, String> {
    let mut c = WdmdClient::connect(socket).map_err(|e| {
        format!(
            "no watchdog daemon at {}: {e} (start `paxlock wdmd daemon` or wdmd, or run with -w 0 for testing)",
            socket.display()
        )
    })?;
    let st = c
        .status()
        .map_err(|e| format!("watchdog daemon at {}: {e}", socket.display()))?;
    if st.fire_timeout != fire_timeout_secs {
        return Err(format!(
            "watchdog fire timeout is {} s, ours is {} s (set watchdog_fire_timeout to match)",
            st.fire_timeout, fire_timeout_secs
        ));
    }
    Ok(c)
}

fn expiry(last_success_ms: u64, fail_secs: u32) -> (u64, u64) {
    // Seconds of the same CLOCK_MONOTONIC the wdmd uses, rounded down:
    // the expiry is never later than the lease allows.
    let l = last_success_ms / 1000;
    (l, l + u64::from(fail_secs))
}

/// Registers `l` and sets its first expiry, then keeps it moving with
/// every good renewal. Returns the handle to disarm it with.
pub(crate) fn arm(mut c: WdmdClient, name: &str, l: &Lockspace) -> Result<Armed, String> {
    let fail = l.config().timeouts.id_renewal_fail_secs();
    let (t, e) = expiry(l.last_success_ms(), fail);
    c.register(name)
        .and_then(|()| c.refcount_set())
        .and_then(|()| c.test_live(t, e))
        .map_err(|e| format!("watchdog: {e}"))?;
    let armed = Arc::new(Mutex::new(c));
    let hook = Arc::clone(&armed);
    l.set_renewal_hook(move |last_success_ms| {
        let (t, e) = expiry(last_success_ms, fail);
        if let Ok(mut c) = hook.lock() {
            // If the wdmd is gone, nothing can be done here: it treats
            // our closed connection as fatal and the device fires.
            let _ = c.test_live(t, e);
        }
    });
    Ok(armed)
}

/// Clears the expiry: nothing of ours uses the lockspace any more.
pub(crate) fn disarm(a: &Armed) {
    if let Ok(mut c) = a.lock() {
        if c.test_live(0, 0).is_err() {
            std::thread::sleep(std::time::Duration::from_millis(500));
            let _ = c.test_live(0, 0);
        }
        let _ = c.refcount_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_rounds_the_renewal_down() {
        assert_eq!(expiry(10_999, 8), (10, 18));
        assert_eq!(expiry(11_000, 80), (11, 91));
    }
}
