"""`springboard.hyperparameters.retrieve_default(model_id)` and `.validate(model_id,
values)`, named as the managed hub's SDK names them."""

from springboard.catalog import retrieve_default
from springboard.catalog import validate_hyperparameters as validate

__all__ = ["retrieve_default", "validate"]
