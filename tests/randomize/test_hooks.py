"""Randomizer hooks without GL: off draws nothing and changes nothing, families have their own streams,
sampled scene parameters stay in their configured ranges."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

from simgen.run.worker import sample_rng
from simgen.randomize.pipeline import Randomizer
from simgen.core.rngs import family_rng
from simgen.randomize.schema import FAMILY_TYPES
from simgen.scene.sampler import sample_scene
from simgen.scene.catalog import AssetCatalog
from simgen.scene.spec import load_scene
from simgen.paths import assets_dir, scenes_dir


@pytest.fixture(scope="module")
def spec():
    return load_scene(scenes_dir() / "default.yaml")


def _catalog(spec):
    return AssetCatalog.from_spec(spec, assets_dir(), 256)


def _state(rng):
    return copy.deepcopy(rng.bit_generator.state)


def test_family_rng_reads_the_seed_sequence_without_drawing():
    rng = sample_rng(3, 7)
    before = _state(rng)
    a = family_rng(rng, FAMILY_TYPES["weather"].stream_id, "after_render").random(4)
    assert _state(rng) == before
    assert np.array_equal(a, family_rng(sample_rng(3, 7), FAMILY_TYPES["weather"].stream_id, "after_render").random(4))
    rng.random(10)  # the sample's own draws (scene sampler, physics) do not move a family's stream
    assert np.array_equal(a, family_rng(rng, FAMILY_TYPES["weather"].stream_id, "after_render").random(4))
    others = [family_rng(sample_rng(3, 7), FAMILY_TYPES[f].stream_id, "after_render").random(4)[0] for f in ("sensor", "defects")]
    others += [family_rng(sample_rng(3, 8), FAMILY_TYPES["weather"].stream_id, "after_render").random(4)[0],
               family_rng(sample_rng(3, 7), FAMILY_TYPES["weather"].stream_id, "after_physics").random(4)[0],
               sample_rng(3, 7).random()]
    assert len({a[0], *others}) == 6  # every family/stage/sample has its own stream


def test_off_hooks_are_the_identity_and_draw_nothing(spec, compose_cfg):
    cfg = compose_cfg("randomization=off")
    r = Randomizer.from_config(cfg.randomization, spec)
    cat = _catalog(spec)
    keys = set(cat.meshes)
    r.extend_catalog(cat, assets_dir())
    assert set(cat.meshes) == keys and r.pool_sizes(cat, {}) == {} and r.extra_categories() == []
    rng = sample_rng(0, 0)
    scene = sample_scene(spec, cat, rng, 160, 120)
    st = _state(rng)
    assert r.before_physics(scene, cat, rng) is scene
    assert r.after_physics(scene, cat, rng) is scene

    class F:
        rgb = np.zeros((120, 160, 3), np.uint8)
        depth = np.zeros((120, 160), np.float32)
        instance_ids = np.zeros((120, 160), np.int32)

    rgb, extra = r.after_render(F, scene, [], rng)
    assert rgb is F.rgb and extra == []
    assert _state(rng) == st


def _prepared(spec, rcfg):
    r = Randomizer.from_config(rcfg, spec)
    cat = _catalog(spec)
    r.extend_catalog(cat, assets_dir())
    return r, cat


def _run_hooks(spec, rcfg, index=0, prepared=None):
    r, cat = prepared or _prepared(spec, rcfg)
    rng = sample_rng(0, index)
    scene = sample_scene(spec, cat, rng, 320, 240)
    st = _state(rng)
    scene = r.before_physics(scene, cat, rng)
    scene = r.after_physics(scene, cat, rng)
    assert _state(rng) == st  # families never draw from the sample's stream
    return scene, cat, r


def test_families_do_not_shift_each_other(spec, compose_cfg):
    only = compose_cfg("randomization=off", "randomization/lighting=strong").randomization
    everything = compose_cfg("randomization=strong").randomization
    pa, pb = _prepared(spec, only), _prepared(spec, everything)
    for i in range(3):
        a, _, _ = _run_hooks(spec, only, i, pa)
        b, _, _ = _run_hooks(spec, everything, i, pb)
        assert len(a.lights) == len(b.lights) > 0
        for la, lb in zip(a.lights, b.lights):
            assert la.kind == lb.kind and la.intensity == lb.intensity
            assert np.array_equal(la.T_world_light, lb.T_world_light)
        assert np.array_equal(a.ambient, b.ambient)


def test_strong_parameters_stay_in_range_and_vary(spec, compose_cfg):
    r = compose_cfg("randomization=strong").randomization
    cam_d0, cam_d1 = spec.camera.distance
    n_lights, kinds, dists, rolls, fx, counts, metallic, scales = [], set(), [], [], [], [], [], []
    labelled_max = sum(o.count[1] for o in spec.objects) + 2 * len(spec.objects)
    prepared = _prepared(spec, r)
    for i in range(25):
        scene, cat, rz = _run_hooks(spec, r, i, prepared)
        n_lights.append(len(scene.lights))
        kinds |= {L.kind for L in scene.lights}
        for L in scene.lights:
            assert np.all((L.color >= 0) & (L.color <= 1)) and L.intensity > 0
            if L.kind == "directional":
                assert 0.6 <= L.intensity <= 9.0
        c = scene.camera
        d = float(np.linalg.norm(c.T_world_cam[:3, 3] - np.asarray(spec.camera.look_at)))
        dists.append(d)
        assert cam_d0 * 0.75 * 0.8 <= d <= cam_d1 * 1.5 * 1.2  # distance scale x (look-at jitter)
        fx.append(c.fx / (spec.camera.fx * 320 / 640))
        labelled = [o for o in scene.objects if o.category is not None]
        distract = [o for o in scene.objects if o.category is None]
        counts.append(len(labelled))
        assert len(labelled) <= labelled_max and 2 <= len(distract) <= 6
        ids = [o.instance_id for o in scene.objects]
        assert ids == list(range(1, len(ids) + 1))
        for o in scene.objects:
            metallic.append(o.metallic)
            assert 0.15 <= o.roughness <= 1.0
            assert o.asset_key in cat and o.asset_key in rz.pool_sizes(cat, {}) or o.asset_key in cat.object_keys
        for o, ospec in [(o, spec.objects[cat.object_keys.index(o.asset_key.split("#")[0])]) for o in labelled]:
            scales.append(o.scale)
            assert ospec.scale[0] * 0.75 - 1e-9 <= o.scale <= ospec.scale[1] * 1.3 + 1e-9
        assert 0.02 <= float(scene.ambient.max()) <= 0.8 + 1e-9
    assert 1 <= min(n_lights) and max(n_lights) <= 4 and len(set(n_lights)) > 1
    assert kinds == {"directional", "point", "spot"}
    assert 0.8 - 1e-9 <= min(fx) and max(fx) <= 1.25 + 1e-9 and np.std(fx) > 0
    assert np.std(dists) > 0 and len(set(counts)) > 2 and np.std(scales) > 0
    lab_metal = [m for m in metallic if m is not None]
    assert max(lab_metal) <= 0.7 + 1e-9 and np.std(lab_metal) > 0


def test_pool_sizes_cover_the_largest_draw(spec, compose_cfg):
    r = compose_cfg("randomization=strong").randomization
    rz = Randomizer.from_config(r, spec)
    cat = _catalog(spec)
    rz.extend_catalog(cat, assets_dir())
    pools = {k: int(o.count[1]) for k, o in zip(cat.object_keys, spec.objects)}
    rz.pool_sizes(cat, pools)
    for i in range(20):
        rng = sample_rng(1, i)
        scene = rz.after_physics(rz.before_physics(sample_scene(spec, cat, rng, 160, 120), cat, rng), cat, rng)
        used: dict[str, int] = {}
        for o in scene.objects:
            used[o.asset_key] = used.get(o.asset_key, 0) + 1
        for key, _ in scene.environment:
            used[key] = used.get(key, 0) + 1
        for k, n in used.items():
            assert k in cat
            if k.startswith("__surface__") or k.startswith("__wall__"):
                continue
            assert n <= pools[k], k


def test_distractor_meshes_skip_textured_and_the_scenes_own(ycb_root, compose_cfg):
    spec = load_scene(scenes_dir() / "ycb_video.yaml")
    r = compose_cfg("randomization=off", "randomization/distractors=strong").randomization
    rz = Randomizer.from_config(r, spec)
    from simgen.randomize.families.distractors import _mesh_files

    files = _mesh_files(r.distractors, spec, ycb_root)
    own = {(ycb_root / o.mesh).resolve() for o in spec.objects}
    assert not own & set(files)
    r.distractors.max_meshes = 3
    cat = AssetCatalog({}, [])
    rz.extend_catalog(cat, ycb_root)
    assert len(cat.groups["distractor_meshes"]) == 3
    for k in cat.groups["distractor_meshes"]:  # the textured YCB meshes (labelled classes) never become distractors
        src = Path(cat[k].source)
        assert not (src.parent / "texture_map.png").exists() and cat[k].texture is None


def test_print_bank_adds_packaging_and_leaves_the_rest_of_the_bank_alone(spec, compose_cfg):
    """print_bank=N appends N printed boxes/cans (distinct generated prints, same for the same seed); every other
    bank entry keeps its geometry and texture, so print_bank=0 is the bank as before the option existed."""
    def bank(n):
        r = compose_cfg("randomization=off", "randomization/distractors=moderate").randomization
        r.distractors.print_bank = n
        rz = Randomizer.from_config(r, spec)
        cat = _catalog(spec)
        rz.extend_catalog(cat, assets_dir())
        return cat, next(f for f in rz.families if f.name == "distractors").prim_keys

    cat0, keys0 = bank(0)
    cat4, keys4 = bank(4)
    cat4b, _ = bank(4)
    assert keys4[:len(keys0)] == keys0 and len(keys4) == len(keys0) + 4
    for k in keys0:
        assert np.array_equal(cat0[k].vertices, cat4[k].vertices)
        assert (cat0[k].texture is None) == (cat4[k].texture is None)
        if cat0[k].texture is not None:
            assert np.array_equal(cat0[k].texture, cat4[k].texture)
    prints = keys4[len(keys0):]
    assert [k.split(":")[1] for k in prints] == ["box__", "cylinder__", "box__", "cylinder__"]
    for k in prints:
        m = cat4[k]
        assert m.texture is not None and m.texture.dtype == np.uint8 and m.uv.shape == (len(m.vertices), 2)
        assert m.collision is not None and m.collision[0] in ("box", "cylinder")
        assert np.array_equal(m.texture, cat4b[k].texture)
    assert not np.array_equal(cat4[prints[0]].texture, cat4[prints[2]].texture)


def test_make_print_has_lettering_and_is_seeded():
    from simgen.scene.textures import make_print

    a, b, c = (make_print(np.random.default_rng(s), 256) for s in (1, 1, 2))
    assert a.shape == (256, 256, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    for img in (a, c):  # print, not a flat colour: sharp edges (lettering, bands) and several inks
        g = img.astype(np.float32).mean(2)
        assert np.abs(np.diff(g, axis=1)).max() > 60
        assert len(np.unique(img.reshape(-1, 3) // 32, axis=0)) >= 3
