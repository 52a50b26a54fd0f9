"""chatlens.corpus."""
