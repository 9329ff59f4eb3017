"""The suite's own scheduling: every test using the embedded world runs on one xdist worker, so the world is built
once per session (tests/conftest.py). Without this, `make test` silently builds it on both workers and takes a third
longer; two known ways to lose it are a hook order (the mark added after xdist reads it) and pytest 9.2
(pytest-dev/pytest-xdist#1386, hence the pin in pyproject.toml)."""

import re

pytest_plugins = ["pytester"]

HOOK = """
import pytest
from tests.conftest import pytest_collection_modifyitems  # the suite's real hook, not a copy

@pytest.fixture(scope="session")
def embedded_world():
    return "built"
"""


def test_every_embedded_world_test_runs_on_the_same_worker(pytester, monkeypatch):
    from observatory.settings import REPO_ROOT

    monkeypatch.setenv("PYTHONPATH", str(REPO_ROOT))
    pytester.makeconftest(HOOK)
    pytester.makepyfile(
        test_a="\n".join(f"def test_world_a{i}(embedded_world): pass" for i in range(4)),
        test_b="\n".join([*(f"def test_world_b{i}(embedded_world): pass" for i in range(4)), "def test_free(): pass"]),
    )
    result = pytester.runpytest_subprocess("-n", "2", "--dist", "loadgroup", "-v", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=9)
    grouped = re.findall(r"\[(gw\d)\].*PASSED \S+::test_world_\w+@embedded_world", result.stdout.str())
    assert len(grouped) == 8 and len(set(grouped)) == 1, result.stdout.str()
