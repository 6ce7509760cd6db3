"""codemods/imports.py: new imports go where isort would put them (issue 19), also when the
module's only import of a section was replaced (``import requests`` -> ``import httpx`` plus
the standard-library imports the emitted client needs)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from codemods.imports import Style, place

FIRST_PARTY = 'lint.isort.known-first-party = ["upstream"]'
REPLACED_ALONE = (
    "import requests\n\nfrom upstream import URL\n\n\ndef f():\n    pass\n",
    "import asyncio\nimport httpx\nimport weakref\n"
    "from http.cookiejar import CookieJar, DefaultCookiePolicy\n\n"
    "from upstream import URL\n\n\ndef f():\n    pass\n",
    "import asyncio\nimport weakref\nfrom http.cookiejar import CookieJar, DefaultCookiePolicy\n\n"
    "import httpx\n\nfrom upstream import URL\n\n\ndef f():\n    pass\n",
)
REPLACED_BETWEEN = (
    '"""Doc."""\n\nimport os\n\nimport requests\n\nfrom upstream import URL\n',
    '"""Doc."""\n\nimport asyncio\nimport os\nimport httpx\n\nfrom upstream import URL\n',
    '"""Doc."""\n\nimport asyncio\nimport os\n\nimport httpx\n\nfrom upstream import URL\n',
)


@pytest.mark.parametrize("old, new, expected", [REPLACED_ALONE, REPLACED_BETWEEN])
def test_a_replaced_section_gets_its_imports_back_in_isort_order(
    tmp_path: Path, old: str, new: str, expected: str
):
    (tmp_path / "upstream.py").write_text("URL = ''\n")
    path = tmp_path / "client.py"
    placed = place(old, new, str(path), str(tmp_path), Style())
    assert placed == expected
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent))
    if ruff is None:
        pytest.skip("ruff is not installed")
    for text in (old, placed):  # the input passes isort's rule, and so does the output
        path.write_text(text)
        done = subprocess.run(
            [ruff, "check", "--isolated", "--select", "I", "--config", FIRST_PARTY, str(path)],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stdout
