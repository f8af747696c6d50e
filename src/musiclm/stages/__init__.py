"""The three token stages (semantic, coarse, fine) and the Transformer they share."""
