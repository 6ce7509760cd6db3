import os
from os import waitpid


async def ask(prompt):
    name = input(prompt)
    input()
    return name.strip()


async def reap(pid, flags):
    _, status = waitpid(pid, 0)
    any_child = os.wait()
    # Every argument form passes through unchanged.
    os.waitpid(pid, *flags)
    return os.waitstatus_to_exitcode(status), any_child
