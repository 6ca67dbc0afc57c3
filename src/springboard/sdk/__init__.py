"""The user-facing SDK, named after the managed hub's so notebooks port by changing an
import: `Model` (alias `JumpStartModel`), `Predictor` and `Transformer`."""

from springboard.sdk.estimator import Estimator, JumpStartEstimator
from springboard.sdk.model import JumpStartModel, Model
from springboard.sdk.predictor import Predictor
from springboard.sdk.transformer import Transformer

__all__ = ["Estimator", "JumpStartEstimator", "JumpStartModel", "Model", "Predictor",
           "Transformer"]
