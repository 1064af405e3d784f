//! The checker must flag overlaps made by hand, so that a clean run means
//! something.

use paxlock_core::paxos::Mode;
use paxlock_sim::checker::{Checker, Violation};
use paxlock_sim::trace::Op;

#[test]
fn flags_an_exclusive_taken_while_held() {
    let mut c = Checker::new(3, 2, None);
    c.acquired(1_000, 0, 1, Mode::Ex, 7);
    assert!(c.violation.is_none());
    c.acquired(2_000, 2, 1, Mode::Ex, 8);
    match c.violation.clone() {
        Some((
            2_000,
            Violation::TakenWhileHeld {
                res: 1,
                holder: 0,
                taker: 2,
                taker_mode: Mode::Ex,
                taker_lver: 8,
                holder_belief,
            },
        )) => {
            assert_eq!(holder_belief.mode, Mode::Ex);
            assert_eq!(holder_belief.lver, 7);
        }
        v => panic!("{v:?}"),
    }
    let text = c.violation.map(|(_, v)| v.to_string()).unwrap_or_default();
    assert!(
        text.contains("host 3 acquired it EX") && text.contains("host 1 still believes"),
        "{text}"
    );
}

#[test]
fn flags_shared_next_to_exclusive() {
    let mut c = Checker::new(2, 1, None);
    c.acquired(1, 0, 0, Mode::Ex, 1);
    c.acquired(2, 1, 0, Mode::Sh, 2);
    assert!(matches!(
        c.violation,
        Some((
            2,
            Violation::TakenWhileHeld {
                holder: 0,
                taker: 1,
                taker_mode: Mode::Sh,
                ..
            }
        ))
    ));
}

#[test]
fn flags_two_exclusive_beliefs_after_a_conversion() {
    // Two SH holders, then one converts to EX without the other letting go:
    // the conversion counts as taking the lease.
    let mut c = Checker::new(2, 1, None);
    c.acquired(1, 0, 0, Mode::Sh, 1);
    c.acquired(2, 1, 0, Mode::Sh, 2);
    assert!(c.violation.is_none());
    c.acquired(3, 1, 0, Mode::Ex, 3);
    assert!(matches!(
        c.violation,
        Some((
            3,
            Violation::TakenWhileHeld {
                holder: 0,
                taker: 1,
                ..
            }
        ))
    ));
    // The invariant checks on their own.
    let mut c = Checker::new(2, 1, None);
    c.acquired(1, 0, 0, Mode::Ex, 1);
    c.end(0, 0);
    c.acquired(2, 1, 0, Mode::Ex, 2);
    assert!(c.violation.is_none(), "a released holder does not count");
}

#[test]
fn told_or_reset_holders_do_not_count() {
    let mut c = Checker::new(2, 2, None);
    c.acquired(1, 0, 0, Mode::Ex, 1);
    c.acquired(1, 0, 1, Mode::Sh, 1);
    assert_eq!(c.end_all(0), vec![0, 1]);
    c.acquired(5, 1, 0, Mode::Ex, 2);
    c.acquired(5, 1, 1, Mode::Ex, 2);
    assert!(c.violation.is_none());
}

#[test]
fn flags_a_slow_or_failed_uncontended_acquire() {
    // io_timeout 1 s: EX bound 8 s.
    let mut c = Checker::new(2, 1, Some(1_000));
    assert_eq!(c.op_start(0, 0, 0, Op::Acquire(Mode::Ex)), Some(8_000));
    c.op_end(8_001, 0, 0, 0);
    assert!(matches!(
        c.violation,
        Some((
            8_001,
            Violation::Liveness {
                code: Some(0),
                bound_ms: 8_000,
                ..
            }
        ))
    ));
    let mut c = Checker::new(2, 1, Some(1_000));
    c.op_start(0, 1, 0, Op::Acquire(Mode::Sh));
    c.op_end(30, 1, 0, -243);
    assert!(matches!(
        c.violation,
        Some((
            30,
            Violation::Liveness {
                code: Some(-243),
                ..
            }
        ))
    ));
    let mut c = Checker::new(2, 1, Some(1_000));
    c.op_start(0, 1, 0, Op::Acquire(Mode::Ex));
    c.deadline(8_001, 1, 0, 0);
    assert!(matches!(
        c.violation,
        Some((8_001, Violation::Liveness { code: None, .. }))
    ));
    // Held or contended: not watched.
    let mut c = Checker::new(2, 1, Some(1_000));
    c.acquired(0, 0, 0, Mode::Sh, 1);
    assert_eq!(c.op_start(1, 1, 0, Op::Acquire(Mode::Ex)), None);
}
