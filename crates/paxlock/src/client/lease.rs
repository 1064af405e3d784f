//! Lease strings for `paxlock client`: parsing into wire structs, and the
//! text forms sanlock's CLI prints (`sanlock_res_to_str`, path export).
//!
//! Full strings go through `paxlock-format`'s strict parsers; the forms
//! only the daemon commands accept (`-s NAME` for host_status, `-r LS:RES`
//! for release) are parsed here.

use paxlock_format::leasestr::{self, LockspaceArg, RentryArg, RindexArg};
use paxlock_format::Name;
use paxlock_proto::flags::{SANLK_RES_LVER, SANLK_RES_SHARED};
use paxlock_proto::wire::{ResourceArg, SanlkDisk, SanlkLockspace, SanlkResource};
use paxlock_proto::{SanlkRentry, SanlkRindex};

/// Splits on unescaped `:`, dropping the escaping backslashes.
fn split_unescaped(s: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        let cur = fields.len() - 1;
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    fields[cur].push(n);
                }
            }
            ':' => fields.push(String::new()),
            c => fields[cur].push(c),
        }
    }
    fields
}

fn disk(path: &str, offset: u64) -> Result<SanlkDisk, String> {
    SanlkDisk::new(path.as_bytes(), offset).map_err(|e| e.to_string())
}

fn name(what: &str, s: &str) -> Result<Name, String> {
    Name::new(s).map_err(|e| format!("{what} {s:?}: {e}"))
}

/// `-s NAME:HOST_ID:PATH:OFFSET`, all four fields.
pub fn lockspace_full(s: &str) -> Result<SanlkLockspace, String> {
    let a = LockspaceArg::parse(s).map_err(|e| e.to_string())?;
    Ok(SanlkLockspace {
        name: a.name,
        host_id: a.host_id,
        host_id_disk: disk(&a.disk.path, a.disk.offset)?,
        ..SanlkLockspace::default()
    })
}

/// `-s NAME[:HOST_ID[:PATH[:OFFSET]]]`: what sanlock accepts where only
/// some fields are used (host_status, renewal, set_event, set_config,
/// release -O, examine, align).
pub fn lockspace_loose(s: &str) -> Result<SanlkLockspace, String> {
    let f = split_unescaped(s);
    if f.len() >= 4 {
        return lockspace_full(s);
    }
    if f[0].is_empty() {
        return Err("LOCKSPACE needs at least a lockspace name".into());
    }
    let mut ls = SanlkLockspace::named(name("lockspace name", &f[0])?);
    if let Some(h) = f.get(1) {
        ls.host_id = h
            .parse()
            .map_err(|_| format!("host_id {h:?} in LOCKSPACE is not a number"))?;
    }
    if let Some(p) = f.get(2) {
        ls.host_id_disk = disk(p, 0)?;
    }
    Ok(ls)
}

/// Converts a parsed full resource string to its wire form.
fn resource_wire(a: leasestr::ResourceArg) -> Result<ResourceArg, String> {
    let mut res = SanlkResource {
        lockspace_name: a.lockspace,
        name: a.name,
        ..SanlkResource::default()
    };
    if let Some(l) = a.lver {
        res.lver = l;
        res.flags |= SANLK_RES_LVER;
    }
    if a.shared {
        res.flags |= SANLK_RES_SHARED;
    }
    let disks = a
        .disks
        .iter()
        .map(|d| disk(&d.path, d.offset))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ResourceArg::new(res, disks))
}

/// `-r LS:RES:PATH:OFFSET[:PATH:OFFSET...][:LVER|:SH]`.
pub fn resource_full(s: &str) -> Result<ResourceArg, String> {
    resource_wire(leasestr::ResourceArg::parse(s).map_err(|e| e.to_string())?)
}

/// `-r LS:RES` (no disks) or a full resource string: what sanlock accepts
/// where the daemon matches resources by name (release, convert, examine).
pub fn resource_loose(s: &str) -> Result<ResourceArg, String> {
    let f = split_unescaped(s);
    if f.len() == 2 {
        let res = SanlkResource {
            lockspace_name: name("lockspace name", &f[0])?,
            name: name("resource name", &f[1])?,
            ..SanlkResource::default()
        };
        return Ok(ResourceArg::new(res, Vec::new()));
    }
    resource_full(s)
}

/// `-x LS:PATH:OFFSET`.
pub fn rindex(s: &str) -> Result<SanlkRindex, String> {
    let a = RindexArg::parse(s).map_err(|e| e.to_string())?;
    Ok(SanlkRindex {
        lockspace_name: a.lockspace,
        disk: disk(&a.disk.path, a.disk.offset)?,
        ..SanlkRindex::default()
    })
}

/// `-e NAME[:OFFSET]` or `-e :OFFSET`.
pub fn rentry(s: &str) -> Result<SanlkRentry, String> {
    let a = RentryArg::parse(s).map_err(|e| e.to_string())?;
    Ok(SanlkRentry {
        name: a.name,
        offset: a.offset,
        ..SanlkRentry::default()
    })
}

/// A number as `strtoull(s, NULL, 0)` reads a well-formed one: decimal,
/// `0x` hex or leading-`0` octal.
pub fn number(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let r = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        u64::from_str_radix(h, 16)
    } else if t.len() > 1 && t.starts_with('0') {
        u64::from_str_radix(&t[1..], 8)
    } else {
        t.parse()
    };
    r.map_err(|_| format!("{s:?} is not a number (decimal, 0x hex or 0 octal)"))
}

/// A u32 [`number`].
pub fn number32(s: &str) -> Result<u32, String> {
    let n = number(s)?;
    u32::try_from(n).map_err(|_| format!("{s:?} is too large (at most {})", u32::MAX))
}

/// `sanlock_path_export`: a backslash pair is copied as is, an unescaped
/// `:` or space gets a backslash.
pub fn path_export(path: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(path.len());
    let mut i = 0;
    while i < path.len() {
        let c = path[i];
        if c == b'\\' {
            out.push(c);
            if let Some(&n) = path.get(i + 1) {
                out.push(n);
            }
            i += 2;
            continue;
        }
        if c == b':' || c == b' ' {
            out.push(b'\\');
        }
        out.push(c);
        i += 1;
    }
    out
}

/// `sanlock_res_to_str`: `LS:RES[:PATH:OFFSET...]:LVER` or `...:SH`.
pub fn res_to_str(res: &SanlkResource, disks: &[SanlkDisk]) -> Vec<u8> {
    let mut s = Vec::new();
    s.extend_from_slice(res.lockspace_name.as_bytes());
    s.push(b':');
    s.extend_from_slice(res.name.as_bytes());
    for d in disks {
        s.push(b':');
        s.extend_from_slice(&path_export(d.path.as_bytes()));
        s.extend_from_slice(format!(":{}", d.offset).as_bytes());
    }
    if res.flags & SANLK_RES_SHARED != 0 {
        s.extend_from_slice(b":SH");
    } else {
        s.extend_from_slice(format!(":{}", res.lver).as_bytes());
    }
    s
}

/// `sanlock_state_to_args` for well-formed state strings: resource
/// strings separated by unescaped spaces (escapes kept for the resource
/// parser).
pub fn state_to_args(state: &str) -> Result<Vec<ResourceArg>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = state.chars();
    let mut flush = |cur: &mut String| -> Result<(), String> {
        out.push(resource_full(cur)?);
        cur.clear();
        Ok(())
    };
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                cur.push(c);
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            ' ' => flush(&mut cur)?,
            c => cur.push(c),
        }
    }
    flush(&mut cur)?;
    Ok(out)
}

/// The JSON form of a disk list.
pub fn disks_json(disks: &[SanlkDisk]) -> serde_json::Value {
    serde_json::Value::Array(
        disks
            .iter()
            .map(|d| serde_json::json!({"path": d.path.to_string_lossy(), "offset": d.offset}))
            .collect(),
    )
}

/// The JSON form of a resource: names, disks, lver (null when shared),
/// shared.
pub fn resource_json(res: &SanlkResource, disks: &[SanlkDisk]) -> serde_json::Value {
    let shared = res.flags & SANLK_RES_SHARED != 0;
    serde_json::json!({
        "lockspace": res.lockspace_name.to_string_lossy(),
        "name": res.name.to_string_lossy(),
        "disks": disks_json(disks),
        "lver": if shared { serde_json::Value::Null } else { res.lver.into() },
        "shared": shared,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loose_forms() {
        let ls = lockspace_loose("LS").unwrap();
        assert_eq!(ls.name.as_bytes(), b"LS");
        assert!(ls.host_id_disk.path.is_empty());
        let ls = lockspace_loose("LS:3:/dev/a\\:b:1M").unwrap();
        assert_eq!(ls.host_id, 3);
        assert_eq!(ls.host_id_disk.path.as_bytes(), b"/dev/a:b");
        assert_eq!(ls.host_id_disk.offset, 1 << 20);
        assert!(lockspace_loose("").is_err());
        assert!(lockspace_loose("LS:x").is_err());

        let r = resource_loose("LS:R1").unwrap();
        assert!(r.disks.is_empty());
        assert_eq!(r.res.num_disks, 0);
        let r = resource_loose("LS:R1:/p:0:SH").unwrap();
        assert_eq!(r.res.flags, SANLK_RES_SHARED);
        assert_eq!(r.res.num_disks, 1);
        let r = resource_full("LS:R1:/p:0:7").unwrap();
        assert_eq!((r.res.lver, r.res.flags), (7, SANLK_RES_LVER));
        assert!(resource_full("LS:R1").is_err());
        assert!(resource_loose("LS:R1:/p").is_err());
    }

    #[test]
    fn text_forms() {
        assert_eq!(path_export(b"/a:b c\\:d"), b"/a\\:b\\ c\\:d".to_vec());
        let r = resource_full("LS:R1:/a\\:b:0:5").unwrap();
        assert_eq!(res_to_str(&r.res, &r.disks), b"LS:R1:/a\\:b:0:5".to_vec());
        let v = state_to_args("LS:R1:/p:0:1 LS:R2:/q\\ x:1048576:SH").unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[1].disks[0].path.as_bytes(), b"/q x");
        assert_eq!(number("0x10").unwrap(), 16);
        assert_eq!(number("010").unwrap(), 8);
        assert_eq!(number("0").unwrap(), 0);
        assert!(number("z").is_err());
    }
}
