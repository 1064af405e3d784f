//! One lockspace's renewals never wait on another lockspace's (or a
//! resource's) storage, and a lockspace whose renewal thread is stuck in
//! I/O is still declared lost on time.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use paxlock_core::delta::LockspaceConfig;
use paxlock_core::paxos::{AcquireOpts, Mode, ResourceSpec};
use paxlock_core::{DiskId, Env, IoFault, LeaseLoc, Timeouts};
use paxlock_driver::{Lockspace, LossReason, RealEnv};
use paxlock_format::{area, AlignSize, Geometry, Name, SectorSize};

/// Real disks, but every I/O to a "stalled" disk first blocks its thread
/// for a long time, as a hung storage path does.
#[derive(Clone)]
struct Stalling {
    inner: RealEnv,
    stalled: Arc<Mutex<Vec<DiskId>>>,
}

impl Stalling {
    fn block_if_stalled(&self, d: DiskId) {
        if self.stalled.lock().unwrap().contains(&d) {
            std::thread::sleep(Duration::from_secs(12));
        }
    }
}

impl Env for Stalling {
    type Buf = <RealEnv as Env>::Buf;
    fn now_ms(&self) -> u64 {
        self.inner.now_ms()
    }
    fn random_u64(&self) -> u64 {
        self.inner.random_u64()
    }
    async fn sleep_ms(&self, ms: u64) {
        self.inner.sleep_ms(ms).await
    }
    async fn read(&self, d: DiskId, off: u64, len: usize, t: u64) -> Result<Self::Buf, IoFault> {
        self.block_if_stalled(d);
        self.inner.read(d, off, len, t).await
    }
    async fn write(&self, d: DiskId, off: u64, data: Vec<u8>, t: u64) -> Result<(), IoFault> {
        self.block_if_stalled(d);
        self.inner.write(d, off, data, t).await
    }
}

fn g() -> Geometry {
    Geometry::new(SectorSize::S512, AlignSize::A1M).unwrap()
}

fn lockspace_file(dir: &Path, name: &str) -> PathBuf {
    let init = area::lockspace_init(g(), Name::new(name).unwrap(), 1);
    let mut bytes = init.area;
    bytes[..512].copy_from_slice(&init.commit_sector);
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn config(env: &Stalling, path: &Path, name: &str) -> LockspaceConfig {
    LockspaceConfig {
        space_name: Name::new(name).unwrap(),
        host_id: 1,
        loc: LeaseLoc {
            disk: env.inner.disk(path).unwrap(),
            offset: 0,
        },
        geometry: g(),
        timeouts: Timeouts::new(1, 60).unwrap(),
        host_name: Name::new("isolation-test").unwrap(),
    }
}

#[test]
fn a_stalled_lockspace_delays_neither_another_lockspace_nor_loss_detection() {
    let dir = tempfile::Builder::new()
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    let env = Stalling {
        inner: RealEnv::new(),
        stalled: Arc::new(Mutex::new(Vec::new())),
    };
    let a_path = lockspace_file(dir.path(), "A");
    let b_path = lockspace_file(dir.path(), "B");
    let res_path = dir.path().join("res");
    std::fs::write(
        &res_path,
        area::resource_init(
            g(),
            Name::new("B").unwrap(),
            Name::new("R").unwrap(),
            0,
            None,
        ),
    )
    .unwrap();
    let a = Lockspace::join(env.clone(), config(&env, &a_path, "A")).unwrap();
    let b = Lockspace::join(env.clone(), config(&env, &b_path, "B")).unwrap();
    let res_disk = env.inner.disk(&res_path).unwrap();

    // Stall A's storage and the resource's storage; keep a thread stuck in
    // an acquire on the resource.
    env.stalled
        .lock()
        .unwrap()
        .extend([a.config().loc.disk, res_disk]);
    let stuck = {
        let env = env.clone();
        let cfg = b.config().clone();
        std::thread::spawn(move || {
            let spec = ResourceSpec {
                space_name: cfg.space_name,
                name: Name::new("R").unwrap(),
                loc: LeaseLoc {
                    disk: res_disk,
                    offset: 0,
                },
            };
            let hosts = std::sync::Mutex::new(paxlock_core::delta::HostTable::default());
            let m = paxlock_core::paxos::Member {
                space: &cfg,
                generation: 1,
                hosts: &hosts,
                bug: None,
            };
            let _ = paxlock_core::block_on(paxlock_core::paxos::acquire(
                &env,
                &m,
                &spec,
                Mode::Ex,
                AcquireOpts::default(),
            ));
        })
    };

    // For 10 s: B keeps renewing on time (every 2 s, never 3.5 s late),
    // and A is declared lost once 8 s (8 io_timeouts) pass without renewal.
    let start = Instant::now();
    let mut max_gap_ms = 0;
    let mut a_lost_after = None;
    while start.elapsed() < Duration::from_secs(10) {
        let gap = paxlock_driver::monotime_ms() - b.last_success_ms();
        max_gap_ms = max_gap_ms.max(gap);
        if a_lost_after.is_none() && a.lost().is_some() {
            a_lost_after = Some(paxlock_driver::monotime_ms() - a.last_success_ms());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        max_gap_ms < 3500,
        "B's renewal was delayed: {max_gap_ms} ms since its last success"
    );
    assert!(b.lost().is_none());
    let gap = a_lost_after.expect("A was never declared lost although its renewals were stuck");
    assert!(
        (8000..9500).contains(&gap),
        "A declared lost {gap} ms after its last renewal (expected 8 s + the 1 s check)"
    );
    assert!(matches!(a.lost(), Some(LossReason::RenewalTimeout { .. })));
    env.stalled.lock().unwrap().clear();
    stuck.join().unwrap();
}
