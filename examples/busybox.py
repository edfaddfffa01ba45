"""BusyBox's shell on pykernel: a small root file system, a pipeline.

A static riscv64 build of BusyBox is looked for at $PK_BUSYBOX, then at
../shared/riscv/busybox from the current directory. Without it this
example says where to put it and stops.

    PK_BUSYBOX=/path/to/busybox python examples/busybox.py
"""

import os
from pathlib import Path

import pykernel as pk



def main(path: Path) -> None:
    """Build /bin and /home, run a shell script, print what it wrote."""
    k = pk.Kernel(memory=pk.Memory(), mmu=pk.MMU(format="sv39"))
    k.fs.mkdir("/bin")
    k.fs.write("/bin/busybox", path.read_bytes(), mode=0o755)
    for applet in ("sh", "seq", "tail", "sort", "uniq", "wc", "head", "gzip", "md5sum"):
        k.fs.symlink("busybox", f"/bin/{applet}")
    k.fs.mkdir("/home")
    k.fs.write("/home/fruit", b"pear\napple\npear\nfig\napple\npear\n")

    script = ("seq 1 50000 | tail -1; sort fruit | uniq -c | sort -rn; "
              "head -c 200000 /dev/zero | gzip | gzip -d | wc -c; md5sum fruit")
    sh = k.spawn("/bin/sh", argv=["sh", "-c", script], env={"PATH": "/bin"}, cwd="/home")
    k.run()
    print(sh.terminal.decode(), end="")
    print(f"exit status {sh.exit_code}; {len(k.processes)} processes; "
          f"{k.now / 1e6:.3f} ms simulated; digest {k.digest():#x}")


path = Path(os.environ.get("PK_BUSYBOX", "../shared/riscv/busybox"))
if path.is_file():
    main(path)
else:
    print(f"BusyBox for riscv64 not found at {path}: build a static riscv64 BusyBox "
          "(riscv64-linux-gnu-gcc, CONFIG_STATIC=y) and set PK_BUSYBOX to its path")
