//! The pure parts of a Disk Paxos ballot (Gafni and Lamport), as sanlock
//! runs it: ballot numbers, and what a phase's read of every dblock means.

use paxlock_format::PaxosDblock;

/// The first ballot number a host uses for a new lver: its host_id if no
/// host has started a ballot yet, otherwise the next multiple of
/// `max_hosts` above the largest mbal seen, plus its host_id. Ballot numbers
/// are thus `k * max_hosts + host_id`: unique per host, and they never
/// collide with sanlock's because `max_hosts` comes from the leader.
pub fn first_mbal(max_mbal: u64, max_hosts: u64, host_id: u64) -> u64 {
    if max_mbal == 0 || max_hosts == 0 {
        host_id
    } else {
        (max_mbal - max_mbal % max_hosts) + max_hosts + host_id
    }
}

/// Why a ballot phase must be abandoned and retried with a larger mbal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Abort {
    /// A dblock is at a larger lver: another host has moved on.
    Lver {
        /// The host whose dblock it is.
        host_id: u64,
        /// Its lver.
        lver: u64,
    },
    /// A dblock has a larger mbal: another host's ballot wins over ours.
    Mbal {
        /// The host whose dblock it is.
        host_id: u64,
        /// Its mbal.
        mbal: u64,
    },
}

/// The value a ballot proposes: owner host_id, generation, timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inp {
    /// Owner host_id.
    pub inp: u64,
    /// Owner generation.
    pub inp2: u64,
    /// Owner timestamp.
    pub inp3: u64,
}

/// What one phase's read found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PhaseView {
    /// The accepted value with the largest bal at our lver, if any.
    pub best: Option<(u64, Inp)>,
    /// Hosts whose mode block says SHARED.
    pub shared: Vec<u64>,
}

/// One host's dblock sector as read in a phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeenDblock {
    /// Whose it is.
    pub host_id: u64,
    /// The dblock.
    pub dblock: PaxosDblock,
    /// Whether its checksum was good.
    pub checksum_ok: bool,
    /// Whether its mode block says SHARED.
    pub shared: bool,
}

/// Evaluates one phase's read of the dblocks for a ballot at `lver` with
/// ballot number `mbal` (sanlock's rules): dblocks with a bad checksum are
/// ignored; shared mode blocks are noted; dblocks at an older lver are
/// ignored; a dblock at a newer lver or with a larger mbal aborts the
/// ballot; among the rest, the accepted value (inp != 0) with the largest
/// bal is the one to adopt.
pub fn evaluate_phase(seen: &[SeenDblock], lver: u64, mbal: u64) -> Result<PhaseView, Abort> {
    let mut view = PhaseView::default();
    for s in seen {
        if !s.checksum_ok {
            continue;
        }
        if s.shared {
            view.shared.push(s.host_id);
        }
        let d = &s.dblock;
        if d.lver < lver {
            continue;
        }
        if d.lver > lver {
            return Err(Abort::Lver {
                host_id: s.host_id,
                lver: d.lver,
            });
        }
        if d.mbal > mbal {
            return Err(Abort::Mbal {
                host_id: s.host_id,
                mbal: d.mbal,
            });
        }
        if d.inp != 0 && d.bal != 0 && view.best.is_none_or(|(bal, _)| d.bal > bal) {
            view.best = Some((
                d.bal,
                Inp {
                    inp: d.inp,
                    inp2: d.inp2,
                    inp3: d.inp3,
                },
            ));
        }
    }
    Ok(view)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn mbal_sequence_seen_on_disk() {
        // host 1, max_hosts 2000: 1 -> 2001 -> 4001 over three acquires
        assert_eq!(first_mbal(0, 2000, 1), 1);
        assert_eq!(first_mbal(1, 2000, 1), 2001);
        assert_eq!(first_mbal(2001, 2000, 1), 4001);
        // host 2 after host 1's first ballot
        assert_eq!(first_mbal(1, 2000, 2), 2002);
    }

    fn seen(host_id: u64, mbal: u64, bal: u64, inp: u64, lver: u64) -> SeenDblock {
        SeenDblock {
            host_id,
            dblock: PaxosDblock {
                mbal,
                bal,
                inp,
                inp2: 1,
                inp3: 100 + host_id,
                lver,
                ..Default::default()
            },
            checksum_ok: true,
            shared: false,
        }
    }

    #[test]
    fn abort_rules() {
        assert_eq!(
            evaluate_phase(&[seen(2, 5, 0, 0, 4)], 3, 10),
            Err(Abort::Lver {
                host_id: 2,
                lver: 4
            })
        );
        assert_eq!(
            evaluate_phase(&[seen(2, 12, 0, 0, 3)], 3, 10),
            Err(Abort::Mbal {
                host_id: 2,
                mbal: 12
            })
        );
        // older lvers are ignored whatever their mbal
        assert_eq!(
            evaluate_phase(&[seen(2, 99, 99, 2, 2)], 3, 10),
            Ok(PhaseView::default())
        );
        // bad checksums are ignored
        let mut bad = seen(2, 99, 0, 0, 9);
        bad.checksum_ok = false;
        assert_eq!(evaluate_phase(&[bad], 3, 10), Ok(PhaseView::default()));
    }

    #[test]
    fn adopts_largest_bal() {
        let v = evaluate_phase(
            &[
                seen(2, 7, 7, 2, 3),
                seen(3, 8, 8, 3, 3),
                seen(4, 9, 0, 0, 3),
            ],
            3,
            10,
        )
        .unwrap();
        assert_eq!(v.best.map(|b| b.1.inp), Some(3));
    }

    proptest! {
        /// Ballot numbers are unique per host and above everything seen.
        #[test]
        fn mbal_is_unique_and_larger(max_mbal in 0u64..1_000_000_000, max_hosts in 1u64..=2000, a in 1u64..=2000, b in 1u64..=2000) {
            prop_assume!(a <= max_hosts && b <= max_hosts && a != b);
            let ma = first_mbal(max_mbal, max_hosts, a);
            let mb = first_mbal(max_mbal, max_hosts, b);
            prop_assert!(ma > max_mbal || max_mbal == 0);
            prop_assert_eq!(ma % max_hosts, a % max_hosts);
            prop_assert_ne!(ma, mb);
            prop_assert!(ma + max_hosts > ma);
        }

        /// Whatever evaluate_phase adopts was accepted at our lver with a
        /// bal no larger than ours, and nothing seen beats it.
        #[test]
        fn adopted_value_is_the_max_bal(ds in proptest::collection::vec((1u64..8, 0u64..50, 0u64..50, 0u64..4, 1u64..4), 0..8), lver in 1u64..4, mbal in 0u64..60) {
            let seen: Vec<SeenDblock> = ds.iter().map(|&(h, m, b, inp, l)| seen(h, m, b, inp, l)).collect();
            match evaluate_phase(&seen, lver, mbal) {
                Err(Abort::Lver { lver: l, .. }) => prop_assert!(l > lver),
                Err(Abort::Mbal { mbal: m, .. }) => prop_assert!(m > mbal),
                Ok(v) => {
                    for s in &seen {
                        prop_assert!(s.dblock.lver <= lver && (s.dblock.lver < lver || s.dblock.mbal <= mbal));
                    }
                    if let Some((bal, inp)) = v.best {
                        prop_assert!(seen.iter().any(|s| s.dblock.lver == lver && s.dblock.bal == bal && s.dblock.inp == inp.inp));
                        prop_assert!(seen.iter().all(|s| s.dblock.lver != lver || s.dblock.inp == 0 || s.dblock.bal <= bal));
                    } else {
                        prop_assert!(seen.iter().all(|s| s.dblock.lver != lver || s.dblock.inp == 0 || s.dblock.bal == 0));
                    }
                }
            }
        }
    }
}
