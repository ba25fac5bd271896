"""The Lightning pieces of one fit: the LightningModule and its GLUE metrics, adapter-sized checkpoints
written atomically, a training order that resumes mid-epoch, and the loggers."""
