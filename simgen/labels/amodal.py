"""Labels of one rendered frame: visible masks from the id map, amodal areas from the renderer (engine-free).

The renderer is any :class:`simgen.renderers.base.Renderer`: it reports how many pixels each object covers when
rendered alone (occluded by nothing), in the scene's view and in a 2x wider view for objects cut by the border.
"""

from __future__ import annotations

from simgen.core.frame import Frame
from simgen.labels.extract import Instance, border_touching, extract, instance_stats
from simgen.scene.model import Camera, Scene


def label_frame(renderer, scene: Scene, frame: Frame, min_visibility: float = 0.1,
                min_area: int = 1) -> list[Instance]:
    """Exact labels of the frame ``renderer`` rendered last (of ``scene``).

    Visibility: every labelled object in view is rendered alone (``renderer.amodal_areas``), so occlusion by
    anything (other objects, distractors, the table) is counted. Truncation: objects touching the border are
    rendered alone in a 2x wider view at the same image size (half resolution), so their silhouette outside the
    image is counted (a second pass).
    """
    ids = frame.instance_ids
    stats = instance_stats(ids)
    categories = {o.instance_id: o.category for o in scene.objects if o.category is not None}
    present = sorted(i for i in stats if i in categories)
    amodal: dict[int, int] = {}
    if present:
        totals, _ = renderer.amodal_areas(present)
        amodal = dict(zip(present, totals))
    trunc: dict[int, float] = {}
    c = scene.camera
    touching = sorted(border_touching(stats, c.height, c.width) & set(present))
    if touching:
        wide = Camera(fx=c.fx / 2, fy=c.fy / 2, cx=c.cx / 2 + c.width / 4, cy=c.cy / 2 + c.height / 4,
                      width=c.width, height=c.height, znear=c.znear, zfar=c.zfar, T_world_cam=c.T_world_cam)
        x0, y0 = c.width // 4, c.height // 4
        totals, inside = renderer.amodal_areas(touching, wide, (x0, y0, x0 + c.width // 2, y0 + c.height // 2))
        for iid, total, n_in in zip(touching, totals, inside):
            trunc[iid] = 0.0 if total == 0 else max(0.0, 1.0 - n_in / total)
    return extract(ids, categories, amodal, trunc, min_visibility, min_area, stats=stats)
