//! The listings: status, host_status, renewal, gets, inquire, read,
//! log_dump and version, in sanlock's text or in paxlock's JSON.

use std::io::Write;

use paxlock_proto::client::{self as pc, ClientError, StatusStream};
use paxlock_proto::flags::*;
use paxlock_proto::reply::StatusEntry;
use paxlock_proto::rv::errno;
use paxlock_proto::wire::{ResourceArg, SanlkLockspace, SanlkState, StateRecord};
use paxlock_proto::{Request, SM_PROTO};
use serde_json::{json, Map, Value};

use super::lease::{path_export, res_to_str, resource_json, state_to_args};
use super::Ctx;

/// `%.48s` of a name field: its bytes up to the first NUL.
fn nm(n: &paxlock_format::Name) -> &[u8] {
    n.as_bytes()
}

/// `key=value key=value` text as a JSON object, values as the daemon's
/// text (some are hex without a prefix, so none is guessed to be a number).
pub fn kv_json(text: &[u8]) -> Value {
    kv_json_as(text, false)
}

/// Like [`kv_json`]; with `numeric`, plain decimal values become numbers
/// (for RENEWAL records, whose fields are all decimal).
fn kv_json_as(text: &[u8], numeric: bool) -> Value {
    let mut m = Map::new();
    for item in String::from_utf8_lossy(text).split(' ') {
        if item.is_empty() {
            continue;
        }
        let (k, v) = item.split_once('=').unwrap_or((item, ""));
        let val = match v.parse::<i64>() {
            Ok(n) if numeric => Value::from(n),
            _ => Value::from(v),
        };
        m.insert(k.to_string(), val);
    }
    Value::Object(m)
}

/// sanlock's `-D` detail: each space-separated item of the text on its
/// own line, indented by four spaces.
fn print_debug(out: &mut Vec<u8>, rec: &StateRecord) {
    if rec.state.str_len == 0 {
        return;
    }
    for item in rec.text_str().split(|&b| b == b' ') {
        out.extend_from_slice(b"    ");
        out.extend_from_slice(item);
        out.push(b'\n');
    }
}

/// The ` ADD` / ` REM` / ` ORPHAN` suffix from the record's `list=`.
fn list_suffix(rec: &StateRecord) -> Option<&'static str> {
    if rec.state.str_len == 0 {
        return None;
    }
    let t = rec.text_str();
    let has = |pat: &[u8]| t.windows(pat.len()).any(|w| w == pat);
    if has(b"list=add") {
        Some("ADD")
    } else if has(b"list=rem") {
        Some("REM")
    } else if has(b"list=orphan") {
        Some("ORPHAN")
    } else {
        None
    }
}

fn print_entry(out: &mut Vec<u8>, e: &StatusEntry, debug: bool) {
    let rec = e.record();
    let st: &SanlkState = &rec.state;
    match e {
        StatusEntry::Plain(_) if st.state_type == SANLK_STATE_DAEMON => {
            out.extend_from_slice(b"daemon ");
            out.extend_from_slice(nm(&st.name));
            out.push(b'\n');
        }
        StatusEntry::Plain(_) if st.state_type == SANLK_STATE_CLIENT => {
            let _ = write!(out, "p {} ", st.data32 as i32);
            out.extend_from_slice(nm(&st.name));
            out.push(b'\n');
        }
        StatusEntry::Lockspace(_, ls) => {
            out.extend_from_slice(b"s ");
            out.extend_from_slice(nm(&ls.name));
            let _ = write!(out, ":{}:", ls.host_id);
            out.extend_from_slice(&path_export(ls.host_id_disk.path.as_bytes()));
            let _ = write!(out, ":{}", ls.host_id_disk.offset);
            if let Some(s) = list_suffix(rec) {
                let _ = write!(out, " {s}");
            }
            out.push(b'\n');
        }
        StatusEntry::Resource(_, r) => {
            out.extend_from_slice(b"r ");
            out.extend_from_slice(nm(&r.res.lockspace_name));
            out.push(b':');
            out.extend_from_slice(nm(&r.res.name));
            for d in &r.disks {
                out.push(b':');
                out.extend_from_slice(&path_export(d.path.as_bytes()));
                let _ = write!(out, ":{}", d.offset);
            }
            if r.res.flags & SANLK_RES_SHARED != 0 {
                let _ = write!(out, ":SH p {}", st.data32);
            } else {
                let _ = write!(out, ":{} p {}", st.data64, st.data32);
            }
            if let Some(s) = list_suffix(rec) {
                let _ = write!(out, " {s}");
            }
            out.push(b'\n');
        }
        // HOST, RENEWAL and unknown records print nothing in `status`
        _ => return,
    }
    if debug {
        print_debug(out, rec);
    }
}

fn stype(e: &StatusEntry) -> u32 {
    e.record().state.state_type
}

/// sanlock's `-o p` / `-o s` orders.
fn sorted(entries: &[StatusEntry], by: char) -> (Vec<usize>, Vec<usize>) {
    let mut left: Vec<Option<&StatusEntry>> = entries.iter().map(Some).collect();
    let mut order = Vec::new();
    fn take(
        left: &mut [Option<&StatusEntry>],
        order: &mut Vec<usize>,
        f: &dyn Fn(&StatusEntry) -> bool,
    ) {
        for (i, slot) in left.iter_mut().enumerate() {
            if slot.is_some_and(f) {
                order.push(i);
                *slot = None;
            }
        }
    }
    take(&mut left, &mut order, &|e| stype(e) == SANLK_STATE_DAEMON);
    take(&mut left, &mut order, &|e| {
        stype(e) == SANLK_STATE_CLIENT && e.record().state.data32 as i32 == -1
    });
    let owner_type = if by == 'p' {
        take(&mut left, &mut order, &|e| {
            stype(e) == SANLK_STATE_LOCKSPACE
        });
        SANLK_STATE_CLIENT
    } else {
        take(&mut left, &mut order, &|e| stype(e) == SANLK_STATE_CLIENT);
        SANLK_STATE_LOCKSPACE
    };
    // each remaining owner (client / lockspace), then its resources
    while let Some(i) = left
        .iter()
        .position(|s| s.is_some_and(|e| stype(e) == owner_type))
    {
        let owner = left[i].take().map(|e| e.record().state);
        order.push(i);
        let Some(owner) = owner else { break };
        take(&mut left, &mut order, &|e| match e {
            StatusEntry::Resource(rec, r) => {
                if by == 'p' {
                    owner.data32 != 0 && rec.state.data32 == owner.data32
                } else {
                    r.res.lockspace_name.raw() == owner.name.raw()
                }
            }
            _ => false,
        });
    }
    let rest = left
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.map(|_| i))
        .collect();
    (order, rest)
}

fn entry_json(e: &StatusEntry) -> (&'static str, Value) {
    let rec = e.record();
    let st = &rec.state;
    let info = kv_json(rec.text_str());
    match e {
        StatusEntry::Lockspace(_, ls) => (
            "lockspaces",
            json!({
                "name": ls.name.to_string_lossy(),
                "host_id": ls.host_id,
                "path": ls.host_id_disk.path.to_string_lossy(),
                "offset": ls.host_id_disk.offset,
                "state": match list_suffix(rec) { Some("ADD") => "adding", Some("REM") => "removing", _ => "joined" },
                "info": info,
            }),
        ),
        StatusEntry::Resource(_, r) => {
            let mut v = resource_json(&r.res, &r.disks);
            if let Value::Object(m) = &mut v {
                if r.res.flags & SANLK_RES_SHARED == 0 {
                    m.insert("lver".into(), st.data64.into());
                }
                m.insert("pid".into(), st.data32.into());
                m.insert(
                    "state".into(),
                    match list_suffix(rec) {
                        Some("ADD") => "adding",
                        Some("REM") => "releasing",
                        Some("ORPHAN") => "orphan",
                        _ => "held",
                    }
                    .into(),
                );
                m.insert("info".into(), info);
            }
            ("resources", v)
        }
        _ if st.state_type == SANLK_STATE_DAEMON => (
            "daemon",
            json!({"name": st.name.to_string_lossy(), "info": info}),
        ),
        _ if st.state_type == SANLK_STATE_CLIENT => (
            "clients",
            json!({"pid": st.data32 as i32, "name": st.name.to_string_lossy(), "info": info}),
        ),
        _ => (
            "other",
            json!({"type": st.state_type, "data32": st.data32, "data64": st.data64,
                   "name": st.name.to_string_lossy(), "info": info}),
        ),
    }
}

fn print_json(ctx: &mut Ctx, v: &Value) {
    let mut s = serde_json::to_vec_pretty(v).unwrap_or_default();
    s.push(b'\n');
    ctx.print(&s);
}

/// Notes (on stderr) what the daemon sent that could not be decoded.
fn note_stream_error(ctx: &mut Ctx, s: &StatusStream) {
    if let Some(e) = &s.error {
        ctx.note(format!(
            "warning: the daemon's reply was cut or malformed after {} records: {e}",
            s.entries.len()
        ));
    }
}

/// `status [-D] [-o p|s]`.
pub fn status(ctx: &mut Ctx, debug: bool, sort: Option<char>, as_json: bool) -> i32 {
    let s = match pc::stream(&Request::Status { level: 0 }) {
        Ok(s) => s,
        Err(e) => return ctx.client_error(e),
    };
    note_stream_error(ctx, &s);
    if as_json {
        let mut top = Map::new();
        top.insert("result".into(), 0.into());
        for k in ["clients", "lockspaces", "resources"] {
            top.insert(k.into(), Value::Array(Vec::new()));
        }
        top.insert("daemon".into(), Value::Null);
        for e in &s.entries {
            let (k, v) = entry_json(e);
            match top.get_mut(k) {
                Some(Value::Array(a)) => a.push(v),
                _ if k == "daemon" => {
                    top.insert(k.into(), v);
                }
                _ => {
                    top.entry(k).or_insert_with(|| Value::Array(Vec::new()));
                    if let Some(Value::Array(a)) = top.get_mut(k) {
                        a.push(v);
                    }
                }
            }
        }
        print_json(ctx, &Value::Object(top));
        return 0;
    }
    let mut out = Vec::new();
    match sort {
        Some(by @ ('p' | 's')) => {
            let (order, rest) = sorted(&s.entries, by);
            for i in order {
                print_entry(&mut out, &s.entries[i], debug);
            }
            if !rest.is_empty() {
                out.extend_from_slice(b"-\n");
                for i in rest {
                    print_entry(&mut out, &s.entries[i], debug);
                }
            }
        }
        _ => {
            for e in &s.entries {
                print_entry(&mut out, e, debug);
            }
        }
    }
    ctx.print(&out);
    0
}

/// HOST_STATUS of one lockspace: (result, host records).
fn one_host_status(
    ctx: &mut Ctx,
    name: &paxlock_format::Name,
) -> Result<StatusStream, ClientError> {
    let s = pc::stream(&Request::HostStatus {
        lockspace: SanlkLockspace::named(*name),
    })?;
    note_stream_error(ctx, &s);
    Ok(s)
}

fn host_lines(out: &mut Vec<u8>, s: &StatusStream, debug: bool) {
    for e in &s.entries {
        let rec = e.record();
        if rec.state.state_type != SANLK_STATE_HOST {
            continue;
        }
        let _ = writeln!(out, "{} timestamp {}", rec.state.data32, rec.state.data64);
        if debug {
            print_debug(out, rec);
        }
    }
}

fn hosts_json(s: &StatusStream) -> Value {
    Value::Array(
        s.entries
            .iter()
            .map(|e| e.record())
            .filter(|r| r.state.state_type == SANLK_STATE_HOST)
            .map(|r| {
                json!({"host_id": r.state.data32, "timestamp": r.state.data64,
                       "info": kv_json(r.text_str())})
            })
            .collect(),
    )
}

/// `host_status [-s LOCKSPACE] [-D]`.
pub fn host_status(
    ctx: &mut Ctx,
    lockspace: Option<&SanlkLockspace>,
    debug: bool,
    as_json: bool,
) -> i32 {
    if let Some(ls) = lockspace.filter(|l| !l.name.is_empty()) {
        let s = match one_host_status(ctx, &ls.name) {
            Ok(s) => s,
            Err(e) => return ctx.client_error(e),
        };
        let rv = s.header.result();
        if as_json {
            print_json(
                ctx,
                &json!({"result": rv, "lockspaces": [
                    {"name": ls.name.to_string_lossy(), "result": rv, "hosts": hosts_json(&s)}
                ]}),
            );
        } else {
            let mut out = Vec::new();
            host_lines(&mut out, &s, debug);
            ctx.print(&out);
        }
        return rv;
    }
    // every lockspace, as listed by STATUS level 3
    let st = match pc::stream(&Request::Status {
        level: SANLK_STATE_LOCKSPACE,
    }) {
        Ok(s) => s,
        Err(e) => return ctx.client_error(e),
    };
    note_stream_error(ctx, &st);
    let names: Vec<paxlock_format::Name> = st
        .entries
        .iter()
        .filter_map(|e| match e {
            StatusEntry::Lockspace(_, ls) => Some(ls.name),
            _ => None,
        })
        .collect();
    let mut all = Vec::new();
    for name in names {
        let mut out = b"lockspace ".to_vec();
        out.extend_from_slice(name.as_bytes());
        out.push(b'\n');
        if !as_json {
            ctx.print(&out);
        }
        match one_host_status(ctx, &name) {
            Ok(s) => {
                if as_json {
                    all.push(json!({"name": name.to_string_lossy(),
                                    "result": s.header.result(), "hosts": hosts_json(&s)}));
                } else {
                    let mut out = Vec::new();
                    host_lines(&mut out, &s, debug);
                    ctx.print(&out);
                }
            }
            Err(e) => {
                let rv = e.rv();
                ctx.note(format!("host_status of {name}: {e}"));
                all.push(json!({"name": name.to_string_lossy(), "result": rv, "hosts": []}));
            }
        }
    }
    if as_json {
        print_json(ctx, &json!({"result": 0, "lockspaces": all}));
    }
    0
}

/// `renewal -s LOCKSPACE`.
pub fn renewal(ctx: &mut Ctx, ls: &SanlkLockspace, as_json: bool) -> i32 {
    if ls.name.is_empty() {
        ctx.note("error: renewal needs -s LOCKSPACE (a lockspace name is enough)");
        return -1;
    }
    let s = match pc::stream(&Request::Renewal {
        lockspace: SanlkLockspace::named(ls.name),
    }) {
        Ok(s) => s,
        Err(e) => return ctx.client_error(e),
    };
    note_stream_error(ctx, &s);
    let rv = s.header.result();
    if as_json {
        let list: Vec<Value> = s
            .entries
            .iter()
            .map(|e| kv_json_as(e.record().text_str(), true))
            .collect();
        print_json(
            ctx,
            &json!({"result": rv, "lockspace": ls.name.to_string_lossy(),
                    "io_timeout": s.header.data2, "renewals": list}),
        );
    } else {
        let mut out = Vec::new();
        for e in &s.entries {
            out.extend_from_slice(e.record().text_str());
            out.push(b'\n');
        }
        ctx.print(&out);
    }
    rv
}

fn host_state_str(flags: u32) -> &'static str {
    match flags & SANLK_HOST_MASK {
        SANLK_HOST_FREE => "FREE",
        SANLK_HOST_LIVE => "LIVE",
        SANLK_HOST_FAIL => "FAIL",
        SANLK_HOST_DEAD => "DEAD",
        SANLK_HOST_UNKNOWN => "UNKNOWN",
        _ => "ERROR",
    }
}

/// `gets [-h 0|1]`.
pub fn gets(ctx: &mut Ctx, hosts: bool, as_json: bool) -> i32 {
    let r = match pc::get_lockspaces() {
        Ok(r) => r,
        Err(e) => {
            let rv = e.rv();
            if !as_json {
                ctx.print(format!("gets error {rv}\n").as_bytes());
            }
            return ctx.client_error_rv(e, rv);
        }
    };
    if r.result < 0 && !as_json {
        ctx.print(format!("gets error {}\n", r.result).as_bytes());
    }
    if r.result < 0 && r.result != -errno::ENOSPC {
        if as_json {
            print_json(ctx, &json!({"result": r.result, "lockspaces": []}));
        }
        return r.result;
    }
    let mut list = Vec::new();
    for ls in &r.lockspaces {
        let mut out = b"s ".to_vec();
        out.extend_from_slice(ls.name.as_bytes());
        let _ = write!(out, ":{}:", ls.host_id);
        out.extend_from_slice(ls.host_id_disk.path.as_bytes());
        let _ = write!(out, ":{} ", ls.host_id_disk.offset);
        if ls.flags & SANLK_LSF_ADD != 0 {
            out.extend_from_slice(b"ADD ");
        }
        if ls.flags & SANLK_LSF_REM != 0 {
            out.extend_from_slice(b"REM ");
        }
        out.push(b'\n');
        let mut flags = Vec::new();
        if ls.flags & SANLK_LSF_ADD != 0 {
            flags.push("ADD");
        }
        if ls.flags & SANLK_LSF_REM != 0 {
            flags.push("REM");
        }
        let mut j = json!({
            "name": ls.name.to_string_lossy(), "host_id": ls.host_id,
            "path": ls.host_id_disk.path.to_string_lossy(), "offset": ls.host_id_disk.offset,
            "flags": flags,
        });
        if hosts {
            match pc::get_hosts(SanlkLockspace::named(ls.name)) {
                Ok(h) if h.result == -errno::EAGAIN => {
                    out.extend_from_slice(b"hosts not ready\n");
                    j["hosts_result"] = h.result.into();
                    j["hosts"] = Value::Array(Vec::new());
                }
                Ok(h) if h.result < 0 && h.result != -errno::ENOSPC => {
                    let _ = writeln!(out, "hosts error {}", h.result);
                    j["hosts_result"] = h.result.into();
                    j["hosts"] = Value::Array(Vec::new());
                }
                Ok(h) => {
                    let mut hl = Vec::new();
                    for hs in &h.hosts {
                        let _ = writeln!(
                            out,
                            "h {} gen {} timestamp {} {}",
                            hs.host_id,
                            hs.generation,
                            hs.timestamp,
                            host_state_str(hs.flags)
                        );
                        hl.push(json!({"host_id": hs.host_id, "generation": hs.generation,
                                       "timestamp": hs.timestamp, "io_timeout": hs.io_timeout,
                                       "state": host_state_str(hs.flags)}));
                    }
                    j["hosts_result"] = h.result.into();
                    j["hosts"] = Value::Array(hl);
                }
                Err(e) => {
                    let _ = writeln!(out, "hosts error {}", e.rv());
                    j["hosts_result"] = e.rv().into();
                    j["hosts"] = Value::Array(Vec::new());
                    ctx.note(format!("get_hosts of {}: {e}", ls.name));
                }
            }
        }
        if !as_json {
            ctx.print(&out);
        }
        list.push(j);
    }
    if as_json {
        print_json(ctx, &json!({"result": r.result, "lockspaces": list}));
    }
    0
}

/// `inquire -p PID [-D]`.
pub fn inquire(ctx: &mut Ctx, pid: Option<i32>, debug: bool, as_json: bool) -> i32 {
    let shown_pid = pid.unwrap_or(-1);
    let r = match pc::inquire(pid) {
        Ok(r) => r,
        Err(e) => {
            let rv = e.rv();
            if !as_json {
                ctx.print(
                    format!("inquire pid {shown_pid}\ninquire done {rv} res_count 0\n").as_bytes(),
                );
            }
            return ctx.client_error_rv(e, rv);
        }
    };
    if as_json {
        let resources: Vec<Value> = r
            .state
            .as_deref()
            .map(|s| match state_to_args(s) {
                Ok(v) => v.iter().map(|a| resource_json(&a.res, &a.disks)).collect(),
                Err(_) => Vec::new(),
            })
            .unwrap_or_default();
        print_json(
            ctx,
            &json!({"pid": shown_pid, "result": r.result, "res_count": r.res_count,
                    "state": r.state, "resources": resources}),
        );
        return r.result;
    }
    let mut out = format!(
        "inquire pid {shown_pid}\ninquire done {} res_count {}\n",
        r.result, r.res_count
    )
    .into_bytes();
    if r.result < 0 {
        ctx.print(&out);
        return r.result;
    }
    // sanlock prints a missing state string as "(null)"
    let state = r.state.clone().unwrap_or_else(|| "(null)".into());
    let _ = writeln!(out, "\"{state}\"");
    let mut rv = r.result;
    if debug {
        match r.state.as_deref().map(state_to_args) {
            Some(Ok(args)) => {
                let _ = writeln!(out, "\nstate_to_args done 0 res_count {}", args.len());
                for a in &args {
                    out.push(b'"');
                    out.extend_from_slice(a.res.lockspace_name.as_bytes());
                    out.push(b':');
                    out.extend_from_slice(a.res.name.as_bytes());
                    out.push(b':');
                    if let Some(d) = a.disks.first() {
                        out.extend_from_slice(d.path.as_bytes());
                        let _ = write!(out, ":{}", d.offset);
                    }
                    let _ = writeln!(out, ":{}\"", a.res.lver);
                }
                let _ = writeln!(out, "\nargs_to_state done 0");
                let joined: Vec<Vec<u8>> =
                    args.iter().map(|a| res_to_str(&a.res, &a.disks)).collect();
                out.push(b'"');
                out.extend_from_slice(&joined.join(&b' '));
                out.extend_from_slice(b"\"\n");
            }
            Some(Err(e)) => {
                let _ = writeln!(out, "\nstate_to_args done -1 res_count 0");
                ctx.note(format!("cannot parse the state string: {e}"));
                rv = -1;
            }
            None => {
                // sanlock 3.8.5 crashes here (state_to_args of NULL)
                ctx.note("no state string to parse (the pid holds no leases)");
            }
        }
    }
    ctx.print(&out);
    rv
}

fn sector_size(flags: u32) -> u32 {
    if flags & SANLK_LSF_SECTOR4K != 0 {
        4096
    } else if flags & SANLK_LSF_SECTOR512 != 0 {
        512
    } else {
        0
    }
}

fn align_size(flags: u32) -> u32 {
    match flags & 0xf0 {
        f if f & SANLK_LSF_ALIGN8M != 0 => 8 << 20,
        f if f & SANLK_LSF_ALIGN4M != 0 => 4 << 20,
        f if f & SANLK_LSF_ALIGN2M != 0 => 2 << 20,
        f if f & SANLK_LSF_ALIGN1M != 0 => 1 << 20,
        _ => 0,
    }
}

/// `read -s LOCKSPACE [-D]`.
pub fn read_lockspace(ctx: &mut Ctx, ls: SanlkLockspace, debug: bool, as_json: bool) -> i32 {
    let r = match pc::read_lockspace(ls) {
        Ok(r) => r,
        Err(e) => {
            let rv = e.rv();
            if !as_json {
                ctx.print(format!("read error {rv}\n").as_bytes());
            }
            return ctx.client_error_rv(e, rv);
        }
    };
    let Some(ls) = r.lockspace.filter(|_| r.result >= 0) else {
        if as_json {
            print_json(ctx, &json!({"result": r.result, "lockspace": null}));
        } else {
            ctx.print(format!("read error {}\n", r.result).as_bytes());
        }
        return r.result;
    };
    if as_json {
        print_json(
            ctx,
            &json!({"result": r.result, "lockspace": {
                "name": ls.name.to_string_lossy(), "host_id": ls.host_id,
                "path": ls.host_id_disk.path.to_string_lossy(), "offset": ls.host_id_disk.offset,
                "io_timeout": r.io_timeout, "sector_size": sector_size(ls.flags),
                "align_size": align_size(ls.flags)}}),
        );
        return r.result;
    }
    let mut out = b"s ".to_vec();
    out.extend_from_slice(ls.name.as_bytes());
    let _ = write!(out, ":{}:", ls.host_id);
    out.extend_from_slice(ls.host_id_disk.path.as_bytes());
    let _ = writeln!(out, ":{}", ls.host_id_disk.offset);
    if debug {
        let _ = writeln!(out, "io_timeout {}", r.io_timeout);
        let _ = writeln!(out, "sector_size {}", sector_size(ls.flags));
        let _ = writeln!(out, "align_size {}", align_size(ls.flags));
    }
    ctx.print(&out);
    r.result
}

/// `read -r RESOURCE [-D] [-h 1]`.
pub fn read_resource(
    ctx: &mut Ctx,
    res: ResourceArg,
    owners: bool,
    debug: bool,
    as_json: bool,
) -> i32 {
    let disks = res.disks.clone();
    let r = match pc::read_resource(res, owners) {
        Ok(r) => r,
        Err(e) => {
            let rv = e.rv();
            if !as_json {
                ctx.print(format!("read error {rv}\n").as_bytes());
            }
            return ctx.client_error_rv(e, rv);
        }
    };
    let Some(got) = r.resource.filter(|_| r.result >= 0) else {
        if as_json {
            print_json(ctx, &json!({"result": r.result, "resource": null}));
        } else {
            ctx.print(format!("read error {}\n", r.result).as_bytes());
        }
        return r.result;
    };
    if as_json {
        let mut v = resource_json(&got, &disks);
        v["sector_size"] = sector_size(got.flags).into();
        v["align_size"] = align_size(got.flags).into();
        if owners {
            v["owners"] = Value::Array(
                r.owners
                    .iter()
                    .map(|h| {
                        json!({"host_id": h.host_id, "generation": h.generation,
                                    "timestamp": h.timestamp})
                    })
                    .collect(),
            );
        }
        print_json(ctx, &json!({"result": r.result, "resource": v}));
        return r.result;
    }
    let mut out = b"r ".to_vec();
    out.extend_from_slice(&res_to_str(&got, &disks));
    out.push(b'\n');
    if debug {
        let _ = writeln!(out, "sector_size {}", sector_size(got.flags));
        let _ = writeln!(out, "align_size {}", align_size(got.flags));
    }
    for h in &r.owners {
        if h.timestamp != 0 {
            let _ = writeln!(
                out,
                "h {} gen {} timestamp {}",
                h.host_id, h.generation, h.timestamp
            );
        } else {
            let _ = writeln!(out, "h {} gen {}", h.host_id, h.generation);
        }
    }
    ctx.print(&out);
    r.result
}

/// `log_dump`: the daemon's log, then a newline. The result is the byte
/// count, so (as with sanlock) the exit status is 1 even on success.
pub fn log_dump(ctx: &mut Ctx) -> i32 {
    let d = match pc::log_dump() {
        Ok(d) => d,
        Err(e) => return ctx.client_error(e),
    };
    if d.count <= 0 || d.count as usize > pc::LOG_DUMP_MAX {
        // sanlock returns the header's size here
        return 32;
    }
    if d.text.is_empty() {
        return -1;
    }
    let end = d.text.iter().position(|&b| b == 0).unwrap_or(d.text.len());
    let mut out = d.text[..end].to_vec();
    out.push(b'\n');
    if d.text.len() != d.count as usize {
        let _ = writeln!(out, "partial dump {} of {}", d.text.len(), d.count);
    }
    ctx.print(&out);
    d.text.len() as i32
}

/// `version`: the client's and the daemon's versions. Exits 0 even when
/// the daemon cannot be reached, as sanlock does.
pub fn version(ctx: &mut Ctx) -> i32 {
    let mut out = Vec::new();
    let (version, proto) = match pc::version() {
        Ok(v) => {
            if v.result < 0 {
                let _ = writeln!(out, "daemon version error {}", v.result);
            }
            (v.version, v.proto)
        }
        Err(e) => {
            let _ = writeln!(out, "daemon version error {}", e.rv());
            if e.is_connect() {
                ctx.connect_hint(&e);
            } else {
                ctx.note(format!("error: {e}"));
            }
            (0, 0)
        }
    };
    let client = paxlock_proto::reply::SANLOCK_VERSION_3_8_5;
    let _ = writeln!(
        out,
        "client version {}.{}.{} (0x{client:08x})",
        client >> 24,
        (client >> 16) & 0xff,
        (client >> 8) & 0xff
    );
    let _ = writeln!(
        out,
        "daemon version {}.{}.{} (0x{version:08x})",
        version >> 24,
        (version >> 16) & 0xff,
        (version >> 8) & 0xff
    );
    let _ = writeln!(
        out,
        "client socket protocol {}.{}",
        SM_PROTO >> 16,
        SM_PROTO & 0xffff
    );
    let _ = writeln!(
        out,
        "daemon socket protocol {}.{}",
        proto >> 16,
        proto & 0xffff
    );
    ctx.print(&out);
    0
}
