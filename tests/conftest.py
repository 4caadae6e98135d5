import os

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

from tests.llama_server import llama_server  # noqa: E402,F401  (session fixture: a real llama.cpp server)


@pytest.fixture(scope="session")
def embedded():
    """The real embedded model (SmolLM2-135M-Instruct), loaded once per test session."""
    from fastslow.models.registry import load_model

    return load_model("embedded")
