"""The domain: projects, tasks, assignments, sessions, groups and messages, as events.

Importing a module of this package loads that module alone. The tables that
span every area (event kinds, deciders, folds) are complete only through
:mod:`clare.domain.registry`, which is what deciding and folding code imports.
"""
