"""How many whole-view updates per second the playground serves, on the real server.

An update is one round trip of the page's ``tick``: the server trains
``steps_per_update`` mini-batch steps, then computes and sends the whole view (the
decision boundary on a 49 x 49 grid, a 25 x 25 image of every neuron, the weights, the
loss on the training and the test set, the gradient flow of a backward sweep over the
training set, the dead units). The default set-up is the issue's: 6 hidden layers of 8
units, all 7 input features, 500 points.

    python benchmarks/playground_rate.py                 # WebSocket client, 5 s per case
    python benchmarks/playground_rate.py --browser       # also in headless Chromium

Needs the playground extra (and Playwright with /usr/bin/chromium for --browser). The
numbers depend on the machine and on what else runs on it: print them, do not assert them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from urllib.parse import urlsplit

from websockets.sync.client import connect

from deltaprop.playground.engine import FEATURES, Engine

SETUP = {"hidden": [8] * 6, "features": list(FEATURES), "n_points": 500, "train_ratio": 50,
         "batch_size": 10, "activation": "tanh"}


def start():
    """``deltaprop playground`` in a process of its own (as a user runs it): the server
    does not share this process's interpreter lock with the client."""
    proc = subprocess.Popen([sys.executable, "-m", "deltaprop", "playground", "--no-browser"],
                            stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if "http://" not in line:
        proc.kill()
        raise SystemExit(f"the playground did not start: {line!r}")
    return proc, line.split()[-1]


def engine_rate(steps, seconds, train_ratio):
    """The engine alone, in this process: steps, the view, its JSON text."""
    e = Engine({**SETUP, "train_ratio": train_ratio, "steps_per_update": steps})
    n, w0, c0 = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - w0 < seconds:
        e.step(steps)
        json.dumps(e.frame())
        n += 1
    return n / (time.perf_counter() - w0), (time.process_time() - c0) / n


def websocket_rate(url, steps, seconds, train_ratio):
    parts = urlsplit(url)
    ws_url = f"ws://{parts.netloc}/ws?{parts.query}"
    with connect(ws_url, origin=f"http://{parts.netloc}", max_size=2**24) as ws:
        ws.send(json.dumps({"op": "hello"}))
        for _ in range(3):
            ws.recv()
        ws.send(json.dumps({"op": "config", "set": {**SETUP, "train_ratio": train_ratio,
                                                    "steps_per_update": steps}}))
        for _ in range(3):
            ws.recv()
        ws.send(json.dumps({"op": "play"}))
        ws.recv()
        n, size, t0 = 0, 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            ws.send('{"op": "tick"}')
            size = len(ws.recv())
            n += 1
        dt = time.perf_counter() - t0
    return n / dt, size


def browser_rate(url, steps, seconds):
    from playwright.sync_api import sync_playwright

    flags = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync"]
    hash_ = "&".join([f"hidden={','.join(map(str, SETUP['hidden']))}",
                      f"features={','.join(SETUP['features'])}", f"steps_per_update={steps}"])
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=flags)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.goto(url + "#" + hash_)
        page.wait_for_function("typeof state !== 'undefined' && state.frame"
                               " && state.data.sizes.length === 8")
        page.click("#play")
        time.sleep(1.0)
        d0, s0, t0 = page.evaluate("[state.drawn, state.frame.step]") + [time.perf_counter()]
        time.sleep(seconds)
        d1, s1, t1 = page.evaluate("[state.drawn, state.frame.step]") + [time.perf_counter()]
        page.click("#play")
        browser.close()
    return (d1 - d0) / (t1 - t0), (s1 - s0) / steps / (t1 - t0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--browser", action="store_true", help="also measure in headless Chromium")
    args = ap.parse_args()
    print(f"set-up: {SETUP}; {os.cpu_count()} CPUs; load average "
          f"{', '.join(f'{v:.1f}' for v in os.getloadavg())}")
    for train_ratio in (50, 90):
        for steps in (10, 20):
            rate, cpu = engine_rate(steps, args.seconds, train_ratio)
            print(f"engine alone, {train_ratio}% of 500 points for training, {steps:3d} "
                  f"steps/update: {rate:6.1f} updates/s, {cpu * 1000:.1f} ms CPU per update")
    proc, url = start()
    try:
        for train_ratio in (50, 90):
            for steps in (1, 10, 20):
                rate, size = websocket_rate(url, steps, args.seconds, train_ratio)
                print(f"WebSocket client, {train_ratio}% of 500 points for training, "
                      f"{steps:3d} steps/update: {rate:6.1f} updates/s "
                      f"({rate * steps:7.0f} steps/s), {size / 1024:.0f} KiB per update")
        if args.browser:
            for steps in (10, 20):
                drawn, received = browser_rate(url, steps, args.seconds)
                print(f"headless Chromium (software rendering), {steps:3d} steps/update: "
                      f"{drawn:6.1f} updates/s drawn ({received:.1f}/s received)")
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
