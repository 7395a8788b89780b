"""Screenshot a page of the running demo with headless Chromium.

    python develop_screenshot.py URL OUT.png [--wait 15] [--size 1280x1000]

Chromium's own ``--screenshot`` fires before Home Assistant's frontend has
logged in and opened its websocket, so this drives Chromium over the
DevTools protocol instead: open the page, wait in real time, capture.
Needs Debian's ``chromium`` and aiohttp (the demo venv has it). Chromium
runs in a fresh temporary profile and is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import itertools
from pathlib import Path
import shutil
import sys
import tempfile
import time
from typing import Any

import aiohttp

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",  # Chromium picks a port, see DevToolsActivePort
)


def _read_port(marker: Path) -> int | None:
    with contextlib.suppress(FileNotFoundError, ValueError, IndexError):
        return int(marker.read_text().splitlines()[0])
    return None


async def _devtools_port(profile: Path, chromium: asyncio.subprocess.Process) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if chromium.returncode is not None:
            raise RuntimeError(f"chromium exited with status {chromium.returncode}")
        port = await asyncio.to_thread(_read_port, profile / "DevToolsActivePort")
        if port is not None:
            return port
        await asyncio.sleep(0.2)
    raise RuntimeError("chromium did not open its DevTools port")


async def capture(url: str, wait: float, width: int, height: int) -> bytes:
    """Open url in a fresh headless Chromium, wait, return a PNG."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        raise RuntimeError("no chromium on PATH (Debian: apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="develop-chromium-") as profile_dir:
        profile = Path(profile_dir)
        chromium = await asyncio.create_subprocess_exec(
            binary,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
            "about:blank",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            port = await _devtools_port(profile, chromium)
            async with aiohttp.ClientSession() as session:
                async with session.get(f"http://127.0.0.1:{port}/json/list") as resp:
                    targets = await resp.json()
                page = next(t for t in targets if t.get("type") == "page")
                async with session.ws_connect(
                    page["webSocketDebuggerUrl"], max_msg_size=0
                ) as ws:
                    ids = itertools.count(1)

                    async def call(method: str, **params: Any) -> dict[str, Any]:
                        call_id = next(ids)
                        await ws.send_json(
                            {"id": call_id, "method": method, "params": params}
                        )
                        while True:
                            message = await ws.receive_json()
                            if message.get("id") == call_id:
                                if "error" in message:
                                    raise RuntimeError(f"{method}: {message['error']}")
                                return dict(message.get("result", {}))

                    await call(
                        "Emulation.setDeviceMetricsOverride",
                        width=width,
                        height=height,
                        deviceScaleFactor=1,
                        mobile=False,
                    )
                    await call("Page.navigate", url=url)
                    await asyncio.sleep(wait)
                    shot = await call("Page.captureScreenshot", format="png")
            return base64.b64decode(shot["data"])
        finally:
            if chromium.returncode is None:
                chromium.terminate()
            try:
                await asyncio.wait_for(chromium.wait(), 10)
            except TimeoutError:
                chromium.kill()
                await chromium.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("out", type=Path)
    parser.add_argument("--wait", type=float, default=15.0, help="seconds")
    parser.add_argument("--size", default="1280x1000", help="WIDTHxHEIGHT")
    args = parser.parse_args()
    width, height = (int(part) for part in args.size.lower().split("x"))
    try:
        png = asyncio.run(capture(args.url, args.wait, width, height))
        args.out.write_bytes(png)
    except (RuntimeError, OSError, aiohttp.ClientError) as err:
        print(f"screenshot failed: {err}", file=sys.stderr)
        return 1
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
