"""The run's stages (collect, read, steer) with caching, and the input checks."""
