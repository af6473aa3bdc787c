"""Pose estimation with MediaPipe Pose (BlazePose, 33 landmarks), on the CPU.

mediapipe 0.10.21 is the last release that bundles the pose detection and landmark `.tflite`
models in its wheel (`model_complexity=1`, "full"). Its metadata pins protobuf<5 and numpy<2,
which the rest of the service has outgrown; it runs with both, except for one call: protobuf
7 dropped `FieldDescriptor.label`, which `SolutionBase._modify_calculator_options` reads to
tell repeated fields apart. `_adapt_to_protobuf()` re-compiles that one method from
mediapipe's own source with `is_repeated` instead; nothing else is changed.

Images: a pool of static-mode graphs, one per slot (a graph is not thread-safe). Video: frames
read with OpenCV, sampled evenly (or at a given rate); consecutive frames run through a
tracking graph, sparse samples through a static one.
"""
from __future__ import annotations

import inspect
import math
import queue
import textwrap
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from megacity.errors import AppError
from megacity.telemetry.logs import get_logger
from services.inference import metrics
from services.inference.gate import CancelToken
from services.inference.settings import InferenceSettings

log = get_logger("inference.pose")
LANDMARKS = 33
# Landmark indices (BlazePose topology) that other modules name.
NOSE, LEFT_SHOULDER, RIGHT_SHOULDER, LEFT_HIP, RIGHT_HIP = 0, 11, 12, 23, 24
_adapted = threading.Lock()
_adapted_done = False


@dataclass
class PoseFrame:
    index: int
    timestamp: float
    landmarks: list[tuple[float, float, float, float]] = field(default_factory=list)  # x, y, z, visibility


@dataclass
class PoseResult:
    frames: list[PoseFrame]
    width: int
    height: int
    fps: float = 0.0
    total_frames: int = 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "width": self.width, "height": self.height, "fps": self.fps, "total_frames": self.total_frames,
            "landmark_names": "mediapipe-pose-33",
            "frames": [{"index": f.index, "timestamp": round(f.timestamp, 4),
                        "landmarks": [[round(v, 5) for v in lm] for lm in f.landmarks]} for f in self.frames],
        }


def _adapt_to_protobuf() -> None:
    global _adapted_done
    with _adapted:
        if _adapted_done:
            return
        from google.protobuf import descriptor_pb2
        from mediapipe.python import solution_base

        probe = descriptor_pb2.FileDescriptorProto.DESCRIPTOR.fields_by_name["dependency"]
        if not hasattr(probe, "label"):
            method = solution_base.SolutionBase._modify_calculator_options
            source = textwrap.dedent(inspect.getsource(method))
            fixed = (source.replace("field_name].label", "field_name]")
                     .replace("if field_label == descriptor.FieldDescriptor.LABEL_REPEATED:",
                              "if field_label.is_repeated:"))
            if fixed == source or "is_repeated" not in fixed:
                raise RuntimeError("this mediapipe release does not match the protobuf adaptation; pin mediapipe==0.10.21")
            namespace: dict[str, Any] = {}
            exec(compile(fixed, inspect.getsourcefile(method) or "solution_base.py", "exec"),  # noqa: S102
                 solution_base.__dict__, namespace)
            solution_base.SolutionBase._modify_calculator_options = namespace["_modify_calculator_options"]
            log.info("adapted mediapipe's solution graph options to protobuf without FieldDescriptor.label")
        _adapted_done = True


class PoseBackend:
    model = "pose"
    backend = "mediapipe"

    def __init__(self, settings: InferenceSettings, device: str, threads: int) -> None:
        self.settings = settings
        self.device = "cpu"  # MediaPipe's Linux wheels run pose on the CPU (XNNPACK)
        self.threads = threads
        self.name = "mediapipe-pose-full"
        self._static: queue.Queue[Any] = queue.Queue()
        self._mp_pose: Any = None

    @property
    def description(self) -> str:
        return f"{self.name} (tflite, cpu)"

    def load(self) -> None:
        import mediapipe.python.solutions.pose as mp_pose

        _adapt_to_protobuf()
        self._mp_pose = mp_pose
        for _ in range(max(1, self.settings.pose_max_concurrency)):
            self._static.put(self._graph(static=True))

    def _graph(self, static: bool) -> Any:
        return self._mp_pose.Pose(static_image_mode=static, model_complexity=1, smooth_landmarks=not static,
                                  enable_segmentation=False, min_detection_confidence=0.5)

    def warm_up(self) -> None:
        # Every pooled graph runs once (the first run builds XNNPACK kernels).
        graphs = [self._static.get() for _ in range(self._static.qsize())]
        blank = np.zeros((256, 256, 3), dtype=np.uint8)
        try:
            for g in graphs:
                g.process(blank)
        finally:
            for g in graphs:
                self._static.put(g)

    @staticmethod
    def _landmarks(result: Any) -> list[tuple[float, float, float, float]]:
        if result.pose_landmarks is None:
            return []
        return [(lm.x, lm.y, lm.z, lm.visibility) for lm in result.pose_landmarks.landmark]

    def estimate_image(self, rgb: np.ndarray, token: CancelToken) -> PoseResult:
        token.check()
        graph = self._static.get()
        try:
            landmarks = self._landmarks(graph.process(rgb))
        finally:
            self._static.put(graph)
        metrics.POSE_FRAMES.labels(self.backend).inc()
        return PoseResult(frames=[PoseFrame(0, 0.0, landmarks)], width=rgb.shape[1], height=rgb.shape[0])

    def estimate_video(self, path: str, max_frames: int, sample_fps: float, token: CancelToken) -> PoseResult:
        import cv2

        cap = cv2.VideoCapture(path)
        if not cap.isOpened():
            raise AppError(400, "inference.bad_media", "the media is neither a decodable image nor a video")
        try:
            fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
            total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
            width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH) or 0)
            height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0)
            max_frames = max(1, min(max_frames or self.settings.pose_default_frames, self.settings.pose_max_frames))
            if sample_fps > 0 and fps > 0:
                step = max(1, round(fps / sample_fps))
            else:
                step = max(1, math.ceil(total / max_frames)) if total > 0 else 1
            graph: Any = self._graph(static=False) if step == 1 else None  # consecutive frames: track
            pooled: Any = self._static.get() if graph is None else None  # one of the two is a graph
            frames: list[PoseFrame] = []
            index = 0
            try:
                while len(frames) < max_frames:
                    token.check()
                    if index % step:
                        if not cap.grab():
                            break
                        index += 1
                        continue
                    ok, bgr = cap.read()
                    if not ok:
                        break
                    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                    result = (graph or pooled).process(rgb)
                    frames.append(PoseFrame(index, index / fps if fps > 0 else 0.0, self._landmarks(result)))
                    height, width = rgb.shape[:2]
                    index += 1
            finally:
                if graph is not None:
                    graph.close()
                if pooled is not None:
                    self._static.put(pooled)
            if not frames:
                raise AppError(400, "inference.bad_media", "the video has no decodable frames")
            metrics.POSE_FRAMES.labels(self.backend).inc(len(frames))
            return PoseResult(frames=frames, width=width, height=height, fps=fps, total_frames=total or index)
        finally:
            cap.release()
