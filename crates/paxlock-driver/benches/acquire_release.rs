//! Acquire + release of an exclusive, file-backed lease on a joined
//! lockspace, with every I/O counted. Prints one JSON line:
//! `{"impl":"paxlock","iterations":N,"mean_us":..,"reads_per_cycle":..,"writes_per_cycle":..}`.
//!
//! `scripts/bench-lease` runs it next to the same workload through the real
//! sanlock daemon and prints the ratios. Run alone with
//! `cargo bench -p paxlock-driver --bench acquire_release -- DIR [ITERATIONS]`.

use std::cell::Cell;
use std::path::Path;
use std::time::Instant;

use paxlock_core::delta::{self, HostTable, LockspaceConfig};
use paxlock_core::paxos::{self, AcquireOpts, Member, Mode, ResourceSpec};
use paxlock_core::{block_on, DiskId, Env, IoFault, LeaseLoc, Timeouts};
use paxlock_driver::RealEnv;
use paxlock_format::{area, AlignSize, Geometry, Name, SectorSize};

struct Counting {
    inner: RealEnv,
    reads: Cell<u64>,
    writes: Cell<u64>,
}

impl Env for Counting {
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
        self.reads.set(self.reads.get() + 1);
        self.inner.read(d, off, len, t).await
    }
    async fn write(&self, d: DiskId, off: u64, data: Vec<u8>, t: u64) -> Result<(), IoFault> {
        self.writes.set(self.writes.get() + 1);
        self.inner.write(d, off, data, t).await
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let dir = args
        .first()
        .cloned()
        .unwrap_or_else(|| "target/bench-lease".to_string());
    let iterations: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(200);
    std::fs::create_dir_all(&dir).expect("bench dir");
    let g = Geometry::new(SectorSize::S512, AlignSize::A1M).unwrap();
    let ls_path = Path::new(&dir).join("px-ids");
    let res_path = Path::new(&dir).join("px-res");
    let space = Name::new("BENCH").unwrap();
    let init = area::lockspace_init(g, space, 1);
    let mut ls = init.area.clone();
    ls[..512].copy_from_slice(&init.commit_sector);
    std::fs::write(&ls_path, &ls).unwrap();
    std::fs::write(
        &res_path,
        area::resource_init(g, space, Name::new("R1").unwrap(), 0, None),
    )
    .unwrap();

    let env = Counting {
        inner: RealEnv::new(),
        reads: Cell::new(0),
        writes: Cell::new(0),
    };
    let cfg = LockspaceConfig {
        space_name: space,
        host_id: 1,
        loc: LeaseLoc {
            disk: env.inner.disk(&ls_path).unwrap(),
            offset: 0,
        },
        geometry: g,
        timeouts: Timeouts::new(1, 60).unwrap(),
        host_name: Name::new("bench-host").unwrap(),
    };
    let held = block_on(delta::delta_acquire(&env, &cfg)).expect("join");
    let hosts = std::sync::Mutex::new(HostTable::default());
    let m = Member {
        space: &cfg,
        generation: held.generation,
        hosts: &hosts,
        bug: None,
    };
    let res = ResourceSpec {
        space_name: space,
        name: Name::new("R1").unwrap(),
        loc: LeaseLoc {
            disk: env.inner.disk(&res_path).unwrap(),
            offset: 0,
        },
    };
    // warm up
    let h = block_on(paxos::acquire(
        &env,
        &m,
        &res,
        Mode::Ex,
        AcquireOpts::default(),
    ))
    .unwrap();
    block_on(paxos::release(&env, &m, &h)).unwrap();
    env.reads.set(0);
    env.writes.set(0);
    let start = Instant::now();
    for _ in 0..iterations {
        let h = block_on(paxos::acquire(
            &env,
            &m,
            &res,
            Mode::Ex,
            AcquireOpts::default(),
        ))
        .unwrap();
        block_on(paxos::release(&env, &m, &h)).unwrap();
    }
    let mean_us = start.elapsed().as_secs_f64() * 1e6 / iterations as f64;
    println!(
        "{{\"impl\":\"paxlock\",\"iterations\":{iterations},\"mean_us\":{mean_us:.1},\"reads_per_cycle\":{:.2},\"writes_per_cycle\":{:.2}}}",
        env.reads.get() as f64 / iterations as f64,
        env.writes.get() as f64 / iterations as f64
    );
    let _ = block_on(delta::delta_release(&env, &cfg, &held));
}
