"""chatlens.signals."""
