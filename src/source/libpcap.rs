//! libpcap, loaded the first time a filter, a live capture or the interface
//! listing needs it.
//!
//! Reading a capture file does not use libpcap: the reader is synack's own.
//! Linked the usual way, libpcap and the ten libraries it brings (dbus,
//! systemd, gcrypt, zstd...) would be loaded and bound at every start, which
//! costs about 0.7 ms (a run on a capture with no packet took 2.1 ms, and
//! takes 1.4 ms): as long as judging 1.5 MB of capture. The `pcap` crate has
//! no mode that loads libpcap late, so synack defines the libpcap functions
//! that crate calls, each a forwarder to the real function, which [`load`]
//! finds with `dlopen` on first need. The linker (with `--as-needed`, as Rust
//! links on Linux) then leaves libpcap out of the program's needed libraries,
//! and a capture file reads even where libpcap is not installed.
//!
//! `SYNACK_LIBPCAP` names the library to load instead of the usual ones (a
//! path, or a name the dynamic loader searches for).

use std::ffi::{c_char, c_int, c_uint, c_void};
use std::sync::OnceLock;

/// The names tried in turn: the soname of libpcap 1.x on most systems, the
/// one Debian and Ubuntu keep for compatibility, and the development link.
#[cfg(not(target_os = "macos"))]
const NAMES: &[&str] = &["libpcap.so.1", "libpcap.so.0.8", "libpcap.so"];
#[cfg(target_os = "macos")]
const NAMES: &[&str] = &["libpcap.A.dylib", "libpcap.dylib"];

/// Declares each forwarded function once: the table of real functions, its
/// lookup, and the exported forwarder with libpcap's name and C signature
/// (every pointer is passed through as `*mut c_void`, which has the same ABI).
macro_rules! forward {
    ($(fn $name:ident($($arg:ident: $ty:ty),*) $(-> $ret:ty)?;)*) => {
        /// The real libpcap functions.
        struct Functions {
            $($name: unsafe extern "C" fn($($ty),*) $(-> $ret)?,)*
        }

        impl Functions {
            fn resolve(library: &libloading::Library) -> Result<Functions, String> {
                // SAFETY: each symbol is looked up with the signature libpcap
                // gives it in pcap/pcap.h.
                unsafe {
                    Ok(Functions {
                        $($name: *library
                            .get(concat!(stringify!($name), "\0").as_bytes())
                            .map_err(|e| e.to_string())?,)*
                    })
                }
            }
        }

        $(
            #[no_mangle]
            unsafe extern "C" fn $name($($arg: $ty),*) $(-> $ret)? {
                (functions().$name)($($arg),*)
            }
        )*
    };
}

forward! {
    fn pcap_activate(p: *mut c_void) -> c_int;
    fn pcap_close(p: *mut c_void);
    fn pcap_compile(p: *mut c_void, program: *mut c_void, text: *const c_char, optimize: c_int, netmask: c_uint) -> c_int;
    fn pcap_create(source: *const c_char, errbuf: *mut c_char) -> *mut c_void;
    fn pcap_datalink(p: *mut c_void) -> c_int;
    fn pcap_fileno(p: *mut c_void) -> c_int;
    fn pcap_findalldevs(devices: *mut c_void, errbuf: *mut c_char) -> c_int;
    fn pcap_freealldevs(devices: *mut c_void);
    fn pcap_freecode(program: *mut c_void);
    fn pcap_geterr(p: *mut c_void) -> *mut c_char;
    fn pcap_next_ex(p: *mut c_void, header: *mut c_void, data: *mut c_void) -> c_int;
    fn pcap_offline_filter(program: *const c_void, header: *const c_void, data: *const c_void) -> c_int;
    fn pcap_open_dead(linktype: c_int, snaplen: c_int) -> *mut c_void;
    fn pcap_set_buffer_size(p: *mut c_void, size: c_int) -> c_int;
    fn pcap_set_datalink(p: *mut c_void, dlt: c_int) -> c_int;
    fn pcap_set_immediate_mode(p: *mut c_void, on: c_int) -> c_int;
    fn pcap_set_promisc(p: *mut c_void, on: c_int) -> c_int;
    fn pcap_set_snaplen(p: *mut c_void, snaplen: c_int) -> c_int;
    fn pcap_set_timeout(p: *mut c_void, ms: c_int) -> c_int;
    fn pcap_set_tstamp_precision(p: *mut c_void, precision: c_int) -> c_int;
    fn pcap_setdirection(p: *mut c_void, direction: c_int) -> c_int;
    fn pcap_setfilter(p: *mut c_void, program: *mut c_void) -> c_int;
    fn pcap_setnonblock(p: *mut c_void, on: c_int, errbuf: *mut c_char) -> c_int;
    fn pcap_stats(p: *mut c_void, stats: *mut c_void) -> c_int;
}

struct Loaded {
    /// Kept open for the life of the process: the functions point into it.
    _library: libloading::Library,
    functions: Functions,
}

static LOADED: OnceLock<Result<Loaded, String>> = OnceLock::new();

fn open() -> Result<Loaded, String> {
    let chosen = std::env::var("SYNACK_LIBPCAP").ok();
    let names: Vec<&str> = match &chosen {
        Some(name) => vec![name.as_str()],
        None => NAMES.to_vec(),
    };
    let mut last_error = String::new();
    for name in &names {
        // SAFETY: libpcap's initialisers only set up its own state.
        match unsafe { libloading::Library::new(name) } {
            Ok(library) => {
                let functions = Functions::resolve(&library)
                    .map_err(|e| format!("cannot use libpcap from {name}: {e}"))?;
                return Ok(Loaded {
                    _library: library,
                    functions,
                });
            }
            Err(e) => last_error = e.to_string(),
        }
    }
    let tried = match names.len() {
        1 => String::new(),
        _ => format!(" (tried {})", names.join(", ")),
    };
    Err(format!(
        "cannot load libpcap{tried}: {last_error}; filters, live capture and -D need it"
    ))
}

/// Load libpcap now, if it is not loaded yet. Call it before the first use of
/// the `pcap` crate, so that a missing library is reported as an error.
pub fn load() -> Result<(), String> {
    match LOADED.get_or_init(open) {
        Ok(_) => Ok(()),
        Err(e) => Err(e.clone()),
    }
}

fn functions() -> &'static Functions {
    match LOADED.get_or_init(open) {
        Ok(loaded) => &loaded.functions,
        Err(e) => {
            // Only reached if a caller skipped `load`; a forwarder cannot
            // return an error of its own, nor unwind into C.
            eprintln!("synack: {e}");
            std::process::exit(2);
        }
    }
}
