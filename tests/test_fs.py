"""The kernel's file system (pykernel/fs.py over csrc/unix/pk_fs.c): names,
contents, permissions, times, devices, limits, snapshots.

Expected values come from the Linux man pages named in each test:
path_resolution(7), inode(7), stat(2), open(2), rename(2), unlink(2),
rmdir(2), link(2), symlink(7), chmod(2), chown(2), utimensat(2),
random(4), null(4).
"""

from __future__ import annotations

import errno
import os
import stat as S

import pytest

import pykernel as pk


@pytest.fixture
def k():
    return pk.Kernel(costs=pk.Costs.zero())


# ---- the tree a kernel starts with ----------------------------------------------

def test_a_new_file_system_has_dev_and_tmp(k):
    assert k.fs.listdir("/") == ["dev", "tmp"]
    assert k.fs.listdir("/dev") == ["null", "zero", "urandom", "tty"]


def test_tmp_is_world_writable_with_the_sticky_bit(k):
    # the conventional mode of /tmp: 1777 (inode(7), "S_ISVTX")
    st = k.fs.stat("/tmp")
    assert st.type == "dir" and st.permissions == 0o1777


def test_device_numbers_are_linux_ones(k):
    # Documentation/admin-guide/devices.txt: mem devices major 1; tty 5, 0
    assert [k.fs.stat(f"/dev/{d}").rdev for d in ("null", "zero", "urandom", "tty")] == \
        [0x0103, 0x0105, 0x0109, 0x0500]
    assert S.S_ISCHR(k.fs.stat("/dev/null").mode)


# ---- files -------------------------------------------------------------------------

def test_write_then_read_gives_the_bytes_back(k):
    assert k.fs.write("/tmp/a", b"hello\n") == 6
    assert k.fs.read("/tmp/a") == b"hello\n"
    st = k.fs.stat("/tmp/a")
    assert (st.type, st.size, st.permissions, st.nlink) == ("file", 6, 0o644, 1)


def test_write_replaces_an_existing_file(k):
    # open(2): O_TRUNC truncates an existing regular file to length 0
    k.fs.write("/tmp/a", b"a long first text")
    k.fs.write("/tmp/a", b"short")
    assert k.fs.read("/tmp/a") == b"short"


def test_append_adds_at_the_end(k):
    k.fs.write("/tmp/a", b"one ")
    k.fs.write("/tmp/a", b"two", append=True)
    assert k.fs.read("/tmp/a") == b"one two"


def test_contents_span_pages(k):
    data = bytes(range(256)) * 40                    # 10,240 bytes: three 4 KiB pages
    k.fs.write("/tmp/big", data)
    assert k.fs.read("/tmp/big") == data
    assert k.fs.read("/tmp/big", size=10, offset=4090) == data[4090:4100]
    assert k.fs.stat("/tmp/big").blocks == 3 * 8    # stat(2): st_blocks in 512-byte units


def test_truncate_up_leaves_a_hole_of_zeros(k):
    # truncate(2): "the extended part reads as null bytes"
    k.fs.write("/tmp/h", b"abc")
    k.fs.truncate("/tmp/h", 10_000)
    assert k.fs.read("/tmp/h") == b"abc" + bytes(9_997)
    assert k.fs.stat("/tmp/h").blocks == 8          # the hole holds no page


def test_truncate_down_then_up_does_not_bring_old_bytes_back(k):
    k.fs.write("/tmp/h", b"0123456789")
    k.fs.truncate("/tmp/h", 3)
    k.fs.truncate("/tmp/h", 6)
    assert k.fs.read("/tmp/h") == b"012\0\0\0"


def test_reading_a_directory_is_eisdir(k):
    with pytest.raises(pk.IsADirectory) as e:
        k.fs.read("/tmp")
    assert e.value.errno == errno.EISDIR and isinstance(e.value, IsADirectoryError)


def test_writing_over_a_directory_is_eisdir(k):
    # open(2): EISDIR "pathname refers to a directory and the access requested
    # involved writing"
    with pytest.raises(pk.IsADirectory):
        k.fs.write("/tmp", b"x")


def test_missing_file_is_enoent_with_the_path_in_the_message(k):
    with pytest.raises(FileNotFoundError) as e:
        k.fs.read("/tmp/none")
    assert isinstance(e.value, pk.NotFound) and isinstance(e.value, pk.KernelError)
    assert e.value.errno == errno.ENOENT and "/tmp/none" in str(e.value)


def test_a_file_used_as_a_directory_is_enotdir(k):
    # path_resolution(7): "If the resolution ... is not a directory, an ENOTDIR error"
    k.fs.write("/tmp/f", b"")
    with pytest.raises(pk.NotADirectory):
        k.fs.read("/tmp/f/x")
    with pytest.raises(NotADirectoryError):
        k.fs.stat("/tmp/f/")


# ---- names ---------------------------------------------------------------------------

def test_mkdir_parents(k):
    k.fs.mkdir("/home/user/src", parents=True)
    k.fs.mkdir("/home/user", parents=True)          # exists: no error, as mkdir -p
    assert k.fs.listdir("/home") == ["user"]


def test_mkdir_of_an_existing_name_is_eexist(k):
    with pytest.raises(FileExistsError):
        k.fs.mkdir("/tmp")


def test_directory_link_count_is_two_plus_subdirectories(k):
    # inode(7) / stat(2) st_nlink: a directory is named by its parent's entry,
    # its own "." and each subdirectory's ".."
    k.fs.mkdir("/d")
    assert k.fs.stat("/d").nlink == 2
    k.fs.mkdir("/d/a")
    k.fs.mkdir("/d/b")
    k.fs.write("/d/f", b"")
    assert k.fs.stat("/d").nlink == 4
    assert k.fs.stat("/").nlink == 2 + 3            # dev, tmp, d


def test_dot_and_dotdot(k):
    k.fs.mkdir("/a/b", parents=True)
    k.fs.write("/a/f", b"x")
    assert k.fs.read("/a/b/../f") == b"x"
    assert k.fs.read("/a/./b/../../a/f") == b"x"
    assert k.fs.stat("/..").ino == k.fs.stat("/").ino   # path_resolution(7): /.. is /


def test_relative_paths_start_at_the_views_cwd(k):
    k.fs.mkdir("/home/u", parents=True)
    k.fs.write("/home/u/f", b"here")
    assert k.fs.as_user(0, cwd="/home/u").read("f") == b"here"


def test_remove_file_and_empty_directory(k):
    k.fs.mkdir("/d")
    k.fs.write("/d/f", b"x")
    with pytest.raises(pk.DirectoryNotEmpty) as e:   # rmdir(2): ENOTEMPTY
        k.fs.remove("/d")
    assert e.value.errno == errno.ENOTEMPTY
    k.fs.remove("/d/f")
    k.fs.remove("/d")
    assert not k.fs.exists("/d")


def test_names_list_in_the_order_they_were_made(k):
    for n in ("c", "a", "b"):
        k.fs.write(f"/tmp/{n}", b"")
    k.fs.remove("/tmp/a")
    k.fs.write("/tmp/a", b"")
    assert k.fs.listdir("/tmp") == ["c", "b", "a"]


def test_name_of_255_bytes_is_accepted_256_is_enametoolong(k):
    # NAME_MAX = 255 (limits.h); path_resolution(7): ENAMETOOLONG
    k.fs.write("/tmp/" + "n" * 255, b"")
    with pytest.raises(pk.NameTooLong) as e:
        k.fs.write("/tmp/" + "n" * 256, b"")
    assert e.value.errno == errno.ENAMETOOLONG


def test_path_of_4096_bytes_is_enametoolong(k):
    # PATH_MAX = 4096 bytes including the terminating NUL
    path = "/" + "/".join(["x" * 99] * 41)           # 4100 bytes
    with pytest.raises(pk.NameTooLong):
        k.fs.stat(path)


def test_empty_path_is_enoent(k):
    # path_resolution(7): "an empty pathname ... ENOENT"
    with pytest.raises(pk.NotFound):
        k.fs.stat("")


# ---- hard and symbolic links ------------------------------------------------------

def test_hard_link_shares_the_inode_and_counts(k):
    k.fs.write("/tmp/a", b"data")
    k.fs.link("/tmp/a", "/tmp/b")
    a, b = k.fs.stat("/tmp/a"), k.fs.stat("/tmp/b")
    assert a.ino == b.ino and a.nlink == 2
    k.fs.remove("/tmp/a")                            # unlink(2): the data stays for the other name
    assert k.fs.read("/tmp/b") == b"data" and k.fs.stat("/tmp/b").nlink == 1


def test_hard_link_to_a_directory_is_eperm(k):
    # link(2): EPERM "oldpath is a directory"
    with pytest.raises(pk.AccessDenied) as e:
        k.fs.link("/tmp", "/t2")
    assert e.value.errno == errno.EPERM


def test_symlink_is_followed_relative_to_its_directory(k):
    k.fs.mkdir("/bin")
    k.fs.write("/bin/busybox", b"BB")
    k.fs.symlink("busybox", "/bin/echo")
    assert k.fs.read("/bin/echo") == b"BB"
    assert k.fs.readlink("/bin/echo") == "busybox"
    st = k.fs.lstat("/bin/echo")
    # stat(2): "The size of a symbolic link is the length of the pathname it contains"
    assert (st.type, st.size, st.permissions) == ("symlink", 7, 0o777)


def test_symlink_in_the_middle_of_a_path(k):
    k.fs.mkdir("/real/dir", parents=True)
    k.fs.write("/real/dir/f", b"x")
    k.fs.symlink("/real", "/link")
    assert k.fs.read("/link/dir/f") == b"x"


def test_dangling_symlink_does_not_exist_and_writing_creates_its_target(k):
    # open(2) O_CREAT follows a final symbolic link and makes its target
    k.fs.symlink("target", "/tmp/l")
    assert not k.fs.exists("/tmp/l")
    k.fs.write("/tmp/l", b"made")
    assert k.fs.read("/tmp/target") == b"made"


def test_symlink_loop_is_eloop(k):
    k.fs.symlink("b", "/tmp/a")
    k.fs.symlink("a", "/tmp/b")
    with pytest.raises(pk.SymlinkLoop) as e:
        k.fs.read("/tmp/a")
    assert e.value.errno == errno.ELOOP


def test_forty_links_are_followed_forty_one_are_eloop(k):
    # path_resolution(7): Linux follows at most 40 symbolic links in one resolution
    k.fs.write("/tmp/file", b"end")
    for n in range(41):
        k.fs.symlink("file" if n == 0 else f"l{n - 1}", f"/tmp/l{n}")
    assert k.fs.read("/tmp/l39") == b"end"           # l39 .. l0: 40 links
    with pytest.raises(pk.SymlinkLoop):
        k.fs.read("/tmp/l40")


def test_readlink_of_a_file_is_einval(k):
    # readlink(2): EINVAL "The named file is not a symbolic link"
    k.fs.write("/tmp/f", b"")
    with pytest.raises(pk.InvalidArgs) as e:
        k.fs.readlink("/tmp/f")
    assert e.value.errno == errno.EINVAL


# ---- rename ------------------------------------------------------------------------------

def test_rename_replaces_a_file(k):
    k.fs.write("/tmp/a", b"new")
    k.fs.write("/tmp/b", b"old")
    k.fs.rename("/tmp/a", "/tmp/b")
    assert k.fs.read("/tmp/b") == b"new" and not k.fs.exists("/tmp/a")


def test_rename_directory_moves_its_dotdot(k):
    k.fs.mkdir("/a/sub", parents=True)
    k.fs.mkdir("/b")
    k.fs.rename("/a/sub", "/b/sub")
    assert k.fs.stat("/a").nlink == 2 and k.fs.stat("/b").nlink == 3
    assert k.fs.stat("/b/sub/..").ino == k.fs.stat("/b").ino


def test_rename_into_its_own_subdirectory_is_einval(k):
    # rename(2): EINVAL "an attempt was made to make a directory a subdirectory of itself"
    k.fs.mkdir("/a/b", parents=True)
    with pytest.raises(pk.InvalidArgs):
        k.fs.rename("/a", "/a/b/c")


def test_rename_errors_between_files_and_directories(k):
    k.fs.mkdir("/d/x", parents=True)
    k.fs.mkdir("/e")
    k.fs.write("/f", b"")
    with pytest.raises(pk.IsADirectory):             # rename(2): EISDIR
        k.fs.rename("/f", "/e")
    with pytest.raises(pk.NotADirectory):            # rename(2): ENOTDIR
        k.fs.rename("/e", "/f")
    with pytest.raises(pk.DirectoryNotEmpty):        # rename(2): ENOTEMPTY
        k.fs.rename("/e", "/d")
    k.fs.rename("/d/x", "/e")                        # an empty directory is replaced
    assert k.fs.listdir("/d") == []


def test_rename_of_two_names_of_one_inode_does_nothing(k):
    # rename(2): "If oldpath and newpath are existing hard links referring to the
    # same file, then rename() does nothing"
    k.fs.write("/tmp/a", b"x")
    k.fs.link("/tmp/a", "/tmp/b")
    k.fs.rename("/tmp/a", "/tmp/b")
    assert k.fs.listdir("/tmp") == ["a", "b"]


# ---- permissions ------------------------------------------------------------------------

def test_user_cannot_write_in_a_root_directory(k):
    u = k.fs.as_user(1000)
    with pytest.raises(PermissionError) as e:
        u.write("/f", b"")
    assert isinstance(e.value, pk.AccessDenied) and e.value.errno == errno.EACCES


def test_user_file_is_owned_by_its_maker(k):
    k.fs.as_user(1000, 100).write("/tmp/mine", b"")
    st = k.fs.stat("/tmp/mine")
    assert (st.uid, st.gid) == (1000, 100)


def test_owner_group_and_other_bits(k):
    k.fs.write("/tmp/f", b"secret", mode=0o640)
    k.fs.chown("/tmp/f", 1000, 50)
    assert k.fs.as_user(1000, 1).read("/tmp/f") == b"secret"     # owner: rw-
    assert k.fs.as_user(2000, 50).read("/tmp/f") == b"secret"    # group: r--
    with pytest.raises(pk.AccessDenied):
        k.fs.as_user(2000, 50).write("/tmp/f", b"x")              # group: no w
    with pytest.raises(pk.AccessDenied):
        k.fs.as_user(3000, 3).read("/tmp/f")                      # other: ---


def test_owner_bits_apply_to_the_owner_even_when_others_have_more(k):
    # inode(7): the first class that matches decides (owner, then group, then other)
    k.fs.write("/tmp/f", b"x", mode=0o077)
    k.fs.chown("/tmp/f", 1000)
    with pytest.raises(pk.AccessDenied):
        k.fs.as_user(1000).read("/tmp/f")
    assert k.fs.as_user(2000).read("/tmp/f") == b"x"


def test_search_permission_is_needed_on_every_directory(k):
    # path_resolution(7): "If the process does not have search permission on
    # the current lookup directory, an EACCES error is returned"
    k.fs.mkdir("/a/b", parents=True)
    k.fs.write("/a/b/f", b"x", mode=0o644)
    k.fs.chmod("/a", 0o644)
    with pytest.raises(pk.AccessDenied):
        k.fs.as_user(1000).read("/a/b/f")
    assert k.fs.read("/a/b/f") == b"x"               # root passes


def test_root_reads_and_writes_whatever_the_mode(k):
    k.fs.write("/tmp/f", b"x", mode=0o000)
    k.fs.write("/tmp/f", b"y")
    assert k.fs.read("/tmp/f") == b"y"


def test_sticky_directory_keeps_others_from_removing(k):
    # inode(7), "The sticky bit": only the file's owner, the directory's owner
    # or a privileged process may unlink or rename
    k.fs.as_user(1000).write("/tmp/mine", b"")
    with pytest.raises(pk.AccessDenied) as e:
        k.fs.as_user(1001).remove("/tmp/mine")
    assert e.value.errno == errno.EPERM
    k.fs.as_user(1000).remove("/tmp/mine")


def test_chmod_by_someone_else_is_eperm(k):
    # chmod(2): EPERM "The effective UID does not match the owner of the file"
    k.fs.write("/tmp/f", b"")
    with pytest.raises(pk.AccessDenied) as e:
        k.fs.as_user(1000).chmod("/tmp/f", 0o777)
    assert e.value.errno == errno.EPERM


def test_only_root_gives_a_file_away(k):
    # chown(2): "Only a privileged process may change the owner of a file"
    u = k.fs.as_user(1000, 1000)
    u.write("/tmp/f", b"")
    with pytest.raises(pk.AccessDenied):
        u.chown("/tmp/f", 2000)
    u.chown("/tmp/f", gid=1000)                       # its own group: allowed
    k.fs.chown("/tmp/f", 2000, 7)
    st = k.fs.stat("/tmp/f")
    assert (st.uid, st.gid) == (2000, 7)


# ---- times --------------------------------------------------------------------------

def test_times_are_the_epoch_plus_the_simulated_clock():
    k = pk.Kernel(costs=pk.Costs.zero(), epoch=1_700_000_000)
    k.fs.write("/tmp/f", b"")
    assert k.fs.stat("/tmp/f").mtime_ns == 1_700_000_000 * 10**9
    k.spawn(pk.Program.script("w", [pk.op.compute(5_000)]))
    k.run()
    assert k.now == 5_000
    k.fs.write("/tmp/f", b"x")
    st = k.fs.stat("/tmp/f")
    assert st.mtime_ns == st.ctime_ns == 1_700_000_000 * 10**9 + 5_000


def test_utime_sets_given_times(k):
    k.fs.write("/tmp/f", b"")
    k.fs.utime("/tmp/f", (1_000_000_000_123, 2_000_000_000_456))
    st = k.fs.stat("/tmp/f")
    assert (st.atime_ns, st.mtime_ns) == (1_000_000_000_123, 2_000_000_000_456)


def test_utime_of_others_file_with_explicit_times_is_eperm(k):
    # utimensat(2): explicit times need the owner (or privilege): EPERM
    k.fs.write("/tmp/f", b"", mode=0o666)
    with pytest.raises(pk.AccessDenied) as e:
        k.fs.as_user(1000).utime("/tmp/f", (1, 2))
    assert e.value.errno == errno.EPERM
    k.fs.as_user(1000).utime("/tmp/f")                # to now: write permission is enough


# ---- devices ---------------------------------------------------------------------------

def test_dev_null_reads_empty_and_swallows_writes(k):
    # null(4)
    assert k.fs.read("/dev/null") == b""
    assert k.fs.write("/dev/null", b"gone") == 4


def test_dev_zero_reads_zeros(k):
    assert k.fs.read("/dev/zero", 5) == bytes(5)


def test_dev_urandom_is_the_kernels_seeded_generator():
    a, b = pk.Kernel(seed=7), pk.Kernel(seed=7)
    first = b.random(2)
    assert a.fs.read("/dev/urandom", 16) == b"".join(v.to_bytes(8, "little") for v in first)


def test_dev_tty_without_a_process_is_enxio(k):
    with pytest.raises(pk.NoDevice) as e:
        k.fs.read("/dev/tty", 1)
    assert e.value.errno == errno.ENXIO


# ---- limits, usage, audit ----------------------------------------------------------------

def test_byte_limit_gives_enospc(k):
    # two pages and the four 8-byte page slots a file starts with, plus 32 bytes
    k.fs.set_limits(max_bytes=2 * 4096 + 4 * 8 + 32)
    k.fs.write("/tmp/a", bytes(8192))
    with pytest.raises(pk.NoSpace) as e:
        k.fs.write("/tmp/b", b"x")
    assert e.value.errno == errno.ENOSPC
    k.fs.remove("/tmp/a")
    k.fs.write("/tmp/b", b"x")


def test_inode_limit_gives_enospc(k):
    n = k.fs.usage.inodes
    k.fs.set_limits(max_inodes=n + 1)
    k.fs.write("/tmp/a", b"")
    with pytest.raises(pk.NoSpace):
        k.fs.mkdir("/tmp/d")


def test_default_limits(k):
    u = k.fs.usage
    assert (u.max_bytes, u.max_inodes) == (256 << 20, 1 << 20)


def test_file_pages_are_counted_in_kernel_memory(k):
    k.fs.write("/tmp/x", b"")
    before = k.stats.memory_bytes
    k.fs.write("/tmp/x", bytes(3 * 4096))
    assert k.stats.memory_bytes - before >= 3 * 4096
    assert k.fs.usage.pages == 3


def test_audit_balances_after_many_changes(k):
    k.fs.mkdir("/a/b/c", parents=True)
    k.fs.write("/a/f", b"x" * 5000)
    k.fs.link("/a/f", "/a/b/g")
    k.fs.rename("/a/b", "/b")
    k.fs.remove("/a/f")
    k.fs.symlink("../b", "/a/l")
    a = k.audit()
    assert a.fs is not None and a.fs.problems() == [] and a.problems() == []


def test_audit_has_no_file_system_part_until_it_is_used():
    assert pk.Kernel().audit().fs is None


# ---- a tree from the host ------------------------------------------------------------

def test_import_tree_copies_files_dirs_links_and_modes(k, tmp_path):
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "tool").write_bytes(b"#!x\n")
    os.chmod(tmp_path / "bin" / "tool", 0o750)
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "motd").write_text("hi\n")
    os.symlink("tool", tmp_path / "bin" / "alias")
    assert k.fs.import_tree(tmp_path, at="/root", uid=5, gid=6) == 5
    assert k.fs.listdir("/root") == ["bin", "etc"]
    assert k.fs.listdir("/root/bin") == ["alias", "tool"]
    assert k.fs.stat("/root/bin/tool").permissions == 0o750
    assert k.fs.readlink("/root/bin/alias") == "tool"
    assert k.fs.read("/root/etc/motd") == b"hi\n"
    st = k.fs.lstat("/root/bin/alias")
    assert (st.uid, st.gid) == (5, 6)


# ---- snapshots ------------------------------------------------------------------------

def test_snapshot_keeps_the_file_system(k):
    k.fs.mkdir("/srv/data", parents=True)
    k.fs.write("/srv/data/blob", bytes(range(256)) * 20, mode=0o600)
    k.fs.symlink("data/blob", "/srv/link")
    k.fs.chown("/srv/data/blob", 1000, 1000)
    k.fs.write("/tmp/gone", b"")
    k.fs.remove("/tmp/gone")                          # a free inode in the snapshot
    r = pk.Kernel.restore(k.snapshot())
    assert r.fs.read("/srv/link") == bytes(range(256)) * 20
    assert r.fs.stat("/srv/data/blob") == k.fs.stat("/srv/data/blob")
    assert r.fs.listdir("/srv") == ["data", "link"]
    assert r.fs.usage == k.fs.usage
    r.fs.write("/tmp/new", b"")                       # reuses the freed inode as k would
    k.fs.write("/tmp/new", b"")
    assert r.fs.stat("/tmp/new").ino == k.fs.stat("/tmp/new").ino
    assert r.audit().problems() == []


def test_snapshot_of_a_kernel_without_file_system_has_none():
    k = pk.Kernel()
    r = pk.Kernel.restore(k.snapshot())
    assert r.audit().fs is None


def test_a_write_far_into_a_file_is_charged_its_page_slots(k):
    # 1 MiB limit: one page at 1 GiB would need 262,144 slots of 8 bytes (2 MiB)
    k.fs.set_limits(max_bytes=1 << 20)
    k.fs.write("/tmp/sparse", b"")
    k.fs.truncate("/tmp/sparse", 1 << 30)            # a hole costs nothing
    with pytest.raises(pk.NoSpace):
        k.fs.write("/tmp/sparse", b"x", append=True)
    assert k.fs.usage.pages == 0 and k.fs.usage.slots == 0


def test_a_forked_child_inherits_the_working_directory():
    # chdir(2): "A child process created via fork(2) inherits its parent's
    # current working directory"
    k = pk.Kernel(costs=pk.Costs.zero(), memory=pk.Memory())
    k.fs.mkdir("/home/u", parents=True)
    p = k.spawn(pk.Program.script("p", [pk.op.fork([pk.op.sleep(100)]), pk.op.sleep(100)]),
                cwd="/home/u")
    k.run(until=50)
    child = pk.Process(k, p.pid + 1)
    assert k.fs.cwd_of(child) == "/home/u"
    assert k.fs.stat("/home/u").refs == 2
    k.run()
    assert k.fs.stat("/home/u").refs == 0


def test_a_process_spawned_with_a_parent_inherits_its_working_directory(k):
    k.fs.mkdir("/srv")
    idle = pk.Program.script("idle", [pk.op.sleep(100)])
    p = k.spawn(idle, cwd="/srv")
    q = k.spawn(idle, parent=p)
    assert k.fs.cwd_of(q) == "/srv"


# ---- the core's interface, as a system-call layer will use it ---------------------------

def _readdir(k, ino, cursor):
    from pykernel._ffi import ffi, lib
    cur, ent = ffi.new("uint64_t *", cursor), ffi.new("pk_fs_dirent *")
    r = lib.pk_fs_readdir(k._kp, ino, cur, ent)
    return (ffi.string(ent.name).decode(), cur[0]) if r == 1 else (None, cur[0])


def test_a_readdir_cursor_survives_names_coming_and_going(k):
    # getdents64 resumes at d_off; POSIX readdir(3): an entry removed or added
    # during the listing may or may not be returned, every other exactly once
    for n in "abcd":
        k.fs.write(f"/tmp/{n}", b"")
    ino = k.fs.stat("/tmp").ino
    names, cur = [], 0
    for _ in range(3):                               # ".", "..", "a"
        name, cur = _readdir(k, ino, cur)
        names.append(name)
    k.fs.remove("/tmp/a")                            # already returned
    k.fs.remove("/tmp/c")                            # not yet returned
    k.fs.write("/tmp/e", b"")
    while True:
        name, cur = _readdir(k, ino, cur)
        if name is None:
            break
        names.append(name)
    assert names == [".", "..", "a", "b", "d", "e"]


def test_errors_of_the_core_are_negative_linux_errnos(k):
    from pykernel._ffi import ffi, lib
    who, out = ffi.new("pk_fs_who *"), ffi.new("uint32_t *")
    assert lib.pk_fs_lookup(k._kp, who, b"/nope", 5, 0, out) == -errno.ENOENT
    assert lib.pk_fs_mkdir(k._kp, who, b"/tmp", 4, 0o755) == -errno.EEXIST
    assert lib.pk_fs_lookup(k._kp, who, b"/dev/null/x", 11, 0, out) == -errno.ENOTDIR
    assert lib.pk_fs_lookup(k._kp, ffi.NULL, b"/", 1, 0, out) == -errno.EINVAL
    who.cwd = 10**6                                  # no such directory
    assert lib.pk_fs_lookup(k._kp, who, b"x", 1, 0, out) == -errno.ENOTDIR


def test_an_unlinked_inode_lives_while_it_is_referenced(k):
    # unlink(2): "If the name was the last link to a file but any processes
    # still have the file open, the file will remain in existence until the
    # last file descriptor referring to it is closed"
    from pykernel._ffi import ffi, lib
    k.fs.write("/tmp/f", b"still here")
    ino = k.fs.stat("/tmp/f").ino
    assert lib.pk_fs_get(k._kp, ino) == 0
    k.fs.remove("/tmp/f")
    assert k.fs.usage.orphans == 1 and k.audit().problems() == []
    buf, n = ffi.new("uint8_t[16]"), ffi.new("uint64_t *")
    assert lib.pk_fs_read(k._kp, lib.PK_FS_NO_PID, ino, 0, buf, 16, n) == 0
    assert ffi.buffer(buf, n[0])[:] == b"still here"
    assert lib.pk_fs_put(k._kp, ino) == 0
    assert k.fs.usage.orphans == 0
    assert lib.pk_fs_put(k._kp, ino) == -errno.EINVAL   # freed: no such inode any more
