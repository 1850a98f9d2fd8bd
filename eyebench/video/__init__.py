"""Eyes over time in a video: tracking (tracking.py), temporal analysis of p(closed) (temporal.py), the frame-by-frame
pipeline (pipeline.py), its output files (outputs.py) and videos made in code (synthetic.py)."""
from ..lazy import lazy_exports

_EXPORTS = {"TemporalParams": "temporal", "analyse_series": "temporal", "TrackerOptions": "options",
            "EyeTracker": "tracking", "VideoError": "pipeline", "analyse_video": "pipeline"}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
