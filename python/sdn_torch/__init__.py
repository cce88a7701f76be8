"""sdn's four networks in PyTorch, with their internal classifiers, under
the names sdn's checkpoints use (docs/interop.md#the-python-package).

    import sdn_torch
    model = sdn_torch.load("sdn.safetensors")   # `sdn export` output
    logits = model(model.normalize(pixels))      # one [N, K] per exit

or, for a `sdn export --format pytorch` file:

    model = sdn_torch.build("resnet56", 10, (3, 32, 32))
    model.load_state_dict(torch.load("sdn.pt"), strict=True)
"""
from .backbones import ARCHS, IC_BLOCKS
from .network import InternalClassifier, SdnNetwork, build, load
from .safetensors import SafetensorsError, read as read_safetensors

__all__ = [
    "ARCHS",
    "IC_BLOCKS",
    "InternalClassifier",
    "SafetensorsError",
    "SdnNetwork",
    "build",
    "load",
    "read_safetensors",
]
