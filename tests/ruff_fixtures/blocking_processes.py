# asyncfix's own fixture for ruff's ASYNC220/221/222 (process creation, running, waiting).
import os
import subprocess
from subprocess import Popen, check_output


async def runs(cmd, mode, pid):
    subprocess.run(cmd)
    subprocess.run(cmd, capture_output=True, text=True, check=True)
    subprocess.call(cmd, shell=True)
    subprocess.check_call(cmd, cwd="/")
    check_output(cmd)
    os.system("true")
    status = os.system("true")
    subprocess.getoutput("true")
    subprocess.getstatusoutput("true")
    subprocess.run(cmd, preexec_fn=None)
    os.spawnl(os.P_WAIT, "/bin/true", "true")
    os.spawnl(os.P_NOWAIT, "/bin/true", "true")
    os.spawnv(mode, "/bin/true", ["true"])
    os.posix_spawn("/bin/true", ["true"], {})
    Popen(cmd)
    os.popen("true")
    os.wait()
    os.waitpid(pid, 0)
    os.wait3(0)
    os.wait4(pid, 0)
    os.waitid(os.P_PID, pid, os.WEXITED)
    os.waitpid(pid, options=0)
    gen = (subprocess.run(c) for c in cmd)
    return status, gen


def sync(cmd):
    subprocess.run(cmd)
    os.wait()


async def nested(cmd):
    def inner():
        subprocess.run(cmd)

    return lambda: os.system("true"), inner
