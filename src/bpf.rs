//! The one safe layer over libbpf-sys: no other module calls libbpf or touches
//! a raw pointer. Tools open an embedded object, configure it, load it, attach
//! programs as described by [`Attach`], read maps and poll event buffers.
//! Everything attached is detached when the [`Object`] is dropped.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::marker::PhantomData;
use std::ptr::{self, NonNull};
use std::sync::Mutex;

use libbpf_sys as sys;

use crate::error::{Error, Result};

/// Plain old data shared with BPF programs: any bit pattern is valid, no
/// padding-sensitive invariants, no pointers.
///
/// # Safety
/// Only implement for `#[repr(C)]` types made of integers (the bindgen output
/// of bpf/*.h and the integer primitives).
pub unsafe trait Plain: Copy + Default + 'static {}

macro_rules! plain {
    ($($t:ty),*) => { $(unsafe impl Plain for $t {})* };
}
plain!(u8, u16, u32, u64, i32, i64);
unsafe impl<T: Plain, const N: usize> Plain for [T; N] where [T; N]: Default {}

fn bytes_of<T: Plain>(v: &T) -> &[u8] {
    // SAFETY: T is Plain: a repr(C) integer aggregate, readable as bytes.
    unsafe { std::slice::from_raw_parts((v as *const T).cast(), std::mem::size_of::<T>()) }
}

/// Copy a T out of bytes received from the kernel (events, map values).
pub fn from_bytes<T: Plain>(b: &[u8]) -> T {
    assert!(b.len() >= std::mem::size_of::<T>());
    // SAFETY: T is Plain (every bit pattern valid); read_unaligned copes with any alignment.
    unsafe { ptr::read_unaligned(b.as_ptr().cast()) }
}

/// Copy a T out of an event that may end early (variable-length events send
/// only the used part of a trailing array): the rest stays zero.
pub fn from_prefix<T: Plain>(b: &[u8]) -> T {
    let mut v = T::default();
    let n = b.len().min(std::mem::size_of::<T>());
    // SAFETY: T is Plain (every bit pattern valid); at most size_of::<T>() bytes are written into it.
    unsafe { ptr::copy_nonoverlapping(b.as_ptr(), (&mut v as *mut T).cast::<u8>(), n) };
    v
}

fn cstring(s: &str) -> CString {
    CString::new(s).expect("names passed to libbpf contain no NUL")
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// libbpf returns either `-errno` or NULL with errno set.
fn check(ret: c_int, what: impl FnOnce() -> String) -> Result<c_int> {
    if ret < 0 {
        Err(Error::os(-ret, what()))
    } else {
        Ok(ret)
    }
}

fn check_ptr<T>(p: *mut T, what: impl FnOnce() -> String) -> Result<NonNull<T>> {
    NonNull::new(p).ok_or_else(|| Error::os(errno(), what()))
}

// ---------------------------------------------------------------- libbpf log

/// Lines libbpf printed most recently (verifier logs included), kept so that an
/// error can show the kernel's reason; echoed to stderr with `IOTRACE_DEBUG=1`.
static LIBBPF_LOG: Mutex<Vec<String>> = Mutex::new(Vec::new());
const LIBBPF_LOG_KEEP: usize = 64;

extern "C" {
    fn vsnprintf(buf: *mut c_char, n: usize, fmt: *const c_char, ap: *mut sys::__va_list_tag) -> c_int;
}

unsafe extern "C" fn libbpf_print(
    level: sys::libbpf_print_level,
    fmt: *const c_char,
    ap: *mut sys::__va_list_tag,
) -> c_int {
    static DEBUG: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let debug = *DEBUG.get_or_init(|| std::env::var_os("IOTRACE_DEBUG").is_some());
    // Debug lines (thousands per load: every CO-RE relocation) are neither
    // shown nor kept: formatting them was a fifth of the time to attach.
    if level == sys::LIBBPF_DEBUG && !debug {
        return 0;
    }
    // Verifier logs arrive as one message: keep enough of them to see the
    // reason. One buffer per thread, allocated once and never zeroed.
    thread_local! {
        static BUF: std::cell::RefCell<Vec<c_char>> = std::cell::RefCell::new(Vec::with_capacity(1 << 20));
    }
    let (n, line) = BUF.with_borrow_mut(|buf| {
        // SAFETY: the buffer is writable for its capacity; fmt/ap come from libbpf as a pair.
        let n = unsafe { vsnprintf(buf.as_mut_ptr(), buf.capacity(), fmt, ap) };
        // SAFETY: vsnprintf NUL-terminates within the capacity.
        (n, unsafe { CStr::from_ptr(buf.as_ptr()) }.to_string_lossy().trim_end().to_string())
    });
    let line = line.strip_prefix("libbpf: ").unwrap_or(&line).to_string();
    if debug {
        eprintln!("libbpf: {line}");
    }
    if level != sys::LIBBPF_DEBUG {
        let mut log = LIBBPF_LOG.lock().unwrap_or_else(|e| e.into_inner());
        if log.len() == LIBBPF_LOG_KEEP {
            log.remove(0);
        }
        log.push(line);
    }
    n
}

/// Route libbpf's messages through [`libbpf_print`]. Call once at start-up.
pub fn init_logging() {
    // SAFETY: libbpf_print matches libbpf_print_fn_t and is 'static.
    unsafe { sys::libbpf_set_print(Some(libbpf_print)) };
}

/// The first libbpf warning since the log was last cleared: the most specific
/// one (later lines only say that the object as a whole failed).
fn first_libbpf_message() -> Option<String> {
    let log = LIBBPF_LOG.lock().unwrap_or_else(|e| e.into_inner());
    log.iter().find(|l| !l.is_empty()).cloned()
}

/// An error from a libbpf call that logs its reasons (load, attach).
fn libbpf_error(errno: i32, what: String) -> Error {
    let e = Error::os(errno, what);
    match first_libbpf_message() {
        Some(m) => e.detail(format_args!("libbpf: {m}")),
        None => e,
    }
}

fn clear_libbpf_log() {
    LIBBPF_LOG.lock().unwrap_or_else(|e| e.into_inner()).clear();
}

// ---------------------------------------------------------------- attach kinds

/// How one BPF program is attached; declared as data by each tool's strategy table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attach {
    /// Perf-event tracepoint (tracefs `events/CATEGORY/NAME`), every kernel.
    Tracepoint { category: &'static str, name: &'static str },
    /// Raw tracepoint (4.17+): arguments are the tracepoint's raw C arguments.
    RawTracepoint { name: &'static str },
    /// BTF-typed raw tracepoint (5.5+, needs kernel BTF).
    TpBtf { name: &'static str },
    /// fentry/fexit trampolines (5.5+, needs BTF and trampoline support).
    Fentry { func: &'static str },
    /// kprobe / kretprobe (needs CONFIG_KPROBES).
    Kprobe { func: &'static str, ret: bool },
    /// Not attached: reached by a tail call from a program array, which
    /// libbpf fills at load (a bare SEC("tracepoint")).
    TailCall,
}

impl Attach {
    pub fn describe(&self) -> String {
        match self {
            Attach::Tracepoint { category, name } => format!("tracepoint:{category}:{name}"),
            Attach::RawTracepoint { name } => format!("raw_tp:{name}"),
            Attach::TpBtf { name } => format!("tp_btf:{name}"),
            Attach::Fentry { func } => format!("fentry:{func}"),
            Attach::Kprobe { func, ret: false } => format!("kprobe:{func}"),
            Attach::Kprobe { func, ret: true } => format!("kretprobe:{func}"),
            Attach::TailCall => "tail call".into(),
        }
    }
}

// ---------------------------------------------------------------- objects

/// An opened libbpf object and its name (for messages); closed on drop.
struct OpenInner {
    obj: NonNull<sys::bpf_object>,
    name: String,
}

/// Every item of a libbpf list walked with `next` (NULL: the first, and the end).
fn all_of<T>(next: impl Fn(*mut T) -> *mut T) -> Vec<*mut T> {
    let mut items = Vec::new();
    let mut p = next(ptr::null_mut());
    while !p.is_null() {
        items.push(p);
        p = next(p);
    }
    items
}

impl OpenInner {
    /// The object's programs, in ELF order.
    fn programs(&self) -> Vec<*mut sys::bpf_program> {
        // SAFETY: iterating the object's own program list.
        all_of(|p| unsafe { sys::bpf_object__next_program(self.obj.as_ptr(), p) })
    }

    /// The object's maps, in ELF order.
    fn maps(&self) -> Vec<*mut sys::bpf_map> {
        // SAFETY: iterating the object's own maps.
        all_of(|m| unsafe { sys::bpf_object__next_map(self.obj.as_ptr(), m) })
    }

    fn prog(&self, name: &str) -> Result<*mut sys::bpf_program> {
        let c = cstring(name);
        // SAFETY: obj is a live object, c a valid C string.
        let p = unsafe { sys::bpf_object__find_program_by_name(self.obj.as_ptr(), c.as_ptr()) };
        if p.is_null() {
            return Err(Error::msg(format!("BPF object {} has no program {name}", self.name)));
        }
        Ok(p)
    }
}

impl Drop for OpenInner {
    fn drop(&mut self) {
        // SAFETY: obj came from bpf_object__open_mem and is closed exactly once.
        unsafe { sys::bpf_object__close(self.obj.as_ptr()) };
    }
}

/// LINUX_VERSION_CODE of the running kernel, from the "Linux" ELF note of the
/// vDSO it maps into every process. Kernels before 5.0 refuse kprobe programs
/// whose kern_version differs from it (6c4fc209fcf9 "bpf: remove useless
/// version check for prog load" dropped the check), and libbpf's guess from
/// `uname -r` is wrong wherever the release string is not the version (a
/// 4.19.222 guest showed it: EINVAL before verification).
fn vdso_linux_version() -> Option<u32> {
    const PT_NOTE: u32 = 4;
    // SAFETY: getauxval is always safe to call.
    let base = unsafe { libc::getauxval(libc::AT_SYSINFO_EHDR) } as *const u8;
    if base.is_null() {
        return None;
    }
    // SAFETY: the vDSO is a complete ELF image mapped readable at `base` for
    // the life of the process; offsets come from its own headers.
    unsafe {
        let rd32 = |off: usize| ptr::read_unaligned(base.add(off) as *const u32);
        let rd64 = |off: usize| ptr::read_unaligned(base.add(off) as *const u64) as usize;
        let (phoff, phentsize, phnum) = (
            rd64(32),
            ptr::read_unaligned(base.add(54) as *const u16) as usize,
            ptr::read_unaligned(base.add(56) as *const u16) as usize,
        );
        for i in 0..phnum {
            let ph = phoff + i * phentsize;
            if rd32(ph) != PT_NOTE {
                continue;
            }
            let (mut off, end) = (rd64(ph + 8), rd64(ph + 8) + rd64(ph + 32));
            while off + 12 <= end {
                let (namesz, descsz, kind) = (rd32(off) as usize, rd32(off + 4) as usize, rd32(off + 8));
                let name = std::slice::from_raw_parts(base.add(off + 12), namesz);
                let desc = off + 12 + namesz.next_multiple_of(4);
                if name == b"Linux\0" && kind == 0 && descsz >= 4 {
                    return Some(rd32(desc));
                }
                off = desc + descsz.next_multiple_of(4);
            }
        }
    }
    None
}

/// An opened, not yet loaded BPF object.
pub struct OpenObject {
    inner: OpenInner,
    elf: &'static Embedded<[u8]>,
    /// Config bytes for objects built without global data: written to
    /// `config_map` after load (see bpf/compat.bpf.h).
    deferred_config: Option<Vec<u8>>,
}

/// Embedded ELF bytes, 8-byte aligned as libbpf's ELF parser wants them.
#[repr(C, align(8))]
pub struct Embedded<T: ?Sized>(pub T);

impl OpenObject {
    /// Open an object compiled by build.rs and embedded with `include_bytes!`.
    pub fn open(name: &str, elf: &'static Embedded<[u8]>) -> Result<OpenObject> {
        let cname = cstring(name);
        let opts = sys::bpf_object_open_opts {
            sz: std::mem::size_of::<sys::bpf_object_open_opts>() as _,
            object_name: cname.as_ptr(),
            ..Default::default()
        };
        // SAFETY: the buffer is 'static; libbpf copies the name during open.
        let obj = unsafe { sys::bpf_object__open_mem(elf.0.as_ptr().cast(), elf.0.len() as _, &opts) };
        let obj = check_ptr(obj, || format!("cannot open BPF object {name}"))?;
        if let Some(v) = vdso_linux_version() {
            // SAFETY: obj is a freshly opened object.
            unsafe { sys::bpf_object__set_kversion(obj.as_ptr(), v) };
        }
        Ok(OpenObject { inner: OpenInner { obj, name: name.to_string() }, elf, deferred_config: None })
    }

    fn prog(&self, name: &str) -> Result<*mut sys::bpf_program> {
        self.inner.prog(name)
    }

    fn map(&self, name: &str) -> Option<*mut sys::bpf_map> {
        let c = cstring(name);
        // SAFETY: as above.
        let m = unsafe { sys::bpf_object__find_map_by_name(self.inner.obj.as_ptr(), c.as_ptr()) };
        (!m.is_null()).then_some(m)
    }

    /// Names of all programs in the object.
    pub fn program_names(&self) -> Vec<String> {
        self.inner.programs().into_iter().map(prog_name).collect()
    }

    /// Load only the programs named in `names`; all others are skipped.
    pub fn autoload_only(&mut self, names: &[&str]) -> Result<()> {
        for n in self.program_names() {
            let p = self.prog(&n)?;
            // SAFETY: p belongs to this not-yet-loaded object.
            check(unsafe { sys::bpf_program__set_autoload(p, names.contains(&n.as_str())) }, || {
                format!("set_autoload {n}")
            })?;
        }
        Ok(())
    }

    /// Resize a map and set whether it is preallocated, before load.
    pub fn size_map(&mut self, map: &str, max_entries: u32, prealloc: bool) -> Result<()> {
        let m = self.map(map).ok_or_else(|| Error::msg(format!("no map {map}")))?;
        // SAFETY: m belongs to this not-yet-loaded object.
        unsafe {
            let flags = sys::bpf_map__map_flags(m);
            let flags = if prealloc { flags & !sys::BPF_F_NO_PREALLOC } else { flags | sys::BPF_F_NO_PREALLOC };
            check(sys::bpf_map__set_map_flags(m, flags), || format!("flags of map {map}"))?;
            check(sys::bpf_map__set_max_entries(m, max_entries), || format!("resize map {map}"))?;
        }
        Ok(())
    }

    /// Set the object's configuration struct (`DECLARE_CONFIG` in compat.bpf.h):
    /// `.rodata.cfg` before load on modern objects, `config_map` after load on
    /// legacy ones.
    pub fn configure<T: Plain>(&mut self, cfg: &T) -> Result<()> {
        let bytes = bytes_of(cfg);
        if let Some(m) = self.map(".rodata.cfg") {
            let mut size: sys::size_t = 0;
            // SAFETY: m is a global-data map of this open object; libbpf returns its
            // writable initial image and its size.
            let data = unsafe { sys::bpf_map__initial_value(m, &mut size) };
            if data.is_null() || (size as usize) < bytes.len() {
                return Err(Error::msg(format!("{}: config section smaller than the config", self.inner.name)));
            }
            // SAFETY: data is writable for `size` >= bytes.len() bytes.
            unsafe { ptr::copy_nonoverlapping(bytes.as_ptr(), data.cast::<u8>(), bytes.len()) };
        } else if self.map("config_map").is_some() {
            self.deferred_config = Some(bytes.to_vec());
        } else {
            return Err(Error::msg(format!("{}: object declares no config", self.inner.name)));
        }
        Ok(())
    }

    /// Verify and load every autoloaded program and create the maps. The
    /// verifier runs in the loading thread, one program after the other: where
    /// there are CPUs to spare, about half of the programs are verified at the
    /// same time by a second object of the same ELF (see [`Self::split_off`]).
    pub fn load(mut self) -> Result<Object> {
        clear_libbpf_log();
        let name = self.inner.name.clone();
        let refused = |ret: c_int| libbpf_error(-ret, format!("kernel refused BPF object {name}"));
        // SAFETY: obj is live and opened; prepare creates the maps and relocates.
        let ret = unsafe { sys::bpf_object__prepare(self.inner.obj.as_ptr()) };
        if ret < 0 {
            return Err(refused(ret));
        }
        let split = self.split_off()?;
        let (ret, ret_split) = std::thread::scope(|s| {
            let other = split.as_ref().map(|(b, _)| {
                let b = SendObject(b.obj);
                // SAFETY: the second object is used by this thread alone until
                // it is joined; it shares only map fds with the first.
                s.spawn(move || unsafe { sys::bpf_object__load(b.get()) })
            });
            // SAFETY: obj is live and prepared.
            let ret = unsafe { sys::bpf_object__load(self.inner.obj.as_ptr()) };
            (ret, other.map_or(0, |h| h.join().unwrap_or(-libc::EINVAL)))
        });
        if ret < 0 || ret_split < 0 {
            return Err(refused(ret.min(ret_split)));
        }
        let obj = Object { inner: self.inner, split, links: Default::default() };
        if let Some(cfg) = self.deferred_config {
            let zero = 0u32.to_ne_bytes();
            obj.map("config_map")?.update_raw(&zero, &cfg)?;
        }
        Ok(obj)
    }

    /// Programs to load and their instruction counts, subprograms included
    /// (known once the object is prepared).
    fn autoloaded(&self) -> Vec<(String, usize)> {
        let progs = self.inner.programs().into_iter();
        // SAFETY: p is a program of this live object.
        progs
            .filter(|&p| unsafe { sys::bpf_program__autoload(p) })
            .map(|p| (prog_name(p), unsafe { sys::bpf_program__insn_cnt(p) } as usize))
            .collect()
    }

    /// A second object of the same ELF that loads about half of this prepared
    /// object's programs (split by instruction count) on its own thread, with
    /// this object's maps (their fds, so both sets of programs see the same
    /// state). Verifying tb_sys_exit and raw_uring_complete one after the
    /// other was most of record's time to attach. None where it would not
    /// pay: one CPU, little to verify, or a program array, which libbpf fills
    /// from the programs of its own object.
    fn split_off(&mut self) -> Result<Option<(OpenInner, Vec<String>)>> {
        /// Below this many instructions on the lighter side, a second object's
        /// ELF and kernel BTF parsing costs more than it saves.
        const MIN_SPLIT_INSNS: usize = 1500;
        if std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
            return Ok(None);
        }
        // SAFETY: m is a map of this live object.
        if self.inner.maps().iter().any(|&m| unsafe { sys::bpf_map__type(m) } == sys::BPF_MAP_TYPE_PROG_ARRAY) {
            return Ok(None);
        }
        let mut progs = self.autoloaded();
        progs.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
        let (mut here, mut there, mut moved) = (0, 0, Vec::new());
        for (name, n) in progs {
            if there < here {
                there += n;
                moved.push(name);
            } else {
                here += n;
            }
        }
        if there < MIN_SPLIT_INSNS {
            return Ok(None);
        }
        let mut other = OpenObject::open(&self.inner.name, self.elf)?;
        let names: Vec<&str> = moved.iter().map(String::as_str).collect();
        other.autoload_only(&names)?;
        for (&mine, &theirs) in self.inner.maps().iter().zip(&other.inner.maps()) {
            // SAFETY: both are maps of live objects opened from the same ELF,
            // so in the same order; this one's are created (prepared).
            let ret = unsafe { sys::bpf_map__reuse_fd(theirs, sys::bpf_map__fd(mine)) };
            check(ret, || format!("{}: share map {}", self.inner.name, map_name(mine)))?;
        }
        for name in &moved {
            let p = self.prog(name)?;
            // SAFETY: p belongs to this prepared, not yet loaded object.
            check(unsafe { sys::bpf_program__set_autoload(p, false) }, || format!("set_autoload {name}"))?;
        }
        Ok(Some((other.inner, moved)))
    }
}

/// A map's name, for messages.
fn map_name(m: *mut sys::bpf_map) -> String {
    // SAFETY: m is a map of a live object; its name lives as long as it.
    unsafe { CStr::from_ptr(sys::bpf_map__name(m)) }.to_string_lossy().into_owned()
}

fn prog_name(p: *mut sys::bpf_program) -> String {
    // SAFETY: p is a program of a live object; its name lives as long as it.
    unsafe { CStr::from_ptr(sys::bpf_program__name(p)) }.to_string_lossy().into_owned()
}

/// An object handed to the thread that loads it.
struct SendObject(NonNull<sys::bpf_object>);

// SAFETY: libbpf objects have no thread affinity; each is used by one thread at a time.
unsafe impl Send for SendObject {}

impl SendObject {
    fn get(&self) -> *mut sys::bpf_object {
        self.0.as_ptr()
    }
}

/// A loaded BPF object and everything attached from it.
pub struct Object {
    // Field order matters: links are destroyed before the objects are closed.
    links: std::cell::RefCell<Vec<Link>>,
    inner: OpenInner,
    /// The object that loaded these programs in parallel (OpenObject::split_off).
    split: Option<(OpenInner, Vec<String>)>,
}

struct Link(NonNull<sys::bpf_link>);

// SAFETY: a bpf_link is owned by exactly one Link; libbpf keeps no shared
// state between links, so destroying different links on different threads is fine.
unsafe impl Send for Link {}

impl Drop for Link {
    fn drop(&mut self) {
        // SAFETY: the link came from a bpf_program__attach_* call and is destroyed once.
        unsafe { sys::bpf_link__destroy(self.0.as_ptr()) };
    }
}

impl Object {
    /// The one load sequence: open `object`, autoload only `progs`, let
    /// `configure` size maps and write the configuration, then load (and so
    /// verify) it. Attaching is the caller's, when it is ready for events.
    pub fn load(
        object: &'static crate::objects::Obj,
        progs: &[&str],
        configure: impl FnOnce(&mut OpenObject) -> Result<()>,
    ) -> Result<Object> {
        let mut open = OpenObject::open(object.name, object.elf)?;
        open.autoload_only(progs)?;
        configure(&mut open)?;
        open.load()
    }

    fn prog(&self, name: &str) -> Result<*mut sys::bpf_program> {
        match &self.split {
            Some((other, names)) if names.iter().any(|n| n == name) => other.prog(name),
            _ => self.inner.prog(name),
        }
    }

    /// Attach program `prog` as described; it stays attached until the object is dropped.
    pub fn attach(&self, prog: &str, how: &Attach) -> Result<()> {
        let p = self.prog(prog)?;
        clear_libbpf_log();
        // SAFETY: p is a loaded program of this object; strings outlive the calls.
        let link = unsafe {
            match *how {
                Attach::Tracepoint { category, name } => {
                    let (c, n) = (cstring(category), cstring(name));
                    sys::bpf_program__attach_tracepoint(p, c.as_ptr(), n.as_ptr())
                }
                Attach::RawTracepoint { name } => {
                    let n = cstring(name);
                    sys::bpf_program__attach_raw_tracepoint(p, n.as_ptr())
                }
                // Target recorded at load time (SEC name or set_attach_target).
                Attach::TpBtf { .. } | Attach::Fentry { .. } => sys::bpf_program__attach_trace(p),
                Attach::Kprobe { func, ret } => {
                    let f = cstring(func);
                    sys::bpf_program__attach_kprobe(p, ret, f.as_ptr())
                }
                Attach::TailCall => return Ok(()),
            }
        };
        let link = NonNull::new(link)
            .ok_or_else(|| libbpf_error(errno(), format!("cannot attach {prog} to {}", how.describe())))?;
        self.links.borrow_mut().push(Link(link));
        Ok(())
    }

    /// Detach everything attached so far (the object stays loaded, maps readable).
    ///
    /// Closing a perf-event tracepoint link waits for an RCU grace period
    /// (perf_event_detach_bpf_prog): ~65 ms each here, seconds for the legacy
    /// strategy's ~70 links, minutes under QEMU TCG. Grace periods of
    /// concurrent closes overlap, so the links are destroyed from threads.
    pub fn detach_all(&self) {
        let links = std::mem::take(&mut *self.links.borrow_mut());
        let per_thread = links.len().div_ceil(16).max(1);
        let mut links = links.into_iter();
        std::thread::scope(|s| loop {
            let chunk: Vec<Link> = links.by_ref().take(per_thread).collect();
            if chunk.is_empty() {
                break;
            }
            s.spawn(move || drop(chunk));
        });
    }

    /// Runs of this object's programs the kernel skipped because another BPF
    /// program was running on that CPU (bpf_prog_info.recursion_misses; only
    /// counted by newer kernels, 0 elsewhere) whose events no program saw
    /// ([`missed_runs`]).
    pub fn missed_runs(&self, pairs: &[[&str; 2]]) -> u64 {
        missed_runs(&self.recursion_misses(), pairs)
    }

    /// [`Object::missed_runs`]' counts, by program name.
    fn recursion_misses(&self) -> Vec<(String, u64)> {
        let objects = std::iter::once(&self.inner).chain(self.split.as_ref().map(|(o, _)| o));
        let mut misses = Vec::new();
        for p in objects.flat_map(OpenInner::programs) {
            // SAFETY: p is a program of this live object.
            let fd = unsafe { sys::bpf_program__fd(p) };
            if fd < 0 {
                continue;
            }
            let mut info = sys::bpf_prog_info::default();
            let mut len = std::mem::size_of::<sys::bpf_prog_info>() as u32;
            // SAFETY: info is a zeroed bpf_prog_info of `len` bytes (older kernels fill less).
            if unsafe { sys::bpf_prog_get_info_by_fd(fd, &mut info, &mut len) } == 0 {
                misses.push((prog_name(p), info.recursion_misses));
            }
        }
        misses
    }

    pub fn map(&self, name: &str) -> Result<Map<'_>> {
        let c = cstring(name);
        // SAFETY: obj is live.
        let m = unsafe { sys::bpf_object__find_map_by_name(self.inner.obj.as_ptr(), c.as_ptr()) };
        if m.is_null() {
            return Err(Error::msg(format!("BPF object {} has no map {name}", self.inner.name)));
        }
        // SAFETY: m belongs to this loaded object.
        let (fd, key_size, value_size, ty) = unsafe {
            (sys::bpf_map__fd(m), sys::bpf_map__key_size(m), sys::bpf_map__value_size(m), sys::bpf_map__type(m))
        };
        let percpu = matches!(
            ty,
            sys::BPF_MAP_TYPE_PERCPU_ARRAY | sys::BPF_MAP_TYPE_PERCPU_HASH | sys::BPF_MAP_TYPE_LRU_PERCPU_HASH
        );
        Ok(Map { fd, name: name.to_string(), key_size, value_size, percpu, map_type: ty, _obj: PhantomData })
    }
}

// ---------------------------------------------------------------- maps

/// A map of a loaded [`Object`].
pub struct Map<'a> {
    fd: c_int,
    name: String,
    key_size: u32,
    value_size: u32,
    percpu: bool,
    map_type: sys::bpf_map_type,
    _obj: PhantomData<&'a Object>,
}

impl Map<'_> {
    fn check_sizes<K: Plain, V: Plain>(&self) -> Result<()> {
        let (k, v) = (std::mem::size_of::<K>(), std::mem::size_of::<V>());
        if k != self.key_size as usize || v != self.value_size as usize {
            return Err(Error::msg(format!(
                "map {}: key/value {}/{} bytes in the kernel, {k}/{v} in user space",
                self.name, self.key_size, self.value_size
            )));
        }
        Ok(())
    }

    /// Bytes one lookup returns: per-CPU maps return one 8-byte-aligned slot per possible CPU.
    fn value_buf_len(&self) -> usize {
        if self.percpu {
            (self.value_size as usize).next_multiple_of(8) * possible_cpus()
        } else {
            self.value_size as usize
        }
    }

    fn lookup_raw(&self, key: &[u8]) -> Option<Vec<u8>> {
        let mut val = vec![0u8; self.value_buf_len()];
        // SAFETY: key has key_size bytes, val has room for the whole (per-CPU) value.
        let ret = unsafe { sys::bpf_map_lookup_elem(self.fd, key.as_ptr().cast(), val.as_mut_ptr().cast()) };
        (ret == 0).then_some(val)
    }

    fn update_raw(&self, key: &[u8], val: &[u8]) -> Result<()> {
        // SAFETY: key and val are sized as the map's key and value.
        let ret = unsafe { sys::bpf_map_update_elem(self.fd, key.as_ptr().cast(), val.as_ptr().cast(), 0) };
        check(ret, || format!("update map {}", self.name)).map(drop)
    }

    pub fn get<K: Plain, V: Plain>(&self, key: &K) -> Result<Option<V>> {
        self.check_sizes::<K, V>()?;
        Ok(self.lookup_raw(bytes_of(key)).map(|b| from_bytes(&b)))
    }

    /// Per-CPU lookup: one value per possible CPU.
    pub fn get_percpu<K: Plain, V: Plain>(&self, key: &K) -> Result<Option<Vec<V>>> {
        self.check_sizes::<K, V>()?;
        let stride = (self.value_size as usize).next_multiple_of(8);
        Ok(self.lookup_raw(bytes_of(key)).map(|b| b.chunks(stride).map(from_bytes).collect()))
    }

    pub fn set<K: Plain, V: Plain>(&self, key: &K, val: &V) -> Result<()> {
        self.check_sizes::<K, V>()?;
        self.update_raw(bytes_of(key), bytes_of(val))
    }

    /// Call `f` with every value present now, whatever its key.
    pub fn for_each_value<V: Plain>(&self, mut f: impl FnMut(V)) -> Result<()> {
        if std::mem::size_of::<V>() != self.value_size as usize {
            return Err(Error::msg(format!("map {}: value size mismatch", self.name)));
        }
        self.for_each_raw(|_, v| f(from_bytes(v)))
    }

    /// Call `f` with every key present now (the values are not copied out).
    pub fn for_each_key<K: Plain>(&self, mut f: impl FnMut(K)) -> Result<()> {
        if std::mem::size_of::<K>() != self.key_size as usize {
            return Err(Error::msg(format!("map {}: key size mismatch", self.name)));
        }
        self.for_each_raw(|k, _| f(from_bytes(k)))
    }

    /// All (key, value) pairs present now.
    pub fn entries<K: Plain, V: Plain>(&self) -> Result<Vec<(K, V)>> {
        let mut out = Vec::new();
        self.for_each(|k, v| out.push((k, v)))?;
        Ok(out)
    }

    /// Call `f` with every (key, value) present now, without collecting them.
    pub fn for_each<K: Plain, V: Plain>(&self, mut f: impl FnMut(K, V)) -> Result<()> {
        self.check_sizes::<K, V>()?;
        self.for_each_raw(|k, v| f(from_bytes(k), from_bytes(v)))
    }

    /// Call `f` with every (key, value) present now, values that may be only
    /// the first bytes of a V (the rest reads as zero): a map declared with a
    /// shorter value for kernels that cannot hold all of it.
    pub fn for_each_prefix<K: Plain, V: Plain>(&self, mut f: impl FnMut(K, V)) -> Result<()> {
        self.check_prefix_sizes::<K, V>()?;
        self.for_each_raw(|k, v| f(from_bytes(k), from_prefix(v)))
    }

    /// Lookup of a value that may be only the first bytes of a V, as in
    /// [`Map::for_each_prefix`], copied by the kernel straight into the V.
    pub fn get_prefix<K: Plain, V: Plain>(&self, key: &K) -> Result<Option<V>> {
        self.check_prefix_sizes::<K, V>()?;
        if self.percpu {
            return Err(Error::msg(format!("map {}: per-CPU values are read with get_percpu", self.name)));
        }
        let mut val = V::default();
        // SAFETY: key has key_size bytes; val has room for value_size bytes
        // (checked above), the rest of it stays as it was.
        let ret =
            unsafe { sys::bpf_map_lookup_elem(self.fd, bytes_of(key).as_ptr().cast(), (&mut val as *mut V).cast()) };
        Ok((ret == 0).then_some(val))
    }

    fn check_prefix_sizes<K: Plain, V: Plain>(&self) -> Result<()> {
        if std::mem::size_of::<K>() != self.key_size as usize || self.value_size as usize > std::mem::size_of::<V>() {
            return Err(Error::msg(format!("map {}: key/value size mismatch", self.name)));
        }
        Ok(())
    }

    /// Every (key, value) present now as bytes: many per syscall where the
    /// kernel has BPF_MAP_LOOKUP_BATCH (5.6+), else key by key.
    fn for_each_raw(&self, mut f: impl FnMut(&[u8], &[u8])) -> Result<()> {
        let (ks, vs) = (self.key_size as usize, self.value_buf_len());
        let mut count = 1024usize;
        let (mut keys, mut vals) = (vec![0u8; ks * count], vec![0u8; vs * count]);
        // The kernel's cursor between batches: a u32 for hash maps, a key for others.
        let mut cursor = vec![0u8; ks.max(8)];
        let mut first = true;
        loop {
            let mut n = count as u32;
            let opts = sys::bpf_map_batch_opts {
                sz: std::mem::size_of::<sys::bpf_map_batch_opts>() as _,
                ..Default::default()
            };
            let in_batch = if first { ptr::null_mut() } else { cursor.as_mut_ptr().cast() };
            // SAFETY: the cursor has room for the kernel's token; keys and
            // vals for `count` keys and (per-CPU) values.
            let ret = unsafe {
                sys::bpf_map_lookup_batch(
                    self.fd,
                    in_batch,
                    cursor.as_mut_ptr().cast(),
                    keys.as_mut_ptr().cast(),
                    vals.as_mut_ptr().cast(),
                    &mut n,
                    &opts,
                )
            };
            // Items are only there on success or ENOENT (the last batch): a
            // kernel without batch operations leaves `n` as it was, and the
            // buffers are zeroes then, not entries.
            if ret == 0 || -ret == libc::ENOENT {
                for i in 0..(n as usize).min(count) {
                    f(&keys[i * ks..(i + 1) * ks], &vals[i * vs..i * vs + self.value_size as usize]);
                }
            }
            match -ret {
                0 => first = false,
                libc::ENOENT => return Ok(()),
                // One hash bucket holds more than `count` entries: retry bigger.
                libc::ENOSPC if n == 0 => {
                    count *= 4;
                    keys.resize(ks * count, 0);
                    vals.resize(vs * count, 0);
                }
                // No batch operations on this kernel or map type.
                libc::EINVAL | 524 /* ENOTSUPP */ | libc::EOPNOTSUPP if first => break,
                e => return Err(Error::msg(format!("read map {}: {}", self.name, std::io::Error::from_raw_os_error(e)))),
            }
        }
        let mut key = vec![0u8; ks];
        let mut next = vec![0u8; ks];
        let mut started = false;
        loop {
            let prev = if started { key.as_ptr().cast() } else { ptr::null() };
            // SAFETY: prev (or NULL) and next are key_size bytes.
            if unsafe { sys::bpf_map_get_next_key(self.fd, prev, next.as_mut_ptr().cast()) } < 0 {
                return Ok(());
            }
            started = true;
            std::mem::swap(&mut key, &mut next);
            if let Some(v) = self.lookup_raw(&key) {
                f(&key, &v[..self.value_size as usize]);
            }
        }
    }

    /// Remove key; false if it was not there.
    pub fn delete<K: Plain>(&self, key: &K) -> Result<bool> {
        if std::mem::size_of::<K>() != self.key_size as usize {
            return Err(Error::msg(format!("map {}: key size mismatch", self.name)));
        }
        // SAFETY: key is key_size bytes.
        Ok(unsafe { sys::bpf_map_delete_elem(self.fd, bytes_of(key).as_ptr().cast()) } == 0)
    }

    /// A copyable handle for [`insert_self_before_exec`].
    pub fn handle(&self) -> MapHandle {
        MapHandle(self.fd)
    }

    pub fn is_ring_buffer(&self) -> bool {
        self.map_type == sys::BPF_MAP_TYPE_RINGBUF
    }
}

/// The fd of a map keyed by pid (`u32`), usable in a forked child.
#[derive(Clone, Copy)]
pub struct MapHandle(c_int);

/// Make `cmd`'s child insert its own pid with the given values into these
/// maps between fork and exec (what must be known of it from its first
/// syscall on, such as legacy's working directory of the command).
pub fn insert_self_before_exec(cmd: &mut std::process::Command, entries: Vec<(MapHandle, Vec<u8>)>) {
    use std::os::unix::process::CommandExt;
    let hook = move || {
        for (map, value) in &entries {
            // SAFETY: getpid and bpf(BPF_MAP_UPDATE_ELEM) are async-signal-safe
            // syscalls; the key lives on this stack, the value was allocated
            // before fork and is sized as the map's value by the caller; the
            // map fd is inherited.
            let ret = unsafe {
                let pid = libc::getpid() as u32;
                sys::bpf_map_update_elem(map.0, (&pid as *const u32).cast(), value.as_ptr().cast(), 0)
            };
            if ret < 0 {
                return Err(std::io::Error::from_raw_os_error(-ret));
            }
        }
        Ok(())
    };
    // SAFETY: the hook only makes async-signal-safe syscalls (see above).
    unsafe { cmd.pre_exec(hook) };
}

/// Number of possible CPUs (sizes per-CPU values and perf buffers).
pub fn possible_cpus() -> usize {
    // SAFETY: plain query, cached by libbpf.
    let n = unsafe { sys::libbpf_num_possible_cpus() };
    n.max(1) as usize
}

// ---------------------------------------------------------------- event buffers

type Handler<'a> = Box<dyn FnMut(&[u8]) + 'a>;

struct Callback<'a> {
    handler: Handler<'a>,
    lost: u64,
}

/// Events from a ring buffer (5.8+) or, on older kernels, a perf event array:
/// the same handler either way.
pub struct EventReader<'a> {
    kind: Reader,
    cb: Box<Callback<'a>>,
    _map: PhantomData<&'a Object>,
}

enum Reader {
    Ring(NonNull<sys::ring_buffer>),
    Perf(NonNull<sys::perf_buffer>),
}

unsafe extern "C" fn ring_sample(ctx: *mut c_void, data: *mut c_void, size: sys::size_t) -> c_int {
    // SAFETY: ctx is the Box<Callback> pinned for the reader's lifetime; libbpf
    // hands us `size` readable bytes.
    let cb = unsafe { &mut *ctx.cast::<Callback>() };
    (cb.handler)(unsafe { std::slice::from_raw_parts(data as *const u8, size as usize) });
    0
}

unsafe extern "C" fn perf_sample(ctx: *mut c_void, _cpu: c_int, data: *mut c_void, size: u32) {
    // SAFETY: as in ring_sample.
    let cb = unsafe { &mut *ctx.cast::<Callback>() };
    (cb.handler)(unsafe { std::slice::from_raw_parts(data as *const u8, size as usize) });
}

unsafe extern "C" fn perf_lost(ctx: *mut c_void, _cpu: c_int, cnt: u64) {
    // SAFETY: as in ring_sample.
    let cb = unsafe { &mut *ctx.cast::<Callback>() };
    cb.lost += cnt;
}

impl<'a> EventReader<'a> {
    /// `perf_pages`: per-CPU buffer size for the perf-array fallback (power of two).
    pub fn new(map: &Map<'a>, perf_pages: usize, handler: impl FnMut(&[u8]) + 'a) -> Result<EventReader<'a>> {
        let mut cb = Box::new(Callback { handler: Box::new(handler), lost: 0 });
        let ctx = (&mut *cb as *mut Callback).cast::<c_void>();
        let kind = if map.is_ring_buffer() {
            // SAFETY: fd is a ring buffer map; ctx outlives the ring (freed in Drop first).
            let rb = unsafe { sys::ring_buffer__new(map.fd, Some(ring_sample), ctx, ptr::null()) };
            Reader::Ring(check_ptr(rb, || format!("ring buffer on map {}", map.name))?)
        } else {
            // SAFETY: fd is a perf event array; ctx as above.
            let pb = unsafe {
                sys::perf_buffer__new(map.fd, perf_pages as _, Some(perf_sample), Some(perf_lost), ctx, ptr::null())
            };
            Reader::Perf(check_ptr(pb, || format!("perf buffer on map {}", map.name))?)
        };
        Ok(EventReader { kind, cb, _map: PhantomData })
    }

    /// Wait up to `timeout_ms` for events and run the handler on each; an
    /// interrupting signal is not an error (the caller checks its stop flag).
    pub fn poll(&mut self, timeout_ms: i32) -> Result<()> {
        // SAFETY: the reader is live.
        let ret = unsafe {
            match self.kind {
                Reader::Ring(rb) => sys::ring_buffer__poll(rb.as_ptr(), timeout_ms),
                Reader::Perf(pb) => sys::perf_buffer__poll(pb.as_ptr(), timeout_ms),
            }
        };
        if ret < 0 && -ret != libc::EINTR {
            return Err(Error::os(-ret, "polling BPF events".into()));
        }
        Ok(())
    }

    /// Handle every event already buffered, without waiting.
    pub fn drain(&mut self) -> Result<()> {
        // SAFETY: the reader is live.
        let ret = unsafe {
            match self.kind {
                Reader::Ring(rb) => sys::ring_buffer__consume(rb.as_ptr()),
                Reader::Perf(pb) => sys::perf_buffer__consume(pb.as_ptr()),
            }
        };
        if ret < 0 {
            return Err(Error::os(-ret, "reading BPF events".into()));
        }
        Ok(())
    }

    /// Events the kernel dropped because a perf buffer was full (ring buffer
    /// drops are counted by the BPF programs themselves).
    pub fn lost(&self) -> u64 {
        self.cb.lost
    }
}

impl Drop for EventReader<'_> {
    fn drop(&mut self) {
        // SAFETY: freed once; after this libbpf no longer calls into cb.
        unsafe {
            match self.kind {
                Reader::Ring(rb) => sys::ring_buffer__free(rb.as_ptr()),
                Reader::Perf(pb) => sys::perf_buffer__free(pb.as_ptr()),
            }
        }
    }
}

// ---------------------------------------------------------------- raw probes

/// One BPF instruction, for the hand-assembled feature probes in src/probe.rs.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Insn {
    code: u8,
    regs: u8,
    off: i16,
    imm: i32,
}

impl Insn {
    pub const fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
        Insn { code, regs: (src << 4) | (dst & 0xf), off, imm }
    }
}

/// A map created outside any object (feature probes); closed on drop.
pub struct RawMap(c_int);

impl RawMap {
    pub fn array(value_size: u32) -> Result<RawMap> {
        // SAFETY: plain BPF_MAP_CREATE; the name is a static C string.
        let fd = unsafe {
            sys::bpf_map_create(sys::BPF_MAP_TYPE_ARRAY, c"iotrace_probe".as_ptr(), 4, value_size, 1, ptr::null())
        };
        check(fd, || "BPF_MAP_CREATE".into()).map(RawMap)
    }

    pub fn fd(&self) -> i32 {
        self.0
    }
}

impl Drop for RawMap {
    fn drop(&mut self) {
        // SAFETY: we own this fd.
        unsafe { libc::close(self.0) };
    }
}

/// Does the verifier accept this socket-filter program? Returns the errno on refusal.
pub fn socket_filter_loads(insns: &[Insn]) -> std::result::Result<(), i32> {
    // SAFETY: Insn has bpf_insn's layout (8 bytes: code, dst:4|src:4, off, imm).
    let fd = unsafe {
        sys::bpf_prog_load(
            sys::BPF_PROG_TYPE_SOCKET_FILTER,
            ptr::null(),
            c"GPL".as_ptr(),
            insns.as_ptr().cast(),
            insns.len() as _,
            ptr::null_mut(),
        )
    };
    if fd < 0 {
        return Err(-fd);
    }
    // SAFETY: we own the new program fd.
    unsafe { libc::close(fd) };
    Ok(())
}

/// Can libbpf find and parse the kernel's BTF (/sys/kernel/btf/vmlinux or a
/// vmlinux image in the usual places)?
pub fn kernel_btf() -> Result<()> {
    with_kernel_btf(|_| ()).ok_or_else(|| libbpf_error(errno(), "no kernel BTF".into()))
}

/// The kernel's BTF, parsed once for the queries below (a parse takes about
/// 10 ms, and choosing record's strategy queried it four times) until
/// [`forget_kernel_caches`].
static KERNEL_BTF: Mutex<Option<KernelBtf>> = Mutex::new(None);

struct KernelBtf(NonNull<sys::btf>);

// SAFETY: the BTF is only read, under KERNEL_BTF's lock.
unsafe impl Send for KernelBtf {}

impl Drop for KernelBtf {
    fn drop(&mut self) {
        // SAFETY: loaded by btf__load_vmlinux_btf, freed once.
        unsafe { sys::btf__free(self.0.as_ptr()) };
    }
}

/// The setup is over (a tool's object is loaded, libbpf parsed the BTF for
/// it on its own): free the cached BTF and kernel function names, a few MB.
pub fn forget_kernel_caches() {
    drop(KERNEL_BTF.lock().unwrap_or_else(|e| e.into_inner()).take());
    crate::kallsyms::forget();
}

/// Runs one query on the kernel's BTF; None without BTF.
fn with_kernel_btf<T>(query: impl FnOnce(*const sys::btf) -> T) -> Option<T> {
    let mut cached = KERNEL_BTF.lock().unwrap_or_else(|e| e.into_inner());
    if cached.is_none() {
        // SAFETY: returns a new BTF object or NULL with errno set.
        *cached = Some(KernelBtf(NonNull::new(unsafe { sys::btf__load_vmlinux_btf() })?));
    }
    cached.as_ref().map(|btf| query(btf.0.as_ptr()))
}

/// Does the kernel have function `name`? Its BTF says, or without BTF
/// /proc/kallsyms (a kprobe can attach to what it lists).
pub fn kernel_has_func(name: &str) -> bool {
    let c = cstring(name);
    // SAFETY: btf is live during the query; c is a valid C string.
    with_kernel_btf(|btf| unsafe { sys::btf__find_by_name_kind(btf, c.as_ptr(), sys::BTF_KIND_FUNC) } > 0)
        .unwrap_or_else(|| crate::kallsyms::has_function(name))
}

/// A BTF type's kind (BTF_KIND_*): bits 24-28 of its info.
fn btf_kind(t: &sys::btf_type) -> u32 {
    (t.info >> 24) & 0x1f
}

/// How many arguments raw tracepoint `name` passes on this kernel, from the
/// `btf_trace_NAME` typedef in the kernel's BTF (a pointer to a function
/// whose first parameter is the tracepoint's private data, not an argument).
pub fn raw_tp_arity(name: &str) -> Result<u32> {
    let typedef = cstring(&format!("btf_trace_{name}"));
    // SAFETY: type pointers point into the live btf and are only read during the query.
    let arity = with_kernel_btf(|btf| unsafe {
        let id = sys::btf__find_by_name_kind(btf, typedef.as_ptr(), sys::BTF_KIND_TYPEDEF);
        let mut t = if id > 0 { sys::btf__type_by_id(btf, id as u32) } else { ptr::null() };
        // typedef -> pointer -> function prototype
        for _ in 0..2 {
            t = if t.is_null() { t } else { sys::btf__type_by_id(btf, (*t).__bindgen_anon_1.type_) };
        }
        (!t.is_null() && btf_kind(&*t) == sys::BTF_KIND_FUNC_PROTO).then(|| ((*t).info & 0xffff).saturating_sub(1))
    });
    arity.flatten().ok_or_else(|| Error::msg(format!("kernel BTF has no prototype for tracepoint {name}")))
}

/// The value of enumerator `name` in the kernel's BTF, whatever enum holds it:
/// CO-RE finds enum values by the enum's name, and some kernels' enums have
/// none (6.12's rq_flags bits). None without BTF or such an enumerator.
pub fn kernel_enum_value(name: &str) -> Option<i32> {
    let want = cstring(name);
    // SAFETY: type pointers and names point into the live btf and are only
    // read during the query; an ENUM's vlen btf_enum entries follow its type.
    with_kernel_btf(|btf| unsafe {
        (1..sys::btf__type_cnt(btf)).find_map(|id| {
            let t = sys::btf__type_by_id(btf, id);
            if t.is_null() || btf_kind(&*t) != sys::BTF_KIND_ENUM {
                return None;
            }
            let values = std::slice::from_raw_parts(t.add(1).cast::<sys::btf_enum>(), ((*t).info & 0xffff) as usize);
            values
                .iter()
                .find(|e| CStr::from_ptr(sys::btf__name_by_offset(btf, e.name_off)) == want.as_c_str())
                .map(|e| e.val)
        })
    })
    .flatten()
}

/// libbpf's own probe: can this kernel create maps of the given type?
pub fn map_type_supported(ty: MapType) -> bool {
    let t = match ty {
        MapType::RingBuf => sys::BPF_MAP_TYPE_RINGBUF,
        MapType::PerfEventArray => sys::BPF_MAP_TYPE_PERF_EVENT_ARRAY,
    };
    // SAFETY: plain probe call.
    unsafe { sys::libbpf_probe_bpf_map_type(t, ptr::null()) == 1 }
}

pub enum MapType {
    RingBuf,
    PerfEventArray,
}

/// libbpf's own probe: may tracepoint programs call this helper?
pub fn helper_supported(helper: Helper) -> bool {
    let h = match helper {
        Helper::ProbeReadKernel => sys::BPF_FUNC_probe_read_kernel,
        Helper::TaskPtRegs => sys::BPF_FUNC_task_pt_regs,
    };
    // SAFETY: plain probe call.
    unsafe { sys::libbpf_probe_bpf_helper(sys::BPF_PROG_TYPE_TRACEPOINT, h, ptr::null()) == 1 }
}

pub enum Helper {
    ProbeReadKernel,
    /// 5.15 (dd3b3b0b4d8f): amplify tells a write's page-cache insertions from misses.
    TaskPtRegs,
}

/// Of the runs the kernel skipped (by program), those whose events no
/// program saw. Each pair is two programs on one hook standing in for each
/// other: the second handles what the first is skipped for while it runs
/// (and the other way round), so the pair loses an event only when both
/// skipped it, at most as often as the one that skipped less.
pub fn missed_runs(misses: &[(String, u64)], pairs: &[[&str; 2]]) -> u64 {
    let of = |name: &str| misses.iter().find(|(n, _)| n == name).map_or(0, |(_, m)| *m);
    let all: u64 = misses.iter().map(|(_, m)| m).sum();
    pairs.iter().fold(all, |left, [a, b]| {
        let (a, b) = (of(a), of(b));
        left - a - b + a.min(b)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn vdso_names_the_running_kernel() {
        let v = super::vdso_linux_version().expect("a Linux note in the vDSO");
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
        let mut parts = release.trim().split(['.', '-']).map(|p| p.parse::<u32>().unwrap_or(0));
        let (major, minor) = (parts.next().unwrap(), parts.next().unwrap());
        assert_eq!((v >> 16, (v >> 8) & 0xff), (major, minor), "{v:#x} vs {release}");
    }

    #[test]
    fn an_event_is_missed_only_if_both_programs_of_its_pair_skipped_it() {
        let runs = |m: &[(&str, u64)]| {
            let m: Vec<(String, u64)> = m.iter().map(|(n, c)| (n.to_string(), *c)).collect();
            super::missed_runs(&m, &[["complete", "complete_again"]])
        };
        // the first program skipped 16 that the second saw
        assert_eq!(runs(&[("issue", 2), ("complete", 16), ("complete_again", 0)]), 2);
        assert_eq!(runs(&[("complete", 5), ("complete_again", 3)]), 3);
        // programs of no pair: every miss counts
        assert_eq!(runs(&[("tp_issue", 1), ("tp_complete", 4)]), 5);
    }
}
