"""The kernel's file system, seen from Python (docs/userland.md).

Every kernel has one in-memory file system in its C core (csrc/unix/pk_fs.c),
made at its first use with ``/``, ``/dev`` (``null``, ``zero``,
``urandom``, ``tty``) and ``/tmp`` (mode 1777). ``k.fs`` is a
:class:`FileSystem`: a view that calls the core for every operation, with
the credentials of root unless made with :meth:`FileSystem.as_user`.
Errors are typed (:class:`~pykernel.NotFound`, :class:`~pykernel.AccessDenied`,
...; each also the matching builtin ``OSError`` subclass) and name the path.

Example::

    import pykernel as pk
    k = pk.Kernel()
    k.fs.mkdir("/home/user", parents=True)
    k.fs.write("/home/user/notes.txt", b"hello\\n")
    k.fs.symlink("notes.txt", "/home/user/latest")
    assert k.fs.read("/home/user/latest") == b"hello\\n"
    assert k.fs.listdir("/home/user") == ["notes.txt", "latest"]
"""

from __future__ import annotations

import os
import stat as _stat
from dataclasses import dataclass

from ._ffi import ffi, lib
from ._lock import locked_views
from .errors import AccessDenied, InvalidArgs, NotExecutable, NotFound, fs_error

__all__ = ["FileSystem", "Stat", "FsUsage", "FsAudit"]

_TYPES = {lib.PK_S_IFREG: "file", lib.PK_S_IFDIR: "dir", lib.PK_S_IFLNK: "symlink",
          lib.PK_S_IFCHR: "chardev"}
_READ_CHUNK = 1 << 24


@dataclass(frozen=True)
class Stat:
    """What stat(2) reports of an inode. ``mode`` holds the type and
    permission bits as in ``struct stat`` (``stat.S_ISDIR(st.mode)``
    works); ``type`` says the type in a word ("file", "dir", "symlink",
    "chardev"). Times are ns since 1970-01-01 UTC: the kernel's ``epoch``
    plus its simulated clock when they were set. ``refs``: references
    that keep the inode while it has no name (working directories; open
    files). ``version``: changes whenever the contents change."""

    ino: int
    mode: int
    type: str
    nlink: int
    uid: int
    gid: int
    rdev: int
    size: int
    blocks: int
    atime_ns: int
    mtime_ns: int
    ctime_ns: int
    refs: int
    version: int

    @property
    def permissions(self) -> int:
        """The permission bits, ``mode & 0o7777``."""
        return self.mode & 0o7777


@dataclass(frozen=True)
class FsUsage:
    """Counts of the file system: inodes by type, ``bytes`` (sizes of the
    regular files), ``pages`` (4 KiB data pages held; holes hold none),
    the limits ``max_bytes`` (on pages × 4096 plus 8 bytes per page slot)
    and ``max_inodes``, ``orphans`` (inodes without a name that references
    keep), and ``slots`` (a file has one per 4 KiB up to the furthest
    page it was ever given)."""

    inodes: int
    files: int
    dirs: int
    symlinks: int
    devices: int
    bytes: int
    pages: int
    max_bytes: int
    max_inodes: int
    orphans: int
    slots: int


@dataclass(frozen=True)
class FsAudit:
    """The file system's books recounted (:meth:`FileSystem.audit`):
    link counts against the directory entries naming each inode,
    references against working directories, data pages against the
    count kept. Every ``bad_*`` and ``leaked`` is 0 when they balance."""

    inodes: int
    entries: int
    bad_links: int
    bad_refs: int
    leaked: int
    bad_pages: int
    bad_order: int
    first_bad: int

    def problems(self) -> list[str]:
        """Each broken rule, in words (empty: the books balance)."""
        out = []
        for field, words in (("bad_links", "inodes whose link count differs from their names"),
                             ("bad_refs", "inodes with fewer references than working directories"),
                             ("leaked", "inodes with neither name nor reference"),
                             ("bad_pages", "page counts that differ from the pages held"),
                             ("bad_order", "directories with entries out of order")):
            n = getattr(self, field)
            if n:
                out.append(f"{n} {words} (first: inode {self.first_bad})")
        return out


def _path_bytes(path, what: str = "path") -> bytes:
    if isinstance(path, os.PathLike):
        path = os.fspath(path)
    if isinstance(path, str):
        path = path.encode()
    if not isinstance(path, bytes):
        raise TypeError(f"{what} must be a str or bytes, not {type(path).__name__}")
    return path


def _id(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    if not 0 <= value <= 0xFFFFFFFE:
        raise ValueError(f"{what} must be 0..{0xFFFFFFFE}, got {value}")
    return value


def _mode(mode, what: str = "mode") -> int:
    if isinstance(mode, bool) or not isinstance(mode, int):
        raise TypeError(f"{what} must be an int such as 0o644, not {type(mode).__name__}")
    if not 0 <= mode <= 0o7777:
        raise ValueError(f"{what} must be permission bits 0..0o7777, got {oct(mode)}")
    return mode


@locked_views()
class FileSystem:
    """The file system of a kernel (``k.fs``), acting as user ``uid``,
    group ``gid`` with relative paths starting at ``cwd``. Paths are str
    or bytes."""

    def __init__(self, kernel, uid: int = 0, gid: int = 0, cwd: str = "/"):
        self._k = kernel
        self.uid = _id(uid, "uid")
        self.gid = _id(gid, "gid")
        self.cwd = cwd
        self._programs: dict = {}

    def as_user(self, uid: int, gid: int | None = None, cwd: str | None = None) -> "FileSystem":
        """A view of the same file system whose calls are checked against
        ``uid`` and ``gid`` (default: ``gid = uid``), starting relative
        paths at ``cwd`` (default this view's)."""
        v = FileSystem(self._k, uid, uid if gid is None else gid, self.cwd if cwd is None else cwd)
        v._programs = self._programs
        return v

    # ---- plumbing -----------------------------------------------------------

    def _who(self, cwd: int | None = None):
        w = ffi.new("pk_fs_who *")
        w.uid, w.gid = self.uid, self.gid
        if cwd is None and self.cwd not in ("/", b"/"):
            cwd = self._lookup_as_root_start(self.cwd)
        w.cwd = cwd or 0
        return w

    def _lookup_as_root_start(self, path) -> int:
        p = _path_bytes(path, "cwd")
        w = ffi.new("pk_fs_who *")
        w.uid, w.gid = self.uid, self.gid
        out = ffi.new("uint32_t *")
        self._check(lib.pk_fs_lookup(self._k._kp, w, p, len(p), 0, out), "cwd", path)
        return out[0]

    @staticmethod
    def _check(r: int, what: str, path=None) -> int:
        if r < 0:
            if isinstance(path, bytes):
                path = path.decode(errors="surrogateescape")
            raise fs_error(r, what, path)
        return r

    def _lookup(self, path, follow: bool = True, what: str = "lookup") -> int:
        p = _path_bytes(path)
        out = ffi.new("uint32_t *")
        flags = 0 if follow else lib.PK_FS_NOFOLLOW
        self._check(lib.pk_fs_lookup(self._k._kp, self._who(), p, len(p), flags, out), what, path)
        return out[0]

    def _stat_ino(self, ino: int) -> Stat:
        st = ffi.new("pk_fs_stat *")
        self._check(lib.pk_fs_stat_get(self._k._kp, ino, st), "stat")
        return Stat(st.ino, st.mode, _TYPES.get(st.mode & lib.PK_S_IFMT, "?"), st.nlink, st.uid,
                    st.gid, st.rdev, st.size, st.blocks, st.atime, st.mtime, st.ctime, st.refs,
                    st.version)

    def _access(self, ino: int, mask: int, what: str, path) -> None:
        self._check(lib.pk_fs_access(self._k._kp, self._who(), ino, mask), what, path)

    def _read_ino(self, ino: int, offset: int, size: int, what: str, path, pid=None) -> bytes:
        out = bytearray()
        n = ffi.new("uint64_t *")
        pid = lib.PK_FS_NO_PID if pid is None else pid
        while size > 0:
            m = min(size, _READ_CHUNK)
            buf = ffi.new("uint8_t[]", m)
            self._check(lib.pk_fs_read(self._k._kp, pid, ino, offset, buf, m, n), what, path)
            if n[0] == 0:
                break
            out += ffi.buffer(buf, n[0])
            offset += n[0]
            size -= n[0]
        return bytes(out)

    # ---- files --------------------------------------------------------------

    def write(self, path, data, mode: int = 0o644, append: bool = False) -> int:
        """Write ``data`` (bytes, or str as UTF-8) to the file at ``path``,
        made with permission bits ``mode`` if it does not exist (as
        open(2) with O_CREAT: the creator may write it whatever the mode),
        else replaced (O_TRUNC; needs write permission) or, with
        ``append``, added at its end. Returns the bytes written."""
        if isinstance(data, str):
            data = data.encode()
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"data must be bytes or str, not {type(data).__name__}")
        data = bytes(data)
        mode = _mode(mode)
        p = _path_bytes(path)
        kp, who, out = self._k._kp, self._who(), ffi.new("uint32_t *")
        r = lib.pk_fs_create(kp, who, p, len(p), mode, lib.PK_FS_EXCL, out)
        new = r == 0
        if r == -lib.PK_EEXIST:
            r = lib.pk_fs_create(kp, who, p, len(p), mode, 0, out)
        self._check(r, "write", path)
        ino = out[0]
        st = self._stat_ino(ino)
        if not new:
            self._access(ino, lib.PK_FS_W, "write", path)
        if st.type == "file" and not new and not append:
            self._check(lib.pk_fs_truncate(kp, ino, 0), "write", path)
        offset = st.size if append and st.type == "file" else 0
        n = ffi.new("uint64_t *")
        self._check(lib.pk_fs_write(kp, lib.PK_FS_NO_PID, ino, offset, data, len(data), n),
                    "write", path)
        return n[0]

    def read(self, path, size: int | None = None, offset: int = 0) -> bytes:
        """The contents of the file at ``path`` (symbolic links followed;
        needs read permission), or ``size`` bytes of them from ``offset``.
        Devices: ``/dev/zero`` and ``/dev/urandom`` (the kernel's seeded
        generator) need ``size``; ``/dev/null`` reads empty."""
        ino = self._lookup(path, what="read")
        self._access(ino, lib.PK_FS_R, "read", path)
        st = self._stat_ino(ino)
        if st.type == "dir":
            raise fs_error(-lib.PK_EISDIR, "read", os.fsdecode(path))
        if size is None:
            if st.type == "chardev" and st.rdev in (lib.PK_FS_DEV_ZERO, lib.PK_FS_DEV_URANDOM):
                raise InvalidArgs(f"read {os.fsdecode(path)!r}: the device never ends: pass size=")
            size = max(st.size - offset, 0) if st.type == "file" else _READ_CHUNK
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValueError(f"size must be an int >= 0, got {size!r}")
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise ValueError(f"offset must be an int >= 0, got {offset!r}")
        return self._read_ino(ino, offset, size, "read", path)

    def truncate(self, path, size: int) -> None:
        """Make the file at ``path`` ``size`` bytes long (truncate(2);
        needs write permission; growing leaves a hole that reads as zeros)."""
        ino = self._lookup(path, what="truncate")
        self._access(ino, lib.PK_FS_W, "truncate", path)
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValueError(f"size must be an int >= 0, got {size!r}")
        self._check(lib.pk_fs_truncate(self._k._kp, ino, size), "truncate", path)

    # ---- names ----------------------------------------------------------------

    def mkdir(self, path, mode: int = 0o755, parents: bool = False) -> None:
        """Make the directory ``path`` (mkdir(2)). ``parents``: also the
        missing directories above it, and no error if it exists already
        as a directory (``mkdir -p``)."""
        mode = _mode(mode)
        p = _path_bytes(path)
        if parents:
            parts = [c for c in p.split(b"/") if c]
            cur = b"/" if p.startswith(b"/") else b""
            for c in parts:
                cur = cur + c if cur in (b"", b"/") else cur + b"/" + c
                r = lib.pk_fs_mkdir(self._k._kp, self._who(), cur, len(cur), mode)
                if r == -lib.PK_EEXIST and self._stat_ino(self._lookup(cur, what="mkdir")).type == "dir":
                    continue
                self._check(r, "mkdir", cur)
            return
        self._check(lib.pk_fs_mkdir(self._k._kp, self._who(), p, len(p), mode), "mkdir", path)

    def symlink(self, target, path) -> None:
        """Make ``path`` a symbolic link to ``target`` (symlink(2); the
        target is kept as given and need not exist)."""
        t, p = _path_bytes(target, "target"), _path_bytes(path)
        self._check(lib.pk_fs_symlink(self._k._kp, self._who(), t, len(t), p, len(p)),
                    "symlink", path)

    def link(self, existing, path) -> None:
        """Give the inode at ``existing`` the further name ``path``
        (link(2): a hard link; not for directories)."""
        o, p = _path_bytes(existing), _path_bytes(path)
        w = self._who()
        self._check(lib.pk_fs_link(self._k._kp, w, o, len(o), w, p, len(p)), "link", path)

    def readlink(self, path) -> str:
        """The target of the symbolic link at ``path`` (readlink(2))."""
        p = _path_bytes(path)
        buf, n = ffi.new("char[]", lib.PK_FS_PATH_MAX), ffi.new("uint32_t *")
        self._check(lib.pk_fs_readlink(self._k._kp, self._who(), p, len(p), buf,
                                       lib.PK_FS_PATH_MAX, n), "readlink", path)
        return ffi.buffer(buf, n[0])[:].decode(errors="surrogateescape")

    def remove(self, path) -> None:
        """Remove the name ``path``: a file, symbolic link or device
        (unlink(2)), or an empty directory (rmdir(2)). The inode goes when
        its last name and its last reference are gone."""
        p = _path_bytes(path)
        r = lib.pk_fs_unlink(self._k._kp, self._who(), p, len(p), 0)
        if r == -lib.PK_EISDIR:
            r = lib.pk_fs_unlink(self._k._kp, self._who(), p, len(p), lib.PK_FS_REMOVEDIR)
        self._check(r, "remove", path)

    def rename(self, old, new) -> None:
        """Move the name ``old`` to ``new``, replacing what ``new`` names
        (rename(2): a directory only by an empty directory)."""
        o, p = _path_bytes(old), _path_bytes(new)
        w = self._who()
        self._check(lib.pk_fs_rename(self._k._kp, w, o, len(o), w, p, len(p)), "rename", old)

    def listdir(self, path="/") -> list[str]:
        """The names in the directory at ``path`` in the order they were
        made (without "." and ".."); needs read permission."""
        ino = self._lookup(path, what="listdir")
        self._access(ino, lib.PK_FS_R, "listdir", path)
        return [name for name, _ino, _t in self._entries(ino, path)]

    def _entries(self, ino: int, path):
        cur, ent = ffi.new("uint64_t *", 2), ffi.new("pk_fs_dirent *")
        out = []
        while self._check(lib.pk_fs_readdir(self._k._kp, ino, cur, ent), "listdir", path) == 1:
            out.append((ffi.string(ent.name, ent.namelen).decode(errors="surrogateescape"),
                        ent.ino, ent.type))
        return out

    def exists(self, path) -> bool:
        """Whether ``path`` names something (symbolic links followed);
        False where resolution fails, as ``os.path.exists``."""
        try:
            self._lookup(path)
        except (NotFound, NotADirectoryError, AccessDenied, OSError):
            return False
        return True

    def stat(self, path, follow_symlinks: bool = True) -> Stat:
        """The :class:`Stat` of ``path`` (stat(2); lstat(2) with
        ``follow_symlinks=False``)."""
        return self._stat_ino(self._lookup(path, follow_symlinks, "stat"))

    def lstat(self, path) -> Stat:
        """The :class:`Stat` of ``path`` itself, not of a link's target."""
        return self.stat(path, follow_symlinks=False)

    # ---- attributes ---------------------------------------------------------

    def chmod(self, path, mode: int) -> None:
        """Set the permission bits (chmod(2): the owner or root)."""
        mode = _mode(mode)
        p = _path_bytes(path)
        self._check(lib.pk_fs_chmod(self._k._kp, self._who(), p, len(p), mode), "chmod", path)

    def chown(self, path, uid: int | None = None, gid: int | None = None,
              follow_symlinks: bool = True) -> None:
        """Set the owner and group (chown(2): root; the owner may set the
        group to its own). None leaves an id as it is."""
        u = lib.PK_FS_KEEP if uid is None else _id(uid, "uid")
        g = lib.PK_FS_KEEP if gid is None else _id(gid, "gid")
        p = _path_bytes(path)
        flags = 0 if follow_symlinks else lib.PK_FS_NOFOLLOW
        self._check(lib.pk_fs_chown(self._k._kp, self._who(), p, len(p), u, g, flags),
                    "chown", path)

    def utime(self, path, ns: tuple[int, int] | None = None) -> None:
        """Set the access and modification times to ``ns`` = (atime,
        mtime) in ns since 1970, or to now (utimensat(2))."""
        p = _path_bytes(path)
        t = ffi.NULL
        if ns is not None:
            a, m = ns
            for v in (a, m):
                if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                    raise ValueError(f"times must be ints >= 0 (ns since 1970), got {v!r}")
            t = ffi.new("int64_t[4]", [a // 10**9, a % 10**9, m // 10**9, m % 10**9])
        self._check(lib.pk_fs_utimens(self._k._kp, self._who(), p, len(p), t, 0), "utime", path)

    # ---- a tree from the host -------------------------------------------------

    def import_tree(self, host_dir, at="/", uid: int = 0, gid: int = 0) -> int:
        """Copy the host directory ``host_dir`` (files, directories,
        symbolic links and their permission bits) into the directory
        ``at``, made if missing, owned by ``uid``/``gid``. Entries are
        copied in sorted order, so the result does not depend on the
        host's directory order. Returns the number of names made."""
        host_dir = os.fspath(host_dir)
        if not os.path.isdir(host_dir):
            raise NotFound(f"import_tree {host_dir!r}: no such directory on the host")
        uid, gid = _id(uid, "uid"), _id(gid, "gid")
        at = os.fsdecode(at)
        self.mkdir(at, parents=True)
        count = 0
        for root, dirs, files in os.walk(host_dir):
            dirs.sort()
            rel = os.path.relpath(root, host_dir)
            dest = at if rel == "." else os.path.join(at, rel)
            for name in sorted(dirs) + sorted(files):
                src, dst = os.path.join(root, name), os.path.join(dest, name)
                st = os.lstat(src)
                if _stat.S_ISLNK(st.st_mode):
                    self.symlink(os.readlink(src), dst)
                elif _stat.S_ISDIR(st.st_mode):
                    self.mkdir(dst, 0o700)
                elif _stat.S_ISREG(st.st_mode):
                    with open(src, "rb") as f:
                        self.write(dst, f.read(), 0o600)
                else:
                    continue                                    # sockets, FIFOs, devices
                if not _stat.S_ISLNK(st.st_mode):
                    self.chmod(dst, _stat.S_IMODE(st.st_mode))
                if uid or gid:
                    self.chown(dst, uid, gid, follow_symlinks=False)
                count += 1
            for name in list(dirs):                             # symlinks to dirs: not walked
                if os.path.islink(os.path.join(root, name)):
                    dirs.remove(name)
        return count

    # ---- state ----------------------------------------------------------------

    @property
    def usage(self) -> FsUsage:
        """Counts and limits (:class:`FsUsage`)."""
        u = ffi.new("pk_fs_usage *")
        self._check(lib.pk_fs_usage_get(self._k._kp, u), "usage")
        return FsUsage(u.inodes, u.files, u.dirs, u.symlinks, u.devices, u.bytes, u.pages,
                       u.max_bytes, u.max_inodes, u.orphans, u.slots)

    def set_limits(self, max_bytes: int | None = None, max_inodes: int | None = None) -> None:
        """Limit the data pages (``max_bytes``, default 256 MiB) and the
        inodes (``max_inodes``, default 2**20); writes and creations past
        them fail with :class:`~pykernel.NoSpace` (ENOSPC)."""
        vals = []
        for what, v in (("max_bytes", max_bytes), ("max_inodes", max_inodes)):
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1
                                  or v >= 1 << 64):
                raise ValueError(f"{what} must be an int >= 1, got {v!r}")
            vals.append(v or 0)
        self._check(lib.pk_fs_limits_set(self._k._kp, *vals), "set_limits")

    def audit(self) -> FsAudit:
        """Recount the books (:class:`FsAudit`); for tests."""
        a = ffi.new("pk_fs_audit *")
        self._check(lib.pk_fs_audit_run(self._k._kp, a), "audit")
        return FsAudit(a.inodes, a.entries, a.bad_links, a.bad_refs, a.leaked, a.bad_pages,
                       a.bad_order, a.first_bad)

    def cwd_of(self, process) -> str:
        """The working directory of ``process`` (a path; getcwd(2));
        :class:`~pykernel.BadState` once it has ended (its reference on
        the directory went with it)."""
        ino = ffi.new("uint32_t *")
        self._check(lib.pk_fs_cwd_get(self._k._kp, process.pid, ino), "cwd")
        buf, n = ffi.new("char[]", lib.PK_FS_PATH_MAX), ffi.new("uint32_t *")
        self._check(lib.pk_fs_path(self._k._kp, ino[0], buf, lib.PK_FS_PATH_MAX, n), "cwd")
        return ffi.string(buf, n[0]).decode(errors="surrogateescape")

    def __repr__(self) -> str:
        return f"<FileSystem uid={self.uid} gid={self.gid} cwd={self.cwd!r}>"


# ---- spawn by path (Kernel.spawn with a str) -------------------------------------

_MAX_INTERP = 5                    # #! levels before ELOOP (exec_binprm, fs/exec.c: "depth > 5")


def resolve_cwd(kernel, cwd, uid: int, gid: int) -> int:
    """The inode of directory ``cwd`` for a process with ``uid``/``gid``:
    it must exist, be a directory and be searchable (chdir(2))."""
    v = kernel.fs.as_user(uid, gid, "/")
    ino = v._lookup(cwd, what="cwd")
    if v._stat_ino(ino).type != "dir":
        raise fs_error(-lib.PK_ENOTDIR, "cwd", os.fsdecode(cwd))
    v._access(ino, lib.PK_FS_X, "cwd", cwd)
    return ino


def set_cwd(kernel, pid: int, ino: int) -> None:
    """Make inode ``ino`` the working directory of process ``pid``."""
    FileSystem._check(lib.pk_fs_cwd_set(kernel._kp, pid, ino), "cwd")


def inherit_cwd(kernel, parent: int, child: int) -> None:
    """Give process ``child`` the working directory of ``parent``."""
    ino = ffi.new("uint32_t *")
    FileSystem._check(lib.pk_fs_cwd_get(kernel._kp, parent, ino), "cwd")
    if ino[0] != 1:                                 # the root: the default already
        set_cwd(kernel, child, ino[0])


def executable(kernel, path: str, argv, uid: int, gid: int, cwd: str = "/", depth: int = 0):
    """The :class:`~pykernel.Program` execve(2) runs for ``path`` and the
    argv it gets: symbolic links followed, the file must be a regular file
    with execute permission for ``uid``/``gid`` (AccessDenied, EACCES), an
    ELF RISC-V executable or a ``#!`` script naming one
    (NotExecutable, ENOEXEC). The same file, unchanged, gives the same
    Program, so its processes share their read-only pages."""
    from .program import Program
    v = kernel.fs.as_user(uid, gid, cwd)
    if not isinstance(path, str):
        raise TypeError(f"a path to spawn must be a str, not {type(path).__name__}")
    ino = v._lookup(path, what="execve")
    st = v._stat_ino(ino)
    if st.type != "file":
        raise fs_error(-lib.PK_EACCES, "execve", path)
    v._access(ino, lib.PK_FS_X, "execve", path)
    head = v._read_ino(ino, 0, 256, "execve", path)
    if head.startswith(b"#!"):                       # binfmt_script
        if depth >= _MAX_INTERP:
            raise fs_error(-lib.PK_ELOOP, "execve", path)
        line = head[2:].split(b"\n", 1)[0].strip()
        if not line or (b"\n" not in head[2:] and len(head) == 256):
            raise fs_error(-lib.PK_ENOEXEC, "execve", path)
        interp, _, arg = line.partition(b" ")
        interp, arg = interp.decode(errors="surrogateescape"), arg.strip()
        new_argv = [interp] + ([arg.decode(errors="surrogateescape")] if arg else []) + [path]
        new_argv += list(argv[1:]) if argv else []
        return executable(kernel, interp, new_argv, uid, gid, cwd, depth + 1)
    key = (ino, st.version)
    prog = v._programs.get(key)
    if prog is None:
        data = v._read_ino(ino, 0, st.size, "execve", path)
        name = path.rstrip("/").rsplit("/", 1)[-1] or path
        try:
            prog = Program.elf(data, name=name)
        except Exception as e:
            from .errors import KernelError
            if not isinstance(e, KernelError):
                raise
            err = fs_error(-lib.PK_ENOEXEC, "execve", path)
            raise NotExecutable(f"{err} ({e})") from e
        abs_path = path if path.startswith("/") else os.path.normpath(os.path.join(cwd, path))
        prog._exe = abs_path
        v._programs[key] = prog
    return prog, argv
