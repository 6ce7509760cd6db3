"""The registry: every codemod, in the order the engine runs them on a file (importing it
imports every codemod, and libcst: the package's ``__init__`` gives it out on first use).

Order matters where one codemod's output is another's input; constraints are noted at the entry
that has them. A test checks that every codemod module in this folder is registered here.
"""

from __future__ import annotations

from typing import Dict, Tuple, Type

from .await_coroutines import AwaitCoroutines
from .base import Codemod
from .blocking_to_executor import BlockingToExecutor
from .cpu_to_executor import CpuToExecutor
from .demote_to_def import DemoteToDef
from .dependency_close import DependencyClose
from .file_io_to_thread import FileIoToThread
from .offload_to_thread import OffloadToThread
from .requests_to_httpx import RequestsToHttpx
from .sleep_to_asyncio import SleepToAsyncio
from .sqlalchemy_to_async import SqlalchemyToAsync
from .subprocess_to_asyncio import SubprocessToAsyncio

REGISTRY: Tuple[Type[Codemod], ...] = (
    # First: it applies decisions the first pass made by position in the file as read, so it
    # must see the tree before any other codemod moves a line. The functions it makes async
    # count as async for every codemod after it (Codemod.coroutine_of).
    AwaitCoroutines,
    # Before the SQLAlchemy codemod (issue 5): it turns `db = SessionLocal(); try: yield db;
    # finally: db.close()` into `async with SessionLocal() as db: yield db`, so a leaking
    # dependency must first gain its close here.
    DependencyClose,
    # Sync Session/Query/engine -> AsyncSession (issue 5). Its session functions are seeds of the
    # await machinery (async_seeds), so AwaitCoroutines has already made them async and awaited
    # their callers; after DependencyClose, whose `try: yield db; finally: db.close()` it turns
    # into `async with SessionLocal() as db: yield db`.
    SqlalchemyToAsync,
    SleepToAsyncio,
    # requests / sync httpx / urlopen -> httpx.AsyncClient; independent of the others.
    RequestsToHttpx,
    # The blocking-call families of issue 10 (independent of each other and of the above).
    FileIoToThread,
    SubprocessToAsyncio,
    BlockingToExecutor,
    # CPU-bound calls -> run_in_executor (issue 7); after AwaitCoroutines, whose new coroutines
    # count as async code here. Independent of the other families.
    CpuToExecutor,
    # Blocking through project code (issue 16): the plan of codemods/blocking.py, by position
    # in the file as read (original_line). Last: demotion must see the awaits the families
    # above added (a coroutine that now awaits stays one; the next round offloads instead).
    DemoteToDef,
    OffloadToThread,
)

BY_NAME: Dict[str, Type[Codemod]] = {codemod.NAME: codemod for codemod in REGISTRY}
