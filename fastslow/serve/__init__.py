"""An OpenAI-compatible reasoning proxy (`fastslow serve`): `app.py` (the FastAPI app), `engine.py` (one request answered by a strategy, with usage and streaming), `protocol.py` (the wire format)."""
