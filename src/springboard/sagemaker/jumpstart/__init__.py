"""`springboard.sagemaker.jumpstart`: `model.JumpStartModel`, `estimator.JumpStartEstimator`,
`notebook_utils.list_jumpstart_models` and `filters.And` / `Or`, at the managed SDK's
module paths."""
