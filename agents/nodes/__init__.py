"""The graph's nodes, one module each; each returns a typed ``Command`` naming where to go."""
