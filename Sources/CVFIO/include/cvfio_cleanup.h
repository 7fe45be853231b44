// Removal of vfioctl's private temporary directories (unpacked snapshots) on every way out of the process:
// normal return (the Swift owner calls cvfio_cleanup_remove), exit(3) (an atexit handler), and SIGINT, SIGTERM
// and SIGHUP (a handler that removes what is registered, then lets the signal kill the process as before).
#ifndef CVFIO_CLEANUP_H
#define CVFIO_CLEANUP_H

/// Registers `path` for removal at exit or on a fatal signal, installing the handlers on first use.
/// Returns a slot for cvfio_cleanup_remove, or -1 when the path is too long or all slots are taken
/// (the caller then still removes the directory itself on the normal path).
int cvfio_cleanup_register(const char *path);

/// Removes the registered directory tree and forgets it. Returns 0, or -1 with errno when something stayed.
int cvfio_cleanup_remove(int slot);

/// Removes a directory tree without following symbolic links (async-signal-safe calls only).
/// Returns 0 when `path` is gone (or was never there), -1 with errno otherwise.
int cvfio_remove_tree(const char *path);

#endif
