import pytest

from backprop.tables import format_table


def test_columns_are_as_wide_as_their_widest_cell_and_align_as_asked():
    lines = format_table(["name", "value", "note"], [["a", "1.5", ""], ["longer", "12.25", "ok"]], "lr")
    assert lines == [
        "name    value  note",
        "------  -----  ----",
        "a         1.5",
        "longer  12.25  ok",
    ]


def test_without_a_rule_and_indented():
    assert format_table(["batch", "1", "512"], [["ours", "2,979", "69,516"]], "lrr", rule=False, indent="  ") == [
        "  batch      1     512",
        "  ours   2,979  69,516",
    ]


def test_a_row_of_the_wrong_length_is_refused():
    with pytest.raises(ValueError, match=r"format_table: expected 2 cells per row, got 1: \['x'\]"):
        format_table(["a", "b"], [["x"]])
