import os

# Every restore in the test suite is checked against the whole snapshot.
os.environ.setdefault("PLUGIN_HOST_VERIFY_RESTORE", "1")

import pytest  # noqa: E402

ENGINES = ("wasmer", "wasmtime")


@pytest.fixture(params=ENGINES)
def engine(request):
    return request.param
