"""smdistributed: the namespace of SageMaker's distributed training libraries (here: modelparallel, on libsmp)."""
