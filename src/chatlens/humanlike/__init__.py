"""chatlens.humanlike."""
