"""Words the CLI shows that come from data (obligation kinds, statuses, finding kinds),
marked here so that Babel extracts them into the catalogue (``make messages``)."""

from __future__ import annotations


def N_(message: str) -> str:
    """Mark a message for extraction; it is translated where it is shown."""
    return message


WORDS = (
    N_("prior notification"),
    N_("observation invitation"),
    N_("annual calendar"),
    N_("advance communication"),
    N_("met"),
    N_("missed"),
    N_("open"),
    N_("unknown"),
    N_("not applicable"),
    N_("waived"),
    N_("violation"),
    N_("near threshold"),
    N_("possible split"),
    N_("inconsistency"),
    N_("exercise"),
    N_("alert activity"),
    N_("transfer"),
    N_("concentration"),
)
