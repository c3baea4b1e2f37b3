# SPDX-License-Identifier: MIT
"""The run lock keeps one run per directory under races, after crashes and with reused pids."""

import itertools
import json
import multiprocessing
import os
import signal
import socket
import time
import types

import pytest

from convzoo import run_lock
from convzoo.errors import OutputError, RunLockedError
from convzoo.run_lock import RunLock

FORK = multiprocessing.get_context("fork")  # children share nothing of torch; fork starts them in milliseconds
RACERS, TRIALS, HOLD_S = 4, 50, 0.01


def _dead_pid() -> int:
    """A pid whose process has exited: what a crashed run's lock file names."""
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return pid


def _write_stale(path, trial):
    """A lock file left by a killed run: the previous bare-pid format, or today's JSON, naming a dead pid."""
    pid = _dead_pid()
    if trial % 2:
        path.write_text(json.dumps({"host": socket.gethostname(), "pid": pid, "started": "2026-11-30T08:00:00+00:00"}))
    else:
        path.write_text(f"{pid}\n")


def _racer(index, run_dir, start, done, holders, overlaps, spans):
    """Each trial: retry the lock with the others until it is held once; while holding, count holders.

    Retrying in a tight loop makes racers open the file just as a holder deletes it on release: the race that
    a lock without the inode check loses.
    """
    for trial in range(TRIALS):
        start.wait()
        deadline = time.monotonic() + RACERS * HOLD_S * 2
        while time.monotonic() < deadline:
            try:
                lock = RunLock(run_dir).acquire()
            except RunLockedError:
                continue
            with holders.get_lock():
                holders.value += 1
                overlaps.value += holders.value > 1
            begin = time.monotonic()  # CLOCK_MONOTONIC: one clock for all processes
            time.sleep(HOLD_S)
            end = time.monotonic()
            with holders.get_lock():
                holders.value -= 1
            lock.release()
            slot = 2 * (trial * RACERS + index)
            spans[slot], spans[slot + 1] = begin, end
            break
        done.wait()


def test_four_processes_racing_for_a_stale_lock_hold_it_one_at_a_time(tmp_path):
    start, done = FORK.Barrier(RACERS + 1), FORK.Barrier(RACERS + 1)
    holders, overlaps = FORK.Value("i", 0), FORK.Value("i", 0)
    spans = FORK.Array("d", 2 * TRIALS * RACERS, lock=False)  # (begin, end) per trial and racer; 0 = not held
    args = (tmp_path, start, done, holders, overlaps, spans)
    racers = [FORK.Process(target=_racer, args=(index, *args)) for index in range(RACERS)]
    for racer in racers:
        racer.start()
    try:
        for trial in range(TRIALS):
            _write_stale(tmp_path / ".lock", trial)
            start.wait(timeout=10)
            done.wait(timeout=10)
    finally:
        for racer in racers:
            racer.join(timeout=10)
            if racer.is_alive():
                racer.kill()
    assert all(racer.exitcode == 0 for racer in racers)
    assert overlaps.value == 0, f"two processes held the lock at once {overlaps.value} times"
    for trial in range(TRIALS):
        held = sorted(
            (spans[2 * (trial * RACERS + i)], spans[2 * (trial * RACERS + i) + 1])
            for i in range(RACERS)
            if spans[2 * (trial * RACERS + i)]
        )
        assert held, f"nobody got the lock in trial {trial}"
        assert all(a_end <= b_begin for (_, a_end), (b_begin, _) in itertools.pairwise(held)), (
            f"overlap in trial {trial}"
        )
    assert not (tmp_path / ".lock").exists()


@pytest.mark.parametrize(
    "content",
    [
        "{ppid}\n",  # the previous format, naming a live process that does not hold the lock
        '{{"host": "{host}", "pid": 1, "started": "2026-01-01T00:00:00+00:00"}}',  # pid 1 is alive, holds nothing
        "not a lock file",
        "",
    ],
    ids=["old-format-live-pid", "json-pid-1", "garbage", "empty"],
)
def test_a_lock_file_naming_a_live_pid_that_does_not_hold_it_is_taken_over(tmp_path, capsys, content):
    (tmp_path / ".lock").write_text(content.format(ppid=os.getppid(), host=socket.gethostname()))
    lock = RunLock(tmp_path).acquire()
    try:
        assert lock.held
        recorded = json.loads((tmp_path / ".lock").read_text())
        assert recorded["pid"] == os.getpid() and recorded["host"] == socket.gethostname()
        assert recorded["started"] and "proc_start" in recorded
    finally:
        lock.release()
    if content.startswith("{ppid}"):
        # the parent (pytest) runs: the note must not call it gone, since it is alive and only holds no lock
        assert f"taking over the stale lock of {tmp_path} (pid {os.getppid()} runs but does not hold it" in (
            capsys.readouterr().err
        )


def _hold(run_dir, ready, host=None):
    """Hold the lock until killed; with ``host``, pretend (in the record) to run on that host."""
    lock = RunLock(run_dir).acquire()
    if host:
        record = {"host": host, "pid": os.getpid(), "started": "2026-12-01T09:00:00+00:00"}
        os.pwrite(lock._fd, json.dumps(record).encode().ljust(300), 0)
    ready.set()
    time.sleep(60)


def _holder(run_dir, host=None):
    ready = FORK.Event()
    process = FORK.Process(target=_hold, args=(run_dir, ready, host), daemon=True)
    process.start()
    assert ready.wait(timeout=10), "the holder did not get the lock"
    return process


def _kill(process):
    """SIGKILL and reap; polls ``exitcode`` since ``join`` would wait for a forked grandchild holding its pipe."""
    process.kill()
    deadline = time.monotonic() + 10
    while process.exitcode is None and time.monotonic() < deadline:
        time.sleep(0.005)


def test_a_live_holder_is_refused_with_one_line_naming_host_and_pid(tmp_path):
    holder = _holder(tmp_path)
    try:
        with pytest.raises(RunLockedError) as refused:
            RunLock(tmp_path).acquire()
    finally:
        _kill(holder)
    message = str(refused.value)
    assert "\n" not in message
    assert f"in use by another run (pid {holder.pid} on host {socket.gethostname()} since 20" in message
    assert f"kill {holder.pid}" in message and "--out" in message


def test_a_holder_on_another_host_is_refused_with_how_to_check_and_remove_the_lock(tmp_path):
    holder = _holder(tmp_path, host="gpu-node-7")
    try:
        with pytest.raises(RunLockedError) as refused:
            RunLock(tmp_path).acquire()
    finally:
        _kill(holder)
    message = str(refused.value)
    assert "\n" not in message
    assert f"pid {holder.pid} on host gpu-node-7 since 2026-12-01T09:00:00+00:00" in message
    assert f"ps -p {holder.pid}" in message and f"remove {tmp_path / '.lock'}" in message


def test_a_second_lock_in_the_same_process_is_refused(tmp_path):
    first = RunLock(tmp_path).acquire()
    try:
        assert first.acquire() is first  # acquiring twice through one RunLock is harmless
        with pytest.raises(RunLockedError, match=f"pid {os.getpid()} .*this very process"):
            RunLock(tmp_path).acquire()
    finally:
        first.release()


def test_release_lets_the_next_acquire_succeed_and_leaves_no_file(tmp_path, capsys):
    for _ in range(3):
        with RunLock(tmp_path) as lock:
            assert lock.held and (tmp_path / ".lock").exists()
        assert not lock.held and not (tmp_path / ".lock").exists()
    assert "stale" not in capsys.readouterr().err  # a clean release leaves nothing to take over


def test_a_disabled_lock_does_nothing(tmp_path):
    lock = RunLock(tmp_path / "run", enabled=False).acquire()
    lock.release()
    assert not (tmp_path / "run").exists()


def test_the_lock_is_released_when_its_holder_is_killed(tmp_path, capsys):
    holder = _holder(tmp_path)
    with pytest.raises(RunLockedError):
        RunLock(tmp_path).acquire()
    _kill(holder)
    assert holder.exitcode == -signal.SIGKILL
    lock = RunLock(tmp_path).acquire()
    lock.release()
    assert f"taking over the stale lock of {tmp_path} (pid {holder.pid} has ended; it held it since 20" in (
        capsys.readouterr().err
    )


def _hold_and_fork(run_dir, ready, grandchild):
    """Hold the lock, then fork a long-lived child (as a data loader worker would be) and wait to be killed."""
    RunLock(run_dir).acquire()
    pid = os.fork()
    if pid == 0:
        time.sleep(60)
        os._exit(0)
    grandchild.value = pid
    ready.set()
    time.sleep(60)


def test_a_forked_child_of_the_holder_does_not_keep_the_lock_after_the_holder_dies(tmp_path):
    ready, grandchild = FORK.Event(), FORK.Value("i", 0)
    holder = FORK.Process(target=_hold_and_fork, args=(tmp_path, ready, grandchild), daemon=True)
    holder.start()
    try:
        assert ready.wait(timeout=10)
        _kill(holder)
        os.kill(grandchild.value, 0)  # still alive
        RunLock(tmp_path).acquire().release()
    finally:
        if grandchild.value:
            os.kill(grandchild.value, signal.SIGKILL)


def test_without_file_locks_an_exclusive_file_is_used_and_a_leftover_is_refused(tmp_path, monkeypatch, capsys):
    def no_locks(fd, operation):
        raise OSError(run_lock.errno.ENOLCK, "No locks available")

    monkeypatch.setattr(run_lock, "fcntl", types.SimpleNamespace(LOCK_EX=2, LOCK_NB=4, flock=no_locks))
    lock = RunLock(tmp_path).acquire()
    assert lock.held and f"if this run is killed, remove {tmp_path / '.lock'}" in capsys.readouterr().err
    with pytest.raises(RunLockedError) as refused:
        RunLock(tmp_path).acquire()
    assert "\n" not in str(refused.value)
    assert f"pid {os.getpid()} on host" in str(refused.value) and f"remove {tmp_path / '.lock'}" in str(refused.value)
    lock.release()
    assert not (tmp_path / ".lock").exists()
    RunLock(tmp_path).acquire().release()


def test_a_link_planted_as_the_lock_is_refused_and_its_target_untouched(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("SECRET\n")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / ".lock").symlink_to(victim)
    with pytest.raises(OutputError, match="is a symbolic link, not a lock file convzoo wrote"):
        RunLock(tmp_path / "run").acquire()
    assert victim.read_text() == "SECRET\n"  # before: the lock record was written over it
    assert (tmp_path / "run" / ".lock").is_symlink()  # and nothing of the user's was removed


def test_a_dangling_lock_link_is_refused_at_once(tmp_path):
    (tmp_path / ".lock").symlink_to(tmp_path / "nonexistent")
    began = time.perf_counter()
    with pytest.raises(OutputError, match="symbolic link"):  # before: open looped for ever, deaf to SIGTERM
        RunLock(tmp_path).acquire()
    assert time.perf_counter() - began < 1


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_a_lock_that_is_not_a_regular_file_is_refused_without_blocking(tmp_path, kind):
    path = tmp_path / ".lock"
    os.mkfifo(path) if kind == "fifo" else path.mkdir()
    began = time.perf_counter()
    with pytest.raises((OutputError, RunLockedError), match="FIFO|folder|is a file"):
        RunLock(tmp_path).acquire()
    assert time.perf_counter() - began < 1


def test_the_takeover_note_tells_a_reused_pid_from_an_ended_one(tmp_path, capsys):
    here = socket.gethostname()
    record = {"host": here, "pid": os.getppid(), "started": "2026-01-01T00:00:00+00:00", "proc_start": "1"}
    (tmp_path / ".lock").write_text(json.dumps(record))  # a live pid whose start time is not the recorded one
    RunLock(tmp_path).acquire().release()
    assert f"(pid {os.getppid()} has ended; that number now belongs to another process;" in capsys.readouterr().err


def test_a_huge_value_in_the_lock_file_is_cut_before_it_is_printed(tmp_path):
    holder = _holder(tmp_path)
    try:
        record = {"host": "h" * 3000, "pid": 10**40, "started": ["x"] * 100}  # 3.6 kB: read whole (4096)
        (tmp_path / ".lock").write_text(json.dumps(record))
        with pytest.raises(RunLockedError) as refused:
            RunLock(tmp_path).acquire()
    finally:
        _kill(holder)
    assert len(str(refused.value).replace(str(tmp_path), "")) < 600  # before: the 3,000-character host, whole
