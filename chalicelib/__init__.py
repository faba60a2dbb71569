"""escrowdesk: the money-and-deal engine. Domain and service code lives here; app.py only wires it."""
