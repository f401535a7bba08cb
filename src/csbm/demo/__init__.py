"""The live demo network of ``csbm demo`` (issue 12, item 4): a hub and one node per State,
each its own ``csbm serve`` process and SQLite database on 127.0.0.1, pinned to each other
by fingerprint, with accounts, loaded by sending the public 2017–2022 cases through the
real exchange.

- :mod:`csbm.demo.cases` — which public cases, and their messages in time order;
- :mod:`csbm.demo.live` — build the network, load it, serve it until Ctrl-C.

A shell (processes, files, HTTP): nothing below the CLI imports it.
"""
