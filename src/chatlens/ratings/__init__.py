"""chatlens.ratings."""
