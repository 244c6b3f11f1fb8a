"""The randomized plant campaign's figures (bench/campaign.py): each controller's summary over the plants,
the lines it prints, and the histograms for docs/benchmarks.md.

The error, time-in-band, overshoot and heat-up figures are taken over the plants whose target is
reachable and that came within 0.1 degC of it (one that never did is a failure of its own); the plants
that cannot reach it are listed apart with what each session ended with.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from campaign_judge import REQUIRED_MAX_ERROR_C, TARGET_HEATUP_RATIO, TARGET_P95_ERROR_C, problem_class
from control import percentile
from physics import OUTLET_LIMIT_C

RERUN = "hipec bench campaign --plants 1 --seed {seed}"


def rerun(seed: str, settings: dict[str, Any], in_process: bool = False) -> str:
    """The command that reruns one plant alone as it ran: in-process or not, with the settings it had."""
    return RERUN.format(seed=seed) + (" --in-process" if in_process else "") + \
        "".join(f" --set {name}={json.dumps(value)}" for name, value in settings.items())


def _spread(values: list[float], digits: int = 4) -> dict[str, float | None]:
    """worst (largest), p95 and median, or None for each when there is nothing to take them over."""
    if not values:
        return {"worst": None, "p95": None, "median": None}
    return {"worst": round(max(values), digits), "p95": round(percentile(values, 0.95), digits),
            "median": round(percentile(values, 0.5), digits)}


def controller_summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    reachable = [r for r in results if r["reachable"]]
    judged = [r for r in reachable if r["max_abs_error_c"] is not None]
    errors = _spread([r["max_abs_error_c"] for r in judged])
    in_band = [r["time_in_band_pct"] for r in judged]
    ratios = [r["heatup_ratio"] for r in judged if r.get("heatup_ratio") is not None]
    flows = [abs(r["flow_error_pct"]) for r in results if r.get("flow_error_pct") is not None]
    lines = [r["line"] for r in results if "line" in r]
    classes: dict[str, list[int]] = {}
    for r in results:
        for problem in r["problems"]:
            classes.setdefault(problem_class(problem), []).append(r["seed"])
    ended = Counter(f"{r['outcome']}{' at the give-up' if r['given_up'] else ''} "
                    f"({', '.join(r['alarms']) or 'no alarm'})" for r in results if not r["reachable"])
    return {
        "plants": len(results),
        "reachable": len(reachable),
        "completed": sum(1 for r in results if r["completed"]),
        "reachable_completed": sum(1 for r in reachable if r["completed"]),
        "reachable_not_completed": [r["seed"] for r in reachable if not r["completed"]],
        "worst_max_abs_error_c": errors["worst"],
        "p95_max_abs_error_c": errors["p95"],
        "median_max_abs_error_c": errors["median"],
        "time_in_band_pct": {"min": min(in_band) if in_band else None,
                             "median": percentile(in_band, 0.5) if in_band else None},
        "overshoot_c": _spread([r["overshoot_c"] for r in judged if r["overshoot_c"] is not None]),
        "heatup_ratio": _spread(ratios, 3),
        "heatup_within_target": sum(1 for x in ratios if x <= TARGET_HEATUP_RATIO),
        "outlet_max_c": _spread([r["outlet_max_c"] for r in results if r.get("outlet_max_c") is not None], 3),
        "outlet_over_limit": [r["seed"] for r in results if (r.get("outlet_max_c") or 0.0) > OUTLET_LIMIT_C],
        "flow_error_pct": {"worst_abs": round(max(flows), 3) if flows else None,
                           "median_abs": round(percentile(flows, 0.5), 3) if flows else None},
        "line_found": {"sessions": len(lines), "found": sum(1 for line in lines if line["found"]),
                       "within": sum(1 for line in lines if line["within"]),
                       "off": [r["seed"] for r in results if "line" in r and r["line"]["found"]
                               and not r["line"]["within"]]},
        "requirement_met": all(not r["problems"] for r in reachable),
        "p95_target_met": errors["p95"] is not None and errors["p95"] <= TARGET_P95_ERROR_C,
        "failures": [{"seed": r["seed"], "problems": r["problems"]} for r in reachable if r["problems"]],
        "unreachable": [{"seed": r["seed"], "cause": r["cause"], "outcome": r["outcome"], "given_up": r["given_up"],
                         "alarms": r["alarms"], "problems": r["problems"]} for r in results if not r["reachable"]],
        "unreachable_ended": dict(ended.most_common()),
        "classes": classes,
    }


def summarize(results: list[dict[str, Any]], controllers: tuple[str, ...], seed: int, plants: int,
              duration_min: float, settings: dict[str, Any] | None = None, in_process: bool = False) -> dict[str, Any]:
    """The first controller's summary at the top, the peers' under "peers"; settings: what --set gave
    every plant's board; in_process: the firmware ran under CPython, not on the emulated MCU."""
    by = {name: [r for r in results if r["controller"] == name] for name in controllers}
    settings = settings or {}
    summary: dict[str, Any] = {"seed": seed, "duration_min": duration_min, "controller": controllers[0],
                               "in_process": in_process, "settings": settings,
                               "rerun": rerun("S", settings, in_process),
                               **controller_summary(by[controllers[0]])}
    summary["plants"] = plants
    summary["peers"] = {name: controller_summary(by[name]) for name in controllers[1:]}
    return summary


def _figures_line(s: dict[str, Any]) -> list[str]:
    def spread(d: dict[str, Any], unit: str) -> str:
        return f"worst {d['worst']}, p95 {d['p95']}, median {d['median']}{unit}"

    return [
        f"  max |error| of the true inflow from first reaching the target to the end of treatment (reachable "
        f"plants): worst {s['worst_max_abs_error_c']}, p95 {s['p95_max_abs_error_c']}, median "
        f"{s['median_max_abs_error_c']} degC (requirement <= {REQUIRED_MAX_ERROR_C:.2f}, target p95 <= "
        f"{TARGET_P95_ERROR_C:.2f})",
        f"  time in +-0.1 degC: lowest {s['time_in_band_pct']['min']} %, median {s['time_in_band_pct']['median']} %",
        f"  overshoot: {spread(s['overshoot_c'], ' degC')}",
        f"  heat-up over the physical minimum: {spread(s['heatup_ratio'], 'x')}; within "
        f"{TARGET_HEATUP_RATIO:.2f}x: {s['heatup_within_target']}",
        f"  heat exchanger outlet, highest while heating (every plant): {spread(s['outlet_max_c'], ' degC')}; above "
        f"the {OUTLET_LIMIT_C} degC limit: {len(s['outlet_over_limit'])} plants",
        f"  flow error (delivered against commanded): worst {s['flow_error_pct']['worst_abs']} %, median "
        f"{s['flow_error_pct']['median_abs']} % (absolute)",
        *([f"  inflow line found by the board (line_delay.py): in {s['line_found']['found']} of "
           f"{s['line_found']['sessions']} sessions, {s['line_found']['within']} within a tenth of its transit or "
           f"2.5 s; off: {s['line_found']['off'] or 'none'}"] if s["line_found"]["sessions"] else []),
        f"  completed {s['completed']} of {s['plants']}; reachable {s['reachable']}, of which completed "
        f"{s['reachable_completed']}",
    ]


def text_lines(summary: dict[str, Any]) -> list[str]:
    s = summary
    lines = [f"{s['plants']} plants from seed {s['seed']}, {s['duration_min']:g} min of treatment each; "
             f"{s['controller']} {s.get('firmware', '')}{'' if s.get('in_process') else ' on the emulated MCU'}, "
             f"{s.get('workers', '?')} workers, "
             f"{s.get('wall_min', '?')} min"]
    if s.get("settings"):
        lines.append("  every board also given " + ", ".join(f"{k} = {json.dumps(v)}" for k, v in s["settings"].items()))
    lines += _figures_line(s)
    verdict = "met" if s["requirement_met"] else "NOT met"
    lines.append(f"  requirement on every reachable plant (complete, max |error| <= {REQUIRED_MAX_ERROR_C:.2f} degC, "
                 f"no alarm): {verdict}; {len(s['failures'])} failing")
    for name, seeds in sorted(s["classes"].items(), key=lambda item: -len(item[1])):
        lines.append(f"    {len(seeds)} x {name}: seeds {', '.join(map(str, seeds))}")
    lines.append(f"  unreachable plants ({len(s['unreachable'])}), what their sessions ended with:")
    for ended, count in s["unreachable_ended"].items():
        lines.append(f"    {count} x {ended}")
    lines.append(f"  rerun one plant alone: {rerun('SEED', s.get('settings') or {}, bool(s.get('in_process')))}")
    for name, peer in s["peers"].items():
        lines.append(f"{name} (in-process, same plants):")
        lines += _figures_line(peer)
    return lines


def histogram(results: list[dict[str, Any]], controllers: tuple[str, ...], path: Path) -> None:
    """Max |error| per reachable plant by controller (log scale) beside the firmware's heat-up ratio."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, (errors_ax, heatup_ax) = plt.subplots(1, 2, figsize=(12, 4.5))
    bins = np.logspace(-2.5, 1.5, 41)
    for name in controllers:
        values = [r["max_abs_error_c"] for r in results if r["controller"] == name and r["reachable"]
                  and r["max_abs_error_c"] is not None]
        errors_ax.hist(np.clip(values, bins[0], bins[-1]), bins=bins, alpha=0.55, label=f"{name} ({len(values)})")
    errors_ax.axvline(TARGET_P95_ERROR_C, color="green", linestyle="--", linewidth=0.9, label="target p95 0.05 °C")
    errors_ax.axvline(REQUIRED_MAX_ERROR_C, color="red", linestyle="--", linewidth=0.9, label="requirement 0.10 °C")
    errors_ax.set_xscale("log")
    errors_ax.set_xlabel("max |error| of the true inflow (°C), reachable plants")
    errors_ax.set_ylabel("plants")
    errors_ax.legend(fontsize=8)
    ratios = [r["heatup_ratio"] for r in results if r["controller"] == controllers[0] and r["reachable"]
              and r.get("heatup_ratio") is not None]
    heatup_ax.hist(ratios, bins=30, color="tab:blue", alpha=0.7)
    heatup_ax.axvline(TARGET_HEATUP_RATIO, color="green", linestyle="--", linewidth=0.9, label="target 1.10×")
    heatup_ax.set_xlabel(f"heat-up over the physical minimum, {controllers[0]}")
    heatup_ax.set_ylabel("plants")
    heatup_ax.legend(fontsize=8)
    fig.suptitle(f"Randomized plant campaign: {len({r['seed'] for r in results})} plants")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
