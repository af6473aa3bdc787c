"""K-Zone and the real inference service together (CPU models, real NATS/Redis/PostgreSQL):
a sentence spoken by espeak-ng is transcribed and scored against its reference text (a wrong
reference scores lower), and pose detection on a real photograph of a person returns plausible
landmarks stored as a keypoints object."""
from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
import pytest

from megacity.testing import run_service, spoken_wav
from services.kzone.tests.conftest import KZONE_HOST
from services.kzone.tests.media_samples import multipart
from services.kzone.tests.worker import wait_for

pytestmark = pytest.mark.slow

SENTENCE = "Please open your books and read the first chapter about the history of music."
WRONG = "The weather will be cold and windy tomorrow in the northern mountains."
NOSE, LEFT_HIP, RIGHT_HIP = 0, 23, 24


async def test_voice_and_pose_through_the_inference_service(test_db, namespace, token_mint, tmp_path: Path,
                                                             nats_client, redis_client) -> None:
    import cv2  # requirements-ml.txt, installed by scripts/setup.sh: missing is a failure, not a skip
    from skimage import data

    speech = tmp_path / "sentence.wav"
    spoken_wav(SENTENCE, speech)
    ok, photo = cv2.imencode(".jpg", cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    assert ok
    root = tmp_path / "objects"
    async with run_service("kzone", test_db, namespace, object_backend="fs", object_root=str(root),
                           secret_key="kzone-test-secret-key") as kz, \
            run_service("inference", None, namespace, models="stt,pose", object_root=str(root)):
        token_mint.install(kz.app)
        me = {"Host": KZONE_HOST, "Authorization": f"Bearer {token_mint.token(zone_id=6, role='student', org_id=uuid.uuid4())}"}
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{kz.http_port}", timeout=60) as c:
            jobs = {}
            for name, reference in (("right", SENTENCE), ("wrong", WRONG)):
                body, ctype = multipart({"reference_text": reference, "language": "en", "feedback": "false"},
                                        {"audio": ("sentence.wav", speech.read_bytes(), "audio/wav")})
                resp = await c.post("/api/v1/kzone/voice/analyze", content=body, headers={**me, "Content-Type": ctype})
                assert resp.status_code == 202, resp.text
                jobs[name] = resp.json()["job_id"]
            body, ctype = multipart({}, {"file": ("astronaut.jpg", photo.tobytes(), "image/jpeg")})
            resp = await c.post("/api/v1/kzone/dance/pose-detection", content=body, headers={**me, "Content-Type": ctype})
            assert resp.status_code == 202, resp.text
            jobs["pose"] = resp.json()["job_id"]

            async def finished(job_id: str):
                state = (await c.get(f"/api/v1/jobs/{job_id}/progress", headers=me)).json()
                return state if state.get("status") in ("succeeded", "failed") else None

            states = await asyncio.gather(*(wait_for(lambda j=j: finished(j), timeout=240, interval=0.5)
                                            for j in jobs.values()))
            assert [s["status"] for s in states] == ["succeeded"] * 3, states
            results = {name: (await c.get(f"/api/v1/kzone/jobs/{job_id}/result", headers=me)).json()
                       for name, job_id in jobs.items()}

    right, wrong = results["right"]["result"], results["wrong"]["result"]
    print(f"\ntranscript {right['transcript']!r}: score {right['pronunciation_score']} with the right reference, "
          f"{wrong['pronunciation_score']} with a wrong one; pose nose {results['pose']['result']['first_pose'][0]}")
    assert "books" in right["transcript"].lower() and "music" in right["transcript"].lower()
    assert right["pronunciation_score"] >= 60 and right["accuracy"] >= 0.7
    assert wrong["pronunciation_score"] < right["pronunciation_score"] - 40
    timed = [a for a in right["alignment"] if a["op"] == "correct"]
    assert timed and all(a["start"] is not None and a["end"] >= a["start"] for a in timed)

    pose = results["pose"]["result"]
    assert pose["frames_with_pose"] == 1 and pose["landmarks_per_frame"] == 33
    landmarks = pose["first_pose"]
    assert all(0.0 <= p[0] <= 1.0 for p in landmarks[:11])  # the face is in the picture
    assert landmarks[NOSE][1] < min(landmarks[LEFT_HIP][1], landmarks[RIGHT_HIP][1])  # head above hips
    keypoints = root / pose["keypoints_key"]
    assert pose["keypoints_key"].startswith("kzone/pose/") and keypoints.is_file()
