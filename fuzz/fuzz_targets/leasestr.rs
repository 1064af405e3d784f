//! The lease-string parsers on arbitrary UTF-8: they never panic, what they
//! accept satisfies the documented limits, and formatting a parsed value
//! (escaping ':' and '\') parses back to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use paxlock_format::leasestr::{
    parse_dump_target, parse_offset, DiskLoc, LockspaceArg, RentryArg, ResourceArg, RindexArg,
    MAX_DISKS, PATH_LEN_MAX,
};
use paxlock_format::Name;

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == ':' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn esc_name(n: &Name) -> String {
    // names parsed from a &str are UTF-8 and hold no NUL
    esc(std::str::from_utf8(n.as_bytes()).expect("parsed name is UTF-8"))
}

fn disk_ok(d: &DiskLoc) -> bool {
    !d.path.is_empty() && d.path.len() <= PATH_LEN_MAX
}

fn disk_str(d: &DiskLoc) -> String {
    format!("{}:{}", esc(&d.path), d.offset)
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };

    if let Ok(l) = LockspaceArg::parse(s) {
        assert!(disk_ok(&l.disk));
        let again = format!("{}:{}:{}", esc_name(&l.name), l.host_id, disk_str(&l.disk));
        assert_eq!(LockspaceArg::parse(&again).as_ref(), Ok(&l), "{again:?}");
    }

    if let Ok(r) = ResourceArg::parse(s) {
        assert!((1..=MAX_DISKS).contains(&r.disks.len()));
        assert!(r.disks.iter().all(disk_ok));
        assert!(!(r.shared && r.lver.is_some()));
        let mut again = format!("{}:{}", esc_name(&r.lockspace), esc_name(&r.name));
        for d in &r.disks {
            again.push(':');
            again.push_str(&disk_str(d));
        }
        if r.shared {
            again.push_str(":SH");
        }
        if let Some(lver) = r.lver {
            again.push_str(&format!(":{lver}"));
        }
        assert_eq!(ResourceArg::parse(&again).as_ref(), Ok(&r), "{again:?}");
    }

    if let Ok(x) = RindexArg::parse(s) {
        assert!(disk_ok(&x.disk));
        let again = format!("{}:{}", esc_name(&x.lockspace), disk_str(&x.disk));
        assert_eq!(RindexArg::parse(&again).as_ref(), Ok(&x), "{again:?}");
    }

    if let Ok(e) = RentryArg::parse(s) {
        let again = format!("{}:{}", esc_name(&e.name), e.offset);
        assert_eq!(RentryArg::parse(&again).as_ref(), Ok(&e), "{again:?}");
    }

    if let Ok((path, offset, size)) = parse_dump_target(s) {
        assert!(!path.is_empty() && path.len() <= PATH_LEN_MAX);
        let mut again = format!("{}:{offset}", esc(&path));
        if let Some(z) = size {
            again.push_str(&format!(":{z}"));
        }
        assert_eq!(
            parse_dump_target(&again),
            Ok((path, offset, size)),
            "{again:?}"
        );
    }

    // offsets: a number, or a number of MiB; never wraps
    if let Ok(n) = parse_offset("fuzz", s) {
        match s.strip_suffix('M') {
            Some(mib) => assert_eq!(
                Some(n),
                mib.parse::<u64>().ok().and_then(|m| m.checked_mul(1 << 20))
            ),
            None => assert_eq!(Ok(n), s.parse::<u64>()),
        }
    }
});
