"""The lean forward pass (simgen/renderers/pyrender/fast_pass.py) draws pyrender's images bit for bit: colour, depth, id and
silhouette passes of randomized scenes (every light kind, textured and plain, closed and double-sided meshes,
distractors, walls), rendered once with it and once with pyrender's stock pass."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.gl


def test_fast_pass_is_bit_identical_to_pyrenders(compose_cfg):
    from simgen.labels.amodal import label_frame
    from simgen.run.worker import Generator, sample_rng
    from simgen.renderers.pyrender.fast_pass import FastForwardPass

    cfg = compose_cfg("randomization=strong")
    cfg.render.width, cfg.render.height = 160, 120
    with Generator(cfg) as g:
        rr = g.renderer._r._renderer
        fast = rr._forward_pass
        assert isinstance(fast, FastForwardPass)
        kinds = set()
        for i in range(8):
            scene = g.make_scene(i, sample_rng(cfg.seed, i))
            kinds |= {L.kind for L in scene.lights}
            out = []
            for fp in (fast.stock, fast):
                rr._forward_pass = fp
                frame = g.renderer.render(scene)
                nodes = g.renderer.id_nodes
                present = sorted(nodes)
                bits = g.renderer.silhouette_bits([nodes[k] for k in present])
                inst = label_frame(g.renderer, scene, frame)
                out.append((frame, bits, [(x.instance_id, x.area, x.visibility, x.truncation) for x in inst]))
            (a, abits, ai), (b, bbits, bi) = out
            assert a.rgb.max() > 0 and len(ai) > 0
            assert np.array_equal(a.rgb, b.rgb), i
            assert np.array_equal(a.depth, b.depth), i
            assert np.array_equal(a.instance_ids, b.instance_ids), i
            assert len(abits) == len(bbits) and all(np.array_equal(x, y) for x, y in zip(abits, bbits)), i
            assert ai == bi, i
        rr._forward_pass = fast
    assert fast.calls["fast"] > 0
    assert kinds >= {"directional", "point"}, kinds  # the light kinds were exercised
