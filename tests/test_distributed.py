"""Remote actors feeding rlgames' learner on a real multi-node Ray cluster on this machine
(Ray's own `ray.cluster_utils.Cluster`: a head without CPUs for actors and two worker nodes),
bound to loopback."""

from __future__ import annotations

import csv
import ipaddress
import os
import signal
import time

import numpy as np
import pytest

from browsers import browsers, drivers, none_left, ray_processes

ray = pytest.importorskip("ray", reason="needs the ray extra (pip install 'rlgames[ray]')")
from ray.cluster_utils import Cluster  # noqa: E402

import rlgames  # noqa: E402
from rlgames.distributed.learner import DistributedTrainer  # noqa: E402
from rlgames.training import Trainer  # noqa: E402

pytestmark = pytest.mark.ray
LOOPBACK = "127.0.0.1"
TINY = dict(  # a small CartPole learner: the test is about where experience comes from
    progress=False, tensorboard=False, plot_every=0, torch_threads=1, learning_starts=200,
    train_freq=64, gradient_steps=16, hidden=(32,), actor_chunk=25, weights_every=20,
)  # fmt: skip


@pytest.fixture(scope="module")
def cluster():
    """A head node (no CPUs: nothing runs there but Ray itself) and two worker nodes."""
    cluster = Cluster(
        initialize_head=True, head_node_args={"num_cpus": 0, "node_ip_address": LOOPBACK}
    )
    workers = [cluster.add_node(num_cpus=1, node_ip_address=LOOPBACK) for _ in range(2)]
    cluster.wait_for_nodes()
    ray.init(address=cluster.address)
    yield cluster, {node.node_id for node in workers}
    ray.shutdown()
    cluster.shutdown()
    assert none_left(ray_processes), "Ray processes outlived the cluster's shutdown"


def test_the_cluster_listens_on_loopback_only(cluster):
    psutil = pytest.importorskip("psutil")
    names = ("gcs_server", "raylet", "ray::", "default_worker", "dashboard", "agent")
    exposed = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        text = " ".join(proc.info["cmdline"] or [proc.info["name"] or ""])
        if not any(n in text for n in names):
            continue
        try:
            sockets = proc.net_connections(kind="inet")
        except (psutil.AccessDenied, psutil.NoSuchProcess):
            continue
        exposed += [
            (text[:60], s.laddr)
            for s in sockets
            if s.status == psutil.CONN_LISTEN
            and not ipaddress.ip_address(s.laddr.ip).is_loopback
            and not _mapped_loopback(s.laddr.ip)
        ]
    assert not exposed


def _mapped_loopback(ip: str) -> bool:
    """::ffff:127.0.0.1 (an IPv4 loopback address on an IPv6 socket)."""
    mapped = getattr(ipaddress.ip_address(ip), "ipv4_mapped", None)
    return mapped is not None and mapped.is_loopback


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_actors_run_on_the_worker_nodes_and_every_chunk_reaches_the_replay(cluster, tmp_path):
    _, worker_ids = cluster
    trainer = Trainer("CartPole-v1", out=tmp_path / "run", seed=1, actors=2, **TINY)
    assert isinstance(trainer, DistributedTrainer) and trainer.replay.n_envs == 2
    try:
        placed = trainer.actor_nodes()
        assert {p["node_id"] for p in placed} == worker_ids  # one actor on each worker node
        assert len({p["pid"] for p in placed}) == 2 and os.getpid() not in {
            p["pid"] for p in placed
        }
        trainer.train(1_500)
    finally:
        trainer.close()
    assert trainer.step >= 1_500 and trainer.updates > 0
    assert len(trainer.replay) == trainer.step  # nothing received was dropped
    episodes = rows(tmp_path / "run" / "episodes.csv")
    assert {r["env"] for r in episodes} == {"0", "1"}  # both actors' episodes are logged
    assert sum(int(r["length"]) for r in episodes) <= trainer.step


def train_until_back(trainer, index, incarnation, steps, timeout_s=180):
    """Train `steps` at a time until a chunk from actor `index`'s new process (not
    `incarnation`) was added. Counting chunks would not do: one the dead process had finished
    may still arrive after the kill."""
    fleet, deadline = trainer.fleet, time.monotonic() + timeout_s  # a restart imports torch
    while fleet.incarnations[index] in (None, incarnation) or fleet.failures[index]:
        assert time.monotonic() < deadline, "the killed actor did not come back"
        trainer.train(steps)


def test_an_actor_killed_with_sigkill_is_restarted_and_training_goes_on(cluster, tmp_path):
    trainer = Trainer("CartPole-v1", out=tmp_path / "run", seed=2, actors=2, **TINY)
    killed = []

    def kill_once(t):
        if not killed and t.step >= 600:
            actor = t.actor_nodes()[0]
            os.kill(actor["pid"], signal.SIGKILL)
            killed.append((actor["pid"], actor["incarnation"]))

    trainer.callbacks.append(kill_once)
    try:
        trainer.train(2_500)
        train_until_back(trainer, 0, killed[0][1], steps=200)
        after = trainer.actor_nodes()
    finally:
        trainer.close()
    assert killed and after[0]["pid"] != killed[0][0]  # a new process took its place
    assert trainer.actor_stats.restarts == 1
    (event,) = rows(tmp_path / "run" / "actors.csv")
    assert event["event"] == "died" and event["actor"] == "0"
    assert int(event["lost_steps"]) == TINY["actor_chunk"]  # at most one chunk was unsent
    assert len(trainer.replay) == trainer.step  # every chunk received is still there
    assert trainer.step >= 2_500


def test_a_distributed_run_resumes_with_new_actors_and_evaluates_like_any_run(cluster, tmp_path):
    out = tmp_path / "run"
    rlgames.train("CartPole-v1", steps=800, out=out, seed=3, actors=2, **TINY)
    resumed = Trainer.resume(out)
    assert isinstance(resumed, DistributedTrainer)
    try:
        first = resumed.step
        resumed.train(600)
    finally:
        resumed.close()
    assert resumed.step >= first + 600
    assert resumed.actor_stats.chunks * TINY["actor_chunk"] == resumed.step  # counts restored
    assert len(resumed.replay) == resumed.step  # the saved replay, continued
    from rlgames.training.evaluation import evaluate_episodes, load_agent

    agent, env, meta = load_agent(out, device="cpu")
    result = evaluate_episodes(agent, env, 2, [0, 1])
    env.close()
    assert meta["train_config"]["actors"] == 2 and np.all(result["length"] > 0)


DINO_TINY = dict(  # two browsers collecting; the learner barely learns
    progress=False, tensorboard=False, plot_every=0, torch_threads=1, learning_starts=100,
    train_freq=50, gradient_steps=1, buffer_size=2_000, actor_chunk=20, weights_every=5,
    eval_every=0,
)  # fmt: skip


@pytest.mark.dino
def test_two_dino_actors_each_own_a_browser_and_a_killed_one_leaves_none_behind(cluster, tmp_path):
    """Actor 0 is SIGKILLed: its chromedriver and Chromium (a session of their own) outlive it
    until Ray restarts it and the new process ends them; after close() none is left."""
    assert not browsers(), "a browser of an earlier test is still running"
    _, worker_ids = cluster
    trainer = Trainer("ChromeDino-v0", out=tmp_path / "run", seed=4, actors=2, **DINO_TINY)
    try:
        placed = trainer.actor_nodes()
        assert {p["node_id"] for p in placed} == worker_ids
        trainer.train(200)
        assert len(browsers()) == 2 and len(drivers()) == 2
        os.kill(placed[0]["pid"], signal.SIGKILL)
        train_until_back(trainer, 0, placed[0]["incarnation"], steps=40)
        after = trainer.actor_nodes()
        assert after[0]["pid"] != placed[0]["pid"] and after[0]["reaped"] >= 2
        assert len(browsers()) == 2  # the dead one's browser ended, the new one's running
    finally:
        trainer.close()
    assert trainer.actor_stats.restarts == 1
    assert none_left(browsers) and none_left(drivers)
