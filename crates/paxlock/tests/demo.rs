//! `paxlock demo` (the README's first command) runs to the end, quickly,
//! and shows host B refused while A's VM runs, then B getting the lease.

use std::time::{Duration, Instant};

#[test]
fn the_demo_shows_exclusion_and_handover_in_under_a_minute() {
    let t0 = Instant::now();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_paxlock"))
        .arg("demo")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(t0.elapsed() < Duration::from_secs(60), "{:?}", t0.elapsed());
    let refused = text.find("acquire done -243").expect("B refused");
    let stops = text
        .find("the lease's leader has timestamp 0 again")
        .expect("A released");
    let b_runs = text.rfind("      vm1 runs on host B\n").expect("B got it");
    assert!(refused < stops && stops < b_runs, "{text}");
    assert!(
        !text.contains("\x1b["),
        "escape codes when not on a terminal"
    );
}
