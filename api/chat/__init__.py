"""The supervisor's read-only conversation about one ticket (``POST /v1/tickets/{id}/chat``)."""
