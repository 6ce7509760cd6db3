import os
import subprocess


def build():
    subprocess.run(["make"], check=True)
    return os.system("true")


async def outer():
    def inner():
        return subprocess.check_output(["date"])

    return inner
