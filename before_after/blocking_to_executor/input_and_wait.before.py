import os
from os import waitpid


async def ask(prompt):
    name = input(prompt)
    input()
    return name.strip()


async def reap(pid):
    _, status = waitpid(pid, 0)
    any_child = os.wait()
    return os.waitstatus_to_exitcode(status), any_child
