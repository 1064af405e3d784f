//! The lease strings of sanlock's command line and of libsanlock's
//! `sanlock_str_to_*`:
//!
//! * `LOCKSPACE = name:host_id:path:offset`
//! * `RESOURCE  = lockspace:name:path:offset[:path:offset...][:lver|:SH]`
//! * `RINDEX    = lockspace:path:offset`
//! * rindex entry (`-e`) `= name[:offset]`
//!
//! A backslash escapes the next character, so a path may hold `\:`.
//! Offsets are decimal bytes, or a decimal number followed by `M` (MiB).
//! Unlike sanlock, which silently reads `abc` as 0, every number must parse.

use crate::name::{Name, NameError};

/// sanlock's `SANLK_PATH_LEN`: a path has at most 1023 bytes.
pub const PATH_LEN_MAX: usize = 1023;
/// sanlock's `SANLK_MAX_DISKS`.
pub const MAX_DISKS: usize = 4;

/// A parsing error that names the part of the string at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeaseStrError {
    /// Wrong number of `:`-separated fields.
    #[error("{kind} must be {form}, but {input:?} has {fields} field(s)")]
    Fields {
        /// LOCKSPACE, RESOURCE, RINDEX or rindex entry.
        kind: &'static str,
        /// The expected form.
        form: &'static str,
        /// The string given.
        input: String,
        /// Fields found.
        fields: usize,
    },
    /// A name that is too long or holds a NUL.
    #[error("{what} in {kind}: {source}")]
    Name {
        /// Which string.
        kind: &'static str,
        /// Which name.
        what: &'static str,
        /// Why.
        source: NameError,
    },
    /// A number that does not parse.
    #[error("{what} {value:?} in {kind} is not a number{hint}")]
    Number {
        /// Which string.
        kind: &'static str,
        /// Which field.
        what: &'static str,
        /// The text found.
        value: String,
        /// Extra help.
        hint: &'static str,
    },
    /// An empty or too long path.
    #[error("path in {kind} is {len} bytes; it must be 1 to {PATH_LEN_MAX} bytes")]
    PathLen {
        /// Which string.
        kind: &'static str,
        /// Its length.
        len: usize,
    },
    /// A trailing backslash with nothing to escape.
    #[error("{kind} {input:?} ends with a lone backslash")]
    TrailingEscape {
        /// Which string.
        kind: &'static str,
        /// The string given.
        input: String,
    },
    /// More disks than sanlock supports.
    #[error("RESOURCE names {0} disks; at most {MAX_DISKS} are supported")]
    TooManyDisks(usize),
}

/// One disk location: a path and a byte offset on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskLoc {
    /// Path of the file or device.
    pub path: String,
    /// Byte offset of the lease area.
    pub offset: u64,
}

/// A parsed LOCKSPACE string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockspaceArg {
    /// Lockspace name.
    pub name: Name,
    /// Local host_id (0 for init).
    pub host_id: u64,
    /// Where the lockspace lives.
    pub disk: DiskLoc,
}

/// A parsed RESOURCE string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceArg {
    /// Lockspace name.
    pub lockspace: Name,
    /// Resource name.
    pub name: Name,
    /// The disks holding the lease (1 to 4).
    pub disks: Vec<DiskLoc>,
    /// The lver given, if any.
    pub lver: Option<u64>,
    /// True when `:SH` was given.
    pub shared: bool,
}

/// A parsed RINDEX string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RindexArg {
    /// Lockspace name.
    pub lockspace: Name,
    /// Where the rindex lives.
    pub disk: DiskLoc,
}

/// A parsed rindex entry argument (`-e name[:offset]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RentryArg {
    /// Resource name (may be empty).
    pub name: Name,
    /// Lease offset (0 when not given).
    pub offset: u64,
}

/// Splits on unescaped colons, removing the escapes.
fn split_fields(kind: &'static str, s: &str) -> Result<Vec<String>, LeaseStrError> {
    let mut fields = vec![String::new()];
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(n) => fields.last_mut().map(|f| f.push(n)).unwrap_or(()),
                None => {
                    return Err(LeaseStrError::TrailingEscape {
                        kind,
                        input: s.to_string(),
                    })
                }
            },
            ':' => fields.push(String::new()),
            c => fields.last_mut().map(|f| f.push(c)).unwrap_or(()),
        }
    }
    Ok(fields)
}

fn name(kind: &'static str, what: &'static str, s: &str) -> Result<Name, LeaseStrError> {
    Name::new(s).map_err(|source| LeaseStrError::Name { kind, what, source })
}

fn number(kind: &'static str, what: &'static str, s: &str) -> Result<u64, LeaseStrError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(LeaseStrError::Number {
            kind,
            what,
            value: s.to_string(),
            hint: "",
        });
    }
    s.parse::<u64>().map_err(|_| LeaseStrError::Number {
        kind,
        what,
        value: s.to_string(),
        hint: " (too large)",
    })
}

/// Parses a byte offset: decimal, or decimal followed by `M` for MiB.
pub fn parse_offset(kind: &'static str, s: &str) -> Result<u64, LeaseStrError> {
    let bad = |hint| LeaseStrError::Number {
        kind,
        what: "offset",
        value: s.to_string(),
        hint,
    };
    if let Some(mib) = s.strip_suffix('M') {
        let n = number(kind, "offset", mib)
            .map_err(|_| bad(" (use bytes, or a whole number of MiB such as 8M)"))?;
        return n.checked_mul(1024 * 1024).ok_or(bad(" (too large)"));
    }
    number(kind, "offset", s).map_err(|_| bad(" (use bytes, or a whole number of MiB such as 8M)"))
}

fn path(kind: &'static str, s: &str) -> Result<String, LeaseStrError> {
    if s.is_empty() || s.len() > PATH_LEN_MAX {
        return Err(LeaseStrError::PathLen { kind, len: s.len() });
    }
    Ok(s.to_string())
}

impl LockspaceArg {
    /// Parses `name:host_id:path:offset`.
    pub fn parse(s: &str) -> Result<LockspaceArg, LeaseStrError> {
        const KIND: &str = "LOCKSPACE";
        let f = split_fields(KIND, s)?;
        if f.len() != 4 {
            return Err(LeaseStrError::Fields {
                kind: KIND,
                form: "NAME:HOST_ID:PATH:OFFSET",
                input: s.to_string(),
                fields: f.len(),
            });
        }
        Ok(LockspaceArg {
            name: name(KIND, "lockspace name", &f[0])?,
            host_id: number(KIND, "host_id", &f[1])?,
            disk: DiskLoc {
                path: path(KIND, &f[2])?,
                offset: parse_offset(KIND, &f[3])?,
            },
        })
    }
}

impl ResourceArg {
    /// Parses `lockspace:name:path:offset[:path:offset...][:lver|:SH]`.
    pub fn parse(s: &str) -> Result<ResourceArg, LeaseStrError> {
        const KIND: &str = "RESOURCE";
        const FORM: &str = "LOCKSPACE_NAME:RESOURCE_NAME:PATH:OFFSET[:LVER|:SH]";
        let f = split_fields(KIND, s)?;
        if f.len() < 4 {
            return Err(LeaseStrError::Fields {
                kind: KIND,
                form: FORM,
                input: s.to_string(),
                fields: f.len(),
            });
        }
        let rest = &f[2..];
        let num_disks = rest.len() / 2;
        if num_disks > MAX_DISKS {
            return Err(LeaseStrError::TooManyDisks(num_disks));
        }
        let mut disks = Vec::with_capacity(num_disks);
        for pair in rest.chunks_exact(2) {
            disks.push(DiskLoc {
                path: path(KIND, &pair[0])?,
                offset: parse_offset(KIND, &pair[1])?,
            });
        }
        let (mut lver, mut shared) = (None, false);
        if rest.len() % 2 == 1 {
            let last = &rest[rest.len() - 1];
            if last == "SH" {
                shared = true;
            } else {
                lver = Some(number(KIND, "lver", last).map_err(|e| match e {
                    LeaseStrError::Number {
                        kind, what, value, ..
                    } => LeaseStrError::Number {
                        kind,
                        what,
                        value,
                        hint: " (the last field is a lease version or SH)",
                    },
                    e => e,
                })?);
            }
        }
        Ok(ResourceArg {
            lockspace: name(KIND, "lockspace name", &f[0])?,
            name: name(KIND, "resource name", &f[1])?,
            disks,
            lver,
            shared,
        })
    }
}

impl RindexArg {
    /// Parses `lockspace:path:offset`.
    pub fn parse(s: &str) -> Result<RindexArg, LeaseStrError> {
        const KIND: &str = "RINDEX";
        let f = split_fields(KIND, s)?;
        if f.len() != 3 {
            return Err(LeaseStrError::Fields {
                kind: KIND,
                form: "LOCKSPACE_NAME:PATH:OFFSET",
                input: s.to_string(),
                fields: f.len(),
            });
        }
        Ok(RindexArg {
            lockspace: name(KIND, "lockspace name", &f[0])?,
            disk: DiskLoc {
                path: path(KIND, &f[1])?,
                offset: parse_offset(KIND, &f[2])?,
            },
        })
    }
}

impl RentryArg {
    /// Parses `name[:offset]`.
    pub fn parse(s: &str) -> Result<RentryArg, LeaseStrError> {
        const KIND: &str = "rindex entry";
        let f = split_fields(KIND, s)?;
        match f.len() {
            1 => Ok(RentryArg {
                name: name(KIND, "resource name", &f[0])?,
                offset: 0,
            }),
            2 => Ok(RentryArg {
                name: name(KIND, "resource name", &f[0])?,
                offset: parse_offset(KIND, &f[1])?,
            }),
            n => Err(LeaseStrError::Fields {
                kind: KIND,
                form: "RESOURCE_NAME[:OFFSET]",
                input: s.to_string(),
                fields: n,
            }),
        }
    }
}

/// Parses the `dump` argument `path[:offset[:size]]`; offset and size take
/// an `M` suffix.
pub fn parse_dump_target(s: &str) -> Result<(String, u64, Option<u64>), LeaseStrError> {
    const KIND: &str = "dump target";
    let f = split_fields(KIND, s)?;
    let p = path(KIND, &f[0])?;
    match f.len() {
        1 => Ok((p, 0, None)),
        2 => Ok((p, parse_offset(KIND, &f[1])?, None)),
        3 => Ok((
            p,
            parse_offset(KIND, &f[1])?,
            Some(parse_offset(KIND, &f[2])?),
        )),
        n => Err(LeaseStrError::Fields {
            kind: KIND,
            form: "PATH[:OFFSET[:SIZE]]",
            input: s.to_string(),
            fields: n,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockspace_with_mib_offset_and_escaped_path() {
        let l = LockspaceArg::parse(r"LS:3:/dev/foo\:32:2M").unwrap();
        assert_eq!(l.name, Name::new("LS").unwrap());
        assert_eq!(l.host_id, 3);
        assert_eq!(
            l.disk,
            DiskLoc {
                path: "/dev/foo:32".into(),
                offset: 2 * 1024 * 1024
            }
        );
    }

    #[test]
    fn resource_forms() {
        let r = ResourceArg::parse("LS:R1:/tmp/r:0").unwrap();
        assert_eq!((r.lver, r.shared, r.disks.len()), (None, false, 1));
        let r = ResourceArg::parse("LS:R1:/tmp/r:1M:SH").unwrap();
        assert!(r.shared);
        assert_eq!(r.disks[0].offset, 1 << 20);
        let r = ResourceArg::parse("LS:R1:/tmp/r:0:7").unwrap();
        assert_eq!(r.lver, Some(7));
        let r = ResourceArg::parse("LS:R1:/a:0:/b:512").unwrap();
        assert_eq!(r.disks.len(), 2);
    }

    #[test]
    fn bad_strings_say_what_is_wrong() {
        let e = LockspaceArg::parse("LS:x:/tmp/f:0")
            .unwrap_err()
            .to_string();
        assert!(e.contains("host_id \"x\""), "{e}");
        let e = LockspaceArg::parse("LS:1:/tmp/f").unwrap_err().to_string();
        assert!(e.contains("NAME:HOST_ID:PATH:OFFSET"), "{e}");
        let e = LockspaceArg::parse(&format!("{}:1:/f:0", "n".repeat(49)))
            .unwrap_err()
            .to_string();
        assert!(e.contains("49 bytes") && e.contains("48"), "{e}");
        let e = ResourceArg::parse(&format!("LS:R:{}:0", "/p".repeat(600)))
            .unwrap_err()
            .to_string();
        assert!(e.contains("1200 bytes"), "{e}");
        let e = ResourceArg::parse("LS:R:/f:12x").unwrap_err().to_string();
        assert!(e.contains("offset \"12x\""), "{e}");
        let e = ResourceArg::parse("LS:R:/f:0:EX").unwrap_err().to_string();
        assert!(e.contains("lver \"EX\""), "{e}");
        assert!(LockspaceArg::parse("LS:1:/f:0\\").is_err());
        assert!(ResourceArg::parse("LS:R:/f:99999999999999999999").is_err());
        assert!(ResourceArg::parse("LS:R:/f:99999999999999M").is_err());
    }

    #[test]
    fn rindex_and_rentry() {
        let x = RindexArg::parse("RXLS:/tmp/rx:1048576").unwrap();
        assert_eq!(x.disk.offset, 1 << 20);
        let e = RentryArg::parse("resA:3145728").unwrap();
        assert_eq!((e.name, e.offset), (Name::new("resA").unwrap(), 3_145_728));
        assert_eq!(RentryArg::parse("resA").unwrap().offset, 0);
        assert_eq!(
            parse_dump_target("/f:1M:2M").unwrap(),
            ("/f".to_string(), 1 << 20, Some(2 << 20))
        );
    }
}
