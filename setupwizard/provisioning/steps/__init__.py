"""Steps of the default setup plan."""
