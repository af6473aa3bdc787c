"""Scoring math (EAP with the CAT engine's IRT models) against independent computations, and
the classical item statistics of the dashboard against numpy on the same responses."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate
from scipy.special import expit

from megacity.irt import ItemParams, category_log_probs, eap
from services.exam.tests.conftest import ExamApp, make_bank, make_exam


def _quad_eap(items: list[ItemParams], scores: list[int]) -> tuple[float, float]:
    """EAP by adaptive quadrature on the continuous posterior over [-4, 4] (no grid)."""
    def like(t: float) -> float:
        g = np.array([t])
        return math.exp(sum(category_log_probs(i, g)[s][0] for i, s in zip(items, scores)) - 0.5 * t * t)

    z = integrate.quad(like, -4, 4, epsabs=1e-13, limit=200)[0]
    m = integrate.quad(lambda t: t * like(t), -4, 4, epsabs=1e-13, limit=200)[0] / z
    v = integrate.quad(lambda t: (t - m) ** 2 * like(t), -4, 4, epsabs=1e-13, limit=200)[0] / z
    return m, math.sqrt(v)


@pytest.mark.parametrize("scores", [[1, 0, 1, 1, 0, 2, 1], [0, 0, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 2, 3]])
def test_eap_matches_the_continuous_posterior(scores: list[int]) -> None:
    items = [ItemParams("logistic", 1.2, -1.0), ItemParams("logistic", 0.8, 0.0, 0.2),
             ItemParams("logistic", 1.7, 0.5, 0.15, 0.95), ItemParams("logistic", 1.0, 1.2),
             ItemParams("logistic", 2.1, -0.3, 0.25), ItemParams("grm", 1.3, thresholds=(-1.0, 0.4)),
             ItemParams("gpcm", 0.9, thresholds=(-0.7, 0.1, 1.1))]
    est = eap(items, scores)
    m, sd = _quad_eap(items, scores)
    assert est.theta == pytest.approx(m, abs=1e-3) and est.se == pytest.approx(sd, abs=1e-3)


def test_irt_models_are_the_documented_ones() -> None:
    grid = np.linspace(-3, 3, 13)
    p3 = np.exp(category_log_probs(ItemParams("logistic", 1.4, 0.3, 0.2, 0.9), grid, D=1.702))
    assert np.allclose(p3[1], 0.2 + 0.7 * expit(1.702 * 1.4 * (grid - 0.3)))
    # One threshold: GRM and GPCM both reduce to the 2PL.
    two_pl = expit(1.1 * (grid + 0.5))
    for model in ("grm", "gpcm"):
        p = np.exp(category_log_probs(ItemParams(model, 1.1, thresholds=(-0.5,)), grid))
        assert np.allclose(p[1], two_pl) and np.allclose(p.sum(axis=0), 1.0)
    # GPCM with steps (b1, b2): P(2)/P(1) = exp(a (θ - b2)).
    p = np.exp(category_log_probs(ItemParams("gpcm", 0.8, thresholds=(-1.0, 0.6)), grid))
    assert np.allclose(p[2] / p[1], np.exp(0.8 * (grid - 0.6))) and np.allclose(p.sum(axis=0), 1.0)
    assert eap([], []).theta == pytest.approx(0.0, abs=1e-12)


async def test_dashboard_item_statistics(exam_app: ExamApp) -> None:
    app = exam_app
    teacher = app.actor("teacher")
    bank, items = await make_bank(app, teacher, 4)
    exam = await make_exam(app, teacher, bank, items=items)
    patterns = [[1, 1, 1, 0], [1, 1, 0, 0], [1, 0, 0, 1], [0, 0, 0, 0], [1, 1, 1, 1]]
    for pattern in patterns:
        student = app.actor("student")
        att = await app.ok("POST", f"/api/v1/exams/{exam['id']}/start", student, 201)
        for item, right in zip(items, pattern):
            await app.ok("POST", f"/api/v1/attempts/{att['id']}/responses", student, 201,
                         json={"item_id": item["id"], "answer": "B" if right else "A"})
        await app.ok("POST", f"/api/v1/attempts/{att['id']}/submit", student)
    await app.ok("POST", f"/api/v1/exams/{exam['id']}/start", app.actor("student"), 201)  # one in progress

    # An org admin: the exam is set for no class, and teachers see only their classes' attempts.
    dash = await app.ok("GET", f"/api/v1/analytics/dashboard?exam_id={exam['id']}", app.actor("org_admin"))
    assert dash["totals"]["attempts"] == 6 and dash["totals"]["completed"] == 5 and dash["totals"]["in_progress"] == 1
    x = np.array(patterns, dtype=float)
    total = x.sum(axis=1)
    stats = {s["code"]: s for s in dash["items"]}
    for k, item in enumerate(items):
        s = stats[item["code"]]
        assert s["responses"] == 5 and s["criterion"] == "rest_score"
        assert s["p_value"] == pytest.approx(x[:, k].mean(), abs=1e-4)
        assert s["point_biserial"] == pytest.approx(np.corrcoef(x[:, k], total - x[:, k])[0, 1], abs=1e-4)
    thetas = [a["mean_theta"] for a in dash["exams"]]
    assert len(thetas) == 1 and thetas[0] == dash["totals"]["mean_theta"]
    for who in (app.actor("student"), app.actor("parent")):
        assert (await app.call("GET", "/api/v1/analytics/dashboard", who)).status_code == 403
