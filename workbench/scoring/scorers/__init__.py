"""Scorer definitions, registered with `@scorer`; every module here is imported when the scorer
registry is first asked for a name. `builtin` holds the workbench's own nine; a new scorer is a
new module beside it."""
