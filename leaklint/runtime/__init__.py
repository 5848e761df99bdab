"""The runtime companion: execute code and prove that a leak really happens."""
