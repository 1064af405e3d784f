//! `paxlock direct ...`: commands that read and write lease areas on
//! storage without a daemon, with sanlock's syntax and output.
//!
//! Every command validates everything it can (strings, geometry, device,
//! size, alignment) before its first write, so a failed command leaves the
//! disk untouched. Output that sanlock prints goes to stdout unchanged;
//! explanations of what went wrong and what to do go to stderr.

use std::path::Path;
use std::time::Duration;

use paxlock_format::area::{self, AreaView};
use paxlock_format::leader::{LeaderError, DELTA_DISK_MAGIC, PAXOS_DISK_MAGIC};
use paxlock_format::leasestr::{
    parse_dump_target, DiskLoc, LockspaceArg, RentryArg, ResourceArg, RindexArg,
};
use paxlock_format::rindex::{self as rx, RindexEntry, RindexHeader, RINDEX_ENTRY_LEN};
use paxlock_format::{AlignSize, Geometry, LeaderKind, LeaderRecord, Name, SectorSize};
use paxlock_io::{Access, Disk, IoError};
use serde_json::json;

use crate::render;

/// Default io_timeout in seconds (sanlock's `DEFAULT_IO_TIMEOUT`).
pub const IO_TIMEOUT_DEFAULT_SECS: u32 = 10;
/// Deadline for the writes of init and format (sanlock's
/// `DEFAULT_WRITE_INIT_IO_TIMEOUT`).
pub const WRITE_INIT_TIMEOUT_SECS: u64 = 60;

/// What a command produced: sanlock's stdout, our stderr notes, and the
/// result number (0 = success; otherwise a negative errno or `SANLK_*`).
#[derive(Debug, Default)]
pub struct Outcome {
    /// Bytes for stdout, exactly as sanlock would print them.
    pub stdout: Vec<u8>,
    /// Lines for stderr: errors and warnings, each saying what to do.
    pub stderr: Vec<String>,
    /// The result number.
    pub rv: i32,
}

impl Outcome {
    fn done(label: &str, rv: i32) -> Outcome {
        Outcome {
            stdout: format!("{label} done {rv}\n").into_bytes(),
            stderr: Vec::new(),
            rv,
        }
    }

    fn fail(label: &str, rv: i32, msg: impl Into<String>) -> Outcome {
        let mut o = Outcome::done(label, rv);
        o.stderr.push(format!("error: {}", msg.into()));
        o
    }

    /// Process exit code: 0 on success, 1 otherwise (as sanlock).
    pub fn exit_code(&self) -> i32 {
        if self.rv == 0 {
            0
        } else {
            1
        }
    }
}

/// `-Z` and `-A` as given.
#[derive(Debug, Clone, Copy, Default)]
pub struct GeometryOpts {
    /// `-Z 512|4096`.
    pub sector_size: Option<SectorSize>,
    /// `-A 1M|2M|4M|8M`.
    pub align_size: Option<AlignSize>,
}

impl GeometryOpts {
    /// Both given: that geometry (checked). Neither: `None`. One only: error.
    fn explicit(self) -> Result<Option<Geometry>, String> {
        match (self.sector_size, self.align_size) {
            (Some(s), Some(a)) => Geometry::new(s, a).map(Some).map_err(|e| e.to_string()),
            (None, None) => Ok(None),
            (Some(s), None) => Err(format!(
                "-Z {} was given without -A; give both (e.g. -Z 4096 -A 1M) or neither",
                s.bytes()
            )),
            (None, Some(a)) => Err(format!(
                "-A {} was given without -Z; give both (e.g. -Z 4096 -A {}) or neither",
                a.as_arg(),
                a.as_arg()
            )),
        }
    }
}

/// The lease to act on: `-s LOCKSPACE` or `-r RESOURCE`.
#[derive(Debug, Clone)]
pub enum Target {
    /// A lockspace.
    Lockspace(LockspaceArg),
    /// A resource.
    Resource(ResourceArg),
}

fn io_timeout(secs: u32) -> Duration {
    Duration::from_secs(u64::from(secs))
}

fn at(d: &DiskLoc) -> String {
    format!("{}:{}", d.path, d.offset)
}

/// The geometry init/format use on `disk`: the explicit one, or sanlock's
/// default for the device's sector size. Refuses a lease sector size
/// smaller than the device's: its single-sector writes would fail.
fn choose_geometry(disk: &Disk, explicit: Option<Geometry>) -> Result<Geometry, String> {
    let device_ss = disk.logical_sector_size_bytes();
    let g = match explicit {
        Some(g) => g,
        None => match SectorSize::from_bytes(u64::from(device_ss)) {
            Some(ss) => Geometry::legacy_default(ss),
            None => {
                return Err(format!(
                    "{} has {device_ss}-byte sectors; leases support 512 or 4096",
                    disk.path().display()
                ))
            }
        },
    };
    if g.sector_bytes() < u64::from(device_ss) {
        return Err(format!(
            "{} has {device_ss}-byte logical sectors, so -Z {} leases cannot be written there \
             (O_DIRECT I/O smaller than a device sector fails); use -Z 4096",
            disk.path().display(),
            g.sector_bytes()
        ));
    }
    Ok(g)
}

/// Checks that `count` areas starting at `loc.offset` are aligned and fit.
fn check_room(
    disk: &Disk,
    loc: &DiskLoc,
    g: Geometry,
    count: u64,
    what: &str,
) -> Result<(), String> {
    if !loc.offset.is_multiple_of(g.align_bytes()) {
        let below = loc.offset - loc.offset % g.align_bytes();
        return Err(format!(
            "offset {} on {} is not a multiple of the align size {} ({} bytes); use {} or {}",
            loc.offset,
            loc.path,
            g.align_size().as_arg(),
            g.align_bytes(),
            below,
            below + g.align_bytes()
        ));
    }
    let need = loc.offset.saturating_add(count * g.align_bytes());
    if need > disk.size_bytes() {
        return Err(format!(
            "{} is {} bytes, too small for {what} of {} at offset {} (needs {} bytes); \
             grow it (e.g. truncate -s {} {}) or use a smaller offset",
            loc.path,
            disk.size_bytes(),
            if count == 1 {
                g.align_size().as_arg().to_string()
            } else {
                format!("{count} x {}", g.align_size().as_arg())
            },
            loc.offset,
            need,
            need,
            loc.path
        ));
    }
    Ok(())
}

fn open(loc: &DiskLoc, access: Access) -> Result<Disk, IoError> {
    Disk::open(Path::new(&loc.path), access)
}

/// `direct init -s LOCKSPACE | -r RESOURCE`.
pub fn init(
    target: &Target,
    geo: GeometryOpts,
    io_timeout_secs: u32,
    clear: bool,
    num_hosts: u64,
) -> Outcome {
    const L: &str = "init";
    let explicit = match geo.explicit() {
        Ok(g) => g,
        Err(m) => return Outcome::fail(L, -22, m),
    };
    if !(1..=255).contains(&io_timeout_secs) {
        return Outcome::fail(
            L,
            -22,
            format!("io_timeout {io_timeout_secs} is out of range; use 1 to 255 seconds"),
        );
    }
    let write_timeout =
        Duration::from_secs(WRITE_INIT_TIMEOUT_SECS.max(u64::from(io_timeout_secs)));
    let locs: Vec<&DiskLoc> = match target {
        Target::Lockspace(ls) => vec![&ls.disk],
        Target::Resource(r) => r.disks.iter().collect(),
    };
    // Open and check every disk before the first write.
    let mut disks = Vec::with_capacity(locs.len());
    let mut geometry = None;
    for loc in &locs {
        let disk = match open(loc, Access::ReadWrite) {
            Ok(d) => d,
            Err(e) => return Outcome::fail(L, e.code(), e.to_string()),
        };
        let g = match geometry {
            Some(g) => g,
            None => match choose_geometry(&disk, explicit) {
                Ok(g) => *geometry.insert(g),
                Err(m) => return Outcome::fail(L, -22, m),
            },
        };
        let what = match target {
            Target::Lockspace(_) => "a lockspace",
            Target::Resource(_) => "a resource lease",
        };
        if let Err(m) = check_room(&disk, loc, g, 1, what) {
            return Outcome::fail(L, -22, m);
        }
        disks.push(disk);
    }
    let Some(g) = geometry else {
        return Outcome::fail(L, -19, "no disk was given");
    };
    let result = match target {
        Target::Lockspace(ls) => {
            let image = area::lockspace_init(g, ls.name, io_timeout_secs as u16);
            disks[0]
                .write_at(ls.disk.offset, &image.area, write_timeout)
                .and_then(|()| {
                    disks[0].write_at(ls.disk.offset, &image.commit_sector, write_timeout)
                })
        }
        Target::Resource(r) => {
            let clear_ts = clear.then(paxlock_io::monotime_secs);
            let image = area::resource_init(g, r.lockspace, r.name, num_hosts, clear_ts);
            disks
                .iter()
                .zip(&r.disks)
                .try_for_each(|(d, loc)| d.write_at(loc.offset, &image, write_timeout))
        }
    };
    match result {
        Ok(()) => Outcome::done(L, 0),
        Err(e) => Outcome::fail(L, e.code(), e.to_string()),
    }
}

/// Reads 4096 bytes at `offset` and takes the geometry from a delta or
/// paxos leader found there (sanlock's `direct_read_leader_sizes`).
fn geometry_at(disk: &Disk, offset: u64, timeout: Duration) -> Result<Geometry, String> {
    let buf = disk
        .read_at(offset, 4096, timeout)
        .map_err(|e| e.to_string())?;
    let leader = LeaderRecord::decode(&buf).map_err(|e| e.to_string())?;
    match leader.magic {
        DELTA_DISK_MAGIC | PAXOS_DISK_MAGIC => leader.geometry().ok_or_else(|| {
            format!(
                "the leader at offset {offset} declares an invalid geometry (sector_size {}, flags 0x{:x}); \
                 it is corrupted, or give -Z and -A",
                leader.sector_size, leader.flags
            )
        }),
        _ => Err(format!("no lease at offset {offset}: found {}", leader.kind().describe())),
    }
}

/// `direct dump PATH[:OFFSET[:SIZE]] [-f N]`, text or JSON.
pub fn dump(
    target: &str,
    force_mode: u32,
    geo: GeometryOpts,
    io_timeout_secs: u32,
    as_json: bool,
) -> Outcome {
    let mut o = Outcome::default();
    let (path, start, size) = match parse_dump_target(target) {
        Ok(t) => t,
        Err(e) => {
            o.rv = -22;
            o.stderr.push(format!("error: {e}"));
            return o;
        }
    };
    let timeout = io_timeout(io_timeout_secs);
    if start % (1 << 20) != 0 && !as_json {
        o.stdout
            .extend_from_slice(b"WARNING: dump offset should be a multiple of 1048576 bytes.\n");
    }
    let disk = match Disk::open(Path::new(&path), Access::ReadOnly) {
        Ok(d) => d,
        Err(e) => {
            if !as_json {
                o.stdout
                    .extend_from_slice(format!("Device {path} not found.\n").as_bytes());
            }
            o.stderr.push(format!("error: {e}"));
            o.rv = -19;
            return o;
        }
    };
    let explicit = match (geo.sector_size, geo.align_size) {
        (Some(s), Some(a)) => match Geometry::new(s, a) {
            Ok(g) => Some(g),
            Err(e) => {
                o.stderr.push(format!("error: {e}"));
                o.rv = -22;
                return o;
            }
        },
        _ => None,
    };
    let geometry = match explicit {
        Some(g) => g,
        None => {
            // Look for a leader every MiB, up to 1024 MiB or SIZE, as sanlock does.
            let mut found = None;
            let mut last_err = String::new();
            for i in 0..1024u64 {
                let off = start + i * (1 << 20);
                if size.is_some_and(|s| i > 0 && off >= start + s) || off >= disk.size_bytes() {
                    break;
                }
                match geometry_at(&disk, off, timeout) {
                    Ok(g) => {
                        found = Some(g);
                        break;
                    }
                    Err(e) => {
                        if i == 0 {
                            last_err = e;
                        }
                    }
                }
            }
            match found {
                Some(g) => g,
                None => {
                    if !as_json {
                        o.stdout.extend_from_slice(
                            b"Cannot find sector_size and align_size, set with -A and -Z.\n",
                        );
                    }
                    o.stderr.push(format!(
                        "error: {path}: no lockspace or resource lease found from offset {start} ({last_err}); \
                         check the path and offset, or give -Z and -A"
                    ));
                    o.rv = -1;
                    return o;
                }
            }
        }
    };
    let ss = geometry.sector_bytes();
    if !as_json {
        o.stdout.extend(render::dump_header(force_mode));
    }
    let end_sector = size.map(|s| s / ss);
    let mut sector_nr = 0u64;
    let mut areas = Vec::new();
    while end_sector.is_none_or(|e| sector_nr < e) {
        let off = start + sector_nr * ss;
        let view = match disk.read_at(off, geometry.align_usize(), timeout) {
            Ok(buf) => area::decode_area(&buf, geometry),
            Err(e) => {
                if !matches!(e, IoError::PastEnd { .. }) {
                    o.stderr.push(format!("warning: {e}"));
                }
                AreaView::Other { magic: 0 }
            }
        };
        if matches!(view, AreaView::Other { .. } | AreaView::Cleared { .. }) && end_sector.is_none()
        {
            break;
        }
        note_problems(&mut o.stderr, &path, off, geometry, &view);
        if as_json {
            if !matches!(view, AreaView::Other { magic: 0 }) {
                areas.push(render::area_json(off, &view));
            }
        } else {
            render::dump_area(&mut o.stdout, off, &view, force_mode);
        }
        sector_nr += geometry.sectors_per_area();
        if off >= disk.size_bytes() {
            break;
        }
    }
    if as_json {
        let doc = json!({
            "path": path,
            "offset": start,
            "sector_size": ss,
            "align_size": geometry.align_bytes(),
            "areas": areas,
            "problems": o.stderr,
        });
        o.stdout = serde_json::to_vec_pretty(&doc).unwrap_or_default();
        o.stdout.push(b'\n');
    }
    o
}

/// Adds a stderr warning for each record in `view` whose checksum is wrong.
/// An area whose leader declares another geometry than the dump's is only
/// noted: its sectors are not where the dump looks, so checking them would
/// report nonsense.
fn note_problems(
    notes: &mut Vec<String>,
    path: &str,
    off: u64,
    geometry: Geometry,
    view: &AreaView,
) {
    let bad = |what: String, stored: u32, computed: u32| {
        format!(
            "warning: {path}:{off}: {what}: checksum mismatch (stored 0x{stored:08x}, computed 0x{computed:08x}); \
             the sector is corrupted or was torn by a partial write"
        )
    };
    match view {
        AreaView::Lockspace { slots, .. } => {
            for s in slots.iter().filter(|s| !s.checksum_ok) {
                notes.push(bad(
                    format!("host_id {} delta lease at +{}", s.host_id, s.offset_in_area),
                    s.leader.checksum,
                    s.leader.computed_checksum(),
                ));
            }
        }
        AreaView::Resource { leader, .. } if leader.geometry().is_some_and(|g| g != geometry) => {
            notes.push(format!(
                "note: {path}:{off}: this resource lease uses geometry {}, but the dump reads {geometry} \
                 (found first); dump it alone with {path}:{off} for its details",
                leader.geometry().map(|g| g.to_string()).unwrap_or_default()
            ));
        }
        AreaView::Resource {
            leader,
            leader_checksum_ok,
            dblocks,
            ..
        } => {
            if !leader_checksum_ok {
                notes.push(bad(
                    "resource leader".into(),
                    leader.checksum,
                    leader.computed_checksum(),
                ));
            }
            for d in dblocks.iter().filter(|d| !d.checksum_ok) {
                notes.push(bad(
                    format!("dblock of host_id {}", d.host_id),
                    d.dblock.checksum,
                    d.dblock.computed_checksum(),
                ));
            }
        }
        _ => {}
    }
}

fn leader_hint(e: &LeaderError, lockspace: bool) -> &'static str {
    match e {
        LeaderError::Magic {
            found: LeaderKind::Delta,
            ..
        } => "; this is a lockspace: use -s",
        LeaderError::Magic {
            found: LeaderKind::Paxos,
            ..
        } if lockspace => "; this is a resource lease: use -r",
        LeaderError::Magic {
            found: LeaderKind::Zero,
            ..
        } => "; initialise it with 'paxlock direct init'",
        LeaderError::Magic {
            found: LeaderKind::PaxosClear,
            ..
        } => "; it was cleared: re-initialise it to use it",
        LeaderError::Magic { .. } => "; check the path and offset",
        LeaderError::Checksum { .. } => "; the record cannot be trusted",
        LeaderError::Lockspace { .. } | LeaderError::Resource { .. } => {
            "; check the names in the lease string"
        }
        _ => "",
    }
}

/// `direct read_leader -s LOCKSPACE | -r RESOURCE`.
pub fn read_leader(
    target: &Target,
    geo: GeometryOpts,
    io_timeout_secs: u32,
    as_json: bool,
) -> Outcome {
    const L: &str = "read_leader";
    let timeout = io_timeout(io_timeout_secs);
    let explicit = match geo.explicit() {
        Ok(g) => g,
        Err(m) => return Outcome::fail(L, -22, m),
    };
    let (loc, is_ls) = match target {
        Target::Lockspace(ls) => (&ls.disk, true),
        Target::Resource(r) => (&r.disks[0], false),
    };
    let disk = match open(loc, Access::ReadOnly) {
        Ok(d) => d,
        Err(e) => return Outcome::fail(L, e.code(), e.to_string()),
    };
    let (sector_off, ss) = match target {
        Target::Lockspace(ls) => {
            let g = match explicit {
                Some(g) => g,
                None => match geometry_at(&disk, loc.offset, timeout) {
                    Ok(g) => g,
                    Err(m) => return Outcome::fail(L, -1, format!("{}: {m}", at(loc))),
                },
            };
            match g.delta_slot_offset(ls.host_id) {
                Some(o) => (loc.offset + o, g.sector_usize()),
                None => {
                    return Outcome::fail(
                        L,
                        -22,
                        format!(
                            "host_id {} is not a slot of a {g} lockspace; give the host_id whose slot to read (1 to {})",
                            ls.host_id,
                            g.max_hosts()
                        ),
                    )
                }
            }
        }
        // sanlock reads a resource leader as one 4096-byte sector unless told.
        Target::Resource(_) => (loc.offset, explicit.map_or(4096, |g| g.sector_usize())),
    };
    let leader = match disk
        .read_at(sector_off, ss, timeout)
        .map(|b| LeaderRecord::decode(&b))
    {
        Ok(Ok(l)) => l,
        Ok(Err(e)) => return Outcome::fail(L, -5, e.to_string()),
        Err(e) => return Outcome::fail(L, e.code(), e.to_string()),
    };
    let verdict = match target {
        Target::Lockspace(ls) => leader.verify_delta(&ls.name),
        Target::Resource(r) => leader.verify_paxos(&r.lockspace, &r.name, 0),
    };
    let rv = verdict.as_ref().err().map_or(0, LeaderError::code);
    let mut o = Outcome {
        rv,
        ..Outcome::default()
    };
    if let Err(e) = &verdict {
        o.stderr
            .push(format!("error: {}: {e}{}", at(loc), leader_hint(e, is_ls)));
    }
    if as_json {
        let doc = json!({
            "result": rv,
            "error": verdict.as_ref().err().map(|e| e.to_string()),
            "path": loc.path,
            "offset": sector_off,
            "leader": render::leader_json(&leader),
        });
        o.stdout = serde_json::to_vec_pretty(&doc).unwrap_or_default();
        o.stdout.push(b'\n');
    } else {
        o.stdout = format!("{L} done {rv}\n").into_bytes();
        render::leader_lines(&mut o.stdout, &leader, is_ls);
    }
    o
}

/// `direct format -x RINDEX`: the rindex area and its `rindex_lease`.
pub fn format(rindex: &RindexArg, geo: GeometryOpts, io_timeout_secs: u32) -> Outcome {
    const L: &str = "format";
    let explicit = match geo.explicit() {
        Ok(g) => g,
        Err(m) => return Outcome::fail(L, -22, m),
    };
    let disk = match open(&rindex.disk, Access::ReadWrite) {
        Ok(d) => d,
        Err(e) => return Outcome::fail(L, e.code(), e.to_string()),
    };
    let g = match choose_geometry(&disk, explicit) {
        Ok(g) => g,
        Err(m) => return Outcome::fail(L, -22, m),
    };
    if let Err(m) = check_room(&disk, &rindex.disk, g, 2, "a resource index and its lease") {
        return Outcome::fail(L, -22, m);
    }
    let timeout = Duration::from_secs(WRITE_INIT_TIMEOUT_SECS.max(u64::from(io_timeout_secs)));
    let off = rindex.disk.offset;
    let r = disk
        .write_at(
            off,
            &area::rindex_format(g, rindex.lockspace, off, 0),
            timeout,
        )
        .and_then(|()| {
            disk.write_at(
                off + g.align_bytes(),
                &area::rindex_lease_init(g, rindex.lockspace),
                timeout,
            )
        });
    match r {
        Ok(()) => Outcome::done(L, 0),
        Err(e) => Outcome::fail(L, e.code(), e.to_string()),
    }
}

/// An rindex opened and checked: header, geometry and the whole area.
struct OpenRindex {
    disk: Disk,
    header: RindexHeader,
    geometry: Geometry,
    area: Vec<u8>,
}

fn open_rindex(
    rindex: &RindexArg,
    access: Access,
    timeout: Duration,
) -> Result<OpenRindex, (i32, String)> {
    let disk = open(&rindex.disk, access).map_err(|e| (e.code(), e.to_string()))?;
    let off = rindex.disk.offset;
    let hdr = disk
        .read_at(off, 4096, timeout)
        .map_err(|e| (e.code(), e.to_string()))?;
    let header = RindexHeader::decode(&hdr).map_err(|e| (-5, e.to_string()))?;
    let geometry = header.verify(&rindex.lockspace, off).map_err(|e| {
        let hint = match e {
            rx::RindexError::Magic { .. } => {
                "; format one with 'paxlock direct format -x' or check the offset"
            }
            _ => "",
        };
        (e.code(), format!("{}: {e}{hint}", at(&rindex.disk)))
    })?;
    let area = disk
        .read_at(off, geometry.align_usize(), timeout)
        .map_err(|e| (e.code(), e.to_string()))?
        .into_vec();
    Ok(OpenRindex {
        disk,
        header,
        geometry,
        area,
    })
}

impl OpenRindex {
    fn searchable(&self) -> u64 {
        self.header.searchable_entries(self.geometry)
    }

    fn entry(&self, index: u64) -> RindexEntry {
        let Some(off) =
            rx::entry_offset(self.geometry, index).and_then(|o| usize::try_from(o).ok())
        else {
            return RindexEntry::default();
        };
        self.area
            .get(off..off.saturating_add(RINDEX_ENTRY_LEN))
            .and_then(|b| RindexEntry::decode(b).ok())
            .unwrap_or_default()
    }

    fn find(&self, pred: impl Fn(&RindexEntry) -> bool) -> Option<u64> {
        (0..self.searchable()).find(|&i| pred(&self.entry(i)))
    }

    fn lease_offset(&self, index: u64) -> u64 {
        // Indices come from searchable_entries of a header read at its own
        // rx_offset, so this fits; saturate rather than panic regardless.
        rx::entry_lease_offset(self.geometry, self.header.rx_offset, index).unwrap_or(u64::MAX)
    }

    /// The entry index for a lease offset given by the user.
    fn index_for(&self, res_offset: u64) -> Result<u64, (i32, String)> {
        rx::entry_index_for_lease(self.geometry, self.header.rx_offset, res_offset, self.searchable()).ok_or_else(|| {
            (
                -277,
                format!(
                    "offset {res_offset} is not a resource lease slot of this index: slots start at {} \
                     and step by {} bytes, up to {} slots",
                    self.lease_offset(0),
                    self.geometry.align_bytes(),
                    self.searchable()
                ),
            )
        })
    }
}

/// `direct lookup -x RINDEX [-e NAME[:OFFSET]]`.
pub fn lookup(rindex: &RindexArg, rentry: Option<&RentryArg>, io_timeout_secs: u32) -> Outcome {
    const L: &str = "lookup";
    let rx = match open_rindex(rindex, Access::ReadOnly, io_timeout(io_timeout_secs)) {
        Ok(r) => r,
        Err((rv, m)) => return Outcome::fail(L, rv, m),
    };
    let want = rentry.cloned().unwrap_or(RentryArg {
        name: Name::default(),
        offset: 0,
    });
    let found: Result<(Name, u64), (i32, String)> = match (want.name.is_empty(), want.offset) {
        (true, 0) => rx
            .find(RindexEntry::is_free)
            .map(|i| (Name::default(), rx.lease_offset(i)))
            .ok_or((-2, "the resource index is full: no free entry".into())),
        (true, off) => rx.index_for(off).map(|i| (rx.entry(i).name, off)),
        (false, 0) => rx
            .find(|e| !e.name.is_empty() && e.name.same_as(&want.name))
            .map(|i| (want.name, rx.lease_offset(i)))
            .ok_or((
                -2,
                format!(
                    "no entry named {:?} in the resource index",
                    want.name.to_string_lossy()
                ),
            )),
        (false, off) => rx.index_for(off).and_then(|i| {
            let e = rx.entry(i);
            if e.name.same_as(&want.name) {
                Ok((e.name, off))
            } else {
                Err((
                    -278,
                    format!(
                        "offset {off} is recorded for {:?}, not {:?}",
                        e.name.to_string_lossy(),
                        want.name.to_string_lossy()
                    ),
                ))
            }
        }),
    };
    match found {
        Ok((name, off)) => {
            let mut o = Outcome::done(L, 0);
            o.stdout.extend_from_slice(b"name ");
            o.stdout.extend_from_slice(if name.is_empty() {
                b"-"
            } else {
                name.as_bytes()
            });
            o.stdout
                .extend_from_slice(format!(" offset {off}\n").as_bytes());
            o
        }
        Err((rv, m)) => Outcome::fail(L, rv, m),
    }
}

/// `direct update -x RINDEX -e NAME:OFFSET [-z 1]`: add (or with `-z 1`
/// remove) one entry, rewriting only the sector that holds it.
pub fn update(
    rindex: &RindexArg,
    rentry: &RentryArg,
    remove: bool,
    io_timeout_secs: u32,
) -> Outcome {
    const L: &str = "update";
    let timeout = io_timeout(io_timeout_secs);
    if rentry.offset == 0 || (!remove && rentry.name.is_empty()) {
        return Outcome::fail(
            L,
            -22,
            "update needs -e NAME:OFFSET (or -e :OFFSET with -z 1 to remove an entry)",
        );
    }
    let rx = match open_rindex(rindex, Access::ReadWrite, timeout) {
        Ok(r) => r,
        Err((rv, m)) => return Outcome::fail(L, rv, m),
    };
    if !rentry.offset.is_multiple_of(rx.geometry.align_bytes()) {
        return Outcome::fail(
            L,
            -277,
            format!(
                "offset {} is not a multiple of the align size",
                rentry.offset
            ),
        );
    }
    let index = match rx.index_for(rentry.offset) {
        Ok(i) => i,
        Err((rv, m)) => return Outcome::fail(L, rv, m),
    };
    let entry = if remove {
        RindexEntry::default()
    } else {
        RindexEntry {
            res_offset: rentry.offset,
            name: rentry.name,
            ..RindexEntry::default()
        }
    };
    let ss = rx.geometry.sector_usize();
    let Some(ent_off) = rx::entry_offset(rx.geometry, index).and_then(|o| usize::try_from(o).ok())
    else {
        return Outcome::fail(
            L,
            -277,
            format!("entry {index} lies outside the resource index"),
        );
    };
    let sector_start = ent_off / ss * ss;
    let mut sector = rx.area[sector_start..sector_start + ss].to_vec();
    let in_sector = ent_off - sector_start;
    if let Err(e) = entry.encode(&mut sector[in_sector..in_sector + RINDEX_ENTRY_LEN]) {
        return Outcome::fail(L, -22, e.to_string());
    }
    match rx
        .disk
        .write_at(rindex.disk.offset + sector_start as u64, &sector, timeout)
    {
        Ok(()) => Outcome::done(L, 0),
        Err(e) => Outcome::fail(L, e.code(), e.to_string()),
    }
}
