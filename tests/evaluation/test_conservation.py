"""Conservation on a hand-made 6 × 6 grid of 2 × 2 MAR cells of 3 × 3 pixels.

Pixel (0, 0) is ocean. Cells (labels): 0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right;
land pixels 8, 9, 9, 9. With brightness 1000 and gamma 1, MAR WA1 (0, 0.5, 0.002, 0) maps to
melt (0, 1, 1, 0). Model ``a``: 1 in cell 0 except pixel (0, 1) → 7/8; 0.5, 1, 0 in the
others. PMW melts (Tb 230 > 0.48 · 200 + 128 = 224) on 4 pixels of cell 0 and all of cell 1:
(0.5, 1, 0, 0). SAR is valid on cells 1 (all 1) and 2 (three pixels 1 → 1/3) and on 4 of the
9 pixels of cell 3 (below half: no SAR value).
"""

from __future__ import annotations

import numpy as np
import pytest

from meltwater.errors import GridMismatchError, InvalidArgumentError
from meltwater.evaluation import conservation as c


def blocks(values, size=3) -> np.ndarray:
    return np.kron(np.asarray(values, dtype=np.float64), np.ones((size, size)))


LAND = np.ones((6, 6), bool)
LAND[0, 0] = False
WA1 = blocks([[0.0, 0.5], [0.002, 0.0]])
WA1[0, 0] = 9.0  # ocean: ignored by the cell edges


def day() -> tuple:
    cells = c.mar_cells(WA1[None], LAND)
    pred = blocks([[1.0, 0.5], [1.0, 0.0]])
    pred[0, 1] = 0.0
    tb = blocks([[220.0, 230.0], [220.0, 220.0]])
    tb[1, :2] = tb[2, :2] = 230.0  # 4 land pixels of cell 0
    pmw = c.pmw_melt(tb, np.full((6, 6), 200.0))
    sar = np.full((6, 6), np.nan)
    sar[:3, 3:] = 1.0
    sar[3:, :3] = 0.0
    sar[3, :3] = 1.0
    sar[3:5, 3:5] = 0.0
    wa1 = np.where(LAND, WA1, 0.0)
    return c.day_conservation({"a": pred}, wa1, pmw, cells, sar, mapping=(1000.0, 1.0)), cells


def test_cells_from_the_constant_blocks():
    cells = c.mar_cells(WA1[None], LAND)
    expected = blocks([[0, 1], [2, 3]]).astype(int)
    expected[0, 0] = -1
    np.testing.assert_array_equal(cells, expected)


def test_hidden_edges_are_filled_at_the_period():
    wa1 = np.kron([[0.0, 1.0, 1.0, 1.0], [2.0, 2.0, 2.0, 2.0]], np.ones((3, 3)))  # edges 3 | 3
    cells = c.mar_cells(wa1[None], np.ones((6, 12), bool))
    np.testing.assert_array_equal(cells, np.kron([[0, 1, 2, 3], [4, 5, 6, 7]], np.ones((3, 3))))


def test_irregular_edges_are_kept_as_found():
    wa1 = np.repeat([[0.0, 0.0, 1.0, 1.0, 1.0, 2.0, 2.0]], 2, axis=0)  # columns 2 | 5
    cells = c.mar_cells(wa1[None], np.ones((2, 7), bool))
    np.testing.assert_array_equal(cells[0], [0, 0, 1, 1, 1, 2, 2])


def test_cell_values_and_residuals():
    d, _ = day()
    np.testing.assert_array_equal(d.pixels, [8, 9, 9, 9])
    np.testing.assert_allclose(d.model_mean.sel(model="a"), [0.875, 0.5, 1.0, 0.0])
    np.testing.assert_allclose(d.mar, [0.0, 1.0, 1.0, 0.0])
    np.testing.assert_allclose(d.pmw, [0.5, 1.0, 0.0, 0.0])
    np.testing.assert_allclose(d.sar, [np.nan, 1.0, 1 / 3, np.nan])
    np.testing.assert_allclose(d.res_mar.sel(model="a"), [0.875, -0.5, 0.0, 0.0])
    np.testing.assert_allclose(d.res_pmw.sel(model="a"), [0.375, -0.5, 1.0, 0.0])
    np.testing.assert_allclose(d.sar_res_mar, [np.nan, 0.0, -2 / 3, np.nan])


def test_domain_means_weight_cells_by_land_pixels():
    d, _ = day()
    r = c.domain_residuals(d)
    assert r["res_mar:a"] == pytest.approx(2.5 / 35)  # (8·0.875 − 9·0.5) / 35
    assert r["res_pmw:a"] == pytest.approx(7.5 / 35)  # (8·0.375 − 9·0.5 + 9·1) / 35
    assert r["sar_res_mar"] == pytest.approx(-1 / 3)  # cells 1, 2: (0 − 9·2/3) / 18
    assert r["sar_res_pmw"] == pytest.approx(1 / 6)  # (0 + 9·1/3) / 18
    assert r["res_mar_sar_cells:a"] == pytest.approx(-0.25)  # (−9·0.5 + 0) / 18


def test_no_sar_day_has_nan_sar():
    d, cells = day()
    d = c.day_conservation({"a": np.zeros((6, 6))}, np.zeros((6, 6)), np.zeros((6, 6)), cells)
    assert np.isnan(d.sar).all() and np.isnan(c.domain_residuals(d)["sar_res_mar"])


def test_cell_image_paints_cells_back():
    _, cells = day()
    img = c.cell_image(np.array([1.0, 2.0, 3.0, 4.0]), cells)
    assert np.isnan(img[0, 0]) and img[0, 1] == 1.0 and img[5, 5] == 4.0 and img.dtype == np.float32


def test_mar_melt_paper_mapping_reads_any_water_as_melt():
    assert c.mar_melt(np.array([1e-19]))[0] > 0.1
    assert c.mar_melt(np.array([0.0]))[0] == 0.0 and np.isnan(c.mar_melt(np.array([np.nan]))[0])
    with pytest.raises(InvalidArgumentError, match="brightness and gamma"):
        c.mar_melt(np.zeros(2), brightness=0.0)


def test_grid_mismatch_is_named():
    with pytest.raises(GridMismatchError, match="mar"):
        c.mar_cells(np.zeros((1, 5, 5)), LAND)
    with pytest.raises(GridMismatchError, match="values"):
        c.cell_means(np.zeros((5, 5)), np.zeros((6, 6), int))


def test_a_cell_index_gives_the_same_means_counts_and_image():
    """The dashboard's prepared index (a sparse cell × pixel matrix) is the labels' answer."""
    _, cells = day()
    index = c.CellIndex(cells)
    values = np.arange(36, dtype=np.float32).reshape(6, 6) / 36
    values[2, 3] = np.nan
    mask = np.ones((6, 6), bool)
    mask[:, 4] = False
    for m in (None, mask):
        plain, counts = c.cell_means(values, cells, m)
        fast, fast_counts = c.cell_means(values, index, m)
        np.testing.assert_allclose(fast, plain)
        np.testing.assert_array_equal(fast_counts, counts)
    labels = cells[cells >= 0]
    by_hand = [np.nanmean(values[(cells == k)]) for k in range(labels.max() + 1)]
    np.testing.assert_allclose(c.cell_means(values, index)[0], by_hand, rtol=1e-6)
    img = c.cell_image(np.array([1.0, 2.0, 3.0, 4.0]), index)
    np.testing.assert_array_equal(img, c.cell_image(np.array([1.0, 2.0, 3.0, 4.0]), cells))
    with pytest.raises(GridMismatchError, match="not on the cells' grid"):
        c.cell_means(np.zeros((5, 5)), index)
