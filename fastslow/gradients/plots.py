"""Figures of a gradients run (matplotlib, Agg): read a summary, write PNGs; never call a model.

- ``curves.png``: per-layer mean nuclear norm, one column per response type; attention projections
  coloured as Li, Li & Zhou (2024) do (Q red, K green, V blue, O grey), the MLP projections (which
  the paper left out) in a panel of their own, and a row of σ1 ratios (S_max / S_sum).
- ``comparison.png``: the response types side by side: attention and MLP nuclear norms per layer,
  and the relative difference RD per layer for the pairs compared.
- ``overlay.png``: several runs (e.g. a base and an instruction-tuned model) over relative depth.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

KIND_COLORS = {
    "q": "red",
    "k": "green",
    "v": "blue",
    "o": "grey",
    "gate": "tab:orange",
    "up": "tab:purple",
    "down": "tab:brown",
}
TYPE_COLORS = {
    "none": "tab:red",
    "simplified": "tab:orange",
    "detailed": "tab:blue",
    "irrelevant": "tab:purple",
    "shuffled": "tab:olive",
    "irrelevant_none": "tab:pink",
    "padded": "tab:green",
}
ATTN, MLP = ("q", "k", "v", "o"), ("gate", "up", "down")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _type_color(name: str, i: int) -> str:
    return TYPE_COLORS.get(name, f"C{i % 10}")


def _integer_layers(ax: Any) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _save(fig: Any, path: Path, rect: tuple[float, float, float, float] | None = None) -> None:
    """Lay out (inside ``rect`` of the figure, when a figure-level legend needs the rest) and save."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout(rect=rect)
    fig.savefig(path)
    _pyplot().close(fig)


def plot_curves(summary: dict[str, Any], path: Path, title: str = "") -> None:
    """Nuclear norm per layer (attention, MLP) and σ1 ratio, one column per response type."""
    plt = _pyplot()
    types = [t for t, e in summary["types"].items() if e["n"]]
    kinds = summary["modules"]
    rows = [("S_sum", [k for k in ATTN if k in kinds], "nuclear norm (attention)")]
    if any(k in kinds for k in MLP):
        rows.append(("S_sum", [k for k in MLP if k in kinds], "nuclear norm (MLP)"))
    rows.append(("ratio", kinds, "σ1 ratio S_max/S_sum"))
    rows = [r for r in rows if r[1]]
    if not types or not rows:
        return
    fig, axes = plt.subplots(
        len(rows),
        len(types),
        figsize=(3.6 * len(types), 2.8 * len(rows)),
        dpi=110,
        sharey="row",
        squeeze=False,
    )
    layers = list(range(summary["layers"]))
    for col, t in enumerate(types):
        curves = summary["types"][t]["curves"]
        for row, (stat, members, label) in enumerate(rows):
            ax = axes[row][col]
            for k in members:
                style = "--" if stat == "ratio" and k in MLP else "-"
                ax.plot(
                    layers,
                    curves[stat][k],
                    style,
                    color=KIND_COLORS[k],
                    lw=1.3,
                    label=k.upper() if k in ATTN else k,
                )
            if row == 0:
                ax.set_title(f"{t} (n={summary['types'][t]['n']})", fontsize=10)
            if col == 0:
                ax.set_ylabel(label, fontsize=9)
            if row == len(rows) - 1:
                ax.set_xlabel("layer")
            _integer_layers(ax)
            ax.grid(alpha=0.3, ls="--", lw=0.5)
            if col == len(types) - 1:
                ax.legend(fontsize=7, loc="upper right")
    if title:
        fig.suptitle(title, fontsize=11)
    _save(fig, path)


def plot_comparison(summary: dict[str, Any], path: Path, title: str = "") -> None:
    """The response types on one axis per module group, and RD per layer for each compared pair."""
    plt = _pyplot()
    types = [t for t, e in summary["types"].items() if e["n"]]
    groups = [g for g in ("attn", "mlp") if g in next(iter(summary["types"].values()))["curves"]["S_sum"]]
    panels = len(groups) + (1 if summary["pairs"] else 0)
    if not types or not panels:
        return
    fig, axes = plt.subplots(1, panels, figsize=(5 * panels, 3.8), dpi=110, squeeze=False)
    layers = list(range(summary["layers"]))
    for i, g in enumerate(groups):
        ax = axes[0][i]
        for j, t in enumerate(types):
            ax.plot(
                layers, summary["types"][t]["curves"]["S_sum"][g], color=_type_color(t, j), lw=1.5, label=t
            )
        ax.set_title(
            f"mean nuclear norm, {'attention (Q, K, V, O)' if g == 'attn' else 'MLP (gate, up, down)'}",
            fontsize=9,
        )
        ax.set_xlabel("layer")
        _integer_layers(ax)
        ax.grid(alpha=0.3, ls="--", lw=0.5)
        ax.legend(fontsize=7)
    if summary["pairs"]:
        ax = axes[0][-1]
        group = groups[0] if groups else summary["modules"][0]
        for j, pair in enumerate(summary["pairs"].values()):
            rd = [v if v is not None else float("nan") for v in pair["rd"][group]]
            ax.plot(layers, rd, lw=1.3, color=f"C{j % 10}", label=f"{pair['b']} vs {pair['a']}")
        ax.axhline(0, color="black", lw=0.8)
        _integer_layers(ax)
        ax.set_title(f"RD = (B − A) / A per layer ({group})", fontsize=9)
        ax.set_xlabel("layer")
        ax.grid(alpha=0.3, ls="--", lw=0.5)
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=11)
    _save(fig, path)


def plot_overlay(runs: list[tuple[str, dict[str, Any]]], path: Path) -> None:
    """Several runs' attention nuclear norms over relative depth, one panel per shared type."""
    plt = _pyplot()
    shared = [t for t in runs[0][1]["types"] if all(t in s["types"] and s["types"][t]["n"] for _, s in runs)]
    if not shared:
        return
    cols = min(4, len(shared))
    rows = -(-len(shared) // cols)
    fig, axes = plt.subplots(
        rows,
        cols,
        figsize=(3.6 * cols, 3.0 * rows + 0.3 * len(runs) + 0.4),
        dpi=110,
        squeeze=False,
        sharey=True,
    )
    styles = ["-", "--", ":", "-."]
    for k, t in enumerate(shared):
        ax = axes[k // cols][k % cols]
        for i, (label, s) in enumerate(runs):
            curves = s["types"][t]["curves"]["S_sum"]
            group = "attn" if "attn" in curves else next(iter(curves))
            depth = [layer / max(1, s["layers"] - 1) for layer in range(s["layers"])]
            ax.plot(depth, curves[group], styles[i % 4], color=f"C{i % 10}", lw=1.5, label=label)
        ax.set_title(t, fontsize=10)
        ax.set_xlabel("relative depth")
        ax.grid(alpha=0.3, ls="--", lw=0.5)
        if k % cols == 0:
            ax.set_ylabel("mean nuclear norm (attention)")
    for k in range(len(shared), rows * cols):
        axes[k // cols][k % cols].set_visible(False)
    # One legend for the figure, below the panels: run labels are long (model specs, paths).
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=1, fontsize=8, frameon=False)
    _save(fig, path, rect=(0, (0.3 * len(runs) + 0.3) / fig.get_figheight(), 1, 1))
