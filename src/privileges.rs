//! Giving up root once the capture device (and any `-w` file) is open, so that
//! the packet parsers never run with privileges (tcpdump's `-Z`).

use std::ffi::CString;

use nix::unistd::{geteuid, getuid, initgroups, setgid, setuid, User};

/// The user a root process becomes when `-Z` is not given, chosen when
/// synack is built (`SYNACK_USER=...`, like tcpdump's `--with-user`).
pub const DEFAULT_USER: &str = match option_env!("SYNACK_USER") {
    Some(user) => user,
    None => "nobody",
};

/// Become `user` (or [`DEFAULT_USER`]) if running as root: supplementary
/// groups, then group, then user, so that nothing can be regained. Nothing to
/// do when not root, or for `-Z root`.
pub fn drop_root(user: Option<&str>) -> Result<(), String> {
    let name = user.unwrap_or(DEFAULT_USER);
    if (!getuid().is_root() && !geteuid().is_root()) || name == "root" {
        return Ok(());
    }
    let account = User::from_name(name)
        .map_err(|e| format!("cannot look up user '{name}': {e}"))?
        .ok_or_else(|| {
            format!(
                "cannot drop root privileges: there is no user '{name}' \
                 (name an unprivileged user with -Z USER, or keep root with -Z root)"
            )
        })?;
    let fail = |e: nix::Error| {
        format!(
            "cannot change to user '{name}' (uid {}, gid {}): {}",
            account.uid,
            account.gid,
            e.desc()
        )
    };
    let c_name = CString::new(name).map_err(|_| format!("bad user name '{name}'"))?;
    initgroups(&c_name, account.gid).map_err(fail)?;
    setgid(account.gid).map_err(fail)?;
    setuid(account.uid).map_err(fail)?;
    Ok(())
}
