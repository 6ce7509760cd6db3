import json


async def read_config(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return text


async def load_json(path):
    with open(path) as f:
        return json.load(f)


async def save_json(path, payload):
    with open(path, "w") as out:
        json.dump(payload, out, indent=2)


async def head_and_rest(path, n):
    # Two names come back from the thread, in assignment order.
    with open(path, "rb") as f:
        head = f.read(n)
        rest = f.read()
    return head, rest


async def append_line(path, line):
    with open(path, "a") as f:
        f.write(f"{line}\n")
        f.flush()
