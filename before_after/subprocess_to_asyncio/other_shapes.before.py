import os
import subprocess


async def odd_arguments(cmd, options):
    subprocess.run(cmd, bufsize=1)
    subprocess.run(cmd, **options)
    subprocess.check_output(cmd, input=options.get("stdin"))
    code = os.system("true")
    return subprocess.getoutput("uname"), code, os.spawnlp(os.P_WAIT, "true", "true")
