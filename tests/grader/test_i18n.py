"""The feedback's languages: the catalogue is complete and current, its placeholders match, and the language
is chosen the way people expect (--lang, then the environment, then course.yaml) and bound per call."""
from __future__ import annotations

import gettext
import io
import re
import string
import threading

import pytest
from babel.messages.pofile import read_po

from grader import i18n

LANGS = [lang for lang in i18n.LANGUAGES if lang != i18n.ENGLISH]


def read_catalogue(po, lang: str = "zh_CN"):
    with po.open("rb") as f:
        return read_po(f, locale=lang, domain=i18n.DOMAIN)


def catalogue(lang: str):
    return read_catalogue(i18n.catalogue_path(lang), lang)


def fields(text: str) -> list[str]:
    """The ``{placeholders}`` of a message, sorted (a translation may reorder them, never add or drop one)."""
    return sorted(name for _, name, _, _ in string.Formatter().parse(text) if name is not None)


def ids(messages) -> set:
    return {m.id for m in messages if m.id}


@pytest.fixture(scope="module")
def template():
    return i18n.extract()


@pytest.mark.parametrize("lang", LANGS)
def test_the_catalogue_holds_exactly_the_messages_of_the_code(lang, template):
    """A message added to the code and not to the catalogue, or left in the catalogue after the code dropped
    it, is named: run ``python -m grader.i18n update`` and translate what it adds."""
    po = catalogue(lang)
    assert sorted(map(str, ids(template) - ids(po))) == [], "not in the catalogue (stale: run grader.i18n update)"
    assert sorted(map(str, ids(po) - ids(template))) == [], "in the catalogue, no longer in the code"
    assert not po.obsolete


@pytest.mark.parametrize("lang", LANGS)
def test_every_message_is_translated_with_the_same_placeholders(lang):
    problems = []
    for m in catalogue(lang):
        if not m.id:
            continue
        singular, plural = (m.id, m.id) if isinstance(m.id, str) else m.id
        strings = [m.string] if isinstance(m.string, str) else list(m.string)
        if not all(strings) or m.fuzzy:
            problems.append(f"no translation: {singular!r}")
            continue
        wanted = fields(plural) if isinstance(m.id, tuple) else fields(singular)
        problems += [f"placeholders differ: {singular!r}: {fields(s)} vs {wanted}" for s in strings
                     if set(fields(s)) != set(wanted) and set(fields(s)) != set(fields(singular))]
        if lang == "zh_CN":  # words are translated: an entry with no Chinese in it was copied, not translated
            problems += [f"not Chinese: {singular!r} -> {s!r}" for s in strings
                         if not re.search(r"[\u4e00-\u9fff]", s) and re.search(r"[A-Za-z]{3}", re.sub(r"\{\w*\}", "", singular))]
    assert problems == []


def test_the_placeholder_check_sees_a_dropped_or_renamed_field():
    assert fields("{name}: shape {got}, expected {expected}") == ["expected", "got", "name"]
    assert fields("{name}：形状为 {got}") != fields("{name}: shape {got}, expected {expected}")
    assert fields("{nom}：形状为 {got}，应为 {expected}") != fields("{name}: shape {got}, expected {expected}")


def test_the_extraction_finds_a_new_message_the_catalogue_lacks(tmp_path):
    """The staleness test can fail: a module with a message the catalogue does not hold is found."""
    (tmp_path / "new.py").write_text('from grader.i18n import _\nx = _("a message nobody translated: {n}", n=1)\n')
    extracted = ids(i18n.extract(tmp_path))
    assert extracted == {"a message nobody translated: {n}"}
    assert extracted - ids(catalogue("zh_CN"))


@pytest.mark.parametrize("lang", LANGS)
def test_the_compiled_catalogue_is_what_the_grader_reads(lang):
    data = i18n.compiled(i18n.catalogue_path(lang))
    assert data == i18n.compiled(i18n.catalogue_path(lang))  # deterministic: the student repository ships it
    read = gettext.GNUTranslations(io.BytesIO(data))
    for m in catalogue(lang):
        if m.id and isinstance(m.id, str):
            assert read.gettext(m.id) == m.string


def test_english_is_the_code_s_own_text_and_chinese_is_bound_per_call():
    message = "{name}: shape {got}, expected {expected}"
    assert i18n.current() == "en"
    assert i18n._(message, name="dw", got="(9, 6)", expected="(6, 9)") == "dw: shape (9, 6), expected (6, 9)"
    with i18n.using("zh_CN"):
        assert i18n._(message, name="dw", got="(9, 6)", expected="(6, 9)") == "dw：形状为 (9, 6)，应为 (6, 9)"
        seen = []
        thread = threading.Thread(target=lambda: seen.append(i18n._("failed")))  # another thread: its own language
        thread.start()
        thread.join()
        assert seen == ["failed"] and i18n._("failed") == "未通过"
    assert i18n._("failed") == "failed"
    assert i18n.ngettext("{aid}: {score} / {most} points ({n} task)", "{aid}: {score} / {most} points ({n} tasks)",
                         2, aid="a02", score="1", most="2") == "a02: 1 / 2 points (2 tasks)"


@pytest.mark.parametrize("option, environ, course, expected", [
    ("zh_CN", {"LANG": "en_US.UTF-8"}, "en", "zh_CN"),          # --lang first
    ("en", {"LANG": "zh_CN.UTF-8"}, "zh_CN", "en"),
    (None, {"LANG": "zh_CN.UTF-8"}, "en", "zh_CN"),             # then the environment
    (None, {"LC_ALL": "en_GB.UTF-8", "LANG": "zh_CN.UTF-8"}, None, "en"),  # LC_ALL before LANG
    (None, {"LC_MESSAGES": "zh_CN", "LANG": "en_US"}, None, "zh_CN"),
    (None, {"LANG": "C.UTF-8"}, "zh_CN", "zh_CN"),              # C names no language: course.yaml decides
    (None, {"LANG": "de_DE.UTF-8"}, "zh_CN", "zh_CN"),          # one not spoken here neither
    (None, {}, None, "en"),
    ("zh-CN", {}, None, "zh_CN"),
    (None, {"LANG": "zh_TW.UTF-8"}, None, "en"),                # traditional Chinese is not this catalogue
])
def test_the_language_is_the_option_then_the_environment_then_course_yaml(option, environ, course, expected):
    assert i18n.choose(option, course, environ) == expected


def test_an_unknown_language_option_is_refused_naming_the_choices():
    with pytest.raises(ValueError, match="unknown language 'fr': en or zh_CN"):
        i18n.choose("fr", None, {})


def test_each_assignment_has_a_chinese_title_and_its_skeleton_names_its_section_of_the_notes_in_both_languages():
    import ast

    from grader import paths
    from grader.course import config
    course = config.load(paths.COURSE)
    for a in course.assignments:
        assert re.search(r"[\u4e00-\u9fff]", a.title_zh), a.id
        assert a.title_in("zh_CN") == a.title_zh and a.title_in("en") == a.title
        doc = ast.get_docstring(ast.parse((paths.ASSIGNMENTS / a.id / "__init__.py").read_text(encoding="utf-8")))
        assert re.search(r"^The section of the course notes it follows: \w", doc, re.M), a.id
        assert re.search(r"^课程讲义中对应的章节：[\u4e00-\u9fffA-Za-z]", doc, re.M), a.id


def test_course_yaml_s_language_is_checked(tmp_path):
    from grader import paths
    from grader.course import config
    text = paths.COURSE.read_text(encoding="utf-8").replace("\nlanguage: en\n", "\nlanguage: fr\n")
    with pytest.raises(config.ConfigError, match=r"course.yaml:\d+: language: unknown language 'fr' "
                                                 r"\(expected one of: en, zh_CN\)"):
        config.parse(text)
    assert config.parse(text.replace("\nlanguage: fr\n", "\nlanguage: zh_CN\n")).language == "zh_CN"


def test_assignments_graded_side_by_side_are_written_in_the_caller_s_language(tmp_path):
    """``grade(jobs=2)`` grades assignments in threads of its own: each writes in the language of the call."""
    import shutil

    from grader import paths
    from grader.judge.pipeline import grade
    from grader.sandbox.session import runner_for
    from tests.helpers import COURSE
    shutil.copytree(paths.ROOT / "examples" / "buggy_submission" / "a02_mlp_backprop", tmp_path / "a02_mlp_backprop")
    shutil.copytree(paths.ASSIGNMENTS / "a03_neuroevolution", tmp_path / "a03_neuroevolution")
    with i18n.using("zh_CN"):
        result = grade(tmp_path, COURSE, ["a02", "a03"], runner=runner_for("cpu"), jobs=2)
    failed = [c for t in result.assignments[0].tasks for c in t.checks if not c.passed]
    assert failed and all(c.message.startswith(("前向传播：公开用例", "反向传播：公开用例")) for c in failed), \
        [c.message for c in failed]


def test_a_gradescope_submission_that_cannot_be_graded_is_told_why_in_course_yaml_s_language(tmp_path, monkeypatch):
    import zipfile

    from grader import cli
    from tests.helpers import run_autograder
    for var in i18n.ENVIRONMENT:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")  # names no language: course.yaml's decides
    bundle, root = tmp_path / "autograder.zip", tmp_path / "autograder"
    assert cli.main(["gradescope-bundle", str(bundle), "--assignment", "a02"]) == 0
    with zipfile.ZipFile(bundle) as z:
        assert not [n for n in z.namelist() if n.endswith(".mo")]  # compiled where it runs, from the .po it holds
        z.extractall(root / "source")
    course = root / "source" / "course.yaml"
    course.write_text(course.read_text(encoding="utf-8").replace("\nlanguage: en\n", "\nlanguage: zh_CN\n"),
                      encoding="utf-8")
    (root / "submission").mkdir()
    data = run_autograder(root, timeout=300)
    assert data["output"].startswith("你的提交无法评分：grader: 在 submission 中没有找到作业（它是空的）；"
                                     "请提交文件夹 a02_mlp_backprop/ 或其中的文件"), data["output"]


NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def test_grade_lang_zh_cn_says_every_failed_check_in_chinese_with_the_same_numbers(tmp_path):
    """``grader grade examples/buggy_submission --lang zh_CN``: each failed check's message and diagnoses are
    Chinese words around the very numbers, shapes and names the English run gives; machine fields stay English."""
    import json

    from grader import cli, paths
    from grader.results import GradingResult
    said = {}
    for lang in ("en", "zh_CN"):
        out = tmp_path / f"{lang}.json"
        assert cli.main(["grade", str(paths.ROOT / "examples" / "buggy_submission"), "--format", "json", "-q",
                         "--lang", lang, "--output", str(out)]) == 0
        result = GradingResult.from_dict(json.loads(out.read_text(encoding="utf-8")))
        with i18n.using(lang):  # a check's message with its diagnoses, as every format says it
            said[lang] = {(t.id, c.name): (c.said, c.kinds(), t.status) for t in result.tasks() for c in t.checks
                          if not c.passed}
    assert said["en"].keys() == said["zh_CN"].keys() and len(said["en"]) >= 8
    for key, (english, kinds, status) in said["en"].items():
        chinese, zh_kinds, zh_status = said["zh_CN"][key]
        assert (zh_kinds, zh_status) == (kinds, status)  # kinds and statuses: the same English machine names
        assert sorted(NUMBER.findall(chinese)) == sorted(NUMBER.findall(english)), (english, chinese)
        assert re.search(r"[\u4e00-\u9fff]", chinese), chinese
        # no English sentence left in it (got and expected are the relations' own variables, kept as written)
        assert not re.search(r"\b(the|of|is|are|and|your|its|wrong|values?|case|forward|backward|behaves|missing)\b",
                             chinese), chinese


def test_what_the_sandbox_saw_happen_is_said_in_the_reader_s_language():
    from grader.sandbox import session
    from grader.sandbox.runner import Budget
    budget = Budget(0.0, "assignment", 600.0)
    with i18n.using("zh_CN"):
        assert session._failure(TimeoutError(), 60.0)[1] == "任务没有在 60 秒的时限内完成"
        assert budget.describe() == "本作业 600 秒的时间预算"
    assert session._failure(TimeoutError(), 60.0)[1] == "the task did not finish within its 60 s limit"
    assert budget.describe() == "the assignment's time budget of 600 s"


def test_a_banned_operation_found_by_the_scan_is_named_in_the_reader_s_language():
    from grader.judge.scan import Reached
    found = Reached("torch.relu", "layers.py", 12, False, "F.relu", "torch.relu", "torch.nn.functional")
    english = "banned operation torch.relu (layers.py line 12): F.relu reaches torch.relu, banned here as " \
              "torch.nn.functional"
    assert found.describe() == english
    with i18n.using("zh_CN"):
        assert found.describe() == "用了禁用操作 torch.relu（layers.py 第 12 行）：F.relu 实际就是 torch.relu，" \
                                   "在这里属于禁用的 torch.nn.functional"


def test_every_report_format_follows_the_language(tmp_path):
    """The buggy example in Chinese: the Markdown comment, JUnit's failures, Gradescope's tests and the HTML
    page carry the same diagnoses in Chinese words; statuses stay machine names where a format has a field."""
    import json
    import xml.etree.ElementTree as ET

    from grader import paths
    from grader.judge.pipeline import grade
    from grader.reports import render
    from grader.sandbox.session import runner_for
    from tests.helpers import COURSE
    with i18n.using("zh_CN"):
        result = grade(paths.ROOT / "examples" / "buggy_submission" / "a02_mlp_backprop", COURSE, ["a02"],
                       runner=runner_for("cpu"))
        pages = {fmt: render(result, fmt) for fmt in ("text", "markdown", "junit", "gradescope", "html")}
    assert "| 任务 | 得分 | 状态 | 诊断 |" in pages["markdown"] and "### 问题出在哪里" in pages["markdown"]
    assert "❌ 未通过" in pages["markdown"] and "（得到的是应有结果的转置）" in pages["markdown"]
    failures = [f.get("message") for f in ET.fromstring(pages["junit"]).iter("failure")]
    assert failures and all(re.search(r"[\u4e00-\u9fff]", m) for m in failures)
    tests = json.loads(pages["gradescope"])["tests"]
    assert {t["status"] for t in tests} == {"passed", "failed"}  # Gradescope's own field: its own words
    assert any(t["output"].startswith("未通过，2/3 分") for t in tests)
    assert '<html lang="zh-CN">' in pages["html"] and "<th>诊断</th>" in pages["html"]
    assert "合计" in pages["text"] and "total" not in pages["text"]


def test_updating_a_current_catalogue_changes_nothing_and_adds_a_new_message_untranslated(tmp_path):
    """``python -m grader.i18n update`` and the committed catalogue agree: run on it, it writes the same bytes;
    run against code with a message more, it adds that message, untranslated (so the test above fails)."""
    po = tmp_path / "zh_CN" / "LC_MESSAGES" / "deepgrade.po"
    po.parent.mkdir(parents=True)
    po.write_bytes(i18n.catalogue_path("zh_CN").read_bytes())
    i18n.update(po)
    assert po.read_bytes() == i18n.catalogue_path("zh_CN").read_bytes(), \
        "the catalogue is not what `python -m grader.i18n update` writes (a message moved to another file?): run it"
    template = i18n.extract()
    template.add("a message nobody translated: {n}")
    i18n.update(po, template)
    added = read_catalogue(po).get("a message nobody translated: {n}")
    assert added is not None and not added.string


def test_a_banned_call_the_run_time_guard_caught_is_worded_by_the_grader_in_the_reader_s_language():
    """The child words a violation in English (it cannot read the catalogues) and sends it as data too; the
    grader words that data: the child's English exactly, or Chinese."""
    from grader.sandbox import session
    from grader.sandbox.inside import wire
    from grader.sandbox.inside.guard import Violation
    from grader.sandbox.inside.messages import Reply
    from grader.sandbox.runner import Request
    request = Request("a02.relu_forward", 0, {}, 0, ("torch.relu",), "layers", ())
    for escape in (False, True):
        found = Violation("torch.relu", "layers.py", 12, escape)
        sent = Reply("token", status="banned", task=request.task, case=0, message=found.describe(),
                     violation={"name": found.name, "file": found.file, "line": found.line, "escape": escape})
        back = Reply.read(wire.decode(wire.encode(sent.to_wire())))
        assert session._response(request, back, "/bundle").message == found.describe()
        with i18n.using("zh_CN"):
            chinese = session._response(request, back, "/bundle").message
        assert "torch.relu" in chinese and "layers.py 第 12 行" in chinese and re.search(r"[\u4e00-\u9fff]{4}", chinese)
    forged = Reply.read({**sent.to_wire(), "violation": {"name": "torch.relu", "file": "layers.py", "line": "12",
                                                         "escape": False}})
    assert forged.violation is None  # a field of the wrong type reads as absent: the child's own words stand
