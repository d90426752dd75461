"""The write path: the only road from an approved decision to the WMS.

- :mod:`actions.decision`: the one :class:`~actions.decision.Decision` model (what a person
  decided on a ticket; the value the graph is resumed with and the API records).
- :mod:`actions.write_back`: :func:`~actions.write_back.write_back`, the one function every
  WMS write goes through (first tries and retries, from the graph's ``write_back`` node or
  from the service's outbox); it refuses anything that is not an approved decision bound to
  the digest of the exact action it is asked to write.
- :mod:`actions.outbox`: the durable outbox an approval enqueues its write-back in (same
  transaction), drained by a worker, so a crash never loses an approved write-back.
- :mod:`actions.wms`, :mod:`actions.wms_rest`, :mod:`actions.wms_recording`: the WMS
  adapter interface and its REST and recording implementations.
- :mod:`actions.audit`: the HMAC-keyed audit chain and its head anchored outside the database.

This package imports only :mod:`warehouse` (the data contract), never the layers above.
"""
