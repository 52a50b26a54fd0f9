

def test_numeric_style_columns_read_from_csv_are_numbers(tmp_path) -> None:
    """CSV is read as text: a numeric length column must still be used as a number."""
    import polars as pl

    from chatlens.ratings.api import rate
    from chatlens.ratings.io import read_table

    rows = []
    for i in range(60):
        rows.append({"model_a": "x", "model_b": "y", "winner": "model_a" if i % 3 else "model_b",
                     "len_a": str(100 + i), "len_b": str(10000 + i)})
    path = tmp_path / "b.csv"
    pl.DataFrame(rows).write_csv(path)
    frame = read_table(path)
    assert frame.schema["len_a"] == pl.String
    result = rate(frame, model_a="model_a", model_b="model_b", winner="winner",
                  style=[("len_a", "len_b")], method="bt", bootstrap=0)
    from_numbers = rate(frame.with_columns(pl.col("len_a", "len_b").cast(pl.Float64)), model_a="model_a",
                        model_b="model_b", winner="winner", style=[("len_a", "len_b")], method="bt", bootstrap=0)
    assert result.table.equals(from_numbers.table)
    assert result.coefficients.equals(from_numbers.coefficients)
