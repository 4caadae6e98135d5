"""Thought Preference Optimization (Wu et al. 2024, "Thinking LLMs: General Instruction Following
with Thought Generation"). ``pairs.py``: length-controlled best/worst pairs from judged responses."""
