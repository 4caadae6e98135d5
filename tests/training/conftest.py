from tests.gradients.conftest import tiny_tokenizer  # noqa: F401  (session fixture: a small BPE tokenizer)
