"""The playground in a real browser: headless Chromium (Debian's package) driven by Playwright.

The server runs in a thread with uvicorn on a free loopback port, as ``deltaprop
playground`` runs it. The test loads the page, trains, checks that the loss falls and the
boundary image changes, explains a point and checks the page's numbers against
``dp.explain`` for the weights of the model file the page exports.

With ``DELTAPROP_PLAYGROUND_SCREENSHOT=path.png`` it also saves a screenshot there (the
one in docs/img/ is made that way).
"""

import os
import threading
import time

import numpy as np
import pytest

import deltaprop as dp

CHROMIUM = "/usr/bin/chromium"

pytest.importorskip("starlette", reason="the playground extra is not installed")
pytest.importorskip("uvicorn", reason="the playground extra is not installed")
sync_api = pytest.importorskip("playwright.sync_api",
                               reason="Playwright for Python is not installed")
if not os.path.exists(CHROMIUM):  # .ci/run installs Debian's chromium
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)",
                allow_module_level=True)

from deltaprop.playground.cli import serve

FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def server():
    box = {}
    thread = threading.Thread(
        target=serve, daemon=True,
        kwargs={"port": 0, "print_fn": lambda s: None,
                "ready": lambda srv, url: box.update(server=srv, url=url)})
    thread.start()
    deadline = time.monotonic() + 20
    while "url" not in box or not box["server"].started:
        assert time.monotonic() < deadline, "the playground server did not start"
        time.sleep(0.02)
    yield box["url"]
    box["server"].should_exit = True
    thread.join(10)


@pytest.fixture
def page(tmp_path):
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        context = browser.new_context(viewport={"width": 1600, "height": 1000},
                                      accept_downloads=True)
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.errors = errors
        yield page
        context.close()
        browser.close()


def boundary_png(page):
    return page.evaluate("document.getElementById('boundary').toDataURL()")


def test_train_explain_export_in_chromium(server, page, tmp_path):
    page.goto(server + "#dataset=xor&hidden=6,4&notation=rousseau")
    page.wait_for_function("typeof state !== 'undefined' && state.frame && state.config"
                           " && state.config.dataset === 'xor'")
    page.wait_for_function("document.querySelectorAll('.node[data-u^=\"1:\"]').length === 6")
    assert "#dataset=xor&hidden=6%2C4&notation=rousseau" in page.url or \
        "dataset=xor" in page.url  # the set-up stays in the address
    first_loss = page.evaluate("state.frame.train_loss")
    first_image = boundary_png(page)

    page.click("#play")
    page.wait_for_function("state.frame.step >= 300", timeout=15000)
    page.click("#play")  # pause
    page.wait_for_function("!state.playing")
    time.sleep(0.2)  # let a frame in flight arrive
    frame = page.evaluate("state.frame")
    assert frame["train_loss"] < first_loss * 0.8, (first_loss, frame["train_loss"])
    assert boundary_png(page) != first_image
    rate = float(page.evaluate("document.body.dataset.rate"))
    print(f"\nview updates per second in headless Chromium: {rate:.1f}")

    # click the training point 0 on the boundary image
    box = page.locator("#boundary").bounding_box()
    P = page.evaluate("state.data.train.P[0]")
    page.mouse.click(box["x"] + (P[0] + 6) * box["width"] / 12,
                     box["y"] + (6 - P[1]) * box["height"] / 12)
    page.wait_for_function("state.trace !== null && state.trace.split === 'train'")
    trace = page.evaluate("state.trace")
    html_J = float(page.get_attribute("#traceinfo", "data-j"))
    x = [float(page.get_attribute(f'#trace td[data-u="0:{j}"]', "data-v"))
         for j in range(2)]
    cells = page.evaluate("""() => {
        const out = {};
        for (const td of document.querySelectorAll('#trace td[data-w^="1:"]'))
            (out[td.dataset.w] = out[td.dataset.w] || []).push(Number(td.dataset.v));
        return out; }""")
    assert trace["notation"] == "rousseau" and trace["index"] == 0

    # hovering a weight in the trace highlights its link in the drawing, and back
    page.hover('#trace td[data-w="1:1:2"]')
    assert page.evaluate("state.hlLink") == "1:1:2"
    page.hover('.node[data-u="1:3"]')
    assert page.locator('#trace td.hl[data-u="1:3"]').count() > 0
    link = page.evaluate("""() => {  // the point of the link farthest from all others
        const l = layout.links.find((l) => l.key === '2:3:1');
        let best = null, bd = -1;
        for (const p of l.pts) {
            let d = Infinity;
            for (const o of layout.links) if (o !== l) for (const q of o.pts)
                d = Math.min(d, Math.hypot(p[0] - q[0], p[1] - q[1]));
            if (d > bd) { bd = d; best = p; }
        }
        return best; }""")
    net_box = page.locator("#netwrap").bounding_box()
    page.mouse.move(net_box["x"] + link[0], net_box["y"] + link[1])
    assert page.evaluate("state.hlLink") == "2:3:1"
    assert page.locator('#trace td.hl[data-w="2:3:1"]').count() >= 2  # W and its gradient

    # the model file the page exports: same weights, same trace
    with page.expect_download() as info:
        page.click("#export_model")
    path = tmp_path / "model.npz"
    info.value.save_as(path)
    net = dp.load(path)
    t = page.evaluate("state.data.train.t[0]")
    ref = dp.explain(net, np.array([x]), np.array([t]))
    assert html_J == ref.J
    W, gW = ref.layers[0].W, ref.layers[0].grad_W
    for i in range(W.shape[0]):
        for j in range(W.shape[1]):
            values = cells[f"1:{i}:{j}"]
            assert float(W[i, j]) in values and float(gW[i, j]) in values, (i, j, values)

    with page.expect_download() as info:
        page.click("#export_md")
    md = tmp_path / "trace.md"
    info.value.save_as(md)
    assert "Backward step" in md.read_text()

    shot = os.environ.get("DELTAPROP_PLAYGROUND_SCREENSHOT")
    if shot:
        page.hover('#trace td[data-w="1:1:2"]')
        page.screenshot(path=shot)

    # the controls reach the engine and the address
    page.select_option("#lr", "0.1")
    page.wait_for_function("state.config.lr === 0.1 && location.hash.includes('lr=0.1')")
    page.click("#addlayer")
    page.wait_for_function("state.data.sizes.join() === '2,6,4,4,1'")
    page.click('.unitbtns button[data-k="1"][data-d="1"]')
    page.wait_for_function("state.data.sizes.join() === '2,7,4,4,1'")
    assert "hidden=7%2C4%2C4" in page.url
    page.click('.node.feature.off >> nth=0')  # x1² switched on
    page.wait_for_function("state.data.features.join() === 'x1,x2,x1^2'")
    assert page.errors == []


def test_charts_have_axes_tick_labels_and_legends(server, page):
    page.goto(server + "#dataset=gauss&hidden=8,8,8,8&activation=sigmoid&optimizer=sgd")
    page.wait_for_function("typeof state !== 'undefined' && state.config"
                           " && state.config.dataset === 'gauss' && state.frame")
    page.click("#play")
    page.wait_for_function("state.frame.step >= 200", timeout=15000)
    page.click("#play")
    page.wait_for_function("!state.playing")
    time.sleep(0.3)
    ticks = page.evaluate("""() => Object.fromEntries(['losscurve', 'deltaflow', 'gradflow']
        .map((id) => [id, [document.getElementById(id).dataset.yticks,
                           document.getElementById(id).dataset.xticks]]))""")
    for chart in ("deltaflow", "gradflow"):  # log scale: whole powers of ten, 10⁻³, not 1e-3.8
        y, x = ticks[chart]
        assert len(y.split()) >= 2 and all(
            label == "1" or label == "10" or (label.startswith("10") and label[2] in "⁻¹²³⁴⁵⁶⁷⁸⁹")
            for label in y.split()), (chart, y)
        assert "e" not in y and "." not in y
        assert x.split()[0] == "0" and len(x.split()) >= 2, (chart, x)
    y, x = ticks["losscurve"]  # linear: 0 and round steps
    assert float(y.split()[0]) == 0 and len(y.split()) >= 3 and x.split()[0] == "0", (y, x)
    assert page.locator("#losslegend span").all_inner_texts() == ["training", "test"]
    assert "output" in page.inner_text("#flowlegend")
    # the axis of a range of 2.6 decades: whole decades around it
    assert page.evaluate("logAxis(-3.8, -1.2).ticks.map((t) => t.label).join(' ')") == \
        "10⁻¹ 10⁻² 10⁻³ 10⁻⁴"
    assert page.evaluate("linearAxis(0, 0.693, 4).ticks.map((t) => t.label).join(' ')") == \
        "0.0 0.2 0.4 0.6 0.8"
    shot = os.environ.get("DELTAPROP_PLAYGROUND_CHARTS")
    if shot:
        page.locator("#output").screenshot(path=shot)
    assert page.errors == []


def test_reset_draws_new_weights_and_identity_says_why_it_cannot_curve(server, page):
    page.goto(server)
    page.wait_for_function("typeof state !== 'undefined' && state.frame && state.config")
    first = page.evaluate("JSON.stringify(state.frame.weights)")
    page.click("#reset")
    page.wait_for_function("state.config.init_seed === 1 && state.frame.step === 0"
                           " && location.hash.includes('init_seed=1')")
    assert page.evaluate("JSON.stringify(state.frame.weights)") != first
    assert page.is_hidden("#hint")
    page.select_option("#activation", "identity")
    page.wait_for_function("document.getElementById('hint').textContent.includes('straight')")
    assert page.is_visible("#hint")
    page.click('.node.feature.off >> nth=0')  # x1² switched on: the hint goes
    page.wait_for_function("state.data.features.join() === 'x1,x2,x1^2'")
    assert page.is_hidden("#hint")
    assert page.errors == []
