"""SMP's exception classes (smdistributed.modelparallel.torch.exceptions).

The bases match SMP: validation errors are ValueErrors, runtime errors RuntimeErrors. Errors the
C++ engine raises arrive as SMPError (a RuntimeError) from the extension.
"""

from smdistributed.modelparallel.torch._smplib import SMPError, SMPTimeoutError  # noqa: F401


class SMPValidationError(ValueError):
    pass


class SMPRuntimeError(RuntimeError):
    pass


class SMPUnsupportedError(RuntimeError):
    """A feature of SMP v1 that libsmp does not implement; the message names it."""


class SMPInvalidArgumentError(SMPValidationError):
    pass


class NotInitializedError(SMPRuntimeError):
    def __init__(self, what="this call"):
        super().__init__(f"smp.init() has not been called; call it before {what}.")


class DDPNotEnabledError(SMPRuntimeError):
    def __init__(self):
        super().__init__("Torch.dist is not initialized. Please enable DDP by setting \"ddp\": True "
                         "in the SMP configuration (mp_parameters).")


class InvalidCommGroupError(SMPValidationError):
    pass


class TensorSplitError(SMPValidationError):
    pass


class InvalidStepOutputError(SMPValidationError):
    pass


class StepFunctionCalledError(SMPRuntimeError):
    pass


class MultipleDistributedModelError(SMPRuntimeError):
    def __init__(self):
        super().__init__("Only one smp.DistributedModel may be created per process.")


class FwdExecutionNotInStepFnError(SMPRuntimeError):
    def __init__(self):
        super().__init__("The DistributedModel's forward can only be called inside a function "
                         "decorated with @smp.step when the pipeline has more than one partition.")


class BwdExecutionNotInStepFnError(SMPRuntimeError):
    def __init__(self):
        super().__init__("model.backward() can only be called inside a function decorated with "
                         "@smp.step.")


class ModelNotPartitionedError(SMPRuntimeError):
    def __init__(self, what):
        super().__init__(f"{what} needs the model to be partitioned, which happens at the first "
                         "call of an @smp.step function.")


class InvalidPartitionIDError(SMPValidationError):
    pass


class IncompatibleCheckpointFoundError(SMPValidationError):
    pass


class PipelineCrossingError(SMPRuntimeError):
    """A value passed to or returned by a module of another pipeline stage cannot cross ranks."""


def unsupported(feature, hint=""):
    """The error for a feature of SMP v1 that libsmp does not implement."""
    msg = (f"smdistributed.modelparallel (libsmp) does not support {feature}. libsmp implements "
           "pipeline parallelism, data parallelism (ddp) and fp32 training of SMP v1")
    return SMPUnsupportedError(msg + (f"; {hint}" if hint else "."))
