import pathlib
from pathlib import Path
from typing import Optional


async def read(p: Path) -> str:
    return p.read_text(encoding="utf-8")


async def copy(src: pathlib.Path, dst: "str"):
    Path(dst).write_bytes(src.read_bytes())


async def ensure(directory: Optional[Path], name):
    if not directory.exists():
        directory.mkdir(parents=True, exist_ok=True)
    target = Path(name)
    return target.stat().st_size if target.is_file() else 0
