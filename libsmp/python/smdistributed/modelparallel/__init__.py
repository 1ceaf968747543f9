"""SageMaker model parallelism (SMP v1), implemented by libsmp.

The SMP v1 API as the shipped 1.12.1 library behaves; `+libsmp` marks this implementation (the
Hugging Face Trainer compares the version with "1.10" and takes the 1.10+ checkpoint paths).
"""

__version__ = "1.12.1+libsmp"
