//! `RealEnv::disk` follows the path: a lease file deleted and created
//! anew (virt-sanlock-cleanup, then libvirt) is opened anew, so leases
//! are never taken on a deleted file that no other host sees.

use paxlock_core::Env;
use paxlock_driver::RealEnv;

#[test]
fn a_replaced_file_is_opened_anew_and_a_deleted_one_is_refused() {
    let dir = tempfile::tempdir_in("/var/tmp").unwrap();
    let p = dir.path().join("lease");
    std::fs::write(&p, vec![1u8; 1 << 20]).unwrap();
    let env = RealEnv::new();
    let a = env.disk(&p).unwrap();
    assert_eq!(env.disk(&p).unwrap(), a, "same file, same id");
    // deleted and created anew, with other bytes
    std::fs::remove_file(&p).unwrap();
    std::fs::write(&p, vec![2u8; 1 << 20]).unwrap();
    let b = env.disk(&p).unwrap();
    assert_ne!(a, b, "a new file gets a new id");
    let read = |id| {
        paxlock_core::env::block_on(env.read(id, 0, 512, 5000))
            .map(|buf| buf[0])
            .unwrap()
    };
    assert_eq!(read(b), 2, "the new id reads the new file");
    assert_eq!(
        read(a),
        1,
        "the old id still reads the file its leases were taken on"
    );
    std::fs::remove_file(&p).unwrap();
    assert!(env.disk(&p).is_err(), "a deleted file is not used");
}
