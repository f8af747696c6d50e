"""Building blocks shared by several models (k-means, ...)."""
