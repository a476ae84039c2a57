"""The workflow on top of the pipeline: tag a phase, judge gates, hooks, history, init."""
