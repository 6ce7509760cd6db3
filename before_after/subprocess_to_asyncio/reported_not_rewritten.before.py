import os
import subprocess


async def spawn(cmd, mode):
    proc = subprocess.Popen(cmd)
    pipe = os.popen("ls")
    pid = os.spawnv(mode, "/bin/true", ["true"])
    os.posix_spawn("/bin/true", ["true"], {})
    results = (subprocess.run(c) for c in cmd)
    return proc, pipe, pid, results
