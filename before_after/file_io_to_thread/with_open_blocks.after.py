import asyncio
import json


async def read_config(path):

    def _read_file():
        with open(path, encoding="utf-8") as f:
            text = f.read()
        return text

    text = await asyncio.to_thread(_read_file)
    return text


async def load_json(path):

    def _read_file():
        with open(path) as f:
            return json.load(f)

    return await asyncio.to_thread(_read_file)


async def save_json(path, payload):

    def _write_file():
        with open(path, "w") as out:
            json.dump(payload, out, indent=2)

    await asyncio.to_thread(_write_file)


async def head_and_rest(path, n):
    # Two names come back from the thread, in assignment order.
    def _read_file():
        with open(path, "rb") as f:
            head = f.read(n)
            rest = f.read()
        return head, rest

    head, rest = await asyncio.to_thread(_read_file)
    return head, rest


async def append_line(path, line):

    def _use_file():
        with open(path, "a") as f:
            f.write(f"{line}\n")
            f.flush()

    await asyncio.to_thread(_use_file)
