"""CPU-bound calls outside coroutines: sync routes run in FastAPI's threadpool already."""
import hashlib

from fastapi import FastAPI

app = FastAPI()


def cpu_intensive_task():
    return sum(i * i for i in range(10**6))


@app.get("/compute")
def compute():
    return {"result": cpu_intensive_task()}


async def nested():
    def inner():
        return cpu_intensive_task()

    callback = lambda: hashlib.pbkdf2_hmac("sha256", b"pw", b"salt", 100_000)
    return inner, callback


if __name__ == "__main__":
    print(cpu_intensive_task())
