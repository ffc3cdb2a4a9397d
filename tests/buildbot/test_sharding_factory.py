"""The sharded factory's shape, without a master: which steps, in which order, with which properties."""

from __future__ import annotations

from buildbot.process.buildstep import get_factory_from_step_or_factory
from buildbot.schedulers.triggerable import Triggerable
from buildbot.steps.trigger import Trigger

from emscripten_python.steps.factory import EmscriptenFactory
from emscripten_python.steps.regrtest import EmscriptenTest
from emscripten_python.steps.sharding import (EmscriptenMergeTest, EmscriptenShardTest, EmscriptenShardTrigger,
                                              sharded_builders)


def _names(factory) -> list[str]:
    return [step.buildStep().name for step in factory.steps]


def test_parent_replaces_test_and_bundle_by_the_sharded_four():
    plain = _names(EmscriptenFactory(branch="main", tests="test_os"))
    parent, shard, scheduler = sharded_builders("Emscripten main", ["w1", "w2"], shards=3, tests="test_os",
                                                branch="main")
    sharded = _names(parent.factory)
    at = plain.index("test")
    assert plain[at:at + 2] == ["test", "bundle"]
    assert sharded == plain[:at] + ["bundle", "upload-bundle-for-shards", "shards", "test"] + plain[at + 2:]
    merge = next(s for s in parent.factory.steps if s.step_class is EmscriptenMergeTest).buildStep()
    assert merge.command[1:3] == ["merge", "../emscripten-python-out"]
    assert merge.command[3:] == [f"../emscripten-python-in/{i}.json" for i in (1, 2, 3)]
    assert isinstance(scheduler, Triggerable) and scheduler.name == "Emscripten main shards"
    assert scheduler.builderNames == [shard.name] and shard.collapseRequests is False
    assert _names(shard.factory) == ["clean-previous", "download-bundle", "test", "upload-shard-results", "clean"]
    test = next(s for s in shard.factory.steps if s.step_class is EmscriptenShardTest).buildStep()
    assert test.name == "test" and "--from-bundle" in test.command and "--shard" in test.command
    # The CLI refuses --source with --from-bundle (exit 2). (A Property compares as a renderable: strings only.)
    assert "--source" not in [arg for arg in test.command if isinstance(arg, str)]
    assert not any(s.step_class is EmscriptenTest for s in parent.factory.steps)
    # The shard ran the PR's code: its results.json reaches the master only up to the size every
    # reader accepts (plus one byte), never filling the master's disk.
    from emscripten_python.results.validation import Limits
    upload = next(s for s in shard.factory.steps if s.buildStep().name == "upload-shard-results").buildStep()
    assert upload.maxsize == Limits().max_file_bytes + 1


def test_trigger_asks_for_one_build_per_shard():
    trigger = get_factory_from_step_or_factory(
        EmscriptenShardTrigger("Emscripten main shards", 3, upload_dir="artifacts")).buildStep()
    assert isinstance(trigger, Trigger) and trigger.waitForFinish and not trigger.flunkOnFailure
    # What Trigger.run finds after rendering its renderables.
    trigger.set_properties = {"shard_bundle": "/m/artifacts/Emscripten-main/7/b.tar.gz",
                              "shard_results_root": "artifacts/Emscripten-main/7/shards"}
    requests = trigger.getSchedulersAndProperties()
    assert [r["sched_name"] for r in requests] == ["Emscripten main shards"] * 3
    assert [r["props_to_set"]["shard"] for r in requests] == ["1/3", "2/3", "3/3"]
    assert [r["props_to_set"]["shard_results_dest"] for r in requests] == [
        f"artifacts/Emscripten-main/7/shards/{i}.json" for i in (1, 2, 3)]
    assert all(r["props_to_set"]["shard_bundle"].endswith("b.tar.gz") and not r["unimportant"] for r in requests)
