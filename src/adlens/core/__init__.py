"""The method itself: models and hooks, text, collection, the readers, steering, configs."""
