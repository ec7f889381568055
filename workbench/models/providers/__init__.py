"""Built-in model providers, one module each; every module here is imported when the provider
registry is first asked for a name."""
