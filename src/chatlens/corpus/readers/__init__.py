"""chatlens.corpus.readers."""
