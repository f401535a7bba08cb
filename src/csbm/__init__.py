"""csbm — confidence- and security-building measures between States.

Rule packs (the Vienna Document 2011 and bilateral agreements) as data, procedures with
deadlines, a tamper-evident signed log, and the shells (CLI, API, web) around them.
"""

__version__ = "0.1.0"
