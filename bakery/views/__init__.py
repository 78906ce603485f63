"""How results are shown: plan tables, JSON documents, CI matrices."""
