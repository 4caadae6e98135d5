"""Judges that see only responses (TPO's judges, Wu et al. 2024; reusable by distill and eval).

TRL removed its judges in 1.1, so the protocol is ours. ``bradley_terry.py`` turns pairwise
preferences into per-response scores, as the paper does with its pairwise LLM judge.
"""
