"""fastslow: think slow, then answer fast.

System-2 inference strategies, System 2 Distillation, Thought Preference Optimization and
layer-wise gradient analysis behind one CLI and one Python API.
"""

__version__ = "0.1.0"
