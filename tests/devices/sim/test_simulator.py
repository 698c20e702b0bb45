"""The simulator on the embedded default: scenarios in; trace, HUD PNGs and speech WAVs out."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

from PIL import Image

from tests.support.cli import run_cli

FLOW = textwrap.dedent(
    """\
    flow: snap
    description: Take a photo when asked.
    permissions: [camera, display, speaker, microphone, location]
    requires: [camera]
    optional: [display, speaker]
    triggers: {phrases: ["take a photo"]}
    initial: listening
    states:
      listening:
        entry:
          - hud.show:
              layout: card
              title: Ready
              body: "Say take a photo. This line is long enough to be wrapped on the waveguide display."
        on:
          asr.transcript:
            - if: "event.text.contains('photo')"
              target: shooting
          location.update: {do: [{set: {vars.fixes: "has(vars.fixes) ? vars.fixes + 1 : 1"}}]}
          device.battery_low: {do: [{set: {vars.low: "true"}}]}
          device.reconnected: {do: [{set: {vars.back: "true"}}]}
          device.doffed: {do: [{set: {vars.off: "true"}}]}
      shooting:
        entry:
          - camera.capture: {as: photo}
          - hud.show: {layout: toast, text: Photo saved}
          - audio.speak: {text: Photo saved}
        on: {gesture.tap: done}
      done: {type: final}
    """
)


def _simulate(tmp_path: Path, scenario: str, *extra: str) -> tuple[dict, list[dict], Path]:
    (tmp_path / "snap.yaml").write_text(FLOW)
    (tmp_path / "scenario.yaml").write_text(textwrap.dedent(scenario))
    out = tmp_path / "out"
    proc = run_cli(
        "simulate",
        str(tmp_path / "snap.yaml"),
        "--scenario",
        str(tmp_path / "scenario.yaml"),
        "--out",
        str(out),
        "--json",
        *extra,
    )
    assert proc.returncode == 0, proc.stderr
    end = json.loads(proc.stdout.splitlines()[-1])
    trace = [json.loads(line) for line in (out / "trace.jsonl").read_text().splitlines()]
    return end, trace, out


def test_a_spoken_english_command_in_a_wav_is_recognised(tmp_path: Path) -> None:
    subprocess.run(
        ["espeak-ng", "-v", "en-us", "-s", "130", "-w", str(tmp_path / "cmd.wav"), "take a photo"], check=True
    )
    end, trace, _out = _simulate(tmp_path, "events:\n  - {at: 1s, wav: cmd.wav}\n  - {at: 2s, gesture: tap}\n")
    heard = [e for e in trace if e["kind"] == "event" and e["name"] == "asr.transcript"]
    assert heard and "photo" in heard[0]["data"]["text"]
    assert end["final"] == "done"


def test_hud_frames_are_pngs_at_the_profile_size(tmp_path: Path) -> None:
    _end, trace, out = _simulate(tmp_path, "events:\n  - {at: 1s, say: take a photo}\n", "--no-audio")
    frames = sorted((out / "frames").glob("*.png"))
    assert len(frames) >= 2
    for frame in frames:
        image = Image.open(frame)
        assert image.size == (640, 240)
        box = image.convert("L").point(lambda v: 255 if v > 40 else 0).getbbox()
        assert box is not None and box[2] < 640 and box[3] < 240
    hud = [e for e in trace if e["kind"] == "hud"]
    assert hud[0]["lines"][0] == "Ready" and len(hud[0]["lines"]) <= 5


def test_privacy_led_is_on_during_the_capture(tmp_path: Path) -> None:
    end, trace, _out = _simulate(tmp_path, "events:\n  - {at: 1s, say: take a photo}\n", "--no-audio")
    kinds = [(e["kind"], e.get("on")) for e in trace if e["kind"] in ("privacy_led", "photo")]
    assert kinds == [("privacy_led", True), ("photo", None), ("privacy_led", False)]
    # the flow holds the name the engine gave the photo; the device stored it under that name
    stored = Path(next(e["stored"] for e in trace if e["kind"] == "photo"))
    assert end["vars"]["photo"].endswith(".png") and stored.name == end["vars"]["photo"] and stored.is_file()


def test_audio_only_profile_speaks_instead_of_showing(tmp_path: Path) -> None:
    _end, trace, out = _simulate(tmp_path, "events:\n  - {at: 1s, say: take a photo}\n", "--profile", "audio-only")
    assert not list((out / "frames").glob("*.png"))
    spoken = [e for e in trace if e["kind"] == "spoken"]
    assert any(e["instead_of_display"] and e["text"].startswith("Ready") for e in spoken)
    wavs = sorted((out / "audio").glob("*.wav"))  # espeak-ng is installed by make install
    assert wavs and wavs[0].stat().st_size > 1000


def test_scenario_shorthand_becomes_device_events(tmp_path: Path) -> None:
    (tmp_path / "walk.gpx").write_text(
        textwrap.dedent("""\
        <?xml version="1.0" encoding="UTF-8"?>
        <gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>
        <trkpt lat="31.2304" lon="121.4737"/><trkpt lat="31.2310" lon="121.4740"/><trkpt lat="31.2316" lon="121.4745"/>
        </trkseg></trk></gpx>
        """)
    )
    scenario = """\
        events:
          - {at: 1s, gpx: walk.gpx, interval: 2s}
          - {at: 10s, battery: 12}
          - {at: 11s, disconnect: 5s}
          - {at: 20s, doff: true}
        until: 30s
        """
    end, trace, _out = _simulate(tmp_path, scenario, "--no-audio")
    events = [(e["t"], e["name"]) for e in trace if e["kind"] == "event"]
    assert [t for t, name in events if name == "location.update"] == [1000, 3000, 5000]
    assert (10_000, "device.battery_low") in events
    assert (11_000, "device.disconnected") in events and (16_000, "device.reconnected") in events
    assert (20_000, "device.doffed") in events
    assert end["vars"] == {"fixes": 3, "low": True, "back": True, "off": True}


def test_bad_scenarios_and_refused_profiles_are_one_line_errors(tmp_path: Path) -> None:
    (tmp_path / "snap.yaml").write_text(FLOW)
    cases = {
        "events:\n  - {at: 1s, say: hi}\n  - {at: 1s, gestur: tap}\n": "scenario.yaml:3:",
        "events:\n  - {at: 1s, wav: missing.wav}\n": "scenario.yaml:2:5: file 'missing.wav' not found",
        "events:\n  - {at: 1s, event: location.update, data: {lng: 1.0}}\n": "missing the required key 'lat'",
    }
    for text, expected in cases.items():
        (tmp_path / "scenario.yaml").write_text(text)
        proc = run_cli(
            "simulate",
            str(tmp_path / "snap.yaml"),
            "--scenario",
            str(tmp_path / "scenario.yaml"),
            "--out",
            str(tmp_path / "o"),
        )
        assert proc.returncode == 2 and expected in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    (tmp_path / "snap.yaml").write_text(FLOW.replace("requires: [camera]", "requires: [camera, display]"))
    (tmp_path / "scenario.yaml").write_text("events: []\n")
    proc = run_cli(
        "simulate",
        str(tmp_path / "snap.yaml"),
        "--scenario",
        str(tmp_path / "scenario.yaml"),
        "--out",
        str(tmp_path / "o"),
        "--profile",
        "audio-only",
    )
    assert proc.returncode == 2 and "requires display" in proc.stderr


def test_a_scenario_may_start_at_zero_written_any_way(tmp_path: Path) -> None:
    """`0.0s` is the start as much as `0s` is (it used to end in an internal error)."""
    (tmp_path / "snap.yaml").write_text(FLOW)
    (tmp_path / "scenario.yaml").write_text(
        "events:\n  - {at: 0.0s, gesture: tap}\n  - {at: 0m0s, disconnect: 0.0s}\nuntil: 0.0s\n"
    )
    proc = run_cli(
        "simulate",
        str(tmp_path / "snap.yaml"),
        "--scenario",
        str(tmp_path / "scenario.yaml"),
        "--out",
        str(tmp_path / "o"),
    )
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr


def test_the_camera_stores_photos_through_the_media_store_for_its_wearer(tmp_path: Path) -> None:
    from devices.sim.simulator import SimulatedDevice
    from engine.language.catalog import load_catalog
    from engine.media import FileMediaStore

    store = FileMediaStore(tmp_path / "captures")
    profile = load_catalog().profiles["quark-display"]
    device = SimulatedDevice(profile, tmp_path / "out", frozenset({"camera"}), False, wearer="w-2", media=store)
    device.capture(None, "camera.capture", {}, "photo-r-1.jpg")
    device.capture(None, "camera.capture", {}, "../photo-r-2.png")  # not a name the engine gives: not kept
    stored = tmp_path / "captures" / "w-2" / "photo-r-1.jpg"
    with Image.open(stored) as picture:
        assert picture.format == "JPEG" and picture.size == (640, 480)
    assert [p.name for p in (tmp_path / "captures").rglob("*") if p.is_file()] == ["photo-r-1.jpg"]
    assert [e["kind"] for e in device.log] == ["photo", "refused"]


def test_the_camera_stores_photos_in_a_database_store_that_another_store_reads(tmp_path: Path) -> None:
    from devices.sim.simulator import SimulatedDevice
    from engine.language.catalog import load_catalog
    from engine.media import DatabaseMediaStore
    from engine.storage import open_database

    def store(max_bytes: int = 64 << 20) -> DatabaseMediaStore:
        return DatabaseMediaStore(open_database(None, tmp_path / "media.sqlite", env={}), max_bytes)

    profile = load_catalog().profiles["quark-display"]
    device = SimulatedDevice(profile, tmp_path / "out", frozenset({"camera"}), False, wearer="w-2", media=store())
    device.capture(None, "camera.capture", {}, "photo-r-1.png")
    data = store().get("w-2", "photo-r-1.png")  # another process's store on the same database
    assert data.startswith(b"\x89PNG") and (tmp_path / "out" / "media" / "photo-r-1.png").read_bytes() == data
    assert device.log[0]["stored"] == f"{tmp_path / 'media.sqlite'}: media_captures w-2/photo-r-1.png"
    device.media = store(max_bytes=100)  # a photo over the store's limit is refused, not kept
    device.capture(None, "camera.capture", {}, "photo-r-2.png")
    assert device.log[-1]["kind"] == "refused" and "more than the 100 a capture may have" in device.log[-1]["reason"]
    assert not store().exists("w-2", "photo-r-2.png") and not (tmp_path / "out" / "media" / "photo-r-2.png").exists()
