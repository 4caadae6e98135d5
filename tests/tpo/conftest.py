from tests.gradients.conftest import tiny_model_dir, tiny_tokenizer  # noqa: F401  (session fixtures)
