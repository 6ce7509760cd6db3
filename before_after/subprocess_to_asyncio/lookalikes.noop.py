class Runner:
    def run(self, cmd):
        return cmd


async def f(subprocess, runner: Runner, os):
    subprocess.run(["ls"])
    runner.run(["ls"])
    return os.system("ls")
