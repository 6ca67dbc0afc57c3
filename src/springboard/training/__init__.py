"""Fine-tuning: training data formats and templates (`data`). The trainer, LoRA, metric
logging and registration of the result come with the training job."""
