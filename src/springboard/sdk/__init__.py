"""The user-facing SDK, named after the managed hub's so notebooks port by changing an
import: `Model` (alias `JumpStartModel`) and `Predictor`."""

from springboard.sdk.model import JumpStartModel, Model
from springboard.sdk.predictor import Predictor

__all__ = ["JumpStartModel", "Model", "Predictor"]
