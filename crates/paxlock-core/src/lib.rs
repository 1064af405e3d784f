//! sanlock-compatible lease algorithms without I/O of their own.
//!
//! * [`delta`]: host_id leases (join, renew, leave) and how other hosts are
//!   judged live or dead ([`delta::HostTable`]);
//! * [`paxos`]: resource leases by Disk Paxos, exclusive and shared;
//! * [`ballot`]: the pure ballot rules (ballot numbers, phase evaluation);
//! * [`timeouts`]: every timeout, from io_timeout and the watchdog timeout.
//!
//! Everything that touches a disk, sleeps or reads the clock goes through
//! [`env::Env`]. The real driver runs these `async fn`s with blocking I/O
//! ([`env::block_on`]); the simulator runs many hosts in one deterministic
//! loop over simulated disks and time.

pub mod ballot;
pub mod delta;
pub mod env;
pub mod error;
pub mod paxos;
pub mod timeouts;

pub use env::{block_on, DiskId, Env, IoFault, LeaseLoc};
pub use error::LeaseError;
pub use timeouts::Timeouts;
