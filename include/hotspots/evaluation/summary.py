"""A plain-language summary of an evaluation for command staff: the change, its interval, the caveats."""

from __future__ import annotations

OUTCOME_WORDS = {"harm": "harm (CCHI)", "count": "the number of crimes", "prevalence": "the chance of any crime"}


def change(ratio: float) -> str:
    """0.56 -> '44% lower'; 1.2 -> '20% higher'; 1.0 -> 'unchanged'."""
    pct = round(abs(1 - ratio) * 100)
    if pct == 0:
        return "unchanged"
    return f"{pct}% {'lower' if ratio < 1 else 'higher'}"


def interval(low: float | None, high: float | None) -> str:
    """The 95% interval of a ratio in words: '95% CI 20% to 60% lower', or '95% CI 20% lower to 10% higher'."""
    if low is None or high is None:
        return "no interval"
    if high < 1:
        return f"95% CI {round((1 - high) * 100)}% to {round((1 - low) * 100)}% lower"
    if low > 1:
        return f"95% CI {round((low - 1) * 100)}% to {round((high - 1) * 100)}% higher"
    return f"95% CI {change(low)} to {change(high)}"


def estimate_sentence(label: str, est: dict) -> str:
    ratio = est.get("rate_ratio")
    if ratio is None:
        return f"{label}: not estimable (too few crimes)."
    text = f"{label} was {change(ratio)} ({interval(est.get('ci_low'), est.get('ci_high'))}"
    if est.get("p_value") is not None:
        text += f"; p = {est['p_value']:.3g}"
    text += ")"
    low, high = est.get("ci_low"), est.get("ci_high")
    if low is not None and high is not None and low <= 1 <= high:
        text += ", which is within chance: no clear effect"
    return text + "."


def plain_summary(result: dict) -> list[str]:
    """Lines for command staff (the same text the report shows)."""
    lines = []
    randomised = result.get("design") == "randomised"
    where = "On patrol days" if randomised else "After patrol began, against matched comparison areas,"
    for key in ("harm", "count", "prevalence"):
        est = result.get("itt", {}).get(key)
        if est:
            lines.append(estimate_sentence(f"{where} {OUTCOME_WORDS[key]}", est))
    disp = result.get("displacement") or {}
    ring = disp.get("ring_m")
    if randomised and disp:
        finding = disp.get("finding", "none detected")
        if finding == "none detected":
            lines.append(f"No displacement to the {ring:g} m ring was detected.")
        elif finding == "displacement":
            lines.append(f"Crime rose in the {ring:g} m ring on patrol days (displacement): " + _ratio_text(disp))
        else:
            lines.append(f"Crime also fell in the {ring:g} m ring (diffusion of benefits): " + _ratio_text(disp))
    elif disp.get("wdd") is not None:
        lines.append(
            f"Weighted displacement difference {disp['wdd']:+.0f} crimes (SE {disp['wdd_se']:.1f})"
            + (f"; WDQ {disp['wdq']:.2f} (above 0: diffusion, below 0: displacement)." if disp.get("wdq") else ".")
        )
    lines.append(
        f"Based on {result.get('treated_place_days', 0):,} patrol and {result.get('control_place_days', 0):,} "
        f"comparison place-days, {result.get('start')} to {result.get('end')}."
    )
    caveats = []
    if randomised:
        caveats.append(
            f"p-values come from {result.get('redraws', 0):,} re-draws of the plan; the effect is of being drawn "
            "for patrol (intention to treat), whatever was delivered"
        )
    else:
        caveats.append("nothing was randomised: the comparison areas stand in for what would have happened")
    if result.get("dose_response"):
        caveats.append("dose-response and carry-over compare delivered patrol, which was not randomised")
    lines.append("Caveats: " + "; ".join(caveats) + ".")
    return lines


def _ratio_text(est: dict) -> str:
    return f"{change(est['rate_ratio'])} ({interval(est.get('ci_low'), est.get('ci_high'))})."
