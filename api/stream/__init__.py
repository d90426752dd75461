"""The partitioned work queue: publishers, brokers, stateless workers (``tally worker``)."""
