"""Every process the engine runs, by the name a deal carries in its `process` attribute."""
from __future__ import annotations

from chalicelib.processes import Process, b2b_task, custom_offer, gig_order, offer_request, project, subscription

PROCESSES: dict[str, Process] = {process.name: process for process in (
    gig_order.PROCESS, custom_offer.PROCESS, offer_request.PROCESS, project.PROCESS, b2b_task.PROCESS,
    subscription.PROCESS)}
