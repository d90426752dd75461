"""Test rigs: the demo generator (``sim.generator``) and the reference WMS (``sim.wms``)."""
