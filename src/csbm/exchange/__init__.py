"""The exchange between nodes: the transport seam, sending with fan-out, the demo network.

Source: DESIGN.md, "How a message travels" and the layout (``exchange/``: the transport
interface; in-process transport (the demo) and HTTP; outbox, delivery worker, hub fan-out).
Layer: above :mod:`csbm.node` and the ledger, below the services; never imports the CLI.
"""

from csbm.exchange.inprocess import InProcessTransport
from csbm.exchange.outbox import Outgoing, Sent, recipients_of, send
from csbm.exchange.transport import Transport
from csbm.node import DeliveryBatch

__all__ = [
    "DeliveryBatch",
    "InProcessTransport",
    "Outgoing",
    "Sent",
    "Transport",
    "recipients_of",
    "send",
]
