"""smp.nn: SMP's tensor-parallel distributed modules. libsmp does not implement tensor
parallelism: constructing any of them raises an error that names the feature."""

from smdistributed.modelparallel.torch.exceptions import unsupported


def _unsupported_module(name):
    def __init__(self, *args, **kwargs):
        raise unsupported(f"tensor parallelism (smp.nn.{name})")
    return type(name, (object,), {"__init__": __init__})


DistributedModule = _unsupported_module("DistributedModule")
DistributedLinear = _unsupported_module("DistributedLinear")
DistributedEmbedding = _unsupported_module("DistributedEmbedding")
DistributedLayerNorm = _unsupported_module("DistributedLayerNorm")
DistributedTransformer = _unsupported_module("DistributedTransformer")
DistributedTransformerLayer = _unsupported_module("DistributedTransformerLayer")
DistributedAttentionLayer = _unsupported_module("DistributedAttentionLayer")
DistributedTransformerOutputLayer = _unsupported_module("DistributedTransformerOutputLayer")
DistributedTransformerLMHead = _unsupported_module("DistributedTransformerLMHead")
FusedLayerNorm = _unsupported_module("FusedLayerNorm")
FlashAttentionLayer = _unsupported_module("FlashAttentionLayer")


def _unsupported_translator(name):
    def translate(*args, **kwargs):
        raise unsupported(f"Hugging Face <-> SMP tensor-parallel state-dict translation ({name})")
    translate.__name__ = name
    return translate


class _HuggingFaceModel:
    """smp.nn.huggingface.<model>: SMP's translators between Hugging Face and tensor-parallel
    state dicts. Without tensor parallelism the names are equal, so libsmp needs none."""

    def __init__(self, model):
        for direction in ("translate_state_dict_to_hf_", "translate_hf_state_dict_to_smdistributed_"):
            name = direction + model
            setattr(self, name, _unsupported_translator(name))


class _HuggingFace:
    def __init__(self):
        for model in ("gpt2", "bert", "roberta", "gptj", "gptneo", "gptneox", "t5"):
            setattr(self, model, _HuggingFaceModel(model))


huggingface = _HuggingFace()
