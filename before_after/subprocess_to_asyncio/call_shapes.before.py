"""The other subprocess conveniences and os.system."""
import os
from subprocess import call, check_call, check_output


async def status(cmd):
    return call(cmd, shell=True)


async def deploy(path):
    check_call(["git", "pull"], cwd=path)
    return check_output(["git", "rev-parse", "HEAD"], cwd=path, text=True).strip()


async def notify(message):
    os.system(f"echo {message}")
