import os

import anyio


class Path:
    def read_text(self):
        return ""


async def f(store, name, p: Path, open):
    store.exists(name)
    await anyio.Path(name).read_text()
    p.read_text()
    open(name).read()
    os.path.join(name, "x"), os.path.basename(name)
    return store.path.exists(name)
