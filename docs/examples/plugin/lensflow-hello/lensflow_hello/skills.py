"""The weather demo skill: a fixed table, so it answers the same everywhere, offline."""

from __future__ import annotations

from typing import Any

from skills.base import SkillError

_TODAY = {
    "hangzhou": ("Hangzhou", "light rain", 19, 14),
    "beijing": ("Beijing", "sunny", 24, 11),
    "shanghai": ("Shanghai", "cloudy", 21, 16),
}


async def today(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """Today's weather for `args["city"]`; UNKNOWN_CITY for a city the table lacks."""
    city = args.get("city")
    if not isinstance(city, str) or not city.strip():
        raise SkillError("BAD_REQUEST", "weather_demo.today needs a city")
    found = _TODAY.get(city.strip().lower())
    if found is None:
        raise SkillError("UNKNOWN_CITY", f"no weather for {city.strip()[:40]!r} in the demo table")
    name, summary, high, low = found
    return {"city": name, "summary": summary, "high_c": high, "low_c": low}


SKILLS = {"weather_demo.today": today}
