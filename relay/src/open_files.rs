//! Room for every connection: each one is an open file (a socket), and many systems
//! start services with a soft limit of 1,024 open files, far below the relay's
//! [`crate::config::DEFAULT_MAX_CONNECTIONS`]. The relay raises its soft limit to
//! the hard one at start, and says so when even that is too low for the connections
//! it is told to hold.

/// Open files the relay needs besides its connections: listeners, the mailbox
/// database and its journal, logs.
const SPARE_FILES: u64 = 64;

/// Raises the open-files limit as far as the system allows; warns when it is still
/// below what `max_connections` need.
pub(crate) fn make_room_for(max_connections: u32) {
    let needed = u64::from(max_connections) + SPARE_FILES;
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) if limit < needed => tracing::warn!(
            "the system allows {limit} open files, so the relay can hold about {} connections, not the {max_connections} configured; raise the limit (`ulimit -n`, or LimitNOFILE= in a systemd unit)",
            limit.saturating_sub(SPARE_FILES)
        ),
        Ok(limit) => tracing::debug!("open-files limit: {limit}"),
        Err(e) => tracing::warn!("cannot read or raise the open-files limit: {e}"),
    }
}
