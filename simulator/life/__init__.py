"""Life events over simulated time, feeding the 16 source systems (one module per area)."""
