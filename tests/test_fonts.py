"""Hangul renders with a real font: no missing-glyph warnings in figures or in the committed notebooks."""

import json
import pathlib
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import attnlab as al  # noqa: E402,F401  (registers the font)

NOTEBOOKS = sorted(pathlib.Path(__file__).parent.parent.glob("notebooks/*.ipynb"))


def test_hangul_and_latin_render_without_missing_glyphs(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph ... missing from font(s)" is a UserWarning
        fig, ax = plt.subplots()
        ax.set_xticks([0, 1, 2], ["고양이가", "곰을 본다", "l'oiseau −1"])
        ax.set_title("어텐션 가중치 (attention weights)")
        fig.savefig(tmp_path / "hangul.png")
        plt.close(fig)


def test_the_fallback_is_a_real_hangul_font():
    from matplotlib import font_manager

    path = font_manager.findfont(font_manager.FontProperties(family="NanumGothic"), fallback_to_default=False)
    assert "NanumGothic" in path


def test_no_notebook_output_reports_a_missing_glyph():
    for notebook in NOTEBOOKS:
        for cell in json.loads(notebook.read_text())["cells"]:
            for output in cell.get("outputs", []):
                assert "missing from font" not in "".join(output.get("text", "")), notebook.name
