import os

# Every restore in the test suite is checked against the whole snapshot.
os.environ.setdefault("PLUGIN_HOST_VERIFY_RESTORE", "1")

import pytest  # noqa: E402

ENGINES = ("wasmer", "wasmtime")


@pytest.fixture(params=ENGINES)
def engine(request):
    return request.param


def pytest_addoption(parser):
    parser.addoption("--update-gas-snapshot", action="store_true",
                     help="rewrite tests/gas-snapshot.json with the gas measured now")
