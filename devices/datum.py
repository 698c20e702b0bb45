"""Map datums of position fixes: WGS-84 (what GPS, phones and GPX files give) and GCJ-02 (China's maps).

Maps of mainland China (AMap, the bundled offline map) are drawn in GCJ-02, a
datum that moves every point by a few hundred metres from where GPS puts it.
Inside Lensflow every `location.update` is in GCJ-02, so a fix and a place found
on the map can be compared; the devices convert at the edge, where a fix comes
in (the phone link, GPX tracks). Outside mainland China GCJ-02 *is* WGS-84: no
shift is applied there.

The forward transform is the published one (Krasovsky 1940 ellipsoid, the
polynomial offsets every GCJ-02 library reproduces); it has no closed inverse,
so `gcj02_to_wgs84` iterates until the forward transform of its answer lands on
the given point (to well under a centimetre).

    >>> [round(v, 6) for v in wgs84_to_gcj02(39.911954, 116.377817)]  # Beijing
    [39.913345, 116.384047]
    >>> wgs84_to_gcj02(48.8584, 2.2945)  # Paris: unchanged
    (48.8584, 2.2945)
"""

from __future__ import annotations

import math

__all__ = ["DATUMS", "Point", "fix_in_map_datum", "gcj02_to_wgs84", "in_mainland_china", "wgs84_to_gcj02"]

Point = tuple[float, float]  # (lat, lng) in degrees

_A = 6378245.0  # Krasovsky 1940 semi-major axis, metres
_EE = 0.00669342162296594323  # its first eccentricity squared


def in_mainland_china(lat: float, lng: float) -> bool:
    """Whether GCJ-02 shifts this point: the rough box every GCJ-02 implementation uses.

    The box also covers some neighbouring countries, which no Chinese map service
    routes in anyway; places outside it are never shifted."""
    return 72.004 <= lng <= 137.8347 and 0.8293 <= lat <= 55.8271


def _offset(lat: float, lng: float) -> Point:
    """The GCJ-02 shift (degrees of latitude, degrees of longitude) at a WGS-84 point."""
    x, y = lng - 105.0, lat - 35.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    dlng = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    wave = (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    dlat += wave + (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    dlat += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    dlng += wave + (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    dlng += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    rad = math.radians(lat)
    magic = 1.0 - _EE * math.sin(rad) ** 2
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * math.sqrt(magic)) * math.pi)
    dlng = (dlng * 180.0) / (_A / math.sqrt(magic) * math.cos(rad) * math.pi)
    return dlat, dlng


def wgs84_to_gcj02(lat: float, lng: float) -> Point:
    """A WGS-84 fix (GPS, a phone, a GPX file) as GCJ-02, the datum of maps of mainland China."""
    if not in_mainland_china(lat, lng):
        return lat, lng
    dlat, dlng = _offset(lat, lng)
    return lat + dlat, lng + dlng


def gcj02_to_wgs84(lat: float, lng: float) -> Point:
    """A GCJ-02 point as WGS-84: the point whose forward transform is (lat, lng), to about 1e-9 degrees."""
    if not in_mainland_china(lat, lng):
        return lat, lng
    wgs_lat, wgs_lng = lat, lng
    for _ in range(30):
        shifted_lat, shifted_lng = wgs84_to_gcj02(wgs_lat, wgs_lng)
        err_lat, err_lng = shifted_lat - lat, shifted_lng - lng
        wgs_lat, wgs_lng = wgs_lat - err_lat, wgs_lng - err_lng
        if abs(err_lat) < 1e-10 and abs(err_lng) < 1e-10:
            break
    return wgs_lat, wgs_lng


DATUMS = ("wgs84", "gcj02")


def fix_in_map_datum(data: dict[str, object]) -> dict[str, object]:
    """A device's `location.update` payload with lat/lng in GCJ-02, the datum flows and maps use.

    A fix is WGS-84 unless the device says otherwise with `datum: "gcj02"` (a phone
    app that already reads positions through a Chinese map SDK). The `datum` key is
    dropped: past this point every fix is in the same datum. Raises ValueError for
    a datum that is neither."""
    fix = dict(data)
    datum = str(fix.pop("datum", "wgs84")).lower().replace("-", "")
    if datum not in DATUMS:
        raise ValueError(f"location.update datum must be wgs84 or gcj02, not {data.get('datum')!r}")
    lat, lng = fix.get("lat"), fix.get("lng")
    if (
        datum == "wgs84"
        and isinstance(lat, (int, float))
        and isinstance(lng, (int, float))
        and in_mainland_china(float(lat), float(lng))
    ):
        fix["lat"], fix["lng"] = (round(v, 7) for v in wgs84_to_gcj02(float(lat), float(lng)))
    return fix
