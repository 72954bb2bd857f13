"""The command line in Chinese: help, tables, messages and calculator errors; English unchanged."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from neurocart import i18n
from neurocart.cli import app
from neurocart.cli.console import err, out
from neurocart.config import get_settings

runner = CliRunner()


@pytest.fixture(autouse=True)
def wide_and_english_after() -> Iterator[None]:
    """Wide consoles (rich folds less), and the process back in English afterwards."""
    widths = out._width, err._width
    out.width = err.width = 200
    yield
    out._width, err._width = widths
    i18n.activate("en")


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200", **(env or {})})
    return result.exit_code, result.output


def latin_words(text: str) -> set[str]:
    """Latin words outside quotes, option names and field names ("  - hypotension: ...")."""
    text = re.sub(r"(?m)^\s+- [\w.]+:", " ", text)
    text = re.sub(r"'[^']*'|\"[^\"]*\"|--?[a-z][\w-]*|\b\w+_\w+\b", " ", text)
    return set(re.findall(r"\b[A-Za-z]{3,}\b", text))


def test_the_help_is_chinese() -> None:
    code, output = run("--lang", "zh_CN", "--help")
    assert code == 0, output
    assert "神经系统自身免疫性疾病" in output
    assert "按已发表的临床标准分级" in output  # calc's docstring
    assert "显示本帮助并退出" in output  # click's own --help


def test_a_command_help_is_chinese() -> None:
    code, output = run("--lang", "zh_CN", "protocol", "show", "--help")
    assert code == 0, output
    assert "列出内置方案，或打印某个方案的阶段和任务" in output
    assert "某个内置方案；不填则列出全部" in output


def test_the_calculator_list_is_chinese() -> None:
    code, output = run("--lang", "zh_CN", "calc", "--list")
    assert code == 0, output
    for heading in ("neurocart计算器", "名称", "标题", "来源"):
        assert heading in output
    assert "年化复发率（单个患者）" in output


def test_a_calculator_input_error_is_chinese_with_no_english_left() -> None:
    bad = json.dumps({"temperature_c": 50, "hypotension": "maybe", "extra": 1})
    code, output = run("--lang", "zh_CN", "calc", "crs", "--json", bad)
    assert code == 2
    assert "错误" in output
    assert "计算器 'crs' 的输入无效" in output
    assert "应为 30–45 °C（得到 50）" in output
    assert "未知字段" in output
    assert latin_words(output) == set(), output


def test_the_site_default_language_applies_without_lang(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEUROCART_DEFAULT_LOCALE", "zh_CN")
    get_settings.cache_clear()
    try:
        code, output = run("protocol", "show")
    finally:
        get_settings.cache_clear()
    assert code == 0, output
    assert "内置方案" in output
    for heading in ("编号", "版本", "阶段数", "任务数"):
        assert heading in output


def test_english_is_unchanged() -> None:
    code, output = run("calc", "--list")
    assert code == 0, output
    assert "neurocart calculators" in output
    bad = json.dumps({"temperature_c": 50})
    code, output = run("calc", "crs", "--json", bad)
    assert "invalid input for calculator 'crs'" in output
    assert "temperature_c: must be 30–45 °C (got 50)" in output
    code, output = run("--help")
    assert "Grade with a published clinical standard" in output
    assert "Show this message and exit." in output


@pytest.mark.parametrize(
    ("name", "described"),
    [
        ("icaht", "中性粒细胞绝对计数"),
        ("cidp_ncs_ean_pns_2021", "远端运动潜伏期"),
        ("iec_hs", "临床医生判断：铁蛋白快速上升"),
        ("titre_change", "基线终点滴度的倒数（0 = 阴性）"),
    ],
)
def test_the_fields_of_a_calculator_without_a_form_are_described_in_chinese(
    name: str, described: str
) -> None:
    """The field descriptions of the input schema (`calc NAME --help`), not only the forms'."""
    from neurocart.standards import REGISTRY
    from neurocart.standards.fields import walk_fields

    code, output = run("--lang", "zh_CN", "calc", name, "--help")
    assert code == 0, output
    assert described in output
    english = [f.description for f in walk_fields(REGISTRY[name].fields) if f.description]
    assert [
        text for text in english if re.search(r"[a-z]{4} [a-z]{4}", text) and text in output
    ] == []
